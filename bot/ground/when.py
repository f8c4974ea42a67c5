"""A time as people write it ("tomorrow 18:00", "через 2 часа", "15.12.2026 10:00"), read in their timezone.

dateparser, a maintained library that knows the words for days, months and spans in both UI languages, reads
the text; this module decides what the reading means for a send planned ahead: a time to use, one that has
passed, one too far ahead, a day without a time of day, or nothing it could read. Chat and the command line
share it; the clock is passed in, so tests fix it. No aiogram here.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.ground.i18n import UI_LANGUAGES

MAX_AHEAD = dt.timedelta(days=366)  # a send planned further ahead than a year is a typo
MAX_TEXT = 100  # longer is a message sent by mistake, not a time: not worth the parser's while

# A second reading from a base moved by this much tells a span ("in 2 hours") from a time ("18:00"): a span
# moves with its base, a time of day or a date does not. Odd minutes, so no calendar rule lines up with it.
_PROBE = dt.timedelta(days=1, hours=3, minutes=7)


class Verdict(enum.StrEnum):
    ok = "ok"
    passed = "passed"  # a time (or a whole day) already behind us
    too_far = "too_far"  # beyond MAX_AHEAD
    no_time = "no_time"  # a day without a time of day: "tomorrow", "Dec 15"
    unclear = "unclear"  # no time could be read


@dataclass(frozen=True)
class Reading:
    verdict: Verdict
    at: dt.datetime | None = None  # aware, in the reader's zone; None only when unclear
    has_time: bool = True  # False when only a day was written (then `at` is that day's start, or now's hour)


def read_time(
    text: str,
    zone: str,
    now: dt.datetime,
    lang: str = "en",
    ahead: dt.timedelta = MAX_AHEAD,
) -> Reading:
    """What `text` means as a time to send at, seen from `now` (aware) by someone in `zone` who speaks `lang`."""
    cleaned = " ".join(text.split())
    if not cleaned or len(cleaned) > MAX_TEXT:
        return Reading(Verdict.unclear)
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    found = _parse(cleaned, zone, local_now, _languages(lang))
    if found is None:
        return Reading(Verdict.unclear)
    at, has_time = found
    if (at <= now) if has_time else (at.date() < local_now.date()):
        return Reading(Verdict.passed, at, has_time)
    if at > now + ahead:
        return Reading(Verdict.too_far, at, has_time)
    if not has_time:
        return Reading(Verdict.no_time, at, has_time)
    return Reading(Verdict.ok, at)


def _languages(lang: str) -> list[str]:
    """The person's language first, then the other UI languages: a Russian speaker may well type "tomorrow"."""
    return [lang, *(other for other in UI_LANGUAGES if other != lang)] if lang in UI_LANGUAGES else list(UI_LANGUAGES)


def _settings(zone: str, base: dt.datetime) -> dict[str, Any]:
    """Every choice dateparser would otherwise make for us, made here."""
    return {
        "PREFER_DATES_FROM": "future",  # "18:00" late in the evening is tomorrow's; "Dec 15" in January, this year's
        "DATE_ORDER": "DMY",  # 05.12.2026 is the 5th of December, as both languages' readers write it
        "TIMEZONE": zone,  # a time without a zone of its own is the reader's; one with ("18:00 UTC") is converted
        # RETURN_AS_TIMEZONE_AWARE is left out on purpose: its default (which it refuses to be set to) is aware
        # only when the text names a zone. Aware always, the offset is the base's (dateparser adds days to a
        # fixed offset), an hour off across a change of clocks; the wall time is right and _parse sets the zone.
        "RELATIVE_BASE": base.replace(tzinfo=None),  # "tomorrow" counts from the reader's own day
        "RETURN_TIME_AS_PERIOD": True,  # period "time" only when a time of day was written
        # Not the Unix-timestamp or run-together readers: a stray number is not a time.
        "PARSERS": ["relative-time", "custom-formats", "absolute-time"],
        "STRICT_PARSING": False,  # a day without a year or a time is still read; the verdicts say what is missing
    }


def _parse(text: str, zone: str, local_now: dt.datetime, languages: Sequence[str]) -> tuple[dt.datetime, bool] | None:
    # Imported here: dateparser's import and first reading take a noticeable fraction of a second, which only
    # the people scheduling a send should wait for, not every process start and CLI command.
    from dateparser.date import DateDataParser

    def reading(base: dt.datetime) -> tuple[dt.datetime, str] | None:
        data = DateDataParser(languages=list(languages), settings=_settings(zone, base)).get_date_data(text)
        return (data.date_obj, data.period or "day") if data.date_obj is not None else None

    first = reading(local_now)
    if first is None:
        return None
    found, period = first
    has_time = period == "time"
    if has_time:
        moved = reading(local_now + _PROBE)
        span = _wall(found) - _wall(local_now)
        if moved is not None and _wall(moved[0]) - _wall(local_now + _PROBE) == span:
            # "in 2 hours" is two hours of real time, also across a change of clocks (dateparser counts on
            # the wall clock, which runs an hour short or long that night).
            return (local_now.astimezone(dt.UTC) + span).astimezone(local_now.tzinfo), True
    tz = ZoneInfo(zone)
    # A wall time the clocks skip (02:30 on the night they go forward) lands an hour later, as the clocks do;
    # one they pass twice is the first.
    return (found if found.tzinfo else found.replace(tzinfo=tz)).astimezone(dt.UTC).astimezone(tz), has_time


def _wall(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=None)
