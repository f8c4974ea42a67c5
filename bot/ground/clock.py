"""The time, injectable so tests and the scheduler can move it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_local_time(text: str, zone: str) -> dt.datetime | None:
    """ "2026-12-31 18:00" (or 2026-12-31T18:00, or with an offset) as an aware time; None when it is not one.

    Without an offset, the time is read in the given timezone: coordinators think in their own.
    """
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))
