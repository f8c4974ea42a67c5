"""Wiring: settings -> Redis -> content -> Dispatcher; polling until stopped."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from redis.asyncio import Redis

from bot.app.intake import HANDLER_GRACE, Intake, PauseWhileRedisAway, PollingIntake, WaitForRedis, register_first
from bot.app.keys import open_migrated
from bot.app.observability import Metrics, routes
from bot.app.update_metrics import UpdateMetrics
from bot.app.web import WebhookIntake, WebServer
from bot.content import Library
from bot.content.states import CaseStates
from bot.content.sync import ContentSync
from bot.delivery import Broadcasts, Worker
from bot.delivery.approvals import Approvals
from bot.delivery.paid import is_paid
from bot.ground.clock import Clock, utc_now
from bot.ground.discreet import DiscreetChats
from bot.ground.i18n import load_translations
from bot.ground.privacy import Pseudonymizer, privacy_key
from bot.ground.quiet import QuietHours, zone_name
from bot.ground.redis_gate import RedisGate, log_failure
from bot.ground.roles import Roles
from bot.ground.settings import Settings
from bot.pledges.store import Store
from bot.publishing.channel import Channel, remember_bot
from bot.publishing.drafts import Drafts, MessageDrafts
from bot.publishing.import_flow import Importer
from bot.render import Renderer
from bot.telegram.discreet import DiscreetRequests, sweep
from bot.telegram.replay import CutUpdates
from bot.telegram.reporter import ChatReporter, Coordinators, RedisNotices
from bot.telegram.sender import TelegramSender
from bot.telegram.sessions import BroadcastSession, LenientUpdatesSession, WaitOnFloodLimit
from handlers import detach_routers, get_routers
from handlers.approval import ApprovalDesk
from handlers.errors import error_handler
from handlers.fsm import IdleEvictingIsolation, TapQueueLimit, UserRecordStorage
from handlers.middlewares import CatalogueI18n, UserLocaleMiddleware, UserRateLimit, skip_unreadable_updates
from handlers.start import publish_coordinator_commands
from scheduler import JobContext, Scheduler

logger = logging.getLogger(__name__)

# my_chat_member: a person blocking the bot is forgotten at once, not at the next send (docs/AUDIENCES.md).


@dataclass
class App:
    settings: Settings
    bot: Bot
    dispatcher: Dispatcher
    store: Store
    library: Library
    renderer: Renderer
    broadcasts: Broadcasts
    worker: Worker
    scheduler: Scheduler
    content: ContentSync
    cases: CaseStates
    discreet: DiscreetChats
    gate: RedisGate
    metrics: Metrics | None = None  # health and /metrics: mount routes(app.metrics), see bot.app.observability

    def background(self, stop: asyncio.Event) -> list[asyncio.Task[None]]:
        """Delivery, the scheduler (when this process leads), content reloads, discreet deletions and the
        event loop's lag (for /metrics), until stop."""
        return [
            asyncio.create_task(self.worker.run(stop)),
            asyncio.create_task(self.scheduler.run(stop)),
            asyncio.create_task(self.content.run(stop)),
            asyncio.create_task(sweep(self.discreet, self.bot, stop)),
            *([asyncio.create_task(self.metrics.watch_loop(stop))] if self.metrics else []),
        ]

    async def close(self) -> None:
        await self.gate.close()
        self.scheduler.shutdown()
        await self.bot.session.close()
        await self.sender_bot.session.close()

    @property
    def sender_bot(self) -> Bot:
        return self.worker.sender.bot  # type: ignore[attr-defined]


def create_bot(settings: Settings, *, broadcast: bool = False) -> Bot:
    """The bot for replies waits out short flood limits; the broadcast one must see every 429 itself."""
    api = TelegramAPIServer.from_base(settings.telegram_api_url)
    session: AiohttpSession
    if broadcast:
        session = BroadcastSession(api=api)
    else:
        session = LenientUpdatesSession(api=api)
        session.middleware(WaitOnFloodLimit())
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


async def build_app(
    settings: Settings,
    redis: Redis,
    library: Library,
    clock: Clock = utc_now,
    *,
    pseudonyms: Pseudonymizer | None = None,
) -> App:
    """Everything the Dispatcher needs, passed as workflow data (no module globals).

    When it fails (Telegram refuses the token or is away, Redis goes), the bots' sessions are closed
    before the error goes on: the operator reads one line, not "Unclosed client session" after it.
    """
    if pseudonyms is None:
        pseudonyms = Pseudonymizer(privacy_key(settings))  # offline: a missing key is told before any request
    bot = create_bot(settings)
    sender_bot = create_bot(settings, broadcast=True)
    try:
        return await _assemble(settings, redis, library, clock, pseudonyms, bot, sender_bot)
    except BaseException:
        await bot.session.close()
        await sender_bot.session.close()
        raise


async def _assemble(
    settings: Settings,
    redis: Redis,
    library: Library,
    clock: Clock,
    pseudonyms: Pseudonymizer,
    bot: Bot,
    sender_bot: Bot,
) -> App:
    me = await bot.me()
    locales = settings.content_dir / "locales"
    translations = load_translations(locales)
    renderer = Renderer(
        settings.content_dir / "templates",
        translations,
        bot_username=me.username or "",
        default_language=settings.default_language,
        default_timezone=settings.default_timezone,
    )
    store = Store(redis, pseudonyms)
    broadcasts = Broadcasts(redis, pseudonyms)
    roles = Roles(redis, settings.admin_ids, broadcasts.audit)
    await roles.refresh(force=True)
    # Above Telegram's free rate every broadcast message must say it is a paid one (0.1 Star each).
    sender = TelegramSender(sender_bot, paid=is_paid(settings.broadcast_rate))
    # Every message to a discreet chat, from any send path, is disguised on the wire (both bots).
    discreet = DiscreetChats(redis)
    await discreet.refresh(force=True)
    for each in (bot, sender.bot):
        each.session.middleware(DiscreetRequests(discreet, renderer.neutral_line))
    notifier = Coordinators(bot, store, renderer, roles)
    reporter = ChatReporter(bot, broadcasts, renderer, settings.default_language, notifier)
    quiet = QuietHours.parse(settings.quiet_hours)
    worker = Worker(
        broadcasts,
        sender,
        store,
        rate=settings.broadcast_rate,
        reporter=reporter,
        quiet=quiet if quiet.start != quiet.end else None,
    )
    channel = Channel.from_settings(settings)
    await remember_bot(redis, me.username or "")  # posts queued from the CLI link to the bot too
    cases = CaseStates(redis)
    library.replace(await cases.apply(library))  # updates recorded since the files were written
    content = ContentSync(library, cases)
    gate = RedisGate(redis)
    bot.session.middleware(PauseWhileRedisAway(gate))
    # Only a full Redis: coordinators can act on it, and reads still find who they are.
    gate.listeners.append(RedisNotices(notifier, renderer, gate, answers_reads=settings.webhook_url is None))
    ctx = JobContext(
        redis=redis,
        store=store,
        broadcasts=broadcasts,
        library=library,
        cases=cases,
        renderer=renderer,
        clock=clock,
        send=TelegramSender(sender.bot),  # one person's reminder: no broadcast, so never a paid send
        notify=notifier.send,
        default_timezone=settings.default_timezone,
        reminder_hour=settings.reminder_hour,
        quiet=quiet,
    )
    scheduler = Scheduler(
        redis,
        grace=settings.schedule_grace,
        reminder_hour=settings.reminder_hour,
        default_timezone=settings.default_timezone,
        ctx=ctx,
        on_missed=notifier.missed_job(library, settings),
        pseudonyms=pseudonyms,
    )
    scheduler.start()
    try:
        scheduler.plan_retention(settings.retention_days)
    except BaseException:
        scheduler.shutdown()
        raise

    async def replan() -> None:
        if scheduler.leading:
            await scheduler.reconcile(library.all(), clock())
            # Sends scheduled for a case that changed: whoever scheduled one is asked what to do with it.
            try:
                changes = await scheduler.recheck(library.all(), clock())
            except Exception as exc:  # the reminders are planned; a send's run checks its case again anyway
                log_failure(logger, exc, "Could not re-check scheduled broadcasts against their cases")
                return
            for change in changes:
                # In the zone /schedule shows the send in for whoever scheduled it.
                who = change.send.created_by
                prefs = await store.user(who) if who is not None else None
                zone = (
                    zone_name(prefs.timezone, prefs.lang, settings.default_timezone)
                    if prefs
                    else settings.default_timezone
                )
                await notifier.tell(
                    who,
                    lambda lang, c=change, z=zone: renderer.schedule_case_changed(lang, c.send, c.case, c.kind, z),
                )

    scheduler.on_lead = replan
    content.listeners.append(replan)
    metrics = Metrics(
        redis,
        store=store,
        broadcasts=broadcasts,
        scheduler=scheduler,
        library=library,
        gate=gate,
        pacing=worker.pacing,
    )
    scheduler.on_missed = metrics.counting_missed(scheduler.on_missed)
    isolation = IdleEvictingIsolation()
    dispatcher = Dispatcher(
        storage=UserRecordStorage(redis, store),
        # One update at a time per chat: the parts of a pasted text must see the state the first one set.
        events_isolation=isolation,
        settings=settings,
        redis=redis,
        store=store,
        library=library,
        renderer=renderer,
        pseudonyms=pseudonyms,
        broadcasts=broadcasts,
        scheduler=scheduler,
        cases=cases,
        content=content,
        clock=clock,
        importer=Importer(Drafts(redis), library, renderer, content, cases, broadcasts, store, clock, channel),
        channel=channel,  # the organisation's channel (CHANNEL_ID), or None
        approval=ApprovalDesk(Approvals(redis), broadcasts, library, renderer, settings, roles),
        cut_updates=CutUpdates(redis, spool=settings.data_dir / "cut-updates.jsonl"),
        discreet=discreet,
        redis_gate=gate,
        audit=broadcasts.audit,
        drafts=MessageDrafts(redis, pseudonyms),
        roles=roles,
        quiet=quiet,  # a person's night (bot.ground.quiet), for what the scheduler sends them
        menu_missing=set(),  # coordinators whose command menu Telegram refused; publish_profile fills it
    )
    # Outside aiogram's error middleware: a failure on Redis trouble is held and handled again, unseen.
    register_first(dispatcher, WaitForRedis(gate))
    # Ahead of aiogram's FSM middleware, which takes the per-chat lock: a flood of one person's taps is
    # dropped before it queues there.
    register_first(dispatcher, TapQueueLimit(isolation))
    # First of ours after it: it times the middlewares after it too, and counts the updates they skip.
    dispatcher.update.outer_middleware(UpdateMetrics(metrics))
    dispatcher.update.outer_middleware(skip_unreadable_updates)
    dispatcher.update.outer_middleware(
        UserLocaleMiddleware(CatalogueI18n(translations, settings.default_language, locales))
    )
    # After the locale: a refused tap is told so in the user's language.
    limiter = UserRateLimit(
        redis, pseudonyms, burst=settings.user_burst, rate=settings.user_rate, coordinators=settings.admin_ids
    )
    dispatcher.message.outer_middleware(limiter)
    dispatcher.callback_query.outer_middleware(limiter)
    dispatcher.include_routers(*get_routers(settings))
    dispatcher.errors.register(error_handler)
    # aiogram and pydantic leave ~190k long-lived objects; every full collection walked them all
    # (~130 ms, the p99 of a tap). Frozen, they are out of the collector's way.
    gc.freeze()
    # Each update allocates a few thousand short-lived containers (pydantic models, aiohttp requests):
    # at the default 700 the young generation was collected several times per tap, a tenth of its CPU.
    # Reference counting frees nearly all of them anyway; the rare cycles wait a little longer.
    gc.set_threshold(50_000, 20, 100)
    # `rrbot run` starts with collection off (bot.cli.main); from here on the young objects are collected.
    gc.enable()
    return App(
        settings,
        bot,
        dispatcher,
        store,
        library,
        renderer,
        broadcasts,
        worker,
        scheduler,
        content,
        cases,
        discreet,
        gate,
        metrics,
    )


async def publish_profile(app: App) -> None:
    """The command menus (coordinators get theirs) and descriptions, in every UI language."""
    bot, renderer = app.bot, app.renderer
    for lang in (None, *renderer.languages):
        ui = lang or app.settings.default_language
        commands = [{"command": c, "description": d} for c, d in renderer.commands(ui)]
        description, short = renderer.descriptions(ui)
        await bot.set_my_commands(commands, language_code=lang)  # type: ignore[arg-type]
        await bot.set_my_description(description, language_code=lang)
        await bot.set_my_short_description(short, language_code=lang)
    # Those Telegram refused get theirs on their /start (handlers.start.coordinator_menu_handler).
    roles: Roles = app.dispatcher["roles"]
    app.dispatcher["menu_missing"] = await publish_coordinator_commands(bot, renderer, await roles.everyone())


@asynccontextmanager
async def running(
    settings: Settings, redis: Redis, library: Library, clock: Clock = utc_now, *, grace: float = HANDLER_GRACE
) -> AsyncIterator[App]:
    """Poll in the background while the block runs: the shape tests and the demo use."""
    app = await build_app(settings, redis, library, clock)
    stop = asyncio.Event()
    try:
        await publish_profile(app)
        intake = PollingIntake(app, grace)
        await intake.start()
        background = app.background(stop)
        try:
            yield app
        finally:
            await intake.stop()
            stop.set()
            await _drain(background)
    finally:
        detach_routers(get_routers(settings))
        await app.close()


BACKGROUND_GRACE = 10.0  # sends in flight get 6 s (bot.delivery.worker.STOP_GRACE), then go back; jobs get 5 s
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def run(settings: Settings, library: Library | None = None, pseudonyms: Pseudonymizer | None = None) -> None:
    """`rrbot run`: take updates until SIGTERM/SIGINT, then stop with nothing lost and nothing sent twice.

    The command line passes the library and the pseudonyms it checked before anything touched the network.
    """
    library = library if library is not None else Library.load(settings.content_dir)
    shutdown = _stop_on_signals()
    try:
        async with open_migrated(settings.redis_target, settings.data_dir) as redis:
            app = await build_app(settings, redis, library, pseudonyms=pseudonyms)
            try:
                if shutdown.is_set():  # SIGTERM while starting: no profile to publish, no update to take
                    logger.info("Stopped during start-up, before taking any update")
                else:
                    await _serve(app, shutdown)
            finally:
                detach_routers(get_routers(settings))
                await app.close()
    finally:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def _stop_on_signals() -> asyncio.Event:
    """An event SIGTERM and SIGINT set, installed first thing: a signal during startup stops it too.

    It takes over from bot.cli.sigterm's handler, which ends the process at once before the loop runs."""
    shutdown = asyncio.Event()
    if getattr(signal.getsignal(signal.SIGTERM), "requested", False):  # bot.cli.sigterm's, if it missed one
        shutdown.set()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, _on_signal, sig, shutdown)
    return shutdown


def _on_signal(sig: signal.Signals, shutdown: asyncio.Event) -> None:
    if shutdown.is_set():
        logger.warning("%s again: already stopping (each step is bounded)", sig.name)
        return
    logger.info("%s received: stopping", sig.name)
    shutdown.set()


def make_intake(app: App) -> Intake:
    """Webhook mode when WEBHOOK_URL is set, else long polling; /healthz and /metrics on PORT in both."""
    extra = routes(app.metrics) if app.metrics is not None else []
    if app.settings.webhook_url is not None:
        return WebhookIntake(app, extra)
    if app.settings.port:
        return Served(PollingIntake(app), WebServer(app.settings.port, extra))
    return PollingIntake(app)


class Served:
    """Long polling, with the operators' endpoints on PORT for as long as it runs."""

    def __init__(self, intake: Intake, server: Any) -> None:
        self.intake = intake
        self.server = server

    async def start(self) -> None:
        await self.server.start()
        await self.intake.start()

    async def stop(self) -> None:
        try:
            await self.intake.stop()
        finally:
            await self.server.stop()


async def _serve(app: App, shutdown: asyncio.Event) -> None:
    """Take updates until shutdown is set, then stop in order.

    The intake first (no new updates; the ones taken are handled, and may still plan jobs or
    queue broadcasts), then the background: the worker records the answers of its sends in
    flight and queues again what it claimed but did not send, the scheduler lets go of its lock.
    """
    stop = asyncio.Event()
    background: list[asyncio.Task[None]] = []
    intake = make_intake(app)
    try:
        # The menus and descriptions go out while polling starts: each is a round trip to Telegram, and
        # a person's first message need not wait for a dozen of them.
        profile = asyncio.create_task(publish_profile(app))
        try:
            await intake.start()
        except BaseException:
            profile.cancel()
            await asyncio.gather(profile, return_exceptions=True)
            raise
        await profile
        # Once started: a start-up that fails has no sends, jobs or sweeps to stop, and says only why it failed.
        background = app.background(stop)
        logger.info("Serving %d cases as @%s", len(app.library), (await app.bot.me()).username)
        await shutdown.wait()
    finally:
        began = asyncio.get_running_loop().time()
        await intake.stop()
        stop.set()
        clean = await _drain(background) if background else True
    took = asyncio.get_running_loop().time() - began
    if clean:
        logger.info("Stopped cleanly in %.2fs", took)
    else:
        logger.warning("Stopped in %.1fs; some background work was cut short (leases cover it)", took)


async def _drain(background: list[asyncio.Task[None]], grace: float = BACKGROUND_GRACE) -> bool:
    """Wait for the background tasks to finish after their stop; past `grace`, cancel them. True when clean."""
    done, pending = await asyncio.wait(background, timeout=grace)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    failed = [task for task in done if task.exception() is not None]
    for task in failed:
        logger.error("A background task failed", exc_info=task.exception())
    if pending:
        logger.warning("%d background task(s) still busy after %rs: cancelled", len(pending), grace)
    return not pending and not failed
