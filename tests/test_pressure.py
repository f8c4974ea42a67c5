"""Under pressure: memory that follows the people tapping now, not everyone who ever tapped."""

from __future__ import annotations

import asyncio
import time

from aiogram.fsm.storage.base import StorageKey

from handlers.fsm import IdleEvictingIsolation
from handlers.middlewares import LocalBuckets


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


async def test_a_flood_of_one_persons_taps_is_dropped_before_it_queues() -> None:
    from aiogram.dispatcher.event.bases import UNHANDLED
    from aiogram.types import Update

    from handlers.fsm import TapQueueLimit

    isolation = IdleEvictingIsolation()
    limit = TapQueueLimit(isolation)
    handled: list[int] = []

    async def handler(event: Update, data: dict) -> str:
        handled.append(event.update_id)
        return "ok"

    person = {"id": 7, "is_bot": False, "first_name": "A"}
    chat = {"id": 7, "type": "private"}
    tap = Update.model_validate(
        {
            "update_id": 1,
            "callback_query": {
                "id": "q",
                "from": person,
                "chat_instance": "1",
                "data": "act:x",
                "message": {"message_id": 1, "date": 1, "chat": chat},
            },
        }
    )
    text = Update.model_validate(
        {"update_id": 2, "message": {"message_id": 2, "date": 1, "chat": chat, "from": person, "text": "part"}}
    )
    release = asyncio.Event()

    async def slow_update() -> None:  # updates of chat 7 held up behind a slow Telegram
        async with isolation.lock(key(7)):
            await release.wait()

    holders = [asyncio.create_task(slow_update()) for _ in range(TapQueueLimit.MAX_QUEUED)]
    await asyncio.sleep(0)
    assert await limit(handler, tap, {}) is UNHANDLED, "one more tap from that chat is dropped"
    assert await limit(handler, text, {}) == "ok", "a message still waits its turn"
    release.set()
    await asyncio.gather(*holders)
    assert await limit(handler, tap, {}) == "ok", "and taps go through again once the chat is served"
    assert handled == [2, 1]
