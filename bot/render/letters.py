"""Letters to officials: choosing the language, filling the frame, varying the phrasing.

A frame is content/templates/letters/letter.<lang>.txt.j2 plus subject.<lang>.txt.j2.
A letter can be written in a language when a frame exists and every ask has text in it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment

from bot.content.models import Case, Target, Text, pick

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


def ask_has_lang(ask: Text, lang: str) -> bool:
    # A plain string "counts for no language in particular": it is usable in every letter.
    return isinstance(ask, str) or bool(ask.get(lang))


def as_sentence(text: str) -> str:
    """One ask as a sentence: whitespace collapsed, list punctuation (";") replaced by a full stop."""
    text = " ".join(text.split()).rstrip(" ;,")
    return text if not text or text[-1] in ".!?…" else text + "."


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

    def _context(self, case: Case, target: Target, lang: str, seed: bytes, signature: str | None) -> dict[str, Any]:
        salutation = target.salutation
        if isinstance(salutation, dict):
            # A salutation in another language would be wrong here; the frame has a neutral one.
            salutation = salutation.get(lang) or None
        subject = case.subject
        return {
            "lang": lang,
            "variant": variant_chooser(seed),
            "target": {
                "name": target.name,
                "title": pick(target.title, lang),
                "organisation": pick(target.organisation, lang),
                "address": [line for line in target.address if line.strip()],
                "salutation": salutation,
                "copy": target.copy_,
            },
            "subject": {"name": pick(subject.name, lang), "gender": subject.gender.value if subject.gender else None}
            if subject
            else None,
            "title": " ".join((pick(case.title, lang) or "").split()),
            "asks": [as_sentence(pick(ask, lang, ("en",)) or "") for ask in case.asks],
            "signature": signature.strip() if signature and signature.strip() else None,
        }

    def write(
        self,
        case: Case,
        index: int,
        lang: str,
        *,
        variant_seed: bytes,
        signature: str | None,
        with_address: bool = True,
    ) -> str:
        """The letter as plain text. with_address=False leaves out the postal block (emails)."""
        target = case.targets[index]
        ctx = self._context(case, target, lang, variant_seed, signature)
        text = self.env.get_template(f"letters/letter.{lang}.txt.j2").render(with_address=with_address, **ctx)
        return re.sub(r"\n{3,}", "\n\n", text).strip()

    def subject(self, case: Case, index: int, lang: str, *, variant_seed: bytes) -> str:
        """Email subject line, one line."""
        target = case.targets[index]
        ctx = self._context(case, target, lang, variant_seed, None)
        text = self.env.get_template(f"letters/subject.{lang}.txt.j2").render(**ctx)
        return " ".join(text.split())
