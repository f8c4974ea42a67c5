"""FSM state kept in the user's record, so one Redis read per update serves aiogram and us.

aiogram reads the FSM state before any handler runs, and UserLocaleMiddleware then read the
user's preferences: two round trips on every tap. Here the state is a field of the same
``user:{chat}`` hash; get_state reads the whole hash once and leaves it for the middleware.
Chats that are not a user's private chat fall back to aiogram's RedisStorage layout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.pledges import Store

STATE_FIELD = "fsm"

# The user record read by get_state during this update: (chat id, fields).
prefetched: ContextVar[tuple[int, dict[str, str]] | None] = ContextVar("prefetched_user", default=None)


class UserRecordStorage(RedisStorage):
    def __init__(self, redis: Redis, store: Store) -> None:
        super().__init__(redis)
        self.store = store

    @staticmethod
    def _private(key: StorageKey) -> bool:
        return key.chat_id == key.user_id and key.thread_id is None and key.destiny == "default"

    async def get_state(self, key: StorageKey) -> str | None:
        if not self._private(key):
            return await super().get_state(key)
        record = await self.redis.hgetall(self.store.key("user", key.chat_id))
        prefetched.set((key.chat_id, record))
        return record.get(STATE_FIELD)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        if not self._private(key):
            await super().set_state(key, state)
            return
        value = state.state if isinstance(state, State) else state
        if value is None:
            await self.redis.hdel(self.store.key("user", key.chat_id), STATE_FIELD)
        else:
            await self.redis.hset(self.store.key("user", key.chat_id), STATE_FIELD, value)


def prefetched_record(chat_id: int) -> dict[str, Any] | None:
    """The user record get_state read in this update, if it was this chat's."""
    hit = prefetched.get()
    return hit[1] if hit is not None and hit[0] == chat_id else None


class IdleEvictingIsolation(BaseEventIsolation):
    """One update at a time per chat, as aiogram's SimpleEventIsolation, but a chat's lock goes once no update
    of that chat holds or waits for it: the stock one keeps a lock for every chat it ever saw."""

    def __init__(self) -> None:
        self._locks: dict[StorageKey, list[Any]] = {}  # key -> [lock, updates holding or waiting for it]

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0 and self._locks.get(key) is entry:  # close() may have cleared them meanwhile
                del self._locks[key]

    async def close(self) -> None:
        self._locks.clear()
