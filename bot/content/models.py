"""Case files: the pydantic models that tools outside the bot also write to."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

# A case id ends up in deep links and in callback data (64 bytes in all), so it stays short.
CASE_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
LANG_PATTERN = r"^[a-z]{2,3}$"

LangCode = Annotated[str, Field(pattern=LANG_PATTERN)]
# Any text field is a plain string (one language, whatever the reader speaks) or a map lang -> string.
Text = str | dict[LangCode, str]


def pick(text: Text | None, lang: str, fallbacks: tuple[str, ...] = ("en",)) -> str | None:
    """Return text in lang, else in the first fallback that has it, else in any language."""
    if text is None:
        return None
    if isinstance(text, str):
        return text
    for code in (lang, *fallbacks):
        if text.get(code):
            return text[code]
    return next(iter(text.values()), None)


def has_lang(text: Text | None, lang: str) -> bool:
    """True when the text exists in lang (a plain string counts for no language in particular)."""
    return isinstance(text, dict) and bool(text.get(lang))


class Status(StrEnum):
    open = "open"
    closed = "closed"


class Gender(StrEnum):
    male = "m"
    female = "f"
    other = "x"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Target(Strict):
    name: str = Field(min_length=1)
    title: Text | None = None
    organisation: Text | None = None
    address: list[str] = Field(default_factory=list)
    fax: str | None = None
    email: str | None = None
    twitter: str | None = None
    salutation: Text | None = None
    copy_: bool = Field(default=False, alias="copy")

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    @field_validator("fax")
    @classmethod
    def _fax_digits(cls, value: str | None) -> str | None:
        if value is not None and len(re.sub(r"\D", "", value)) < 6:
            raise ValueError("a fax number needs at least 6 digits")
        return value

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
            raise ValueError("not an email address")
        return value

    @field_validator("twitter")
    @classmethod
    def _handle(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.fullmatch(r"@?[A-Za-z0-9_]{1,15}", value):
            raise ValueError("not a Twitter/X handle")
        return value if value.startswith("@") else "@" + value


# A target's keys as case files write them ("copy", not the attribute copy_), in the order above. The
# importer's drafts and the YAML it writes are built from Target, so a new field is declared once: here.
TARGET_KEYS: tuple[str, ...] = tuple(info.alias or name for name, info in Target.model_fields.items())


class Link(Strict):
    title: Text
    url: str = Field(pattern=r"^https?://\S+$")


class Subject(Strict):
    # A map lets a Russian letter spell the name in Cyrillic: officials read their own script.
    name: Text
    gender: Gender | None = None

    @field_validator("gender", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class Case(Strict):
    id: str = Field(pattern=CASE_ID_PATTERN)
    ua: str = Field(min_length=1)
    update: int | None = Field(default=None, ge=0)
    status: Status = Status.open
    issued: dt.date | None = None
    title: Text
    summary: Text
    background: Text | None = None
    tweet: Text | None = None
    asks: list[Text] = Field(min_length=1)
    letter_languages: list[LangCode] = Field(default_factory=list)
    deadline: dt.date | dt.datetime | None = None
    timezone: str | None = None
    targets: list[Target] = Field(min_length=1)
    links: list[Link] = Field(default_factory=list)
    subject: Subject | None = None
    # Deadline reminders: whole days fire at REMINDER_HOUR in the case's timezone, h/m/s exactly.
    reminders: list[str] = Field(default_factory=lambda: ["7d", "2d", "0d"])

    @field_validator("reminders")
    @classmethod
    def _durations(cls, values: list[str]) -> list[str]:
        from bot.ground.durations import parse_duration

        for value in values:
            parse_duration(value)  # raises with the expected form
        return values

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown timezone {value!r}") from None
        return value

    # A field validator rather than a model validator so the error carries the `targets` location
    # and the loader can point at the right line of the YAML file.
    @field_validator("targets")
    @classmethod
    def _one_addressee(cls, targets: list[Target]) -> list[Target]:
        if targets and all(t.copy_ for t in targets):
            raise ValueError("at least one target must not be a 'copies to' target")
        return targets

    @property
    def primary_targets(self) -> list[Target]:
        return [t for t in self.targets if not t.copy_]

    def deadline_at(self, default_tz: str = "UTC") -> dt.datetime | None:
        """The deadline as an aware datetime: a bare date means the end of that day."""
        if self.deadline is None:
            return None
        zone = ZoneInfo(self.timezone or default_tz)
        if isinstance(self.deadline, dt.datetime):
            value = self.deadline
            return value if value.tzinfo else value.replace(tzinfo=zone)
        return dt.datetime.combine(self.deadline, dt.time(23, 59, 59), tzinfo=zone)

    def asks_in(self, lang: str) -> bool:
        """True when every ask is written in lang."""
        return all(has_lang(ask, lang) for ask in self.asks)

    def languages(self) -> set[str]:
        """Languages in which the asks are complete (a plain-string ask counts for all)."""
        found: set[str] | None = None
        for ask in self.asks:
            if isinstance(ask, dict):
                langs = {k for k, v in ask.items() if v}
                found = langs if found is None else found & langs
        return found or set()
