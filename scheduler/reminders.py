"""When a case's deadline reminders fire. Pure: no Redis, no aiogram, no scheduler.

Offsets in whole days fire at the reminder hour in the case's timezone on that day (a reminder
at midnight helps nobody); offsets with hours, minutes or seconds fire at that exact instant
before the deadline. A reminder that would fall at or after the deadline, or in the past, is left out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.content.models import Case, Status
from bot.ground.durations import in_days, parse_duration

REMINDER_PREFIX = "reminder"


@dataclass(frozen=True)
class Reminder:
    case_id: str
    offset: str  # as the case file says it, e.g. "7d" or "6h"
    at: dt.datetime  # aware

    @property
    def job_id(self) -> str:
        # The instant is part of the id: a moved deadline makes new reminders, never a rerun of old ones.
        return f"{REMINDER_PREFIX}:{self.case_id}:{self.offset}:{int(self.at.timestamp())}"


def reminder_plan(case: Case, *, reminder_hour: int, default_tz: str, now: dt.datetime) -> list[Reminder]:
    """The reminders still to come for a case, soonest first."""
    deadline = case.deadline_at(default_tz)
    if case.status == Status.closed or deadline is None:
        return []
    zone = ZoneInfo(case.timezone or default_tz)
    local_deadline = deadline.astimezone(zone)
    planned: dict[dt.datetime, Reminder] = {}
    for offset in case.reminders:
        span = parse_duration(offset)
        if in_days(offset):
            day = local_deadline.date() - span
            at = dt.datetime.combine(day, dt.time(reminder_hour), tzinfo=zone)
        else:
            # In UTC: an aware local time minus 6 h is wall-clock arithmetic, an hour off across DST.
            at = deadline.astimezone(dt.UTC) - span
        if now < at < deadline:
            at = at.astimezone(zone)
            planned.setdefault(at, Reminder(case.id, offset.strip().lower().replace(" ", ""), at))
    return [planned[at] for at in sorted(planned)]
