"""Renaming Redis keys once, on start-up, when a release changes where data lives (e.g. hash tags for Redis Cluster).

Each package lists its renames as a module-level ``KEY_MOVES: tuple[KeyMove, ...]`` beside the code that uses
the new names; the app runs them all (bot.app.keys) before anything else touches Redis. A move is applied
once: its description is remembered in ``<prefix>keymoves:done`` and skipped from then on, so re-running costs
one read. A key whose new name is already taken is left where it is, logged, never written over: whatever
is at the new name was written by the new code and is newer.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import ResponseError

logger = logging.getLogger(__name__)

DONE = "keymoves:done"  # set: the moves applied (KeyMove.name), under the prefix
LOCK = "keymoves:lock"  # one process moves at a time; the others wait for it, then find the work done
LOCK_TTL = 120  # seconds: a process killed while moving does not keep the others waiting forever
SCAN_COUNT = 1000


@dataclass(frozen=True)
class KeyMove:
    match: str  # SCAN MATCH glob of old keys under the prefix, e.g. "bc:*:queue" (prefix "rrb:" added by the runner)
    old: str  # regex fully matching the old key name without prefix, e.g. r"bc:([^:{}]+):queue"
    new: str  # re.sub template for the new name without prefix, e.g. r"{bc:\1}:queue"

    @property
    def name(self) -> str:
        """What the done-marker remembers: a move changed in a later release runs again."""
        return f"{self.match} | {self.old} -> {self.new}"

    def target(self, key: str) -> str | None:
        """The new name of an old key (without prefix), None when the key is not one of this move's."""
        found = re.fullmatch(self.old, key)
        if found is None:
            return None
        new = found.expand(self.new)
        return None if new == key else new


async def move_keys(redis: Redis, moves: Sequence[KeyMove], prefix: str = "rrb:") -> int:
    """Apply the moves not applied yet; returns how many keys were renamed (0 when all were done before).

    Works on a single Redis (RENAMENX) and on a Redis Cluster (scanning every master; RENAMENX within a slot,
    DUMP, RESTORE with the key's TTL and DEL across slots).
    """
    if not moves:
        return 0
    done_key = prefix + DONE
    if not await _pending(redis, moves, done_key):
        return 0
    lock_key, token = prefix + LOCK, uuid.uuid4().hex
    while not await redis.set(lock_key, token, nx=True, ex=LOCK_TTL):
        # Another process (a second bot, a CLI command) is moving: wait for it rather than race it key by key.
        await asyncio.sleep(0.2)
    try:
        moved = 0
        for move in await _pending(redis, moves, done_key):
            count = await _apply(redis, move, prefix)
            await redis.sadd(done_key, move.name)
            if count:
                logger.info("Moved %d Redis keys: %s", count, move.name)
            moved += count
        return moved
    finally:
        if await redis.get(lock_key) == token:
            await redis.delete(lock_key)


async def _pending(redis: Redis, moves: Sequence[KeyMove], done_key: str) -> list[KeyMove]:
    done = await redis.smembers(done_key)
    return [m for m in moves if m.name not in done]


async def _apply(redis: Redis, move: KeyMove, prefix: str) -> int:
    # The names first, then the moves: a key renamed during a SCAN may be returned again or skipped.
    pairs = []
    async for key in redis.scan_iter(match=prefix + move.match, count=SCAN_COUNT):
        new = move.target(key[len(prefix) :]) if key.startswith(prefix) else None
        if new is not None:
            pairs.append((key, prefix + new))
    moved = 0
    for old, new in pairs:
        if await _rename(redis, old, new):
            moved += 1
        else:
            logger.warning("Redis key %r not moved: %r exists already (kept both; the old one is unused)", old, new)
    return moved


async def _rename(redis: Redis, old: str, new: str) -> bool:
    """Rename one key unless the new name is taken; True when it moved (or had gone meanwhile)."""
    if not isinstance(redis, RedisCluster) or key_slot(old.encode()) == key_slot(new.encode()):
        try:
            return bool(await redis.renamenx(old, new))
        except ResponseError as exc:
            if "no such key" in str(exc).lower():
                return True  # expired between the scan and now: nothing to move
            raise
    # Across slots, possibly across masters: copy with its TTL, then drop the old one. The TTL first: a key that
    # expires between the two would otherwise come back without one (-2 read as "no TTL").
    ttl = await redis.pttl(old)
    if ttl == -2:
        return True
    payload = await redis.execute_command("DUMP", old, NEVER_DECODE=True)
    if payload is None:
        return True
    try:
        await redis.restore(new, max(ttl, 0), payload)
    except ResponseError as exc:
        if "busykey" not in str(exc).lower():
            raise
        # A move cut short between the copy and the drop left both: the same value, so the old one goes (an old
        # copy of pledges would escape retention). A different value is newer data: both are kept.
        if await redis.execute_command("DUMP", new, NEVER_DECODE=True) != payload:
            return False
    await redis.delete(old)
    return True
