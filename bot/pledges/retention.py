"""Retention: who pledged for a case is forgotten RETENTION_DAYS after the case closed. No aiogram here.

Deleted then: ``{case:<id>}:pledged:<action>``, ``{case:<id>}:acted``, the per-official
``{case:<id>}:pledged:<action>:<official>`` and ``{case:<id>}:wrote:<official>`` (pseudonyms), and the marks
of the case's "remind me later" jobs (``sched:fired:later:{pseudonym}:{case}:...``). Kept: ``{case:<id>}:count``, ``{case:<id>}:daily`` and
``{case:<id>}:officials``, totals that name no one. Subscriptions are not pledge records: a closed case
may still get news ("released!"), and people leave it with Unsubscribe, /stop or /forget.

When a case closed: the time of its latest "closed" update recorded in Redis (``/update``, an
imported update); for a case file that says ``status: closed``, or a case whose file is gone while
records of it remain, the first day this job saw it so, which is never earlier than the truth.

Keys (prefix ``rrb:``):
  retention:closed    hash  case id -> when it was first seen closed or gone (epoch seconds)
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.content import ACTIONS, Library, Status
from bot.content.states import CaseStates, UpdateKind
from bot.ground.keys import case_key, case_of
from bot.pledges.store import official_set_keys

logger = logging.getLogger(__name__)

SCAN_COUNT = 1000
UNLINK_BATCH = 500


@dataclass(frozen=True)
class Purged:
    """What one run deleted: counts only."""

    cases: int = 0
    keys: int = 0
    records: int = 0  # pseudonyms in the deleted sets, plus reminder marks


class Retention:
    def __init__(self, redis: Redis, cases: CaseStates, prefix: str = "rrb:") -> None:
        self.redis = redis
        self.cases = cases
        self.prefix = prefix

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(map(str, parts))

    async def run(self, library: Library, *, days: int, now: dt.datetime) -> Purged:
        """Delete the per-user records of every case closed (or gone) for longer than `days`; idempotent."""
        due = await self.due_cases(library, days=days, now=now)
        if not due:
            return Purged()
        keys = [case_key(self.prefix, c, "acted") for c in due]
        keys += [case_key(self.prefix, c, "pledged", a) for c in due for a in ACTIONS]
        keys += await self._official_sets(due)
        keys += [k async for k in self._reminder_marks(due)]
        purged = await self._unlink(keys)
        logger.info(
            "Retention: %d keys (%d records) of %d cases closed over %d days deleted",
            purged.keys,
            purged.records,
            purged.cases,
            days,
        )
        return Purged(cases=len(due), keys=purged.keys, records=purged.records)

    async def _official_sets(self, case_ids: set[str]) -> list[str]:
        """The per-official pledge sets of the cases, named by their officials hashes (kept: totals)."""
        ordered = sorted(case_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in ordered:
                pipe.hkeys(case_key(self.prefix, case_id, "officials"))
            replies = await pipe.execute()
        return [
            key for case_id, fields in zip(ordered, replies) for key in official_set_keys(self.prefix, case_id, fields)
        ]

    async def due_cases(self, library: Library, *, days: int, now: dt.datetime) -> set[str]:
        """Cases closed, or gone from the files, for longer than `days`; the clock restarts if one reopens."""
        closed_key = self.key("retention", "closed")
        since = await self.redis.hgetall(closed_key)
        stamp = now.timestamp()
        limit = stamp - days * 86_400
        due = set()
        reopened = [c.id for c in library.all() if c.status != Status.closed and c.id in since]
        if reopened:
            await self.redis.hdel(closed_key, *reopened)
        for case in library.all():
            if case.status != Status.closed:
                continue
            closed_at = await self._recorded_closure(case.id) or await self._first_seen(case.id, since, stamp)
            if closed_at <= limit:
                due.add(case.id)
        for case_id in await self._gone_cases(library):
            if await self._first_seen(case_id, since, stamp) <= limit:
                due.add(case_id)
        return due

    async def _recorded_closure(self, case_id: str) -> float | None:
        """When the case was closed by an update recorded in Redis, unless an extension reopened it since."""
        changes = [u for u in await self.cases.updates(case_id) if u.kind != UpdateKind.news]
        if changes and changes[-1].kind == UpdateKind.closed and changes[-1].at:
            return changes[-1].at
        return None  # closed by its file after all

    async def _first_seen(self, case_id: str, since: dict[str, str], stamp: float) -> float:
        if case_id in since:
            return float(since[case_id])
        await self.redis.hsetnx(self.key("retention", "closed"), case_id, stamp)
        return stamp

    async def _gone_cases(self, library: Library) -> set[str]:
        """Cases with pledge records in Redis but no case file: nobody can act on them any more."""
        known = set(library.ids())
        found = set()
        async for key in self.redis.scan_iter(match=case_key(self.prefix, "*", "acted"), count=SCAN_COUNT):
            case_id = case_of(self.prefix, key, "acted")
            if case_id and case_id not in known:
                found.add(case_id)
        return found

    async def _reminder_marks(self, due: set[str]) -> AsyncIterator[str]:
        """The "already ran" marks of personal reminders about these cases: they carry a pseudonym."""
        start = len(self.key("sched", "fired", "later", ""))
        async for key in self.redis.scan_iter(match=self.key("sched", "fired", "later", "*"), count=SCAN_COUNT):
            # later:{pseudonym}:{case}:{action}@{time}; a pseudonym is hex, so the case is the second part.
            parts = key[start:].split(":")
            if len(parts) >= 3 and parts[1] in due:
                yield key

    async def _unlink(self, keys: list[str]) -> Purged:
        """UNLINK in batches (Redis frees big sets off its main thread), counting what was there."""
        total_keys = total_records = 0
        for i in range(0, len(keys), UNLINK_BATCH):
            batch = keys[i : i + UNLINK_BATCH]
            async with self.redis.pipeline(transaction=False) as pipe:
                for key in batch:
                    pipe.type(key)
                kinds = await pipe.execute()
            async with self.redis.pipeline(transaction=False) as pipe:
                for key, kind in zip(batch, kinds):
                    if kind == "set":
                        pipe.scard(key)
                    elif kind != "none":
                        pipe.exists(key)
                sizes = await pipe.execute()
            present = [k for k, kind in zip(batch, kinds) if kind != "none"]
            if present:
                await self.redis.unlink(*present)
            total_keys += len(present)
            total_records += sum(int(s) for s in sizes)
        return Purged(keys=total_keys, records=total_records)
