"""Anonymous figures for coordinators: subscribers, pledges per action and per day. No aiogram here.

Only counts leave this module: never a chat id, never a pseudonym.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.content import ACTIONS, Case
from bot.pledges.store import Store

logger = logging.getLogger(__name__)

Daily = dict[str, dict[str, int]]  # "YYYY-MM-DD" -> action -> pledges counted that day
Officials = dict[str, dict[str, int]]  # official id -> action -> people who wrote to that official


@dataclass(frozen=True)
class CaseFigures:
    case_id: str
    subscribers: int
    pledges: dict[str, int]  # action -> total (writing: people who wrote to at least one official)
    daily: Daily
    officials: Officials = dataclasses.field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.pledges.values())


@dataclass(frozen=True)
class Figures:
    users: int
    cases: list[CaseFigures]


def parse_daily(raw: dict[str, str]) -> Daily:
    """The store's `daily:{case}` hash ("YYYY-MM-DD:action" -> count) by day, days in order."""
    days: Daily = {}
    for field, value in raw.items():
        day, _, action = field.partition(":")
        try:
            dt.date.fromisoformat(day)
            count = int(value)
        except ValueError:
            logger.warning("Skipped a malformed daily pledge count %r", field)
            continue
        if action not in ACTIONS:
            logger.warning("Skipped a daily pledge count of unknown action %r", field)
            continue
        days.setdefault(day, {})[action] = count
    return {day: days[day] for day in sorted(days)}


async def collect(store: Store, case_ids: Iterable[str]) -> Figures:
    """Users, and per case subscribers, totals per action and counts per day."""
    case_ids = list(case_ids)
    stats = await store.stats(case_ids)
    async with store.redis.pipeline(transaction=False) as pipe:
        for case_id in case_ids:
            pipe.hgetall(store.case_key(case_id, "daily"))
        daily = await pipe.execute()
    cases = [
        CaseFigures(
            case_id=case_id,
            subscribers=stats["cases"][case_id]["subscribers"],
            pledges=stats["cases"][case_id]["pledges"],
            daily=parse_daily(raw),
            officials=stats["cases"][case_id]["officials"],
        )
        for case_id, raw in zip(case_ids, daily)
    ]
    return Figures(users=stats["users"], cases=cases)


def active_first(cases: Iterable[Case], figures: Figures, now: dt.datetime, default_tz: str = "UTC") -> list[Case]:
    """The cases in the order /stats shows them, the one that needs a push most first: those whose deadline is
    still ahead, the nearest first; then those without one or past it (appeals still go out after a deadline),
    the one with the latest pledge first; among equals, the newest issue first. figures: of these cases."""
    latest = {f.case_id: -dt.date.fromisoformat(max(f.daily)).toordinal() for f in figures.cases if f.daily}

    def key(case: Case) -> tuple[int, float, int, int]:
        at = case.deadline_at(default_tz)
        ahead = at is not None and at > now
        issued = -(case.issued.toordinal() if case.issued else 0)
        return (0 if ahead else 1, at.timestamp() if at and ahead else 0.0, latest.get(case.id, 0), issued)

    return sorted(cases, key=key)


# The tables of an export, one CSV file each (a spreadsheet's filter needs one table under one header row).
TABLES = ("pledges-per-day", "subscribers", "pledges-per-official")
# "," for most spreadsheets; ";" for Excel where the decimal separator is a comma (German, French, Russian, ...),
# which otherwise opens the file in one column.
DELIMITERS = (",", ";")


def tables(figures: Figures, names: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, list[list[object]]]:
    """TABLES by name, each a header row then its rows: (case, date, action, count), (case, subscribers, pledges),
    (case, official, name, action, count). names: case -> official id -> the official's name."""
    names = names or {}
    per_day: list[list[object]] = [["case", "date", "action", "count"]]
    for figure in figures.cases:
        for day, actions in figure.daily.items():
            per_day += [[figure.case_id, day, a, actions[a]] for a in ACTIONS if actions.get(a)]
    subscribers: list[list[object]] = [["case", "subscribers", "pledges"]]
    subscribers += [[f.case_id, f.subscribers, f.total] for f in figures.cases]
    officials: list[list[object]] = [["case", "official", "name", "action", "count"]]
    for figure in figures.cases:
        for official, actions in sorted(figure.officials.items()):
            name = names.get(figure.case_id, {}).get(official, "")
            officials += [[figure.case_id, official, name, a, actions[a]] for a in ACTIONS if actions.get(a)]
    return dict(zip(TABLES, (per_day, subscribers, officials), strict=True))


def to_csv(rows: Iterable[Iterable[object]], delimiter: str = ",") -> bytes:
    """One table as CSV: UTF-8 with a byte order mark, so Excel reads Cyrillic names right when the file is
    opened directly; CRLF line ends, as RFC 4180 has them."""
    if delimiter not in DELIMITERS:
        raise ValueError(f"delimiter must be one of {DELIMITERS}")
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_zip(figures: Figures, names: Mapping[str, Mapping[str, str]] | None = None, delimiter: str = ",") -> bytes:
    """Every table as its own CSV file (`<table>.csv`) in one zip archive."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tables(figures, names).items():
            archive.writestr(f"{name}.csv", to_csv(rows, delimiter))
    return buffer.getvalue()
