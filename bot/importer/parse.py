"""Read an Urgent Action text into a draft case: pure functions, no I/O, nothing invented.

Every value is copied from the document. A value found by a heuristic (a person's name in a
block of lines, a sentence-cased title) is kept but listed in `uncertain`; a field that is not
in the document is left empty and listed in `missing`.

English, Spanish and French documents go through the same steps: the wording of each language is
in vocabulary.py. The reports (`missing`, `uncertain`) are Notes: English text, translated in chat.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from bot.importer import vocabulary as v
from bot.importer.asks import SampleLetter, address_the_official, from_letter, read_letter
from bot.importer.dates import DATE, as_date, find_date
from bot.importer.notes import N_, Note
from bot.importer.targets import TargetDraft, parse_targets
from bot.importer.zones import country_name, country_of, zone_in, zones_of

logger = logging.getLogger(__name__)

__all__ = ["NotAnUrgentAction", "ParsedUA", "SeveralUrgentActions", "TargetDraft", "parse_ua"]


class NotAnUrgentAction(ValueError):
    """The text is empty or does not look like an Urgent Action (one-line reason in str())."""


class SeveralUrgentActions(NotAnUrgentAction):
    """The text holds more than one appeal (a page of several UAs): each must be imported on its own."""

    def __init__(self, references: list[str]) -> None:
        self.references = references
        super().__init__(
            f"this page holds {len(references)} Urgent Actions ({', '.join(references)}): import them one at a time"
        )


@dataclass
class ParsedUA:
    id: str | None = None
    ua: str | None = None
    update: int | None = None
    issued: dt.date | None = None
    title: str | None = None
    summary: str | None = None
    background: str | None = None
    tweet: str | None = None
    facts: str | None = None  # what every letter states: the sample letter's own, else the summary
    asks: list[str] = field(default_factory=list)
    letter_languages: list[str] = field(default_factory=list)
    deadline: dt.date | None = None
    targets: list[TargetDraft] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    subject_name: str | None = None
    subject_gender: str | None = None
    country: str | None = None  # ISO code of the officials' country, when the document names it
    timezone: str | None = None  # the country's zone, when it has only one
    language: str = "en"  # the document's own: "en", "es" or "fr"
    degraded: bool = False
    accents_lost: bool = False  # the copy dropped its accented letters ("Mxico"): names may be misspelt
    follow_up: bool = False  # an update of `ua` (further information, follow-up), numbered or not
    closes: bool = False  # the last update: no further action is requested
    missing: list[Note] = field(default_factory=list)
    uncertain: list[Note] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """ "new" (an appeal), "update" (news of an appeal), "closing" (its last update)."""
        if self.closes:
            return "closing"
        return "update" if self.follow_up or self.update is not None else "new"


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, re.I | flags)


_ORD = rf"({v.ORDINALS.pattern}|{v.NUMERIC_ORDINAL})"
# Spanish and French write "AU" (Acción/Action Urgente) where English writes "UA"; an "EXTRA" is an
# Urgent Action of the 1990s' second series, numbered on its own (EXTRA 78/92 is not UA 78/92).
# Three groups: the series, the number, the year.
_REF = r"\b(UA|AU|EXTRA)\s*:?\s*(\d{1,4})\s*/\s*(\d{2,4})\b"
_UPDATE_OF = _re(rf"\b{_ORD}\s+{v.UPDATE}\s+{v.UPDATE_OF}\s*{_REF}")
_ORDINAL_UA = _re(rf"\b{_ORD}\s+{_REF}")
_FURTHER = _re(rf"\b{v.FURTHER_ON}\s*{_REF}")
_PLAIN = _re(_REF)
# The document's own reference line: it starts with the reference ("UA 279/98 Fear of ...", "AU: 274/11
# Índice: ...", "UA: 84/11 Index: ... Issue Date: ..."), where a mention in a paragraph is in a sentence.
_REF_LINE = _re(rf"^\W{{0,3}}{_REF}")
_APPEALS_TO = _re(v.SECTION_START)
_CLOSING = _re(v.CLOSING)
_ACCENTS_LOST = _re(v.ACCENTS_LOST)
_ISSUED_LABEL = _re(rf"\b{v.DATE_LABEL}\s*:\s*{DATE}")
_LONE_DATE = _re(rf"{DATE}[.,]?")
# The words after a reference and its parentheses on its line: "Follow-up on UA 52/10 (10 March 2010) -
# Fear for safety", "Further information on EXTRA 78/92 (AMR 51/102/92, ...) - USA (Texas): death penalty".
_REF_TITLE = _re(rf"{_REF}(?:\s*\([^()]*\))*\s*[-\u2013]\s*(\S.*)$")
_UA_WORDS = _re(rf"{v.HEADING}|{v.SPACED_HEADING}|\bua\b|{_REF}")
_APPEAL_WORDS = _re(v.APPEAL)
_DEADLINES = [_re(rf"{v.DEADLINE}\s*{DATE}")]
_ISSUED = _re(rf"{v.ISSUED}\s*:?\s*{DATE}")
_WRITE_IN = [_re(pattern, re.S) for pattern in v.WRITE_IN]
_PREFERRED = _re(rf"{v.PREFERRED_LANGUAGE}[^:\n]*:\s*([^\n]+)")
_OWN_WORDS = _re(v.OWN_WORDS)
_ASKS_START = _re(v.ASKS_START)
_ASKS_END = _re(v.ASKS_END)
_BULLET = re.compile(r"[\uf06e\uf0a7\uf0b7\u2022\u25cf\u25aa]|(?:^|(?<=\s))[-\u2013]\s+(?=\w)")
_HEADING = _re(v.HEADING)
_TITLE_LABEL = _re(rf"^{v.TITLE_LABEL}\s*:\s*(.+)$")
_SUMMARY_LABEL = _re(rf"^{v.SUMMARY_LABEL}\s*:\s*(.*)$")
_TWEET = _re(rf"^{v.TWEET_LABEL}\s*:\s*(.*)$")
_BACKGROUND = _re(rf"^{v.BACKGROUND}[^:]*:?\s*(.*)$")
_BACKGROUND_END = _re(rf"^{v.BACKGROUND_END}")
_BACKGROUND_FLAT = _re(rf"{v.BACKGROUND}[^:]*?:?\s*(.+?)\s*(?:{v.BACKGROUND_FLAT_END}|$)")
_NAME = _re(rf"^{v.NAME_LABEL}\s*:\s*(.+)$")
# "Gender m/f: M", "Sexo h/m: h", "Genre (h/f) : F"
_GENDER = _re(rf"^({v.GENDER_LABEL})\s*\(?\s*(?:([a-z])\s*/\s*([a-z]))?\s*\)?\s*:\s*([^\W\d_]+)")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_URL_LABEL = re.compile(r"(?:^|[.!?(]\s*)([A-ZÀ-ÖØ-Þ][^.:!?()\[\]]{2,50}):\s*$")
_LETTER = _re(rf"^{v.LETTER_LABEL}\b", re.M)
# A PDF's page number on a line of its own ("2", "- 2 -", "Page 2 of 3", "Página 2 de 3").
_PAGE_NUMBER = _re(
    r"^(?:[-\u2013]\s*)?(?:(?:page|página|p\.)\s*)?\d{1,2}(?:\s*(?:of|de|sur|/)\s*\d{1,2})?(?:\s*[-\u2013])?$"
)


def looks_like_ua(text: str) -> bool:
    return bool(_UA_WORDS.search(text) or _APPEAL_WORDS.search(text))


def ua_references(text: str) -> set[str]:
    """Every "UA 84/11" the text names, as "84/11" ("EXTRA 78/92" as itself: another series)."""
    return {_key(*found) for found in _PLAIN.findall(text)}


def _key(series: str, number: str, year: str) -> str:
    prefix = "EXTRA " if series.upper() == "EXTRA" else ""
    return f"{prefix}{int(number)}/{year}"


def _ua_name(series: str, number: str, year: str) -> str:
    """ "UA 84/11" (an "AU 84/11" of a Spanish or French document too), "EXTRA 78/92"."""
    return f"{'EXTRA' if series.upper() == 'EXTRA' else 'UA'} {int(number)}/{year}"


def names_an_update(text: str) -> bool:
    """ "This is the third update of UA 84/11": a short notice that is still an Urgent Action."""
    return bool(_UPDATE_OF.search(text) or _FURTHER.search(text))


def parse_ua(text: str) -> ParsedUA:
    """Parse the text of an Urgent Action; raise NotAnUrgentAction for an empty or unrelated text."""
    lines = clean_lines(text)
    body = "\n".join(lines).strip()
    if not body:
        raise NotAnUrgentAction("the file is empty")
    if not looks_like_ua(body):
        raise NotAnUrgentAction('not an Urgent Action: no "urgent action"/"UA" reference and no appeal section')
    _refuse_several(lines)
    flat = re.sub(r"\s+", " ", body)
    result = ParsedUA(degraded=not any(c.isupper() for c in body) or len([x for x in lines if x]) <= 2)
    result.language = v.detect_language(flat)
    if result.degraded:
        result.uncertain.append(
            Note("", N_("the text is a degraded export (lowercased, lines joined): check every text field"))
        )
    # Two words, not one typo: then the names copied from it are likely misspelt too.
    if len(_ACCENTS_LOST.findall(flat)) >= 2:
        result.accents_lost = True
        result.uncertain.append(Note("", N_("accented letters were lost in this copy: check names and words")))
    result.closes = bool(_CLOSING.search(flat))
    _reference(flat, result)
    result.deadline = find_date(_DEADLINES, flat)
    top = _header_end(lines)
    result.issued = find_date([_ISSUED], flat) or (None if result.degraded else _issue_date(lines, top, result))
    _languages(flat, body, result)
    letter = read_letter(lines)
    _asks(flat, body, result, letter)
    result.targets, notes = parse_targets(lines, flat, result.degraded)
    result.uncertain.extend(notes)
    if not result.degraded:
        web = _one_line_paragraphs(lines, top)
        _title_summary(lines, result, top, web)
        _tweet(lines, result)
        _subject(lines, top, result)
        result.background = _background(lines)
    else:
        match = _BACKGROUND_FLAT.search(flat)
        result.background = match.group(1) if match else None
    _links(lines, result)
    address_the_official(result, letter)
    _zone(result)
    _report_missing(result)
    if result.closes:
        _closing_needs(result)
    logger.debug("parsed %r: missing=%r", result.id, result.missing)
    return result


_REFERENCES = ((_UPDATE_OF, "update"), (_ORDINAL_UA, "update"), (_FURTHER, "further"), (_PLAIN, "plain"))


def _reference(flat: str, r: ParsedUA) -> None:
    for pattern, kind in _REFERENCES:
        match = pattern.search(flat)
        if not match:
            continue
        r.ua = _ua_name(*match.group(match.lastindex - 2, match.lastindex - 1, match.lastindex))
        r.id = r.ua.lower().replace(" ", "-").replace("/", "-")
        if kind == "update":
            r.update, r.follow_up = _ordinal(match.group(1)), True
        elif kind == "further" or r.closes:
            # A closing notice is the last update of the appeal it names, however it words the reference.
            r.follow_up = True
            r.uncertain.append(
                Note("update", N_("%(ua)s is a further-information UA but the update number is not stated"), ua=r.ua)
            )
        else:
            r.uncertain.append(Note("update", N_("no update mentioned (the original UA?): left out")))
        return


def _own_references(line: str) -> list[str]:
    """The references a line gives as the text's own: in an update's wording ("Further information on
    UA 81/07", "the second update of UA 84/11"), or at its start (a reference line). A UA cited in a
    sentence (an earlier appeal, a related case) is not one."""
    if not _PLAIN.search(line):
        return []
    matches = [m for pattern, _ in _REFERENCES[:3] for m in pattern.finditer(line)]
    if not matches and (match := _REF_LINE.match(line)):
        matches = [match]
    return [_ua_name(*m.group(m.lastindex - 2, m.lastindex - 1, m.lastindex)) for m in matches]


def _refuse_several(lines: list[str]) -> None:
    """A page of several appeals (a newsletter, a digest) is refused: its officials and asks would be mixed.

    It is several when it names two references of its own and has two appeal sections, or when two
    "URGENT ACTION" headings each head an appeal with a reference of its own. An update mentions its
    original UA and earlier index numbers in its reference line: that is one reference, one appeal.
    """
    per_line = [_own_references(line) for line in lines]
    own = list(dict.fromkeys(ref for refs in per_line for ref in refs))
    if len(own) < 2:
        return
    flat = " ".join(lines)
    appeals = max(len(_ASKS_START.findall(flat)), sum(bool(_APPEALS_TO.search(line)) for line in lines))
    starts = [i for i, line in enumerate(lines) if _HEADING.fullmatch(line)]
    headed = {
        refs[0]
        for a, b in zip(starts, [*starts[1:], len(lines)])
        if (refs := [ref for found in per_line[a:b] for ref in found]) and _APPEAL_WORDS.search(" ".join(lines[a:b]))
    }
    if appeals >= 2 or len(headed) >= 2:
        logger.info("refused a text of %d Urgent Actions", len(own))
        raise SeveralUrgentActions(own)


def _ordinal(word: str) -> int:
    digits = re.match(r"\d+", word)
    return int(digits.group(0)) if digits else int(v.ORDINALS.get(word))


_PROSE = re.compile(r"[.!?][\"”’)]?(?:\s|$)")
_HEADER_LINES = 30


def _header_end(lines: list[str]) -> int | None:
    """The index of the first line of prose (ten words or more, a sentence ending in it): the lines above
    it are the document's header (heading, reference, date, subject). None when the first lines have none."""
    return next(
        (i for i, line in enumerate(lines[:_HEADER_LINES]) if len(line.split()) >= 10 and _PROSE.search(line)), None
    )


def _issue_date(lines: list[str], top: int | None, r: ParsedUA) -> dt.date | None:
    """The issue date where there is no "Issue date:" label: a "Date:"/"Fecha:" label in the header or on
    the reference line ("UA: 298/12 Index: MDE 24/006/2013 Syria Date: 20 February 2013"), else a date
    alone on a line of the header ("27 September 2010" above "Follow-up on UA 52/10").

    Only the day-month-year form Amnesty writes is read. A blog or e-mail copy stamps its own date above
    the document, with the weekday ("Tuesday, September 28, 2010"): that is when it was posted, not
    issued, and it is not a date alone on its line in this sense. A date in a sentence is an event's."""
    top = _HEADER_LINES if top is None else top
    for i, line in enumerate(lines):
        match = _ISSUED_LABEL.match(line) if i < top else None
        if match is None and (ref := _PLAIN.search(line)):
            # After the reference, outside brackets: "(UA 45/12, Date: 3 May 2012)" dates an earlier document.
            match = _ISSUED_LABEL.search(line, ref.end())
            before = line[: match.start()] if match else ""
            match = match if before.count("(") == before.count(")") else None
        if match and (day := as_date(*match.group(match.lastindex - 2, match.lastindex - 1, match.lastindex))):
            return day
    alone = {day for line in lines[:top] if (m := _LONE_DATE.fullmatch(line)) and (day := as_date(*m.groups()))}
    if len(alone) != 1:
        return None  # none, or two dates to choose from: left for a person
    r.uncertain.append(Note("issued", N_("a date on a line of its own under the header: check it is the issue date")))
    return alone.pop()


def _languages(flat: str, body: str, r: ParsedUA) -> None:
    match = next(filter(None, (pattern.search(flat) for pattern in _WRITE_IN)), None) or _PREFERRED.search(body)
    if not match:
        if _OWN_WORDS.search(flat):
            r.uncertain.append(Note("letter_languages", N_("the text only says 'in your own words/language'")))
        return
    for name in re.split(v.LANGUAGE_JOINERS, match.group(1), flags=re.I):
        name = re.sub(v.LANGUAGE_PREFIX, "", name.strip(" .;:"), flags=re.I).lower()
        if not name:
            continue
        if code := v.LANGUAGES.get(name):
            if code not in r.letter_languages:
                r.letter_languages.append(code)
        else:
            r.uncertain.append(Note("letter_languages", N_("unknown language name %(name)s"), name=repr(name)))


def _asks(flat: str, body: str, r: ParsedUA, letter: SampleLetter | None) -> None:
    start = _ASKS_START.search(flat)
    if not start:
        if _LETTER.search(body) and not from_letter(letter, r):
            r.uncertain.append(
                Note("asks", N_("found no request to the official in the sample letter: copy them from it by hand"))
            )
        return
    end = _ASKS_END.search(flat, start.end())
    segment = flat[start.end() : end.start() if end else len(flat)]
    first = _BULLET.search(segment)
    if not first:
        if not from_letter(letter, r):
            r.uncertain.append(Note("asks", N_("an appeal section without bullet points: write the asks by hand")))
        return
    for part in _BULLET.split(segment[first.start() :]):
        ask = part.strip().rstrip(";").strip()
        if ask:
            r.asks.append(ask)


def _title_summary(lines: list[str], r: ParsedUA, top: int | None, web: bool) -> None:
    for i, line in enumerate(lines):
        if match := _TITLE_LABEL.match(line):
            r.title = _wrapped(lines, i, match.group(1))
        elif match := _SUMMARY_LABEL.match(line):
            r.summary = _paragraph(lines, i + 1, match.group(1), web)
    if r.title is None:
        _heading_title(lines, r, web)
    if r.title is None:
        _reference_title(lines[: _HEADER_LINES if top is None else top], r)
    if r.summary is None and top is not None:
        # No heading to find it under (a web or e-mail copy): the first paragraph after the header.
        r.summary = _paragraph(lines, top, "", web)
        r.uncertain.append(Note("summary", N_("the first paragraph of the document, as written")))


# A label of the labelled layout ("PUBLICATION DATE:", "TÍTULO DE LA ACCIÓN URGENTE:"): capitals, then a colon.
_LABEL_LINE = re.compile(r"^[A-ZÀ-Þ][A-ZÀ-Þ’'“”&/() -]{2,80}:")


def _wrapped(lines: list[str], i: int, head: str) -> str:
    """A label's value with the line a PDF wrapped it onto, if any: up to a blank line or the next label."""
    following = lines[i + 1] if i + 1 < len(lines) else ""
    if not following or len(following) > 100 or _PROSE.search(following):
        return head  # a paragraph begins there, not the rest of a title
    return head if _LABEL_LINE.match(following) or _HEADING.fullmatch(following) else f"{head} {following}"


def _heading_title(lines: list[str], r: ParsedUA, web: bool) -> None:
    """The title under the first "URGENT ACTION" heading: in capitals (one line, or two where it wrapped),
    or as written in a web copy ("Prosecutor denies holding Syrian lawyer")."""
    for i, line in enumerate(lines):
        if not _HEADING.fullmatch(line):
            continue
        first = next((j for j in range(i + 1, len(lines)) if lines[j]), None)
        heading = lines[first] if first is not None else ""
        if not heading or _PLAIN.search(heading) or _LABEL_LINE.match(heading):
            return
        if heading.isupper():
            last = first
            if len(heading) >= 35 and first + 1 < len(lines) and _title_tail(lines[first + 1]):
                last = first + 1
                heading = f"{heading} {lines[last]}"
            r.title = heading[0] + heading[1:].lower()
            r.uncertain.append(
                Note("title", N_("sentence-cased from %(heading)s: restore capitals of names"), heading=repr(heading))
            )
        elif _title_as_written(heading) and first + 1 < len(lines):
            last = first
            r.title = heading
            r.uncertain.append(Note("title", N_("the line under the heading, as written: check it is the title")))
        else:
            return
        if r.summary is None:
            r.summary = _paragraph(lines, last + 1, "", web)
            r.uncertain.append(Note("summary", N_("the first paragraph of the document, as written")))
        return


def _title_as_written(line: str) -> bool:
    """A short line that is not a sentence, an appeal's opening ("Please write ...:") or a salutation."""
    return len(line.split()) <= 15 and not (
        _PROSE.search(line) or line.endswith((":", ",")) or _APPEAL_WORDS.search(line)
    )


def _title_tail(line: str) -> bool:
    """The second line of a capitals title that wrapped: capitals, no reference, label, section or number."""
    return bool(
        line
        and line.isupper()
        and not re.search(r"[\d:()]", line)
        and not _HEADING.fullmatch(line)
        and not _BACKGROUND.match(line)
    )


def _reference_title(header: list[str], r: ParsedUA) -> None:
    """The words after the reference on its line: "Follow-up on UA 52/10 (10 March 2010) - Fear for safety"."""
    for line in header:
        if match := _REF_TITLE.search(line):
            r.title = match.group(match.lastindex).strip()
            r.uncertain.append(Note("title", N_("the words after the reference on its line, as written")))
            return


def _one_line_paragraphs(lines: list[str], top: int | None) -> bool:
    """A web copy: each paragraph is one line (it ends a sentence), where a PDF wraps them every ~100
    characters. The last line is left out: a copy cut short ends in the middle of a sentence."""
    body = [line for line in lines[top or 0 :] if len(line.split()) >= 10 and not line.isupper()][:-1]
    return bool(body) and sum(bool(re.search(r"[.!?][\"”’)]?$", line)) for line in body) >= 0.8 * len(body)


def _paragraph(lines: list[str], start: int, head: str, web: bool = False) -> str | None:
    parts = [head] if head else []
    i = start
    while i < len(lines) and not lines[i] and not parts:
        i += 1
    while i < len(lines) and lines[i]:
        parts.append(lines[i])
        i += 1
        if (web and len(parts[-1].split()) >= 10) or _ends_paragraph(parts):
            break
    return " ".join(parts) or None


def _ends_paragraph(parts: list[str]) -> bool:
    """A sentence ending on a line much shorter than the lines before it: the paragraph's last line.

    Text extracted from a PDF has no blank lines between paragraphs; this is where they were.
    """
    if len(parts) < 2 or not re.search(r"[.!?][\"”’)]?$", parts[-1]):
        return False
    return len(parts[-1]) < 0.75 * max(len(part) for part in parts[:-1])


def _tweet(lines: list[str], r: ParsedUA) -> None:
    for i, line in enumerate(lines):
        if match := _TWEET.match(line):
            parts = [match.group(1)]
            for nxt in lines[i + 1 : i + 8]:
                if re.search(r"[.!?]$", parts[-1]) and parts[-1]:
                    break
                if nxt:
                    parts.append(nxt)
            r.tweet = " ".join(p for p in parts if p) or None
            return


def _subject(lines: list[str], top: int | None, r: ParsedUA) -> None:
    """The person the appeal is for: the "Name:"/"Gender:" labels, else the header line that names them,
    else the name that opens the first paragraph. Anything but the labels is a guess, reported."""
    for line in lines:
        if match := _NAME.match(line):
            r.subject_name = match.group(1)
        elif match := _GENDER.match(line):
            r.subject_gender = _gender(*match.groups())
    if r.subject_name is None:
        _subject_line(lines, lines[: _HEADER_LINES if top is None else top], r)
    if r.subject_name is None and r.summary:
        _opening_subject(r.summary, "\n".join(lines), r)


# "MEXICO Juan Manuel Martinez (m)", "USA (Texas) Charles RECTOR", "USA (Texas) Napoleon Beazley [m], black,
# aged 25": a country in capitals (a state in brackets), the name (its first word not in capitals), the
# gender in brackets, and what follows a comma. Each part's characters exclude the next part's start.
_SUBJECT_LINE = re.compile(
    r"(?P<country>[A-Z][A-Z'’.-]+(?: [A-Z][A-Z'’.-]+)*)(?: \([^()]{2,40}\))?"
    r" (?P<name>[A-ZÀ-Þ][^\W\d_]*[a-zß-ÿ][^\s\d,()\[\]]*(?: [^\s\d,()\[\]]+){1,5})"
    r"(?: ?[(\[](?P<gender>[mfMF])[)\]])?(?P<rest>,.*)?"
)
_GENDER_MARK = re.compile(r"^[A-ZÀ-Þ][^\d()\[\]]{2,60}[(\[][mfMF][)\]]")
_NOT_COUNTRY = _re(rf"{v.HEADING}|\b(?:UA|AU|EXTRA|URGENT|APPEAL|FURTHER|INFORMATION|DOCUMENT|INDEX|DATE)\b")
_NAME_WORD = re.compile(r"[A-ZÀ-Þ][^\W\d_]*(?:[.'’-][^\W\d_]*)*")


def _subject_line(lines: list[str], header: list[str], r: ParsedUA) -> None:
    """The subject from the header line that names them. Taken when it is one person: a gender mark, or
    the name repeated in the text, and no second name after it (on the line, or on the next one)."""
    for i, line in enumerate(header):
        match = _SUBJECT_LINE.fullmatch(line) if len(line) <= 120 else None
        if not match or _NOT_COUNTRY.search(match["country"]) or not _person(match["name"].split()):
            continue
        following = next((x for x in header[i + 1 :] if x), "")
        if re.match(r",\s*[A-ZÀ-Þ]", match["rest"] or "") or _GENDER_MARK.match(following):
            return  # several people: which one the case is about is for a person to say
        name, rest = match["name"], "\n".join(lines[:i] + lines[i + 1 :])
        if not match["gender"] and not re.search(re.escape(name), rest, re.I):
            continue
        r.subject_name = _as_written(name, rest, r)
        r.subject_gender = match["gender"].lower() if match["gender"] else None
        found = f"name {r.subject_name!r}" + (f", gender {r.subject_gender!r}" if r.subject_gender else "")
        r.uncertain.append(Note("subject", N_("picked by a heuristic: %(found)s"), found=found))
        return


def _person(words: list[str]) -> bool:
    """Two to six words that can make a person's name: capitalised (particles inside), no title or office."""
    if not 2 <= len(words) <= 6 or words[-1].lower() in v.NAME_PARTICLES:
        return False
    return all(
        (word.lower() in v.NAME_PARTICLES and k) or (_NAME_WORD.fullmatch(word) and v.fold(word) not in v.NOT_NAME)
        for k, word in enumerate(words)
    )


def _as_written(name: str, text: str, r: ParsedUA) -> str:
    """A header's "Charles RECTOR" as the text writes it elsewhere ("Charles Rector"); else title-cased,
    and reported: "McDONALD" cannot be told from "MACDONALD" by its capitals."""
    if not any(len(word) > 1 and word.isupper() for word in name.split()):
        return name
    for match in re.finditer(re.escape(name), text, re.I):
        if not any(len(word) > 1 and word.isupper() for word in match.group(0).split()):
            return match.group(0)
    cased = " ".join(w if w.lower() in v.NAME_PARTICLES else w[0] + w[1:].lower() for w in name.split())
    r.uncertain.append(
        Note("subject.name", N_("written %(written)s in the document: check the capitals"), written=repr(name))
    )
    return cased


def _opening_subject(paragraph: str, text: str, r: ParsedUA) -> None:
    """The name that opens the first paragraph, the way Urgent Actions begin: "Alan Johnston was released
    ...", "Juan Manuel Martinez, a political activist, ...". Not a list of people ("X, Y and Z"), not a
    capitalised common word ("Lawyer Khalil ...": the text writes "lawyer" in lower case elsewhere)."""
    words = paragraph.split()[:8]
    name: list[str] = []
    for word in words:
        bare = word.rstrip(",")
        if not (_NAME_WORD.fullmatch(bare) or (name and bare in v.NAME_PARTICLES)):
            break
        name.append(bare)
        if bare != word:
            break
    if not _person(name) or v.fold(name[0]) in v.NOT_NAME_START:
        return
    after = words[len(name)] if len(name) < len(words) else ""
    apposition = words[len(name) - 1].endswith(",") and after[:1].islower()
    if not (apposition or after in v.SUBJECT_VERBS):
        return
    if any(re.search(rf"(?<![\w’'-]){re.escape(word.lower())}(?![\w’'-])", text) for word in name if len(word) > 2):
        return
    r.subject_name = " ".join(name)
    r.uncertain.append(
        Note("subject", N_("picked by a heuristic: %(found)s"), found=f"name {r.subject_name!r} (the opening sentence)")
    )


def _gender(label: str, first: str | None, second: str | None, value: str) -> str | None:
    """m/f/x from the letter or word given. The letters depend on the language: Spanish "h/m" means
    hombre/mujer, so "m" is a woman there, a man in "m/f"; the label's own letters decide."""
    value = v.fold(value)
    if len(value) > 1:
        return v.GENDER_WORDS.get(value)
    letters = (first + second).lower() if first and second else v.GENDER_LETTERS.get(v.fold(label), "mf")
    if value in letters:
        return "mf"[letters.index(value)]
    return "x" if value == "x" else None


def _background(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        if match := _BACKGROUND.match(line):
            body = [match.group(1)] if match.group(1) else []
            for nxt in lines[i + 1 :]:
                if _BACKGROUND_END.match(nxt):
                    break
                body.append(nxt)
            return join_paragraphs(body)
    return None


def _links(lines: list[str], r: ParsedUA) -> None:
    seen_ref = False
    previous = ""
    for line in lines:
        for match in _URL.finditer(line):
            url = match.group(0).rstrip(".,;:")
            if r.degraded and not (seen_ref or _PLAIN.search(line[: match.start()])):
                continue  # the letterhead of a fax-era UA, not a link about the case
            if any(link["url"] == url for link in r.links):
                continue
            before = line[: match.start()].strip() or previous
            label = _URL_LABEL.search(before)
            if label:
                r.links.append({"title": label.group(1).strip(), "url": url})
            else:
                r.links.append({"title": url, "url": url})
                r.uncertain.append(Note("links", N_("no label before %(url)s: the URL is its title"), url=url))
        previous, seen_ref = line or previous, seen_ref or bool(_PLAIN.search(line))


def _report_missing(r: ParsedUA) -> None:
    required = {"id": r.id, "ua": r.ua, "title": r.title, "summary": r.summary, "asks": r.asks, "targets": r.targets}
    optional = {
        "deadline": r.deadline,
        "issued": r.issued,
        "letter_languages": r.letter_languages,
        "background": r.background,
        "facts": r.facts,
        "tweet": r.tweet,
        "subject": r.subject_name,
        "links": r.links,
    }
    r.missing.extend(Note(name, required=True) for name, value in required.items() if not value)
    for i, target in enumerate(r.targets):
        if not target.name:
            r.missing.append(Note(f"targets[{i}].name", required=True))
        if not target.copy and not target.salutation:
            r.missing.append(Note(f"targets[{i}].salutation"))
        if not (target.fax or target.email or target.twitter):
            r.missing.append(Note(f"targets[{i}].fax/email/twitter"))
    if r.targets and all(t.copy for t in r.targets):
        r.missing.append(Note("targets", N_("a target that is not a copy"), required=True))
    r.missing.extend(Note(name) for name, value in optional.items() if not value)
    if r.subject_name and not r.subject_gender:
        r.missing.append(Note("subject.gender"))
    if r.timezone is None:
        r.missing.append(_zone_note(r.country))


def _zone(r: ParsedUA) -> None:
    """The deadline's zone: the officials' country's, when it has one zone (the chat asks for the rest)."""
    addresses = [t.address for t in r.targets if not t.copy]
    r.country = country_of(addresses, r.title)
    zones = zones_of(r.country)
    if len(zones) == 1:
        r.timezone = zones[0]
        r.uncertain.append(
            Note(
                "timezone",
                N_("%(zone)s, the time zone of %(country)s"),
                zone=zones[0],
                country=_country(r.country),
                country_code=r.country or "",
            )
        )
    elif zone := zone_in(zones, addresses):
        r.timezone = zone
        r.uncertain.append(Note("timezone", N_("%(zone)s, from the officials' address"), zone=zone))


def _zone_note(country: str | None) -> Note:
    if country is None:
        return Note("timezone", N_("the document does not name the officials' country: choose the deadline's zone"))
    return Note(
        "timezone",
        N_("%(country)s has several time zones: choose the deadline's zone"),
        country=_country(country),
        country_code=country,
    )


def _country(code: str | None) -> str:
    return country_name(code, "en") if code else ""


# What a closing update needs: which appeal it closes, and the news its followers get.
_CLOSING_NEEDS = ("id", "ua", "summary")


def _closing_needs(r: ParsedUA) -> None:
    """A closing update asks for nothing: its missing asks, officials or title are no longer required."""
    r.missing = [
        Note(n.field, n.message, **n.params) if n.required and n.field not in _CLOSING_NEEDS else n for n in r.missing
    ]


# --- text helpers ------------------------------------------------------------------------------


def clean_lines(text: str) -> list[str]:
    """The document's lines, stripped; a SOURCE:/NOTE: preamble (up to its blank line) is skipped.

    A PDF copy's doubled spaces are single ones and its page numbers are dropped: neither is part of
    what the document says. French typesetting puts a (narrow) no-break space before colons.
    """
    text = re.sub(r"[\u00a0\u202f\u2009\t]", " ", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    if lines and lines[0].startswith("SOURCE:"):
        end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
        lines = lines[end + 1 :]
    lines = [re.sub(r" {2,}", " ", line.strip()) for line in lines]
    return [line for i, line in enumerate(lines) if not (_PAGE_NUMBER.match(line) and not _mid_sentence(lines, i))]


def _mid_sentence(lines: list[str], i: int) -> bool:
    """A number alone on a line inside a sentence ("On" / "21" / "June, an unknown man…"), not a page number:
    the line before does not end a sentence and the line after goes on with a month or a small letter."""
    before = next((line for line in reversed(lines[:i]) if line), "")
    after = next((line for line in lines[i + 1 :] if line), "")
    if not before or not after or re.search(r"[.!?:;)\]]$", before):
        return False
    word = re.match(r"[^\W\d_]+", after)
    return bool(word and (word.group(0)[0].islower() or v.MONTHS.get(word.group(0)) is not None))


def join_paragraphs(lines: list[str]) -> str | None:
    """Wrapped lines joined with spaces; paragraphs (split by blank lines) joined by an empty line."""
    paragraphs, current = [], []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return "\n\n".join(paragraphs) or None
