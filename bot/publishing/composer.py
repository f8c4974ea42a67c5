"""A coordinator's message being written: its parts, its language versions, who gets which. No aiogram here.

Telegram splits a long paste into several messages that arrive within a second or two of each other; a
composer gathers them as the parts of one message (`Draft.add`). A message may also come in a version per
UI language: each recipient gets the version of the language they chose, and the one written first when
there is none for theirs (bot.delivery.models.Payload.for_language). handlers/broadcast.py and
handlers/updates.py keep a draft in the conversation's data (`to_data`, `from_data`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.delivery import Payload

# A part arriving this soon after the one before belongs to the same message, whatever the step.
GATHER_SECONDS = 2.0


def length(text: str) -> int:
    """Characters as Telegram counts them (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Draft:
    """The message in the language it was written in (`lang`), in parts, and its other language versions."""

    lang: str
    parts: list[str] = field(default_factory=list)
    photo: str | None = None
    versions: dict[str, list[str]] = field(default_factory=dict)
    last_at: float = 0.0  # when its latest part arrived

    @classmethod
    def from_data(cls, data: dict[str, Any], lang: str) -> Draft:
        raw = data.get("draft") or {}
        return cls(
            lang=raw.get("lang") or lang,
            parts=list(raw.get("parts") or []),
            photo=raw.get("photo"),
            versions={code: list(parts) for code, parts in (raw.get("versions") or {}).items()},
            last_at=float(raw.get("last_at") or 0.0),
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "draft": {
                "lang": self.lang,
                "parts": self.parts,
                "photo": self.photo,
                "versions": self.versions,
                "last_at": self.last_at,
            }
        }

    def gathering(self, now: float) -> bool:
        """Whether a text arriving now is the next part of the latest one (Telegram's split of a long paste)."""
        return bool(self.parts) and now - self.last_at < GATHER_SECONDS

    def add(self, text: str, now: float, version: str | None = None) -> None:
        """The next part of the message, or of its version in `version`."""
        if version and version != self.lang:
            self.versions.setdefault(version, []).append(text)
        else:
            self.parts.append(text)
        self.last_at = now

    def parts_of(self, version: str | None = None) -> list[str]:
        return self.versions.get(version or "", []) if version and version != self.lang else self.parts

    def characters(self, version: str | None = None) -> int:
        return sum(length(part) for part in self.parts_of(version))

    def drop(self, version: str) -> None:
        self.versions.pop(version, None)

    def languages(self) -> list[str]:
        """The languages it is written in: the first one, then its versions in the order they were added."""
        return [self.lang, *(code for code, parts in self.versions.items() if parts and code != self.lang)]

    def payload(self, *, urgent: bool = False) -> Payload:
        """What the delivery engine sends: each recipient gets every part of their version, in order; `urgent`
        reaches people in their night at once, silently (bot.ground.quiet)."""
        variants = {
            code: Payload(parts[0], self.photo, more=parts[1:], lang=code)
            for code, parts in self.versions.items()
            if parts and code != self.lang
        }
        first, *more = self.parts or [""]
        return Payload(first, self.photo, variants=variants, more=more, lang=self.lang, urgent=urgent)


def by_version(languages: list[str], readers: Counter[str | None]) -> dict[str, int]:
    """How many of an audience get each version: their own language's, or the first one (`languages[0]`)."""
    counts = {code: readers.get(code, 0) for code in languages[1:]}
    return {languages[0]: sum(readers.values()) - sum(counts.values()), **counts}


def missing_versions(languages: list[str], readers: Counter[str | None], offered: list[str]) -> list[str]:
    """The UI languages (of `offered`, in its order) some of the audience read and no version is written in."""
    return [code for code in offered if readers.get(code) and code not in languages]
