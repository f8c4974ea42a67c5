"""Letters to officials: choosing the language, filling the frame, varying the phrasing.

A frame is content/templates/letters/letter.<lang>.txt.j2 plus subject.<lang>.txt.j2.
A letter can be written in a language when a frame exists and every ask has text in it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment

from bot.content.models import Ask, Case, GrammarCase, Inflected, Target, Text, form_of, pick
from bot.render.formatting import format_letter_date

logger = logging.getLogger(__name__)

_FRAME = re.compile(r"^letter\.([a-z]{2,3})\.txt\.j2$")


def variant_chooser(seed: bytes) -> Callable[[str, int], int]:
    """variant(name, count) -> 0..count-1, fixed for a seed, independent between paragraphs.

    Each paragraph hashes the seed with its own name, so two seeds rarely agree on every
    paragraph: officials get many different combinations, and one user always the same one.
    """

    def variant(name: str, count: int) -> int:
        digest = hashlib.sha256(seed + b"\x00" + name.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % max(count, 1)

    return variant


def ask_has_lang(ask: Ask, lang: str) -> bool:
    # A plain string "counts for no language in particular": it is usable in every letter.
    return isinstance(ask.text, str) or bool(ask.text.get(lang))


def as_sentence(text: str) -> str:
    """One ask as a sentence: whitespace collapsed, list punctuation (";") replaced by a full stop."""
    text = " ".join(text.split()).rstrip(" ;,")
    return text if not text or text[-1] in ".!?…" else text + "."


def in_lang(text: Text | None, lang: str) -> str | None:
    """Text only when it exists in lang (or is a plain string): a letter never mixes languages."""
    if text is None or isinstance(text, str):
        return text
    return text.get(lang) or None


class Person:
    """An official or the person a letter is about, as a frame sees them in one language.

    `form(field, case)` gives a grammatical form ("dat", "gen") and notes the ones the case file lacks,
    so `rrbot check` can tell the case author which forms a frame used and did not find.
    """

    def __init__(self, fields: dict[str, Inflected | None], lang: str, missing: set[str], who: str) -> None:
        self._fields = fields
        self._lang = lang
        self._missing = missing
        self._who = who

    def form(self, field: str, case: GrammarCase = "nom") -> str | None:
        value, given = form_of(self._fields.get(field), self._lang, case)
        if not given and value:
            self._missing.add(f"{self._who}.{field}:{case}")
        return value

    def has(self, field: str, case: GrammarCase) -> bool:
        """Whether the case file gives that form (a frame may word a sentence differently without it)."""
        value, given = form_of(self._fields.get(field), self._lang, case)
        if not given and value:
            self._missing.add(f"{self._who}.{field}:{case}")
        return given and value is not None

    def __getattr__(self, field: str) -> str | None:
        if field.startswith("_"):
            raise AttributeError(field)
        return self.form(field)


@dataclass(frozen=True)
class LetterParts:
    heading: list[str]  # the addressee block in the letter's language
    date: str
    body: str  # from the salutation to the closing formula
    signature: list[str]  # the saved signature's lines, or the name and address placeholders
    copy_line: str | None  # "Copy to: …" in a "copies to" official's letter


class LetterWriter:
    def __init__(self, env: Environment, templates_dir: Path) -> None:
        self.env = env
        letters_dir = Path(templates_dir) / "letters"
        self.frames: tuple[str, ...] = tuple(
            sorted(
                m.group(1)
                for p in letters_dir.glob("letter.*.txt.j2")
                if (m := _FRAME.match(p.name)) and (letters_dir / f"subject.{m.group(1)}.txt.j2").exists()
            )
        )
        if not self.frames:
            raise FileNotFoundError(f"no letter frames in {letters_dir}")

    def available(self, case: Case) -> list[str]:
        """Languages a letter for this case can be written in (frame + asks text)."""
        return [lang for lang in self.frames if all(ask_has_lang(ask, lang) for ask in case.asks)]

    def resolve(self, case: Case, wanted: str, ui_lang: str) -> str:
        """wanted if possible, else the appeal's language, the user's, English, anything."""
        available = self.available(case)
        for lang in (wanted, *case.letter_languages, ui_lang, "en", *available):
            if lang in available:
                return lang
        # No language has both a frame and full asks: write in a frame language anyway,
        # each ask in whatever language it exists (better than no letter at all).
        logger.warning("case %s: no letter language has every ask", case.id)
        return wanted if wanted in self.frames else ("en" if "en" in self.frames else self.frames[0])

    def default_language(self, case: Case, ui_lang: str) -> str:
        """The language the appeal asks for, when we can write it; else the user's."""
        first = case.letter_languages[0] if case.letter_languages else ui_lang
        return self.resolve(case, first, ui_lang)

    def switch_languages(self, case: Case, current: str, ui_lang: str) -> list[str]:
        """Other languages worth offering: the appeal's and the user's, if a letter is possible."""
        available = self.available(case)
        wanted = dict.fromkeys([*case.letter_languages, ui_lang])
        return [lang for lang in wanted if lang != current and lang in available]

    @staticmethod
    def _official(target: Target, lang: str, missing: set[str], who: str) -> dict[str, Any]:
        person = Person(
            {"name": target.name, "title": target.title, "organisation": target.organisation}, lang, missing, who
        )
        lines = target.letter_address.get(lang) or target.address
        return {
            "person": person,
            "name": person.name,
            "title": person.title,
            "organisation": person.organisation,
            # The heading's address in the letter's language where the file has it, else as the document gives it.
            "address": [line for line in lines if line.strip()],
            # A salutation in another language would be wrong here; the frame has a neutral one.
            "salutation": in_lang(target.salutation, lang),
        }

    def addressee(self, case: Case, index: int) -> tuple[Target, Target | None]:
        """(whom the letter is addressed to, the official it is a copy for).

        A "copies to" official gets the letter to the first addressee with a "Copy to" line: the document
        gives no salutation for them, and inventing one would put words in its mouth.
        """
        target = case.targets[index]
        if target.copy_:
            return case.primary_targets[0], target
        return target, None

    def _context(
        self,
        case: Case,
        index: int,
        lang: str,
        seed: bytes,
        signature: str | None,
        today: dt.date | None,
        missing: set[str] | None = None,
    ) -> dict[str, Any]:
        missing = set() if missing is None else missing
        target, copy_for = self.addressee(case, index)
        subject = case.subject
        asks = [(as_sentence(pick(ask.text, lang, ("en",)) or ""), ask.statement) for ask in case.asks]
        facts = in_lang(case.facts, lang)
        return {
            "lang": lang,
            "variant": variant_chooser(seed),
            "target": self._official(target, lang, missing, "target"),
            "copy_to": self._official(copy_for, lang, missing, "copy") if copy_for else None,
            "subject": {
                "person": Person({"name": subject.name}, lang, missing, "subject"),
                "name": pick(subject.name, lang),
                "gender": subject.gender.value if subject.gender else None,
            }
            if subject
            else None,
            "title": " ".join((pick(case.title, lang) or "").split()),
            "facts": " ".join(facts.split()) if facts else None,
            "requests": [text for text, statement in asks if not statement],
            "statements": [text for text, statement in asks if statement],
            "date": format_letter_date(today, lang) if today else None,
            # Blank lines dropped: the signature is one paragraph, which the printed letter relies on.
            "signature": [line.strip() for line in signature.splitlines() if line.strip()]
            if signature and signature.strip()
            else None,
        }

    def write(
        self,
        case: Case,
        index: int,
        lang: str,
        *,
        variant_seed: bytes,
        signature: str | None,
        today: dt.date | None = None,
        with_address: bool = True,
    ) -> str:
        """The letter as plain text, dated `today` when given. with_address=False: an email (no heading, no date)."""
        ctx = self._context(case, index, lang, variant_seed, signature, today if with_address else None)
        text = self.env.get_template(f"letters/letter.{lang}.txt.j2").render(with_address=with_address, **ctx)
        return re.sub(r"\n{3,}", "\n\n", text).strip()

    def subject(self, case: Case, index: int, lang: str, *, variant_seed: bytes) -> str:
        """Email subject line, one line."""
        ctx = self._context(case, index, lang, variant_seed, None, None)
        text = self.env.get_template(f"letters/subject.{lang}.txt.j2").render(**ctx)
        return " ".join(text.split())

    def parts(
        self, case: Case, index: int, lang: str, *, variant_seed: bytes, signature: str | None, today: dt.date
    ) -> LetterParts:
        """The letter cut where a printed page lays it out differently from a message.

        Relies on the frames' shape (their header comments say so): the heading is the first paragraph,
        the date the second, the closing formula opens the signature's paragraph, and a copy line comes last.
        """
        ctx = self._context(case, index, lang, variant_seed, signature, today)
        text = self.env.get_template(f"letters/letter.{lang}.txt.j2").render(with_address=True, **ctx)
        paragraphs = [p.strip("\n") for p in re.split(r"\n{2,}", text.strip())]
        heading, date, *rest = paragraphs
        copy_line = rest.pop() if ctx["copy_to"] else None
        closing, *signature_lines = rest.pop().splitlines()
        return LetterParts(
            heading=heading.splitlines(),
            date=date,
            body="\n\n".join([*rest, closing]),
            signature=signature_lines,
            copy_line=copy_line,
        )

    def missing_forms(self, case: Case, lang: str) -> set[str]:
        """The grammatical forms ("target.title:dat") the letters in lang use and the case file does not give."""
        missing: set[str] = set()
        template = self.env.get_template(f"letters/letter.{lang}.txt.j2")
        for index in range(len(case.targets)):
            # Every phrasing of every paragraph: the k-th of each (frames keep to a handful per paragraph).
            for k in range(6):
                ctx = self._context(case, index, lang, b"", None, dt.date(2000, 1, 1), missing)
                ctx["variant"] = lambda _name, count, k=k: k % max(count, 1)
                template.render(with_address=True, **ctx)
        return missing
