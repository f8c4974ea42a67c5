"""`rrbot audit [--limit N] [--json]`: who did what and when, newest first, as /audit shows it."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from bot.app.keys import open_migrated
from bot.ground.audit import BOT, CLI, AuditLog, Entry
from bot.ground.privacy import Pseudonymizer
from bot.ground.settings import StoreSettings

NAMES = {CLI: "command line", BOT: "the bot"}


def who(by: str, name: str | None) -> str:
    """A coordinator's name and pseudonym; a former coordinator's pseudonym only."""
    if by in NAMES:
        return NAMES[by]
    return f"{name or 'former coordinator'} ({by[:8]})"


def row(entry: Entry, zone: ZoneInfo) -> list[str]:
    when = dt.datetime.fromtimestamp(entry.at, zone).strftime("%Y-%m-%d %H:%M")
    what = " · ".join(
        part
        for part in (
            who(entry.whom, entry.whom_name) if entry.whom else "",
            f"«{entry.title}»" if entry.title else "",
            entry.case,
            f"broadcast {entry.bc}" if entry.bc else "",
        )
        if part
    )
    return [when, entry.action.value, who(entry.by, entry.name), what]


def table(rows: list[list[str]]) -> str:
    head = ["when", "action", "who", "what"]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
    return "\n".join(
        "  ".join([*(cell.ljust(width) for cell, width in zip(r, widths)), r[-1]]).rstrip() for r in [head, *rows]
    )


async def show(settings: StoreSettings, *, limit: int, as_json: bool) -> int:
    # Not bot.cli.broadcast's helper: that module loads aiogram, seconds of start-up for a read.
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        # Reading names by pseudonym takes no key: the entries carry the pseudonyms.
        entries = await AuditLog(redis, Pseudonymizer(b"reading-the-log-names-nobody")).entries(limit)
    if as_json:
        print(json.dumps([e.as_dict() for e in entries], indent=2, ensure_ascii=False))
        return 0
    if not entries:
        print("nothing recorded yet")
        return 0
    zone = ZoneInfo(settings.default_timezone)
    print(table([row(e, zone) for e in entries]))
    print(f"(times in {settings.default_timezone}; newest first)")
    return 0
