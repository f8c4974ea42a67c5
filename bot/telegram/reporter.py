"""Telling coordinators: a broadcast's progress (the delivery engine's Reporter), skipped jobs, a full Redis.
Over aiogram.

The worker calls progress() every few seconds (from one process for all) and finished() once.
Neither ever raises: a report that cannot be shown must not stop the delivery.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

from bot.content import Library
from bot.delivery import Broadcasts, Progress
from bot.delivery.audiences import Audiences
from bot.ground.logs import scrubbed_traceback
from bot.ground.redis_gate import RedisGate, RedisState
from bot.ground.roles import Roles
from bot.ground.settings import StoreSettings
from bot.pledges.store import Store
from bot.publishing.channel import is_post, post_failed
from bot.render import Renderer, Screen
from bot.telegram.keyboards import markup

if TYPE_CHECKING:
    from scheduler import Planned

logger = logging.getLogger(__name__)


class ChatReporter:
    def __init__(
        self,
        bot: Bot,
        broadcasts: Broadcasts,
        renderer: Renderer,
        default_language: str,
        coordinators: Coordinators | None = None,
    ) -> None:
        self.bot = bot
        self.broadcasts = broadcasts
        self.renderer = renderer
        self.default_language = default_language
        self.coordinators = coordinators  # told of a broadcast that paused by itself and has nobody else

    async def progress(self, progress: Progress) -> None:
        """Edit the progress message in place."""
        try:
            where = await self.broadcasts.progress_message(progress.id)
            if where is None:
                return  # queued from the command line, or the message is not registered yet
            lang = await self._language(where[0])
            await self._edit(where, self.renderer.broadcast_progress(progress, lang))
        except Exception as exc:
            # aiogram's error texts may hold the coordinator's chat id.
            logger.error("Could not show the progress of broadcast %r: %s", progress.id, scrubbed_traceback(exc))

    async def finished(self, progress: Progress) -> None:
        """The progress message in its final state, then a report of its own (it notifies; an edit does not).
        A post in the channel has neither: its coordinator hears of it only when the channel refused it."""
        try:
            if is_post(progress):
                await self._post_finished(progress)
                return
            where = await self.broadcasts.progress_message(progress.id)
            chat = where[0] if where else progress.created_by
            if chat is None:
                return
            lang = await self._language(chat)
            if where is not None:
                await self._edit(where, self.renderer.broadcast_progress(progress, lang))
            took = progress.finished_at - progress.started_at if progress.finished_at and progress.started_at else None
            await self.bot.send_message(chat, self.renderer.broadcast_report(progress, lang, took=took))
        except Exception as exc:
            logger.error("Could not report the end of broadcast %r: %s", progress.id, scrubbed_traceback(exc))

    async def _post_finished(self, progress: Progress) -> None:
        """A post the channel refused (the bot is no administrator there): the coordinator who published it, or
        every coordinator, hears of it, once until a post goes through again."""
        if not await post_failed(self.broadcasts, progress):
            return
        ref = progress.purpose.ref if progress.purpose else ""
        if progress.created_by is not None:
            lang = await self._language(progress.created_by)
            await self.bot.send_message(progress.created_by, self.renderer.message("channel_failed", lang, ref=ref))
        elif self.coordinators is not None:
            await self.coordinators.send(lambda lang: self.renderer.message("channel_failed", lang, ref=ref))

    async def paused(self, progress: Progress) -> None:
        """It paused by itself (its Stars ran out): the progress message shows why, and a message of its own
        (an edit does not notify) tells its coordinator, with Resume; a broadcast nobody in chat started (the
        command line, a case's alert) tells every coordinator."""
        try:
            where = await self.broadcasts.progress_message(progress.id)
            chat = where[0] if where else progress.created_by
            if where is not None:
                await self._edit(where, self.renderer.broadcast_progress(progress, await self._language(where[0])))
            if chat is None:
                if self.coordinators is not None:
                    await self.coordinators.send_screen(lambda lang: self.renderer.broadcast_paused(progress, lang))
                return
            screen = self.renderer.broadcast_paused(progress, await self._language(chat))
            await self.bot.send_message(chat, screen.text, reply_markup=markup(screen))
        except Exception as exc:
            logger.error("Could not report the pause of broadcast %r: %s", progress.id, scrubbed_traceback(exc))

    async def _language(self, chat_id: int) -> str:
        # The coordinator's saved UI language: the store's user:{chat} hash, as the engine's
        # language audiences read it.
        saved = await self.broadcasts.redis.hget(self.broadcasts.key("user", chat_id), "lang")
        return saved if saved in self.renderer.languages else self.default_language

    async def _edit(self, where: tuple[int, int], screen: Screen) -> None:
        chat_id, message_id = where
        try:
            await self.bot.edit_message_text(
                screen.text, chat_id=chat_id, message_id=message_id, reply_markup=markup(screen)
            )
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return  # nothing changed since the last report
            logger.warning("Could not edit the progress message of a broadcast: %s", exc.message)


class Coordinators:
    """A message to every coordinator, each in their own language; never raises."""

    def __init__(self, bot: Bot, store: Store, renderer: Renderer, roles: Roles) -> None:
        self.bot = bot
        self.store = store
        self.renderer = renderer
        self.roles = roles  # owners (ADMIN_IDS) and the coordinators they added in chat

    async def send(self, text_for: Callable[[str], str]) -> bool:
        """False when it could not find out who to tell (Redis away): nobody was told."""
        return await self.send_screen(lambda lang: Screen(text_for(lang)))

    async def send_screen(self, screen_for: Callable[[str], Screen]) -> bool:
        """As send(), with the screen's buttons."""
        try:  # coordinators who sent /stop hear nothing either (bot.delivery.audiences)
            everyone = await self.roles.everyone()
            wanted = await Audiences(self.store.redis, self.store.pseudonyms, self.store.prefix).coordinators(everyone)
        except Exception as exc:
            logger.error("Could not tell coordinators: %s", scrubbed_traceback(exc))
            return False
        for number, admin in enumerate(sorted(everyone), 1):
            if admin not in wanted:
                continue
            try:
                lang = (await self.store.user(admin)).lang or self.renderer.default_language
                screen = screen_for(lang)
                await self.bot.send_message(admin, screen.text, reply_markup=markup(screen))
            except Exception as exc:
                # Named by their place among coordinators; aiogram's error texts may hold the chat id.
                logger.error("Could not tell coordinator %r: %s", number, scrubbed_traceback(exc))
        return True

    async def tell(self, chat_id: int | None, screen_for: Callable[[str], Screen]) -> None:
        """To one coordinator, in their language; to every coordinator when it is none (the command line, or
        someone who no longer coordinates), so that a question about a send always reaches somebody who can answer."""
        if chat_id is None or not await self.roles.is_coordinator(chat_id):
            await self.send_screen(screen_for)
            return
        try:
            lang = (await self.store.user(chat_id)).lang or self.renderer.default_language
            screen = screen_for(lang)
            await self.bot.send_message(chat_id, screen.text, reply_markup=markup(screen))
        except Exception as exc:
            logger.error("Could not tell a coordinator about their scheduled send: %s", scrubbed_traceback(exc))

    def missed_job(
        self, library: Library, settings: StoreSettings
    ) -> Callable[[Planned, dt.datetime, bool], Awaitable[None]]:
        """What the scheduler calls when a job missed its grace window, or failed."""

        async def report(job: Planned, due: dt.datetime, failed: bool) -> None:
            cases = {case.id: case for case in library.all()}
            await self.send(
                lambda lang: self.renderer.missed(
                    lang, job, due, settings.schedule_grace, cases, settings.default_timezone, failed=failed
                )
            )

        return report


class RedisNotices:
    """Coordinators hear once that Redis is full, and once that it has room again: after it kept taking
    writes for SETTLE seconds, so a Redis hovering at its limit makes two messages, not two a minute.
    A restart of Redis in between (the usual fix) does not lose the second one."""

    SETTLE = 60.0

    def __init__(
        self,
        coordinators: Coordinators,
        renderer: Renderer,
        gate: RedisGate,
        *,
        answers_reads: bool,
        settle: float = SETTLE,
    ) -> None:
        self.coordinators, self.renderer, self.gate, self.settle = coordinators, renderer, gate, settle
        self.answers_reads = answers_reads  # long polling goes on while Redis is full; a webhook answers 503
        self.told = False  # coordinators know Redis is full, and have not heard since that it has room
        self._waiting = False

    async def __call__(self, before: RedisState, now: RedisState, took: float) -> None:
        """A RedisGate listener."""
        if now is RedisState.REFUSING and not self.told:
            self.told = True  # before the send: a change during it must not send it twice
            self.told = await self._send(refusing=True)
        elif now is RedisState.UP and self.told and not self._waiting:
            self._waiting = True
            try:
                # Room for SETTLE seconds on end: a short spell between two full ones does not count.
                while self.gate.is_open and (left := self.settle - (time.monotonic() - self.gate.since)) > 0:
                    await asyncio.sleep(left)
                if self.gate.is_open:
                    self.told = not await self._send(refusing=False)
            finally:
                self._waiting = False

    async def _send(self, *, refusing: bool) -> bool:
        return await self.coordinators.send(
            lambda lang: self.renderer.message(
                "redis_refusing", lang, refusing=refusing, answers_reads=self.answers_reads
            )
        )
