"""Anonymous figures for coordinators: subscribers, pledges per action and per day. No aiogram here.

Only counts leave this module: never a chat id, never a pseudonym.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.content import ACTIONS
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
            pipe.hgetall(store.key("daily", case_id))
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


def to_csv(figures: Figures, names: Mapping[str, Mapping[str, str]] | None = None) -> bytes:
    """Three tables, a blank line between: (case, date, action, count), (case, subscribers), then
    (case, official, name, action, count). names: case -> official id -> the official's name.

    UTF-8 with a byte order mark, so spreadsheet programs read it right when opened directly.
    """
    names = names or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["case", "date", "action", "count"])
    for figure in figures.cases:
        for day, actions in figure.daily.items():
            for action in ACTIONS:
                if actions.get(action):
                    writer.writerow([figure.case_id, day, action, actions[action]])
    writer.writerow([])
    writer.writerow(["case", "subscribers"])
    for figure in figures.cases:
        writer.writerow([figure.case_id, figure.subscribers])
    writer.writerow([])
    writer.writerow(["case", "official", "name", "action", "count"])
    for figure in figures.cases:
        for official, actions in sorted(figure.officials.items()):
            name = names.get(figure.case_id, {}).get(official, "")
            for action in ACTIONS:
                if actions.get(action):
                    writer.writerow([figure.case_id, official, name, action, actions[action]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
