"""FSM state kept in the user's record, so one Redis read per update serves aiogram and us.

aiogram reads the FSM state before any handler runs, and UserLocaleMiddleware then read the
user's preferences: two round trips on every tap. Here the state is a field of the same
``user:{chat}`` hash; get_state reads the whole hash once and leaves it for the middleware.
Chats that are not a user's private chat fall back to aiogram's RedisStorage layout.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from typing import Any

from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, StateType, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import CallbackQuery, TelegramObject, Update
from redis.asyncio import Redis

from bot.ground.i18n import negotiate
from bot.pledges.store import Store

logger = logging.getLogger(__name__)

STATE_FIELD = "fsm"

# The user record read by get_state during this update: (chat id, fields).
prefetched: ContextVar[tuple[int, dict[str, str]] | None] = ContextVar("prefetched_user", default=None)


class UserRecordStorage(RedisStorage):
    def __init__(self, redis: Redis, store: Store) -> None:
        super().__init__(redis)
        self.store = store

    async def close(self) -> None:
        # The client is the app's, closed by whoever opened it (bot.ground.redis_client.open_redis); aiogram's own
        # close passes an argument a Redis Cluster client does not take.
        return None

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
        self._chats: dict[int, int] = {}  # chat -> updates holding or waiting for one of its locks

    def queued(self, chat_id: int) -> int:
        """Updates of this chat being handled or waiting their turn."""
        return self._chats.get(chat_id, 0)

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = [asyncio.Lock(), 0]
        entry[1] += 1
        self._chats[key.chat_id] = self._chats.get(key.chat_id, 0) + 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0 and self._locks.get(key) is entry:  # close() may have cleared them meanwhile
                del self._locks[key]
            left = self._chats.get(key.chat_id, 1) - 1
            if left > 0:
                self._chats[key.chat_id] = left
            else:
                self._chats.pop(key.chat_id, None)

    async def close(self) -> None:
        self._locks.clear()
        self._chats.clear()


class TapQueueLimit:
    """An update middleware ahead of the per-chat lock: a tap from a chat that already has MAX_QUEUED updates
    in hand is dropped, so one impatient person's taps behind a slow Telegram do not take the slots every
    other person's updates need (bot.app.intake.UPDATES_IN_FLIGHT). Messages always wait their turn: the
    parts of a pasted text must all arrive. The person is told to slow down once every few seconds, as the
    rate limit tells them (its toast also stops the button's spinner)."""

    MAX_QUEUED = 3
    TELL_EVERY = 5.0

    def __init__(self, isolation: IdleEvictingIsolation) -> None:
        self.isolation = isolation
        self._told: dict[int, float] = {}  # chat -> when it was last told (monotonic)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        query = event.callback_query if isinstance(event, Update) else None
        if query is not None and self.isolation.queued(query.from_user.id) >= self.MAX_QUEUED:
            logger.info("Update %r: a tap dropped, %d of the chat's updates in hand", event.update_id, self.MAX_QUEUED)
            await self._tell(query, data)
            return UNHANDLED
        return await handler(event, data)

    async def _tell(self, query: CallbackQuery, data: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self._told.get(query.from_user.id, -self.TELL_EVERY) < self.TELL_EVERY:
            return
        self._told = {chat: at for chat, at in self._told.items() if now - at < self.TELL_EVERY}
        self._told[query.from_user.id] = now
        renderer = data.get("renderer")
        if renderer is None:
            return
        lang = negotiate(query.from_user.language_code, renderer.default_language)
        with suppress(TelegramAPIError):
            await query.answer(renderer.toast("slow_down", lang).text)
