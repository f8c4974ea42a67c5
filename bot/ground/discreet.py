"""Discreet mode for people at risk: who asked for it, and which of the bot's messages to delete when. No aiogram here.

A person in discreet mode gets every message from the bot with a neutral first line (a lock screen
shows that, not the case), protected from forwarding and saving, and, if they chose so, deleted
after an hour or a day (a bot may delete its messages only in their first 48 hours). The Telegram
side (bot/telegram/discreet.py) asks `mode` before each send, so the modes live in a local copy
refreshed when another process changes one: a send costs no Redis call.

Keys (prefix ``rrb:``), in one hash slot ({discreet}): a change and its version go in one transaction:
  {discreet}:modes      hash  chat id -> "mode:lang" (mode: on, 1h, 1d)
  {discreet}:version    counter, raised on every change: processes reload the hash
  {discreet}:sweep      zset  "chat:message" -> when to delete it (unix seconds)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.ground.keymoves import KeyMove

logger = logging.getLogger(__name__)

TAG = "{discreet}"
# Where the keys lived before they shared a hash tag (bot.ground.keymoves runs these on start-up).
KEY_MOVES: tuple[KeyMove, ...] = (
    KeyMove("discreet", "discreet", "{discreet}:modes"),
    KeyMove("discreet:version", "discreet:version", "{discreet}:version"),
    KeyMove("discreet:sweep", "discreet:sweep", "{discreet}:sweep"),
)

# mode -> seconds until the bot deletes what it sent (None: kept)
MODES: dict[str, int | None] = {"on": None, "1h": 3600, "1d": 86_400}
SWEEP_BATCH = 100


@dataclass(frozen=True)
class Discretion:
    mode: str
    lang: str

    @property
    def delete_after(self) -> int | None:
        return MODES[self.mode]


class DiscreetChats:
    def __init__(
        self, redis: Redis, prefix: str = "rrb:", *, clock: Callable[[], float] = time.time, check_every: float = 2.0
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self.check_every = check_every
        self._local: dict[int, Discretion] = {}
        self._version: int | None = None
        self._checked = 0.0

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(map(str, parts))

    def mode(self, chat_id: int) -> Discretion | None:
        """This chat's discreet mode, from the local copy (no Redis call)."""
        return self._local.get(chat_id)

    async def refresh(self, *, force: bool = False) -> None:
        """Reload the local copy when some process changed a mode; cheap to call often."""
        now = time.monotonic()
        if not force and now - self._checked < self.check_every:
            return
        self._checked = now
        version = int(await self.redis.get(self.key(TAG, "version")) or 0)
        if version == self._version and not force:
            return
        raw = await self.redis.hgetall(self.key(TAG, "modes"))
        local = {}
        for chat, value in raw.items():
            mode, _, lang = value.partition(":")
            if mode in MODES:
                local[int(chat)] = Discretion(mode, lang)
        self._local, self._version = local, version

    async def set(self, chat_id: int, mode: str | None, lang: str) -> None:
        """Turn discreet mode on (on, 1h, 1d) or off (None)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            if mode is None:
                pipe.hdel(self.key(TAG, "modes"), chat_id)
            else:
                if mode not in MODES:
                    raise ValueError(f"unknown discreet mode {mode!r}")
                pipe.hset(self.key(TAG, "modes"), chat_id, f"{mode}:{lang}")
            pipe.incr(self.key(TAG, "version"))
            await pipe.execute()
        if mode is None:
            self._local.pop(chat_id, None)
        else:
            self._local[chat_id] = Discretion(mode, lang)

    async def sent(self, chat_id: int, message_id: int) -> None:
        """A message went to a discreet chat: plan its deletion, if the person asked for one."""
        found = self.mode(chat_id)
        if found is None or found.delete_after is None:
            return
        when = self.clock() + found.delete_after
        await self.redis.zadd(self.key(TAG, "sweep"), {f"{chat_id}:{message_id}": when})

    async def retry(self, chat_id: int, message_id: int, after: float) -> None:
        """A deletion that failed for a while (a flood limit, the network): again in `after` seconds."""
        await self.redis.zadd(self.key(TAG, "sweep"), {f"{chat_id}:{message_id}": self.clock() + after})

    async def due(self) -> list[tuple[int, int]]:
        """Messages whose time has come, each taken by one process only: (chat, message) pairs."""
        sweep = self.key(TAG, "sweep")
        members = await self.redis.zrangebyscore(sweep, "-inf", self.clock(), 0, SWEEP_BATCH)
        if not members:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.zrem(sweep, member)
            taken = await pipe.execute()
        found = []
        for member, mine in zip(members, taken):
            chat, _, message = member.partition(":")
            if mine and chat.lstrip("-").isdigit() and message.isdigit():
                found.append((int(chat), int(message)))
        return found

    async def forget(self, chat_id: int) -> list[int]:
        """/forget: no mode, and nothing planned that names the chat. Returns the messages that were
        still to be deleted: the caller deletes them now rather than leave them."""
        sweep = self.key(TAG, "sweep")
        mine = [member async for member, _ in self.redis.zscan_iter(sweep, match=f"{chat_id}:*", count=1000)]
        async with self.redis.pipeline(transaction=True) as pipe:
            if mine:
                pipe.zrem(sweep, *mine)
            pipe.hdel(self.key(TAG, "modes"), chat_id)
            pipe.incr(self.key(TAG, "version"))
            await pipe.execute()
        self._local.pop(chat_id, None)
        return [int(member.partition(":")[2]) for member in mine]
