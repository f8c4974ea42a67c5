"""A letter to an official as an A4 PDF, ready to print, sign and post (the "Print" button sends it).

Laid out as a formal European letter: the writer's address top right with the date under it, the
addressee on the left, the body from the salutation to the closing formula, the signature lines,
and at the foot of the last page the postal address for the envelope, as the appeal gives it.

fpdf2 draws it with DejaVu Sans, the TrueType font matplotlib (already a dependency) ships, so
Cyrillic, accented Latin, «», № and — print without a font of our own; only the glyphs used are
embedded. The bytes are the same for the same letter (fixed creation date), so they can be compared
and cached.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import Align, MethodReturnValue, XPos, YPos

logger = logging.getLogger(__name__)

FONT_FILE = "DejaVuSans.ttf"
FAMILY = "DejaVu"
CREATOR = "rapid-response-bot"
# A fixed creation date: the date that matters is the one printed in the letter, and a clock
# reading here would make every render of the same letter different bytes.
CREATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# Millimetres and points. 25 mm on the left leaves room for a binder's holes; 11 pt with a
# 1.45 leading reads comfortably on paper.
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 25.0, 20.0, 20.0, 20.0
BODY_PT = 11
LINE = 5.6
SMALL_PT = 8
SMALL_LINE = 4.0
PARAGRAPH_GAP = 3.0
SENDER_MAX_WIDTH = 80.0  # the sender block never takes more than this share of the line
ASK_INDENT = 7.0
RULE_GREY, LABEL_GREY = 160, 110

_ASK = re.compile(r"^(\d{1,2}\.)\s+(.*)$")
_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class PrintedLetter:
    lang: str  # the letter's language ("en", "ru", ...), for the PDF metadata
    title: str  # document title for metadata, e.g. "Letter to Yurii Ya. Chaika — UA 84/11"
    sender: list[str]  # the writer's return-address block (placeholders or a saved signature's lines)
    date: str  # the date line as the letter shows it
    addressee: list[str]  # the heading block in the letter's language (title, name, address lines)
    body: str  # salutation to closing formula; paragraphs separated by blank lines; asks are lines "1. ..."
    signature: list[str]  # signature lines under the closing
    envelope_label: str  # e.g. "Envelope address (as the appeal gives it)", already translated
    envelope: list[str]  # the postal address for the envelope (empty: no envelope section)


@functools.cache
def font_path() -> Path:
    """DejaVu Sans from matplotlib's data, found without importing matplotlib (which costs ~0.3 s)."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "mpl-data" / "fonts" / "ttf" / FONT_FILE
            if candidate.is_file():
                return candidate
    # An unusual install (a zipped or relocated data directory): ask matplotlib itself.
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / FONT_FILE


@functools.cache
def _covered() -> frozenset[int]:
    """The code points the font has a glyph for (read once; fontTools reads only the cmap table)."""
    font = TTFont(font_path(), lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def printable(text: str) -> str:
    """The text with what the font cannot draw taken out (emoji, pictographs, control characters).

    fpdf2 would draw an empty box for a missing glyph and log a warning; a letter is better
    without the box. Tabs become spaces; line breaks stay.
    """
    text = unicodedata.normalize("NFC", text).replace("\t", " ").replace("\r\n", "\n").replace("\r", "\n")
    covered = _covered()
    kept: list[str] = []
    dropped: list[str] = []
    for char in text:
        # A soft hyphen is kept: fpdf2 breaks a long word there and prints the hyphen only then.
        if char in "\n\u00ad" or (ord(char) in covered and not _invisible(char)):
            kept.append(char)
        else:
            dropped.append(char)
    if dropped:
        # Code points, not the characters: the logs carry no text a user wrote (docs/PRIVACY.md).
        logger.debug(
            "pdf: %d character(s) the font cannot draw left out: %s",
            len(dropped),
            " ".join(sorted({f"U+{ord(char):04X}" for char in dropped})[:10]),
        )
    # A pictograph between two words leaves two spaces behind.
    return re.sub(r"(?<=\S)  +(?=\S)", " ", "".join(kept)) if dropped else "".join(kept)


def _invisible(char: str) -> bool:
    """Control and format characters, and the variation selectors that asked for an emoji's colour."""
    return unicodedata.category(char) in ("Cc", "Cf") or "\ufe00" <= char <= "\ufe0f" or char >= "\U000e0000"


class _LetterPDF(FPDF):
    def __init__(self) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
        self.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        self.add_font(FAMILY, "", font_path())
        self.set_font(FAMILY, size=BODY_PT)
        self.c_margin = 0  # text starts exactly at the margin, as on a typed letter

    def header(self) -> None:
        # A page after the first says which it is, so pages that come apart can be put back in order.
        if self.page_no() > 1:
            self.set_font(FAMILY, size=SMALL_PT)
            self.set_text_color(LABEL_GREY)
            self.set_xy(self.l_margin, MARGIN_TOP / 2)
            self.cell(self.text_width, SMALL_LINE, f"{self.page_no()} / {{nb}}", align=Align.R)
            self.set_text_color(0)
            self.set_font(FAMILY, size=BODY_PT)
            self.set_y(MARGIN_TOP)

    @property
    def text_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def block(self, lines: list[str], width: float, *, align: Align = Align.L, x: float | None = None) -> None:
        """Lines one under the other, each wrapped within `width` (a long line never leaves the page)."""
        for line in lines:
            self.set_x(self.l_margin if x is None else x)
            self.multi_cell(
                width, LINE, printable(line), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT, wrapmode="WORD"
            )

    def paragraph(self, text: str) -> None:
        """A body paragraph: each line of it starts a new line; a numbered ask hangs from its number."""
        for line in text.split("\n"):
            line = line.strip()
            if not line:
                continue
            ask = _ASK.match(line)
            if ask:
                self.set_x(self.l_margin)
                self.cell(ASK_INDENT, LINE, ask.group(1))
                self.multi_cell(
                    self.text_width - ASK_INDENT, LINE, ask.group(2), new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=Align.L
                )
            else:
                self.set_x(self.l_margin)
                self.multi_cell(self.text_width, LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=Align.L)
        self.ln(PARAGRAPH_GAP)

    def height_of(self, text: str, width: float, line: float) -> float:
        return self.multi_cell(width, line, text, dry_run=True, output=MethodReturnValue.HEIGHT)


def _sender_width(pdf: _LetterPDF, lines: list[str]) -> float:
    widest = max((pdf.get_string_width(printable(line)) for line in lines), default=0.0)
    # +1 mm so that the widest line is not wrapped by rounding.
    return min(widest + 1.0, SENDER_MAX_WIDTH, pdf.text_width)


def _envelope(pdf: _LetterPDF, label: str, lines: list[str]) -> None:
    """The envelope address at the foot of the last page, whole: on a new page if it does not fit."""
    label = printable(label)
    address = [printable(line) for line in lines]
    width = pdf.text_width
    pdf.set_font(FAMILY, size=SMALL_PT)
    label_height = pdf.height_of(label, width, SMALL_LINE) if label else 0.0
    pdf.set_font(FAMILY, size=BODY_PT)
    address_height = sum(pdf.height_of(line, width, LINE) for line in address)
    height = 3.0 + label_height + 1.0 + address_height  # rule, gap, label, gap, address
    bottom = pdf.h - pdf.b_margin
    top = bottom - height
    if pdf.get_y() + LINE > top:
        pdf.add_page()
    # Drawing the block within the bottom margin must not trigger another page.
    pdf.set_auto_page_break(False)
    pdf.set_draw_color(RULE_GREY)
    pdf.set_line_width(0.2)
    pdf.line(pdf.l_margin, top, pdf.l_margin + width, top)
    pdf.set_y(top + 3.0)
    if label:
        pdf.set_font(FAMILY, size=SMALL_PT)
        pdf.set_text_color(LABEL_GREY)
        pdf.multi_cell(width, SMALL_LINE, label, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=Align.L)
        pdf.set_text_color(0)
        pdf.set_font(FAMILY, size=BODY_PT)
    pdf.ln(1.0)
    for line in address:
        pdf.multi_cell(width, LINE, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT, align=Align.L)
    pdf.set_auto_page_break(True, margin=MARGIN_BOTTOM)


def letter_pdf(letter: PrintedLetter) -> bytes:
    """The letter as PDF bytes (A4 portrait); the same letter gives the same bytes.

    Pure CPU, 50-100 ms (bench/pdf.py), most of it reading and subsetting the font: a handler should
    run it in a thread (asyncio.to_thread) rather than on the event loop.
    """
    pdf = _LetterPDF()
    pdf.set_title(printable(letter.title))
    if letter.lang:
        pdf.set_lang(letter.lang)
    pdf.set_creator(CREATOR)
    pdf.set_creation_date(CREATED)
    pdf.add_page()

    # The writer's address top right, its lines flush left within the block, the date under it flush right.
    sender = [line for line in letter.sender if line.strip()]
    if sender:
        width = _sender_width(pdf, sender)
        pdf.block(sender, width, x=pdf.w - pdf.r_margin - width)
        pdf.ln(LINE / 2)
    if letter.date.strip():
        pdf.block([letter.date], pdf.text_width, align=Align.R)
    pdf.ln(LINE * 1.5)

    if letter.addressee:
        pdf.block(letter.addressee, min(pdf.text_width, 110.0))
        pdf.ln(LINE)

    for paragraph in _BLANK_LINES.split(printable(letter.body).strip()):
        pdf.paragraph(paragraph)

    if letter.signature:
        pdf.ln(LINE)
        pdf.block(letter.signature, pdf.text_width)

    if letter.envelope:
        _envelope(pdf, letter.envelope_label, letter.envelope)
    return bytes(pdf.output())
