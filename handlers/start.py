"""First contact: /start with or without a case, the language picker, /language and /help.

A coordinator's command menu holds their own commands too (publish_coordinator_commands): set at
start-up (bot.app.wiring.publish_profile), and on their /start when Telegram refused it then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import BotCommand, BotCommandScopeChat, CallbackQuery, Message

from bot.content import Library, Status
from bot.delivery import Broadcasts
from bot.delivery.audiences import AudienceKind
from bot.ground.clock import Clock
from bot.ground.roles import Roles
from bot.pledges.store import Store, UserPrefs
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback, parse_start
from handlers.act import actions_screen
from handlers.cases import card_screen
from handlers.filters import Cb, IsCoordinator
from handlers.ui import send, show, toast

logger = logging.getLogger(__name__)
router = Router(name="start")

MENU_TIMEOUT = 5.0  # seconds a coordinator's /start waits for their command menu to be set


async def welcome_screen(
    user_id: int, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock, back: int | None = None
) -> Screen:
    """The welcome as this person's consent stands: alerts on or off, or everything stopped; `back`:
    they just came back from a /stop, to this many followed cases."""
    stopped = (await store.user(user_id)).stopped
    alerts = await store.gets_alerts(user_id)
    return renderer.welcome(lang, library.open_cases(), clock(), alerts=alerts, stopped=stopped, back=back)


async def _landing(
    user_id: int,
    case_id: str | None,
    lang: str,
    library: Library,
    store: Store,
    renderer: Renderer,
    clock: Clock,
    *,
    act: bool = False,
) -> Screen:
    """The case card when a case was asked for (its actions with `act`), else the welcome screen."""
    case = library.get(case_id)
    if case is None:
        return await welcome_screen(user_id, lang, library, store, renderer, clock)
    if act and case.status != Status.closed:
        return await actions_screen(case, user_id, lang, store, renderer, clock)
    return await card_screen(case, user_id, lang, store, renderer, clock)


# First of the /start handlers: it skips, so the one below it answers.
@router.message(CommandStart(ignore_case=True), IsCoordinator())
async def coordinator_menu_handler(message: Message, bot: Bot, renderer: Renderer, menu_missing: set[int]) -> None:
    """Set the coordinator's menu if Telegram refused it at start-up (they had not opened the bot); then /start."""
    if message.chat.id in menu_missing:
        try:
            async with asyncio.timeout(MENU_TIMEOUT):  # /start waits for it: a slow Telegram must not hold it up
                if not await publish_coordinator_commands(bot, renderer, [message.chat.id]):
                    menu_missing.discard(message.chat.id)
        except TimeoutError:
            logger.warning("Coordinator menu not set within %rs; /start goes on", MENU_TIMEOUT)
    raise SkipHandler


@router.message(CommandStart(deep_link=True, ignore_case=True))
async def command_start_case_handler(
    message: Message,
    command: CommandObject,
    prefs: UserPrefs,
    lang: str,
    library: Library,
    store: Store,
    renderer: Renderer,
    clock: Clock,
) -> None:
    """A deep link t.me/<bot>?start=<case>: follow that case and show it (alerts of new cases are /start's);
    ?start=act_<case> (a channel post's "Take action"): its actions, following nothing."""
    user_id = message.chat.id
    case_id, act = parse_start(command.args or "")
    case = library.get(case_id)
    if case is None or case.status == Status.closed:
        if case is None:
            await message.answer(renderer.message("unknown_case", lang))
        else:
            await message.answer(renderer.message("closed_case", lang, case=case))
        await _start(message, prefs, lang, library, store, renderer, clock)  # nothing to follow: a plain /start
        return
    if act:
        # "Take action" under a channel post: the case's actions, and no more. A tap on a link in a public channel
        # asks for no messages: nothing is followed (the case card offers that) and a /stop holds until /start.
        if prefs.stopped:
            await message.answer(renderer.message("still_stopped", lang))
        if prefs.is_new:
            await send(message, renderer.language_picker(lang, case.id, act=True))
            return
        await send(message, await _landing(user_id, case.id, lang, library, store, renderer, clock, act=True))
        return
    restored = await store.resume(user_id)
    if restored is not None:
        await message.answer(renderer.message("resumed", lang, count=len(restored)))
    await store.subscribe(user_id, case.id)
    if prefs.is_new:
        await send(message, renderer.language_picker(lang, case.id, act=act))
        return
    await send(message, await _landing(user_id, case.id, lang, library, store, renderer, clock, act=act))


@router.message(CommandStart(ignore_case=True))
async def command_start_handler(
    message: Message, prefs: UserPrefs, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """Plain /start: alerts of new cases on (unless switched off) and a /stop undone; the language, the welcome."""
    await _start(message, prefs, lang, library, store, renderer, clock)


async def _start(
    message: Message, prefs: UserPrefs, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    user_id = message.chat.id
    restored = await store.start(user_id)
    if prefs.is_new:
        await send(message, renderer.language_picker(lang))
        return
    back = len(restored) if restored is not None else None
    screen = await welcome_screen(user_id, lang, library, store, renderer, clock, back=back)
    await send(message, screen)


@router.message(Command("language", ignore_case=True))
async def command_language_handler(message: Message, lang: str, renderer: Renderer) -> None:
    """Offer the UI languages."""
    await send(message, renderer.language_picker(lang))


@router.callback_query(Cb("lang"))
async def language_chosen_handler(
    query: CallbackQuery, cb: Callback, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """Save the language, then go on to the case the user came for (or the welcome screen)."""
    chosen, case_id, then = cb.args
    if chosen not in renderer.languages:
        await toast(query, renderer.stale_toast(lang))
        return
    lang = chosen
    await store.set_language(query.from_user.id, lang)
    landing = await _landing(
        query.from_user.id, case_id or None, lang, library, store, renderer, clock, act=then == "act"
    )
    await show(query, landing)
    await toast(query, renderer.toast("language_set", lang))


@router.callback_query(Cb("home"))
async def home_handler(
    query: CallbackQuery, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """Back to the welcome screen."""
    await show(query, await welcome_screen(query.from_user.id, lang, library, store, renderer, clock))
    await toast(query)


@router.callback_query(Cb("alerts"))
async def alerts_switch_handler(
    query: CallbackQuery,
    cb: Callback,
    lang: str,
    library: Library,
    store: Store,
    renderer: Renderer,
    clock: Clock,
    broadcasts: Broadcasts,
) -> None:
    """Alerts of new cases on or off, from the welcome screen; the cases followed stay followed."""
    on = cb.args[0] == "on"
    stopped = await store.set_alerts(query.from_user.id, on)
    if not on:  # nor the alert or message to everyone being sent right now
        await broadcasts.withdraw(query.from_user.id, kinds={AudienceKind.all})
    await show(query, await welcome_screen(query.from_user.id, lang, library, store, renderer, clock))
    await toast(query, renderer.toast("still_stopped" if stopped else "alerts_on" if on else "alerts_off", lang))


@router.message(Command("help", ignore_case=True))
async def command_help_handler(message: Message, lang: str, renderer: Renderer, roles: Roles) -> None:
    """What the bot does and which commands it knows: a coordinator's own commands too."""
    coordinator = message.from_user is not None and await roles.is_coordinator(message.from_user.id)
    commands = renderer.coordinator_commands(lang) if coordinator else renderer.commands(lang)
    await message.answer(renderer.message("help", lang, commands=commands))


# --- the coordinators' command menu -------------------------------------------------------------------


async def publish_coordinator_commands(bot: Bot, renderer: Renderer, admin_ids: Iterable[int]) -> set[int]:
    """Coordinators see their commands in the menu: the activist ones plus broadcast, stats, export, cancel.

    Set per coordinator's chat (BotCommandScopeChat), in every UI language. A coordinator who has
    never opened the bot has no chat yet ("chat not found"): skipped with a warning, and set when
    they send /start (coordinator_menu_handler). Returns the coordinators left without a menu.
    """
    missing = set()
    for admin_id in sorted(admin_ids):
        scope = BotCommandScopeChat(chat_id=admin_id)
        try:
            for code in (None, *renderer.languages):
                ui = code or renderer.default_language
                commands = [BotCommand(command=c, description=d) for c, d in renderer.coordinator_commands(ui)]
                await bot.set_my_commands(commands, scope=scope, language_code=code)
        except TelegramAPIError as exc:
            # No user id in the log: aiogram's error texts carry none for this method.
            logger.warning("No coordinator menu for a coordinator yet: %r (set when they send /start)", exc.message)
            missing.add(admin_id)
    return missing
