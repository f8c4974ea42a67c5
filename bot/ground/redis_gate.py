"""Whether this process can use Redis now. Updates wait at the gate while it cannot; it opens by itself.

Telegram keeps what a bot does not take for a day, so the safe answer to a Redis that is away is
to take nothing: a pledge tapped meanwhile is handled, and counted, once Redis is back, instead of
failing with "try again" (docs/RELIABILITY.md). A Redis that only refuses writes (full) still
answers reads: updates go on, and those that fail on a write wait until it takes writes again.
The gate learns of trouble from the errors updates run into, then probes Redis every PROBE_EVERY
seconds until it answers and accepts a write.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

from redis.asyncio import Redis
from redis.exceptions import (
    ClusterDownError,
    MasterDownError,
    OutOfMemoryError,
    ReadOnlyError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.exceptions import (
    TimeoutError as RedisTimeoutError,
)

logger = logging.getLogger(__name__)

PROBE_EVERY = 0.5  # polling resumes within about this long of Redis answering again
PROBE_TIMEOUT = 1.0
PROBE_TTL_MS = 10_000


class RedisState(enum.StrEnum):
    UP = "up"
    AWAY = "away"  # no answer: stopped, restarting, frozen, failing over
    REFUSING = "refusing writes"  # answers, but refuses writes: out of memory under noeviction, or a failed save


# Error codes (the first word of Redis's reply) of a write refused for now: full, or a failed save; and of
# a replica that cannot take writes until a failover ends. Inside a script, Redis 6 puts the code after its
# own words ("ERR Error running script ... -MISCONF ..."), Redis 7 first.
_REFUSING_CODES = re.compile(r"(?:^|-)(?:OOM|MISCONF)\b")
_AWAY_CODES = re.compile(r"(?:^|-)(?:READONLY|MASTERDOWN|LOADING|TRYAGAIN|CLUSTERDOWN)\b")
_AWAY_ERRORS = (
    RedisConnectionError,
    RedisTimeoutError,
    ReadOnlyError,
    MasterDownError,
    TryAgainError,
    ClusterDownError,
)


def trouble(exc: BaseException) -> RedisState | None:
    """The state an error shows Redis in; None for errors that waiting would not cure (a bug, a wrong type)."""
    if isinstance(exc, OutOfMemoryError):
        return RedisState.REFUSING
    if isinstance(exc, _AWAY_ERRORS):
        return RedisState.AWAY
    if isinstance(exc, ResponseError):
        text = str(exc)
        if _REFUSING_CODES.search(text):
            return RedisState.REFUSING
        if _AWAY_CODES.search(text):
            return RedisState.AWAY
    return None


def log_failure(log: logging.Logger, exc: BaseException, what: str) -> None:
    """A background step failed: one line when Redis is away (expected now and then, and retried), else the
    traceback at ERROR."""
    if trouble(exc) is None:
        log.error("%s", what, exc_info=exc)
    else:
        log.warning("%s (%s)", what, type(exc).__name__)


# Set by a handler past a step that must not run twice (a draft taken for sending): a failure after it
# is told to the person, who can look and try again, rather than handled again unseen (bot.app.intake).
_past_no_return: ContextVar[bool] = ContextVar("past_no_return", default=False)


def no_retry_from_here() -> None:
    """This update must not be handled again from the start: what it did so far would happen twice."""
    _past_no_return.set(True)


def may_retry() -> bool:
    return not _past_no_return.get()


Listener = Callable[[RedisState, RedisState, float], Awaitable[None]]


class RedisGate:
    """Open while Redis answers and accepts writes; shut from the first error that shows it does not."""

    def __init__(
        self, redis: Redis, *, prefix: str = "rrb:", every: float = PROBE_EVERY, timeout: float = PROBE_TIMEOUT
    ) -> None:
        self.redis = redis
        self.probe_key = prefix + "health:probe"
        self.every, self.timeout = every, timeout
        self.state = RedisState.UP
        self.since = time.monotonic()
        self.held = 0  # updates waiting at the gate now
        self.listeners: list[Listener] = []  # told of each change: (before, now, seconds spent before)
        self._open = asyncio.Event()  # Redis answers and takes writes
        self._open.set()
        self._answering = asyncio.Event()  # Redis answers, perhaps refusing writes
        self._answering.set()
        self._probe: asyncio.Task[None] | None = None
        self._told: set[asyncio.Task[None]] = set()

    @property
    def is_open(self) -> bool:
        return self.state is RedisState.UP

    async def wait_open(self, *, writes: bool = True, update: bool = True) -> None:
        """Return once Redis takes writes (or, with writes=False, answers at all): at once while it does.

        An update waiting is counted as held.
        """
        event = self._open if writes else self._answering
        if event.is_set():
            return
        if not update:
            await event.wait()
            return
        self.held += 1
        try:
            await event.wait()
        finally:
            self.held -= 1

    def report(self, exc: BaseException) -> RedisState | None:
        """Shut the gate when `exc` shows Redis away or refusing writes; returns that state, else None."""
        state = trouble(exc)
        if state is None:
            return None
        if self.is_open:
            self._change(state, type(exc).__name__)
        elif state is RedisState.REFUSING and self.state is RedisState.AWAY:
            self._change(state, type(exc).__name__)
        if self._probe is None or self._probe.done():
            self._probe = asyncio.create_task(self._until_up())
        return state

    async def check(self) -> RedisState:
        """One probe: a PING, then a small write with an expiry (refused like any other write)."""
        try:
            async with asyncio.timeout(self.timeout):
                await self.redis.ping()
                await self.redis.set(self.probe_key, "1", px=PROBE_TTL_MS)
        except TimeoutError:
            return RedisState.AWAY
        except Exception as exc:
            return trouble(exc) or RedisState.AWAY
        return RedisState.UP

    async def close(self) -> None:
        """Stop probing; updates still waiting stay held (a stopping intake cuts them short)."""
        tasks = [t for t in (self._probe, *self._told) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _until_up(self) -> None:
        while not self.is_open:
            await asyncio.sleep(self.every)
            state = await self.check()
            if state is not self.state:
                self._change(state, "probe")

    def _change(self, state: RedisState, why: str) -> None:
        before, took = self.state, time.monotonic() - self.since
        self.state, self.since = state, time.monotonic()
        if state is RedisState.AWAY:
            self._answering.clear()
        else:
            self._answering.set()
        if state is RedisState.UP:
            self._open.set()
            logger.warning(
                "Redis %s for %.1f s; %d waiting update(s) go on",
                "was away" if before is RedisState.AWAY else "refused writes",
                took,
                self.held,
            )
        else:
            self._open.clear()
            if state is RedisState.AWAY:
                logger.warning("Redis does not answer (%s): no updates are taken until it does", why)
            else:
                logger.warning("Redis refuses writes (%s): updates wait until it takes them again", why)
        for listener in self.listeners:
            task = asyncio.create_task(listener(before, state, took))
            self._told.add(task)
            task.add_done_callback(self._listened)

    def _listened(self, task: asyncio.Task[None]) -> None:
        self._told.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("A listener of Redis's state failed", exc_info=task.exception())
