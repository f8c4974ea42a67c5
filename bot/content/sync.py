"""Every bot process reloads its cases when the content version in Redis moves. No aiogram here.

An update recorded by any process or by `rrbot update`, a publish and a reload all raise the
version; each process then reads the case files again (from its own CONTENT_DIR) with the
recorded updates over them, and tells its listeners (the scheduler re-plans reminders).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.content import ContentError, Library
from bot.content.states import CaseStates
from bot.ground.redis_gate import log_failure

logger = logging.getLogger(__name__)


class ContentSync:
    def __init__(self, library: Library, cases: CaseStates, *, every: float = 2.0) -> None:
        self.library = library
        self.cases = cases
        self.every = every
        self.listeners: list[Callable[[], Awaitable[None]]] = []
        self.seen: int | None = None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                version = await self.cases.version()
                if self.seen is None:
                    self.seen = version  # the library was loaded at start-up
                elif version != self.seen:
                    self.seen = version
                    await self.reload()
            except Exception as exc:
                log_failure(logger, exc, "Could not check for content changes; trying again")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.every)
            except TimeoutError:
                pass

    async def reload(self) -> bool:
        """Read the cases again; a broken file keeps the cases as they were (and says so in the log)."""
        if self.library.content_dir is None:
            fresh = await self.cases.apply(self.library)
        else:
            try:
                fresh = await self.cases.load(self.library.content_dir)
            except ContentError as exc:
                logger.error("Content not reloaded, the cases stay as they were: %s", exc)
                return False
        self.library.replace(fresh)
        logger.info("Content reloaded: %d cases", len(self.library))
        for listener in self.listeners:
            try:
                await listener()
            except Exception:
                logger.exception("A content-change listener failed")
        return True
