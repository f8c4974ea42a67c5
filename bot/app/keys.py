"""Every package's Redis key moves, in one place: run once on start-up, before anything else touches Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis

from bot.content.states import KEY_MOVES as CASE_STATE_MOVES
from bot.delivery.keys import KEY_MOVES as DELIVERY_MOVES
from bot.ground.discreet import KEY_MOVES as DISCREET_MOVES
from bot.ground.keymoves import KeyMove, move_keys
from bot.ground.redis_client import open_redis
from bot.ground.settings import SentinelTarget
from bot.pledges.store import KEY_MOVES as PLEDGE_MOVES
from scheduler.service import KEY_MOVES as SCHEDULER_MOVES

KEY_MOVES: tuple[KeyMove, ...] = (
    *PLEDGE_MOVES,
    *CASE_STATE_MOVES,
    *DISCREET_MOVES,
    *SCHEDULER_MOVES,
    *DELIVERY_MOVES,
)


async def migrate(redis: Redis, prefix: str = "rrb:") -> int:
    """Move keys left by an older release to their current names; once, idempotent (bot.ground.keymoves)."""
    return await move_keys(redis, KEY_MOVES, prefix)


@asynccontextmanager
async def open_migrated(target: str | SentinelTarget | None, data_dir: Path) -> AsyncIterator[Redis]:
    """open_redis, with the keys moved first: every command (rrbot run, the CLI's) sees the current names."""
    async with open_redis(target, data_dir) as redis:
        await migrate(redis)
        yield redis
