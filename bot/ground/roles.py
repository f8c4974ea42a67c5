"""Who may coordinate: owners (ADMIN_IDS) and the coordinators they add in chat. No aiogram here.

Owners are the settings' ADMIN_IDS: they coordinate and add or remove coordinators (`/coordinators`).
Added coordinators live in Redis; every update asks whether its sender coordinates, so each process keeps
a local copy, read again when another process changed the list (a version counter, checked every few
seconds at most): a question costs no Redis call.

Keys (prefix ``rrb:``):
  {roles}:coordinators   hash  user id -> the pseudonym of the owner who added them
  {roles}:version        counter, raised on every change
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from redis.asyncio import Redis

from bot.ground.audit import Action, AuditLog, Who

logger = logging.getLogger(__name__)


class Roles:
    def __init__(
        self,
        redis: Redis,
        owners: Iterable[int],
        audit: AuditLog,
        *,
        prefix: str = "rrb:",
        clock: Callable[[], float] = time.monotonic,
        check_every: float = 2.0,
    ) -> None:
        self.redis = redis
        self.owners = frozenset(owners)
        self.audit = audit
        self.prefix = prefix
        self.clock = clock
        self.check_every = check_every
        self._added: frozenset[int] = frozenset()
        self._version: str | None = None
        self._checked: float | None = None

    def key(self, name: str) -> str:
        return f"{self.prefix}{{roles}}:{name}"

    async def refresh(self, *, force: bool = False) -> None:
        """Read the list again when another process changed it (checked every `check_every` seconds)."""
        now = self.clock()
        if not force and self._checked is not None and now - self._checked < self.check_every:
            return
        self._checked = now
        version = await self.redis.get(self.key("version"))
        if force or version != self._version:
            self._added = frozenset(int(u) for u in await self.redis.hkeys(self.key("coordinators")))
            self._version = version

    def is_owner(self, user_id: int) -> bool:
        return user_id in self.owners

    async def is_coordinator(self, user_id: int) -> bool:
        if user_id in self.owners:
            return True
        await self.refresh()
        return user_id in self._added

    async def added(self) -> list[int]:
        """The coordinators owners added, in the order of their ids (owners not among them)."""
        await self.refresh(force=True)
        return sorted(self._added - self.owners)

    async def everyone(self) -> frozenset[int]:
        """Owners and coordinators: whose command menu holds the coordinators' commands."""
        await self.refresh()
        return self.owners | self._added

    async def add(self, user_id: int, by: Who) -> bool:
        """Make someone a coordinator; False when they already coordinate."""
        if user_id in self.owners or not await self.redis.hsetnx(self.key("coordinators"), user_id, self.audit.who(by)):
            return False
        await self._changed()
        await self.audit.record(Action.role_add, by, whom=user_id)
        return True

    async def remove(self, user_id: int, by: Who | None) -> bool:
        """Take the role away; False when they had none to take (owners keep theirs: they are in the settings)."""
        if not await self.redis.hdel(self.key("coordinators"), user_id):
            return False
        await self._changed()
        if by is not None:
            await self.audit.record(Action.role_remove, by, whom=user_id)
        return True

    async def _changed(self) -> None:
        await self.redis.incr(self.key("version"))
        await self.refresh(force=True)
