"""Dates as Urgent Actions write them: "15 May 2012", "16th August, 2017", "15 de mayo de 2012", "1er mai 2012"."""

from __future__ import annotations

import datetime as dt
import re

from bot.importer.vocabulary import MONTHS

# Three groups: day, month name, year.
DATE = rf"(\d{{1,2}})(?:st|nd|rd|th|er|ᵉʳ|º|°|\.º)?\s+(?:de\s+)?({MONTHS.pattern})\s*,?\s+(?:de\s+|del\s+)?(\d{{4}})"


def as_date(day: str, month: str, year: str) -> dt.date | None:
    """The date of DATE's three groups; None for a month name not known or a day the month has not."""
    number = MONTHS.get(month)
    try:
        return dt.date(int(year), int(number), int(day)) if number else None
    except ValueError:
        return None


def find_date(patterns: list[re.Pattern[str]], flat: str) -> dt.date | None:
    """The date after the first of the patterns that matches (each ends with DATE); None if none does."""
    for pattern in patterns:
        if match := pattern.search(flat):
            return as_date(*match.group(match.lastindex - 2, match.lastindex - 1, match.lastindex))
    return None
