"""`rrbot stats`: figures from Redis, no personal data."""

from __future__ import annotations

import secrets

from bot.content import ACTIONS, Library
from bot.delivery import Broadcasts
from bot.ground.privacy import Pseudonymizer
from bot.ground.redis_client import open_redis
from bot.ground.settings import StoreSettings
from bot.pledges import aggregates
from bot.pledges.store import Store


async def collect(settings: StoreSettings) -> dict:
    library = Library.load(settings.content_dir)
    url = str(settings.redis_url) if settings.redis_url else None
    async with open_redis(url, settings.data_dir) as redis:
        # Counting needs no identities, so a throwaway key is enough here.
        store = Store(redis, Pseudonymizer(secrets.token_bytes(32)))
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
            "broadcast_backlog": await Broadcasts(redis, store.pseudonyms).backlog(),
        }


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
