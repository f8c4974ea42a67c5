"""`rrbot stats`: figures from Redis, no personal data."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.app.keys import open_migrated
from bot.content import ACTIONS, Library
from bot.delivery import Broadcasts
from bot.ground.privacy import Pseudonymizer
from bot.ground.settings import StoreSettings
from bot.pledges import aggregates
from bot.pledges.store import Store


@asynccontextmanager
async def _store(settings: StoreSettings) -> AsyncIterator[Store]:
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        # Counting needs no identities, so a throwaway key is enough here.
        yield Store(redis, Pseudonymizer(secrets.token_bytes(32)))


async def collect(settings: StoreSettings) -> dict:
    library = Library.load(settings.content_dir)
    async with _store(settings) as store:
        figures = await aggregates.collect(store, library.ids())
        # "daily" and the backlog go beside the promised figures, so scripts reading the old shape keep working.
        return {
            "users": figures.users,
            "cases": {
                f.case_id: {
                    "subscribers": f.subscribers,
                    "pledges": f.pledges,
                    "daily": f.daily,
                    "officials": f.officials,
                }
                for f in figures.cases
            },
            "broadcast_backlog": await Broadcasts(store.redis, store.pseudonyms).backlog(),
        }


async def write_csv(settings: StoreSettings, directory: Path, delimiter: str = ",") -> list[Path]:
    """One CSV file per table (bot.pledges.aggregates.TABLES) in `directory`, made if missing; the paths written.
    Officials are named in the default language."""
    library = Library.load(settings.content_dir)
    async with _store(settings) as store:
        figures = await aggregates.collect(store, library.ids())
    names = {c.id: {t.id: t.name_in(settings.default_language) for t in c.targets} for c in library.all()}
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in aggregates.tables(figures, names).items():
        path = directory / f"{name}.csv"
        path.write_bytes(aggregates.to_csv(rows, delimiter))
        written.append(path)
    return written


def format_table(data: dict) -> str:
    header = ["case", "subscribers", *ACTIONS]
    rows = [header]
    for case_id, figures in data["cases"].items():
        rows.append([case_id, str(figures["subscribers"]), *(str(figures["pledges"][a]) for a in ACTIONS)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
        for row in rows
    ]
    # Per official, under the table: who wrote to whom, by action (letter, email, fax).
    officials = [
        f"{case_id} / {official}: " + ", ".join(f"{a} {counts[a]}" for a in ACTIONS if counts.get(a))
        for case_id, figures in data["cases"].items()
        for official, counts in sorted(figures.get("officials", {}).items())
    ]
    return "\n".join([f"users: {data['users']}", *lines, *(["", "per official:", *officials] if officials else [])])
