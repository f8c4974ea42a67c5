"""Case files: the pydantic models that tools outside the bot also write to."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from bot.ground.text import ascii_slug

# A case id ends up in deep links and in callback data (64 bytes in all), so it stays short.
CASE_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$"
LANG_PATTERN = r"^[a-z]{2,3}$"

TARGET_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$"

LangCode = Annotated[str, Field(pattern=LANG_PATTERN)]
# Any text field is a plain string (one language, whatever the reader speaks) or a map lang -> string.
Text = str | dict[LangCode, str]

# Grammatical cases a letter frame may ask for. A Russian heading is in the dative («Генеральному
# прокурору … Ю. Я. Чайке»), the organisation after a title in the genitive, the person a letter is about
# in the genitive («в связи с делом Низомхона Джураева»). Names cannot be declined by rule, so the case
# author writes each form; `nom` is the plain form every screen uses.
GrammarCase = Literal["nom", "gen", "dat", "acc", "ins", "pre"]


class Forms(BaseModel):
    """One language's text in several grammatical cases; `nom` is required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nom: str = Field(min_length=1)
    gen: str | None = None
    dat: str | None = None
    acc: str | None = None
    ins: str | None = None
    pre: str | None = None


# A name or title: like Text, but a language may give its grammatical forms ({ru: {nom: …, dat: …}}).
Inflected = str | dict[LangCode, str | Forms]


def pick(text: Text | Inflected | None, lang: str, fallbacks: tuple[str, ...] = ("en",)) -> str | None:
    """Return text in lang, else in the first fallback that has it, else in any language (plain form)."""
    if text is None:
        return None
    if isinstance(text, str):
        return text
    for code in (lang, *fallbacks):
        if text.get(code):
            return _plain(text[code])
    return next((_plain(value) for value in text.values()), None)


def _plain(value: str | Forms) -> str:
    return value.nom if isinstance(value, Forms) else value


def form_of(text: Inflected | None, lang: str, case: GrammarCase) -> tuple[str | None, bool]:
    """(text in lang in that grammatical case, whether the case file gives that form).

    Without the form, the plain text in lang (a letter still gets written; `rrbot check` warns).
    Only text in lang itself counts: a form borrowed from another language would be in the wrong script.
    """
    if text is None:
        return None, True
    if case == "nom":
        return pick(text, lang), True
    value = text.get(lang) if isinstance(text, dict) else None
    if isinstance(value, Forms) and getattr(value, case):
        return getattr(value, case), True
    return pick(text, lang), False


# A fax or email field as a case file writes it: one string, or a list when the official has several
# (an office with two addresses). The model keeps that form, one left after repeats are dropped being a
# string again, so a file with one keeps reading and writing as it always did; read them as lists.
Contacts = str | list[str] | None
MAX_CONTACTS = 10  # per official and kind: each is a line on the email or fax screen and may be a button
MIN_FAX_DIGITS = 6


def contacts(value: object) -> list[str]:
    """A contact field's values as a list ([] for none): a Target's, or a draft's as its YAML has it."""
    items = value if isinstance(value, list) else [value]
    return [str(item) for item in items if item is not None and str(item).strip()]


def as_written(values: list[str]) -> Contacts:
    """Contacts in a case file's form: None for none, the string for one, the list for several."""
    return None if not values else values[0] if len(values) == 1 else list(values)


def _checked(
    value: Contacts, valid: Callable[[str], bool], reason: str, same: Callable[[str], str], kind: str
) -> Contacts:
    """Every contact checked, the bad one in a list named; repeats (by `same`) dropped, the first spelling kept."""
    if isinstance(value, str):
        if not valid(value):
            raise ValueError(reason)
        return value
    kept: dict[str, str] = {}
    for item in value or []:
        if not valid(item):
            raise ValueError(f"{reason}: {item!r}")
        kept.setdefault(same(item), item)
    if len(kept) > MAX_CONTACTS:
        raise ValueError(f"at most {MAX_CONTACTS} {kind} for one official")
    return as_written(list(kept.values()))


def _digits(number: str) -> str:
    return re.sub(r"\D", "", number)


def _is_fax(number: str) -> bool:
    return len(_digits(number)) >= MIN_FAX_DIGITS


def _is_email(address: str) -> bool:
    return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address) is not None


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
    # Pledges and buttons name an official by this id, so it must not change when the list is reordered
    # or a name respelled. A case file should give it; without one it is derived from the name.
    id: str | None = Field(default=None, pattern=TARGET_ID_PATTERN)
    name: Inflected
    title: Inflected | None = None
    organisation: Inflected | None = None
    # The postal address as the document gives it: what goes on the envelope (international post).
    address: list[str] = Field(default_factory=list)
    # The address as a letter in that language writes it in its heading («ул. Большая Дмитровка, д. 15а …»).
    letter_address: dict[LangCode, list[str]] = Field(default_factory=dict)
    # One number or address, or a list of them (Contacts, above): read them through `faxes` and `emails`.
    fax: Contacts = None
    email: Contacts = None
    twitter: str | None = None
    salutation: Text | None = None
    copy_: bool = Field(default=False, alias="copy")

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)
    _id_derived: bool = PrivateAttr(default=False)  # `rrbot check` asks the case author to write one

    @property
    def id_derived(self) -> bool:
        return self._id_derived

    @field_validator("name")
    @classmethod
    def _named(cls, value: Inflected) -> Inflected:
        if not pick(value, "en"):
            raise ValueError("a target needs a name")
        return value

    def name_in(self, lang: str) -> str:
        """The official's name as a reader of lang sees it (Cyrillic on Russian screens when the file has it)."""
        return pick(self.name, lang) or ""

    @property
    def faxes(self) -> list[str]:
        return contacts(self.fax)

    @property
    def emails(self) -> list[str]:
        return contacts(self.email)

    # The same number however it is spaced or dashed, the same address in any case, is written once.
    @field_validator("fax")
    @classmethod
    def _fax_digits(cls, value: Contacts) -> Contacts:
        return _checked(value, _is_fax, f"a fax number needs at least {MIN_FAX_DIGITS} digits", _digits, "fax numbers")

    @field_validator("email")
    @classmethod
    def _email_shape(cls, value: Contacts) -> Contacts:
        return _checked(value, _is_email, "not an email address", str.casefold, "email addresses")

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
    # A map lets a Russian letter spell the name in Cyrillic: officials read their own script; forms let
    # it decline the name («в связи с делом Низомхона Джураева»).
    name: Inflected
    gender: Gender | None = None

    @field_validator("gender", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def target_ids(targets: list[Target]) -> list[str]:
    """Each target's id: its own, else one derived from its name that no other target has (chaika, chaika-2)."""
    return unique_ids([(t.id, t.name) for t in targets])


def unique_ids(targets: list[tuple[str | None, Inflected | None]]) -> list[str]:
    """(id or None, name) -> ids: the given ones kept, the others derived from the name's last word, unique."""
    taken = {given for given, _ in targets if given}
    ids = []
    for given, name in targets:
        if given:
            ids.append(given)
            continue
        words = (pick(name, "en") or "").replace(".", " ").split()
        base = candidate = ascii_slug(words[-1] if words else "", 16) or "official"
        n = 2
        while candidate in taken:
            candidate = f"{base[:13]}-{n}"
            n += 1
        taken.add(candidate)
        ids.append(candidate)
    return ids


class Ask(Strict):
    """What the writer asks of the official: a request the letter frames ("I urge you to: …", «Прошу Вас: …»),
    or a statement the letter uses as it is («Напоминаю, что …»)."""

    text: Text
    statement: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        # In a case file a request is just its text; a statement is `{statement: <text>}`.
        if isinstance(value, str):
            return {"text": value}
        if isinstance(value, dict) and set(value) == {"statement"}:
            return {"text": value["statement"], "statement": True}
        if isinstance(value, dict) and "text" not in value:
            return {"text": value}
        return value


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
    # Who, what happened, when and where, and the legal point, in two to four sentences: every letter states them.
    facts: Text | None = None
    asks: list[Ask] = Field(min_length=1)
    # The document's request to send copies to diplomatic representatives, as the letter screen says it.
    copies: Text | None = None
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

    @model_validator(mode="after")
    def _target_ids(self) -> Case:
        given = [t.id for t in self.targets]
        if len({i for i in given if i}) < sum(1 for i in given if i):
            raise ValueError("two targets have the same id")
        for target, target_id in zip(self.targets, target_ids(self.targets), strict=True):
            if not target.id:
                target.id = target_id
                target._id_derived = True
        return self

    def target_index(self, target_id: str) -> int | None:
        """The position of the official with this id, None for an id the case does not have (an old button)."""
        return next((i for i, t in enumerate(self.targets) if t.id == target_id), None)

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
        return all(has_lang(ask.text, lang) for ask in self.asks)

    def languages(self) -> set[str]:
        """Languages in which the asks are complete (a plain-string ask counts for all)."""
        found: set[str] | None = None
        for ask in self.asks:
            if isinstance(ask.text, dict):
                langs = {k for k, v in ask.text.items() if v}
                found = langs if found is None else found & langs
        return found or set()
