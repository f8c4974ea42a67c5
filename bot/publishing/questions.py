"""What the bot asks a coordinator after an import: each thing the document did not give, one at a time.

A coordinator on a phone cannot edit YAML. So the draft's case data is completed in chat: the bot
asks for one missing thing (the asks, a name, the deadline, its time zone, a salutation), checks the
answer on the spot and writes it into the draft. Editing the case file stays for power users.

TOPICS is the one table of what can be asked: its order is the order of the questions. Pure: no
aiogram, no I/O; the clock comes in as `today`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from babel.dates import get_day_names, get_month_names

from bot.importer.vocabulary import detect_language, fold
from bot.importer.zones import (
    NAME_LANGUAGES,
    city_names,
    country_named,
    distinct_zones,
    utc_offset,
    zones_of,
)


class Answer(StrEnum):
    text = "text"  # one line or paragraph, as typed
    lines = "lines"  # one item a line
    date = "date"
    zone = "zone"  # a button of the country's zones, or a typed zone or country


@dataclass(frozen=True)
class Topic:
    name: str
    answer: Answer
    required: bool  # without it the draft cannot be published; the others can be skipped
    per_official: bool = False
    limit: int = 0  # characters, for a typed text
    # Asked of a draft that could be published without it: a case without a deadline gets no reminders, and one
    # in the wrong zone gets them hours off. A salutation is asked only when the coordinator taps for questions.
    prompted: bool = True


TOPICS = (
    Topic("title", Answer.text, True, limit=200),
    Topic("summary", Answer.text, True, limit=1500),
    Topic("asks", Answer.lines, True, limit=600),  # per ask
    Topic("name", Answer.text, True, per_official=True, limit=120),
    Topic("deadline", Answer.date, False),
    Topic("timezone", Answer.zone, False),
    Topic("salutation", Answer.text, False, per_official=True, limit=120, prompted=False),
)
TOPIC = {topic.name: topic for topic in TOPICS}
MAX_OFFICIALS = 99  # a question names its official by a two-digit place (callback data); more is a hostile file
# What changes the letters: after answers about anything else, the preview shows the cards again, not the letters.
IN_LETTERS = frozenset({"asks", "name", "salutation"})
# The languages a coordinator may type a month or a city in.


@dataclass(frozen=True)
class Question:
    topic: Topic
    official: int | None = None  # the official's place in the draft, for a per-official topic
    official_name: str | None = None
    choices: tuple[str, ...] = ()  # time zones to tap: one for each different time the country keeps
    offsets: tuple[str, ...] = ()  # each choice's "UTC+3" today, for its button
    country: str | None = None
    passed: str | None = None  # the document's deadline, when it has passed (ISO date)
    language: str | None = None  # for the asks: the document's language, the one to type them in

    @property
    def key(self) -> str:
        """Names the question in a callback and the chat's state: "asks", "salutation.1"."""
        return self.topic.name if self.official is None else f"{self.topic.name}.{self.official}"

    @property
    def field(self) -> str:
        """The case file's field the answer fills (what the importer's notes name)."""
        return self.topic.name if self.official is None else f"targets[{self.official}].{self.topic.name}"


@dataclass(frozen=True)
class Outcome:
    """An answer taken (`value`: what was written, as shown back), or why not (`error`, a code)."""

    value: str | None = None
    error: str | None = None  # empty, too_long, bad_date, past, bad_zone
    country: str | None = None  # a typed country: its zones are the next choice


def next_question(
    data: dict[str, Any], skipped: set[str], country: str | None, today: dt.date | None = None
) -> Question | None:
    """The first thing the draft still lacks that a coordinator can answer in chat (None as well when the
    document names no official: that is beyond a question, the case file must say who gets the letters)."""
    # Places in the file's own list: the answer is written at the same place (a malformed entry is skipped).
    targets = data.get("targets") if isinstance(data.get("targets"), list) else []
    if not any(isinstance(target, dict) for target in targets):
        return None
    today = today or dt.datetime.now(dt.UTC).date()
    for topic in TOPICS:
        if topic.per_official:
            for i, target in enumerate(targets[:MAX_OFFICIALS]):
                if not isinstance(target, dict):
                    continue
                question = Question(topic, i, str(target.get("name") or "") or None)
                if _lacks(target, topic.name) and not target.get("copy") and question.key not in skipped:
                    return question
            continue
        if topic.name in skipped:
            continue
        deadline = data.get("deadline")
        if topic.name == "deadline" and isinstance(deadline, dt.date) and _day(deadline) < today:
            return Question(topic, passed=_day(deadline).isoformat())  # an old document: a new date, or skip
        if _lacks(data, topic.name):
            if topic.name == "timezone":
                if not deadline:
                    continue  # no deadline, nothing to be on time for
                zones = tuple(distinct_zones(country, today.year))
                noon = dt.datetime.combine(today, dt.time(12), dt.UTC)
                return Question(
                    topic, choices=zones, offsets=tuple(utc_offset(z, noon) for z in zones), country=country
                )
            if topic.name == "asks":
                return Question(topic, language=_document_language(data))
            return Question(topic)
    return None


def _day(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _lacks(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    return value is None or value == "" or value == [] or value == {}


def answer(data: dict[str, Any], question: Question, typed: str, today: dt.date) -> Outcome:
    """Write the answer into `data` (the draft's case fields), or say what is wrong with it."""
    typed = typed.strip()
    if not typed:
        return Outcome(error="empty")
    topic = question.topic
    if topic.answer == Answer.date:
        day = read_date(typed, today)
        if day is None:
            return Outcome(error="bad_date")
        if day < today:
            return Outcome(error="past")
        data["deadline"] = day
        return Outcome(day.isoformat())
    if topic.answer == Answer.zone:
        return _zone(data, question, typed)
    if topic.answer == Answer.lines:
        asks = [line for line in (_unbullet(raw) for raw in typed.splitlines()) if line]
        if not asks:  # bullets alone: taken, they would write no asks and the same question would come again
            return Outcome(error="empty")
        if any(len(ask) > topic.limit for ask in asks):
            return Outcome(error="too_long")
        data["asks"] = [{language_of(ask, _document_language(data)): ask} for ask in asks]
        return Outcome("\n".join(asks))
    if len(typed) > topic.limit:
        return Outcome(error="too_long")
    text = re.sub(r"\s+", " ", typed) if topic.name != "summary" else typed
    if question.official is None:
        data[topic.name] = text
    elif topic.name == "salutation":
        # By its language, as the importer keeps one: a letter in another language must not open with it.
        data["targets"][question.official][topic.name] = {language_of(text, _document_language(data)): text}
    else:
        data["targets"][question.official][topic.name] = text
    return Outcome(text)


def _zone(data: dict[str, Any], question: Question, typed: str) -> Outcome:
    """A zone tapped or typed ("America/Mexico_City"), or a country whose zones are then offered."""
    # By its button's label too: the question says to tap the officials' city, so some type it instead; "Mexico
    # City" would otherwise read as the country Mexico and bring the same question back.
    wanted = fold(typed)
    zones = (*question.choices, *zones_of(question.country))
    zone = next((z for z in zones if z == typed or wanted in city_names(z)), None) or _known_zone(typed)
    if zone is not None:
        data["timezone"] = zone
        return Outcome(zone)
    country = country_named(typed)
    zones = zones_of(country)
    if len(zones) == 1:
        data["timezone"] = zones[0]
        return Outcome(zones[0])
    if zones:
        return Outcome(country=country)
    return Outcome(error="bad_zone")


def _known_zone(typed: str) -> str | None:
    """An IANA name typed as is, in any case ("europe/moscow")."""
    wanted = typed.replace(" ", "_").casefold()
    return next((z for z in _zones() if z.casefold() == wanted), None)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _unbullet(line: str) -> str:
    """An ask as typed in a list: "1. Release him", "- Release him", "• Release him" -> "Release him"."""
    return re.sub(r"^\s*(?:[-*•·–]|\d{1,2}[.)])\s*", "", line).strip()


def language_of(text: str, default: str = "en") -> str:
    """The language of a typed ask: Russian when it is written in Cyrillic, else English, Spanish or French;
    `default` when a short phrase gives no sign of any ("Liberen a Ana")."""
    letters = re.findall(r"[^\W\d_]", text)
    if letters and sum("\u0400" <= c <= "\u04ff" for c in letters) > len(letters) / 2:
        return "ru"
    return detect_language(text, default)


def _document_language(data: dict[str, Any]) -> str:
    """The draft's own language: the importer keys the facts by it."""
    facts = data.get("facts")
    return next(iter(facts), "en") if isinstance(facts, dict) and facts else "en"


# --- typed dates ----------------------------------------------------------------------------------


@cache
def _months() -> dict[str, int]:
    """Month names and abbreviations a coordinator may type, folded: "august", "aug", "agosto", "августа"."""
    names: dict[str, int] = {}
    for lang in NAME_LANGUAGES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, lang).items():
                    names.setdefault(fold(name).strip("."), number)
    return names


@cache
def _weekdays() -> frozenset[str]:
    """Day names a coordinator may type before a date ("Friday 16 August"), folded."""
    return frozenset(
        fold(name).strip(".")
        for lang in NAME_LANGUAGES
        for width in ("wide", "abbreviated")
        for name in get_day_names(width, "format", lang).values()
    )


def read_date(typed: str, today: dt.date) -> dt.date | None:
    """A date as a coordinator types it: "2017-08-16", "16.08.2017", "16/8", "16 August 2017", "16 августа".

    Numbers are read day first (as in every language the bot speaks but American English); a date without
    a year is the next one to come.
    """
    text = re.sub(r"\b\d{1,2}:\d{2}\b", " ", fold(typed).replace(",", " "))  # a time of day: the date is what counts
    text = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th|er|e|º|°)(?!\w)", r"\1", text)  # "16th", "1er"
    if match := re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", text):
        return _date(int(match[1]), int(match[2]), int(match[3]))
    if match := re.fullmatch(r"\s*(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?\s*", text):
        return _dated(int(match[1]), int(match[2]), match[3], today)
    skip = {"de", "del", "g", "goda", "г", "года", "the", "of", "le", *_weekdays()}
    words = [w.strip(".") for w in text.split() if w.strip(".") not in skip]
    if not words:
        return None
    numbers = [w for w in words if w.isdigit()]
    months = [_months()[w] for w in words if w in _months()]
    if len(months) != 1 or not 1 <= len(numbers) <= 2 or len(words) != len(numbers) + 1:
        return None
    days = [int(n) for n in numbers if len(n) <= 2]
    years = [n for n in numbers if len(n) == 4]
    if len(days) != 1 or len(days) + len(years) != len(numbers):
        return None
    return _dated(days[0], months[0], years[0] if years else None, today)


def _dated(day: int, month: int, year: str | None, today: dt.date) -> dt.date | None:
    if year is None:
        this_year = _date(today.year, month, day)
        return this_year if this_year is None or this_year >= today else _date(today.year + 1, month, day)
    return _date(int(year) + (2000 if len(year) == 2 else 0), month, day)


def _date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None
