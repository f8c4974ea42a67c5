"""Under pressure: memory that follows the people tapping now, not everyone who ever tapped."""

from __future__ import annotations

import asyncio
import time

from aiogram.fsm.storage.base import StorageKey

from handlers.middlewares import LocalBuckets
from handlers.storage import IdleEvictingIsolation


def key(chat: int) -> StorageKey:
    return StorageKey(bot_id=1, chat_id=chat, user_id=chat)


async def test_one_update_at_a_time_per_chat_and_no_lock_left_behind() -> None:
    isolation = IdleEvictingIsolation()
    order: list[str] = []

    async def update(chat: int, name: str, hold: float) -> None:
        async with isolation.lock(key(chat)):
            order.append(f"{name} in")
            await asyncio.sleep(hold)
            order.append(f"{name} out")

    await asyncio.gather(update(1, "a", 0.05), update(1, "b", 0), update(2, "c", 0))
    assert order.index("a out") < order.index("b in"), "the same chat waits its turn"
    assert order.index("c in") < order.index("a out"), "another chat does not"
    assert isolation._locks == {}, "a chat with no update in flight keeps no lock"

    for chat in range(10_000):
        async with isolation.lock(key(chat)):
            pass
    assert isolation._locks == {}


def test_local_buckets_forget_people_who_stopped_tapping() -> None:
    buckets = LocalBuckets(burst=10, rate=2)  # full again after 5 s
    for user in range(1_000):
        assert buckets.take(user)
    assert len(buckets.users) == 1_000
    for entry in buckets.users.values():
        entry[1] -= 6  # six seconds ago: full again, nothing to remember
    buckets._next_prune = time.monotonic()
    assert buckets.take(5_000)
    assert list(buckets.users) == [5_000]


async def test_closing_the_isolation_while_an_update_holds_a_lock_is_harmless() -> None:
    isolation = IdleEvictingIsolation()
    async with isolation.lock(key(1)):
        await isolation.close()  # the dispatcher stops while an update is being handled
    assert isolation._locks == {}
