"""Durations as people write them in case files and settings: 7d, 2h, 90m, 1d12h, 0d. No aiogram here."""

from __future__ import annotations

import datetime as dt
import re

_WHOLE = re.compile(r"^(?:\d+[dhms])+$")
_PART = re.compile(r"(\d+)([dhms])")
_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}


def parse_duration(text: str) -> dt.timedelta:
    """A duration in days, hours, minutes and seconds; ValueError says what was expected."""
    cleaned = str(text).strip().lower().replace(" ", "")
    if not _WHOLE.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a duration: use a number with d, h, m or s, like 7d, 12h or 1d12h")
    return dt.timedelta(seconds=sum(int(n) * _SECONDS[unit] for n, unit in _PART.findall(cleaned)))


def in_days(text: str) -> bool:
    """True for whole days only (7d, 0d): those fire at the reminder hour, not at an exact instant."""
    cleaned = str(text).strip().lower().replace(" ", "")
    return bool(_WHOLE.fullmatch(cleaned)) and all(unit == "d" for _, unit in _PART.findall(cleaned))


def format_duration(value: dt.timedelta) -> str:
    """The canonical spelling: 7d, 2h30m, 0s."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _SECONDS.items():
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0d"
