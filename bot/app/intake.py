"""How updates come in: one small interface, so `run` starts and stops long polling and webhooks alike."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Protocol

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update
from redis.exceptions import RedisError

from bot.ground.redis_client import MAX_CONNECTIONS
from bot.ground.redis_gate import RedisGate, may_retry
from bot.telegram.replay import CutUpdates

if TYPE_CHECKING:
    from bot.app.wiring import App

logger = logging.getLogger(__name__)

HANDLER_GRACE = 10.0  # how long a stop waits for the updates already taken to be handled
# Updates handled at once by one process, in polling and webhook mode alike. Past it, polling fetches no
# more and a webhook answers 503: Telegram keeps what a process cannot take yet. Each update holds a Redis
# connection only while it waits on Redis, so twice the pool keeps it busy without ever running it dry
# (unbounded, a burst of 30,000 taps ran it dry and lost pledges).
UPDATES_IN_FLIGHT = 2 * MAX_CONNECTIONS
UPDATES = ["message", "callback_query", "my_chat_member"]  # what the handlers take
RECENT_UPDATES = 10_000  # update ids remembered to refuse a second delivery (a minute of heavy traffic)
REPLAY_EVERY = 5.0  # how often a running process looks for updates another one cut short while stopping
REPLAY_EXIT = 3.0  # a stop waits this long for the replay's Redis call in progress
# An update that fails on Redis trouble is handled again once Redis is back, this many times at most:
# an outage shuts the gate, so a retry waits for its end; only trouble the probe cannot see loops.
RETRIES_ON_REDIS = 20


class Intake(Protocol):
    async def start(self) -> None:
        """Begin taking updates; returns once started."""

    async def stop(self) -> None:
        """Stop taking new updates; returns when those already taken are handled."""


class InFlight:
    """An outer middleware that knows which updates are being handled, so a stop can wait for them."""

    def __init__(self, remember: int = RECENT_UPDATES) -> None:
        self.active: dict[asyncio.Task[Any], Update] = {}  # aiogram handles each update in a task of its own
        self.newest: int | None = None
        self.idle = asyncio.Event()
        self.idle.set()
        # An update kept after a stop whose confirmation failed comes twice: from Telegram and from
        # the list of cut-short updates (bot/telegram/replay.py). Within a process, an update id is never new twice.
        self.recent: OrderedDict[int, None] = OrderedDict()
        self.remember = remember

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        task = asyncio.current_task()
        if not isinstance(event, Update) or task is None or task in self.active:
            return await handler(event, data)
        if event.update_id in self.recent:
            logger.info("Update %r was already taken by this process: skipped", event.update_id)
            return UNHANDLED
        self.recent[event.update_id] = None
        if len(self.recent) > self.remember:
            self.recent.popitem(last=False)
        self.active[task] = event
        self.newest = event.update_id if self.newest is None else max(self.newest, event.update_id)
        self.idle.clear()
        try:
            return await handler(event, data)
        finally:
            del self.active[task]
            if not self.active:
                self.idle.set()

    async def drain(self, timeout: float) -> list[Update]:
        """Wait for the updates being handled; past `timeout`, cancel them and return them."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), timeout)
        cut = list(self.active.values())
        if cut:
            logger.warning("%d update(s) still being handled after %rs: cut short", len(cut), timeout)
            for task in list(self.active):
                task.cancel()
            await asyncio.gather(*self.active, return_exceptions=True)
        return cut


def track_in_flight(dispatcher: Dispatcher) -> InFlight:
    """Install an InFlight as the outermost update middleware (it must see an update before anything awaits)."""
    tracker = InFlight()
    register_first(dispatcher, tracker)
    return tracker


def register_first(dispatcher: Dispatcher, middleware: Any) -> None:
    """An update outer middleware before every one registered so far (aiogram's FSM middleware included)."""
    manager = dispatcher.update.outer_middleware
    others = list(manager)
    for each in others:
        manager.unregister(each)
    manager.register(middleware)
    for each in others:
        manager.register(each)


class WaitForRedis:
    """Updates wait while Redis is away, and one that failed on Redis trouble is handled again once Redis
    answers and takes writes.

    Nothing that needs Redis is lost or answered "try again" during an outage: the pledge counts
    when Redis is back. While Redis is only full, updates that need no write (a letter, /help) go on.
    In webhook mode (`redeliverable` set by bot.app.web) a failure goes back to Telegram instead, which
    delivers it again; bot.app.web answers 503 while the gate is shut.
    """

    def __init__(self, gate: RedisGate, retries: int = RETRIES_ON_REDIS) -> None:
        self.gate = gate
        self.retries = retries

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get("redeliverable"):
            try:
                return await handler(event, data)
            except Exception as exc:
                self.gate.report(exc)
                raise
        attempt = 0
        while True:
            # First try as soon as Redis answers; a retry, once it takes writes again.
            await self.gate.wait_open(writes=attempt > 0)
            # The error handler keeps quiet about a failure that will be handled again (handlers/errors.py).
            data["redeliverable"] = attempt < self.retries
            try:
                return await handler(event, data)
            except Exception as exc:
                if self.gate.report(exc) is None or attempt == self.retries or not may_retry():
                    raise
                logger.warning(
                    "Update %r met Redis trouble (%s): handled again once Redis is back",
                    getattr(event, "update_id", None),
                    type(exc).__name__,
                )
            if self.gate.is_open:  # the probe found nothing wrong: do not spin
                await asyncio.sleep(min(0.1 * 2**attempt, 5.0))
            attempt += 1


class PauseWhileRedisAway(BaseRequestMiddleware):
    """Long polling asks Telegram for no more updates while Redis is away: Telegram keeps them.

    While Redis is only full, polling goes on: updates that need no write are answered, and those that
    wait fill the updates in flight, past which aiogram fetches no more by itself.
    """

    def __init__(self, gate: RedisGate) -> None:
        self.gate = gate

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        # Only the long poll: the confirmation a stop sends (timeout 0) must not wait.
        if isinstance(method, GetUpdates) and method.timeout:
            await self.gate.wait_open(writes=False, update=False)
        return await make_request(bot, method)


class PollingIntake:
    """aiogram's long polling in a task; a stop waits for the handlers aiogram leaves running."""

    def __init__(self, app: App, grace: float = HANDLER_GRACE) -> None:
        self.app = app
        self.grace = grace
        self.in_flight = track_in_flight(app.dispatcher)
        self.cut: CutUpdates = app.dispatcher["cut_updates"]
        self._task: asyncio.Task[None] | None = None
        self._replay: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._started = asyncio.Event()
        app.dispatcher.startup.register(self._on_startup)

    async def _on_startup(self) -> None:
        self._started.set()

    async def start(self) -> None:
        """Long polling in the background; returns once the dispatcher has started (or raises why it could not)."""
        bot = self.app.bot
        await bot.delete_webhook(drop_pending_updates=False)  # getUpdates is refused while one is set
        self._task = asyncio.create_task(
            self.app.dispatcher.start_polling(
                bot,
                handle_signals=False,
                allowed_updates=UPDATES,
                close_bot_session=False,
                tasks_concurrency_limit=UPDATES_IN_FLIGHT,
            )
        )
        started = asyncio.create_task(self._started.wait())
        await asyncio.wait({self._task, started}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if self._task.done():
            self._task.result()  # polling ended before it began: its error, here
        self._task.add_done_callback(_log_failure)
        self._replay = asyncio.create_task(self._handle_cut_updates())

    async def stop(self) -> None:
        """No more getUpdates; wait (bounded) for the handlers in flight; keep what was cut; confirm the rest."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        try:
            await self.app.dispatcher.stop_polling()
        except RuntimeError:  # polling had not started yet, or had ended
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)  # a failure was logged when it happened
        # aiogram runs each update as a task of its own and does not wait for them when it stops.
        cut = await self.in_flight.drain(self.grace)
        if self._replay is not None:
            # Not cancelled: a Redis call cut off may have taken an entry off the list all the same.
            # It ends by itself once its Redis call returns (drain cancelled any update it was handling).
            _, late = await asyncio.wait({self._replay}, timeout=REPLAY_EXIT)
            if late:
                self._replay.cancel()
                logger.warning("The replay of cut-short updates did not end in %rs: cancelled", REPLAY_EXIT)
            await asyncio.gather(self._replay, return_exceptions=True)
        # Kept, or else (Redis away) left for Telegram to deliver again: it still holds those not confirmed.
        await self._confirm(None if await self._keep(cut) else min(u.update_id for u in cut))

    async def _handle_cut_updates(self) -> None:
        """Handle, one by one, the updates a stop cut short: at start, then every few seconds.

        Looking again covers a rolling restart, where the old process keeps its cut updates after
        the new one has started.
        """
        bot = self.app.bot
        while not self._stopping.is_set():
            try:
                update = await self.cut.take(bot)
                if update is not None and self._stopping.is_set():
                    await self.cut.give_back(update)
                    return
            except (RedisError, OSError, ValueError) as exc:  # Redis away; the spool file unreadable
                logger.warning(
                    "Could not read the updates a stop cut short (%s); trying again later", type(exc).__name__
                )
                update = None
            if update is None:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), REPLAY_EVERY)
                continue
            logger.info("Handling update %r, cut short by an earlier stop", update.update_id)
            try:
                await self.app.dispatcher.feed_update(bot, update)
            except Exception:
                logger.exception("Update %r failed again", update.update_id)

    async def _keep(self, cut: list[Update]) -> bool:
        """Whether the updates cut short are safe in Redis (or there were none)."""
        if not cut:
            return True
        try:
            kept = await self.cut.keep(cut)
        except (RedisError, OSError) as exc:
            logger.error(
                "%d update(s) cut short could not be kept (%s): left unconfirmed, for Telegram to deliver again "
                "unless an earlier confirmation took them",
                len(cut),
                type(exc).__name__,
            )
            return False
        if kept:
            logger.warning("%d update(s) cut short, kept for the next start to handle", kept)
        return True

    async def _confirm(self, before: int | None = None) -> None:
        """Tell Telegram which updates are taken (all, or those before `before`), so the next process
        does not handle them again.

        aiogram confirms a batch with its next getUpdates, which a stop can cut off.
        """
        if self.in_flight.newest is None:
            return
        offset = self.in_flight.newest + 1 if before is None else before
        try:
            await self.app.bot(GetUpdates(offset=offset, limit=1, timeout=0))
        except Exception as exc:
            logger.warning("Could not confirm the updates handled (%r): the next start may see some again", exc)


def _log_failure(task: asyncio.Task[None]) -> None:
    """aiogram retries network errors by itself: polling that ends on its own is worth a loud line."""
    if not task.cancelled() and task.exception() is not None:
        logger.error("Polling stopped by an error: no updates are taken", exc_info=task.exception())
