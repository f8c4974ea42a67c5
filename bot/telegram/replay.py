"""Updates a stop cut short in long polling, kept in Redis for the next process: late rather than lost.

aiogram confirms a batch of updates to Telegram with its next getUpdates, sent as soon as the batch
is dispatched. An update whose handler a stop cancels is therefore never sent again by Telegram:
without this list it would be gone (a coordinator's UA document, a tap that never got its answer).
Webhook mode needs none of it: an unanswered request is redelivered by Telegram itself.

A stop while Redis is away (the updates held for it are cut short) cannot keep them there: they go
to a file in DATA_DIR instead, readable by this user only, and into Redis at the next start.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.types import Update
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

KEY = "intake:cut"
# Telegram keeps an unconfirmed update no longer, and someone waiting a day for an answer has moved on.
TTL = 24 * 3600
# The second cut of one update most likely means the update itself hangs its handler: it goes no further.
MAX_CUTS = 2


class CutUpdates:
    """The list of cut-short updates, shared by the replicas: whoever starts next takes them, each once."""

    def __init__(self, redis: Redis, prefix: str = "rrb:", spool: Path | None = None) -> None:
        self.redis = redis
        self.key = f"{prefix}{KEY}"
        self.spool = spool  # where they go when Redis cannot take them
        self._cuts: dict[int, int] = {}  # update id -> cuts so far, for the updates this process took back

    async def keep(self, updates: Iterable[Update]) -> int:
        """Store the updates a stop cut short; returns how many were kept (the rest were cut too often)."""
        entries = []
        for update in sorted(updates, key=lambda u: u.update_id):
            cuts = self._cuts.get(update.update_id, 0) + 1
            if cuts >= MAX_CUTS:
                logger.warning("Update %r was cut short %d times: dropped", update.update_id, cuts)
                continue
            entries.append(_entry(update, cuts))
        if not entries:
            return 0
        try:
            await self._push(entries)
        except RedisError:
            if self.spool is None:
                raise
            self._append(entries)
            logger.warning("Redis away: %d update(s) cut short kept on disk until the next start", len(entries))
        return len(entries)

    def _append(self, entries: list[str]) -> None:
        assert self.spool is not None
        self.spool.parent.mkdir(parents=True, exist_ok=True)
        # They hold what people wrote: readable by this user only (docs/PRIVACY.md).
        fd = os.open(self.spool, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as out:
            out.writelines(entry + "\n" for entry in entries)

    def _spooled(self) -> list[Path]:
        """The spool, and any copy a process took and did not finish with (it died moving it)."""
        if self.spool is None or not self.spool.parent.exists():
            return []
        return sorted(self.spool.parent.glob(self.spool.name + "*"))

    async def _push(self, entries: list[str]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.key, *entries)
            pipe.expire(self.key, TTL)
            await pipe.execute()

    async def _unspool(self) -> None:
        """Move the updates kept on disk into the shared list (renamed first: one process takes them)."""
        for found in self._spooled():
            assert self.spool is not None
            taken = self.spool.with_name(f"{self.spool.name}.{secrets.token_hex(4)}")
            try:
                found.rename(taken)
            except FileNotFoundError:
                continue
            entries = [line for line in taken.read_text(encoding="utf-8").splitlines() if line.strip()]
            try:
                if entries:
                    await self._push(entries)
            except BaseException:
                self._append(entries)  # Redis went away again, or a stop: they wait on disk
                taken.unlink()
                raise
            taken.unlink()
            logger.info("%d update(s) cut short while Redis was away moved from disk to Redis", len(entries))

    async def take(self, bot: Bot) -> Update | None:
        """The oldest kept update, removed from the list; None when there is none."""
        await self._unspool()
        while (raw := await self.redis.lpop(self.key)) is not None:
            try:
                entry = json.loads(raw)
                update = Update.model_validate(entry["update"], context={"bot": bot})
                self._cuts[update.update_id] = int(entry["cuts"])
            except (ValueError, TypeError, KeyError, ValidationError):
                logger.warning("An unreadable entry in the cut-short updates was dropped")
                continue
            return update
        return None

    async def give_back(self, update: Update) -> None:
        """Put a taken update back in front, uncounted: this process stops before handling it."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.key, _entry(update, self._cuts.get(update.update_id, 0)))
            pipe.expire(self.key, TTL)
            await pipe.execute()

    async def forget(self, user_id: int) -> int:
        """Drop the kept updates of this user's chat (their /forget); returns how many."""
        removed = 0
        for found in self._spooled():
            lines = found.read_text(encoding="utf-8").splitlines()
            kept = [line for line in lines if user_id not in _people(line)]
            if len(kept) < len(lines):
                found.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
                removed += len(lines) - len(kept)
        for raw in await self.redis.lrange(self.key, 0, -1):
            if user_id in _people(raw):
                removed += await self.redis.lrem(self.key, 0, raw)
        return removed


def _people(raw: bytes | str) -> set[int]:
    """The user and chat ids an entry names: its sender, its chat and, for a tap, the tapped message's chat."""
    try:
        update = json.loads(raw)["update"]
        events = [e for e in update.values() if isinstance(e, dict)]
    except (ValueError, TypeError, KeyError, AttributeError):
        return set()
    found = set()
    for event in events + [e["message"] for e in events if isinstance(e.get("message"), dict)]:
        for key in ("from", "chat"):
            who = event.get(key)
            if isinstance(who, dict) and isinstance(who.get("id"), int):
                found.add(who["id"])
    return found


def _entry(update: Update, cuts: int) -> str:
    body: dict[str, Any] = update.model_dump(mode="json", exclude_none=True, by_alias=True)
    return json.dumps({"cuts": cuts, "update": body}, ensure_ascii=False)
