"""Coordinators of the national section: /broadcast, its progress, /stats and /export.

The whole router is guarded by IsCoordinator: for anyone else these commands and buttons do
not exist, and the fallback router answers them as it answers any unknown command or stale tap.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
from collections.abc import Iterable

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BotCommand, BotCommandScopeChat, BufferedInputFile, CallbackQuery, Message
from redis.asyncio import Redis

from bot.content import Case, Library
from bot.delivery import Audience, Broadcasts, OutcomeKind, Payload, Progress, UnknownBroadcast
from bot.delivery import State as BroadcastState
from bot.delivery.audiences import chosen
from bot.ground.clock import Clock
from bot.ground.redis_gate import no_retry_from_here
from bot.pledges import aggregates
from bot.pledges.store import Store
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback
from bot.render.markup import MAX_CAPTION, MAX_MESSAGE
from bot.telegram.sender import TelegramSender
from handlers.filters import Cb, IsCoordinator
from handlers.ui import markup, send, show, toast

logger = logging.getLogger(__name__)
router = Router(name="coordinator")
router.message.filter(IsCoordinator())
router.callback_query.filter(IsCoordinator())

# How long a draft's "already sent" mark lives: long enough to outlast any double tap.
DRAFT_MARK_TTL = 7 * 24 * 3600
MENU_TIMEOUT = 5.0  # seconds a coordinator's /start waits for their command menu to be set


class BroadcastForm(StatesGroup):
    text = State()  # waiting for the message to send
    audience = State()  # choosing who gets it; then the preview, Send or Cancel
    when = State()  # "Send later": waiting for the time (handlers.updates)


async def claim_draft(redis: Redis, store: Store, kind: str, token: str | None) -> bool:
    """True for the first caller only: a double tap or a second answer finds the draft taken."""
    return bool(await redis.set(store.key(kind, token), 1, nx=True, ex=DRAFT_MARK_TTL))


async def settle_draft(
    query: CallbackQuery,
    state: FSMContext,
    op: str,
    token: str,
    kind: str,
    discarded: str,
    lang: str,
    renderer: Renderer,
    redis: Redis,
    store: Store,
) -> bool:
    """Cancel, or take, a previewed draft (a broadcast, an update): True for the one tap that sends it."""
    if op == "cancel":
        await state.clear()
        await show(query, renderer.screen(discarded, lang))
        await toast(query)
        return False
    # Updates are handled concurrently: of two quick taps on Send, only the first takes the draft.
    if not await claim_draft(redis, store, kind, token):
        await toast(query, renderer.stale_toast(lang))
        return False
    no_retry_from_here()  # taken: run again, this update would find it taken and send nothing
    await state.clear()
    # Answered first: queueing a large audience or recording an update can take a few seconds.
    await toast(query, renderer.toast("bc_control", lang, op="sent"))
    return True


def _length(text: str) -> int:
    # Telegram counts message and caption length in UTF-16 code units.
    return len(text.encode("utf-16-le")) // 2


@router.message(CommandStart(ignore_case=True))
async def coordinator_start_handler(message: Message, bot: Bot, renderer: Renderer, menu_missing: set[int]) -> None:
    """Set the coordinator's menu if Telegram refused it at start-up (they had not opened the bot); then /start."""
    if message.chat.id in menu_missing:
        try:
            async with asyncio.timeout(MENU_TIMEOUT):  # /start waits for it: a slow Telegram must not hold it up
                if not await publish_coordinator_commands(bot, renderer, [message.chat.id]):
                    menu_missing.discard(message.chat.id)
        except TimeoutError:
            logger.warning("Coordinator menu not set within %rs; /start goes on", MENU_TIMEOUT)
    raise SkipHandler


# --- composing --------------------------------------------------------------------------------------


@router.message(Command("cancel", ignore_case=True))
async def command_cancel_handler(message: Message, state: FSMContext, lang: str, renderer: Renderer) -> None:
    """Leave the broadcast being composed, at any step."""
    if await state.get_state() is None:
        await message.answer(renderer.message("bc_nothing_to_cancel", lang))
        return
    await state.clear()
    await message.answer(renderer.message("bc_discarded", lang))


@router.message(Command("broadcast", ignore_case=True))
async def command_broadcast_handler(message: Message, state: FSMContext, lang: str, renderer: Renderer) -> None:
    """Start a broadcast: ask for the message as activists should see it."""
    await state.set_state(BroadcastForm.text)
    await state.set_data({})
    await message.answer(renderer.broadcast_prompt(lang))


@router.message(StateFilter(BroadcastForm), F.text.startswith("/"))
async def composing_left_by_command_handler(message: Message, state: FSMContext) -> None:
    """Another command while composing: drop the draft, let the command run."""
    await state.clear()
    raise SkipHandler


# Commands are excluded here and below: after the handler above skips, these still see the old state.
@router.message(StateFilter(BroadcastForm), F.photo | (F.text & ~F.text.startswith("/")))
async def broadcast_message_handler(message: Message, state: FSMContext, lang: str, renderer: Renderer) -> None:
    """The message to send (a new one replaces the draft): check its length, then ask for the audience."""
    photo = max(message.photo, key=lambda size: size.width * size.height).file_id if message.photo else None
    plain = message.text or message.caption or ""
    limit = MAX_CAPTION if photo else MAX_MESSAGE
    if _length(plain) > limit:
        await message.answer(renderer.broadcast_too_long(lang, length=_length(plain), limit=limit, photo=bool(photo)))
        return
    token = secrets.token_hex(4)
    await state.set_state(BroadcastForm.audience)
    # html_text keeps the bold, italics and links the coordinator typed.
    await state.set_data({"text": message.html_text if plain else "", "photo": photo, "token": token})
    await send(message, renderer.broadcast_audience_picker(lang, token))


@router.message(StateFilter(BroadcastForm), ~F.text)
async def broadcast_unsupported_handler(message: Message, lang: str, renderer: Renderer) -> None:
    """A sticker, a voice note or a file while composing: say what can be broadcast."""
    await message.answer(renderer.message("bc_unsupported", lang))


@router.callback_query(BroadcastForm.audience, Cb("bca"))
async def audience_kind_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    broadcasts: Broadcasts,
) -> None:
    """Everyone (straight to the preview), or the case / language picker, or back to the choice."""
    kind = cb.args[0]
    if kind == "menu":
        await show(query, renderer.broadcast_audience_picker(lang, (await state.get_data())["token"]))
    elif kind == "all":
        await _preview(query, state, chosen("all"), None, lang, renderer, broadcasts)
        return
    elif kind == "lang":
        await show(query, renderer.broadcast_language_picker(lang))
    else:
        await show(query, renderer.broadcast_case_picker(lang, kind, library.all()))
    await toast(query)


@router.callback_query(BroadcastForm.audience, Cb("bcc"))
async def audience_case_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    broadcasts: Broadcasts,
) -> None:
    """A case's subscribers, all of them or only those who have not acted yet."""
    kind, case_id = cb.args
    case = library.get(case_id)
    if case is None:
        await show(query, renderer.broadcast_case_picker(lang, kind, library.all()))
        await toast(query, renderer.stale_toast(lang))
        return
    audience = chosen("case" if kind == "case" else "not-acted", case.id)
    await _preview(query, state, audience, case, lang, renderer, broadcasts)


@router.callback_query(BroadcastForm.audience, Cb("bcl"))
async def audience_language_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, broadcasts: Broadcasts
) -> None:
    """Everyone who uses the bot in one language."""
    language = cb.args[0]
    if language not in renderer.languages:
        await toast(query, renderer.stale_toast(lang))
        return
    await _preview(query, state, chosen("all", language=language), None, lang, renderer, broadcasts)


async def _preview(
    query: CallbackQuery,
    state: FSMContext,
    audience: Audience,
    case: Case | None,
    lang: str,
    renderer: Renderer,
    broadcasts: Broadcasts,
) -> None:
    """The message exactly as recipients will get it (once per draft), then its audience, size and Send."""
    data = await state.get_data()
    name = renderer.audience_name(lang, audience.kind.value, case, audience.language)
    count = await broadcasts.count(audience)
    confirm = renderer.broadcast_confirm(lang, audience=name, count=count, token=data["token"])
    await state.update_data(audience=audience.to_json())
    if data.get("previewed"):
        await show(query, confirm)  # the preview is already just above
        await toast(query)
        return
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    # The same code that will deliver it: what the coordinator sees is what activists get.
    outcome = await TelegramSender(query.bot)(query.from_user.id, Payload(data["text"], data.get("photo")))
    if outcome.kind != OutcomeKind.ok:
        # Refused: the message itself is the problem. Anything else (a long flood wait, a timeout): the
        # picker keeps its buttons, so a tap tries again.
        logger.warning("The preview of a broadcast failed: %r", outcome)
        failed = "bc_preview_failed" if outcome.kind == OutcomeKind.rejected else "error"
        await query.bot.send_message(query.from_user.id, renderer.message(failed, lang))
        await toast(query)
        return
    await show(query, renderer.broadcast_audience_set(lang, name))
    await query.bot.send_message(query.from_user.id, confirm.text, reply_markup=markup(confirm))
    await state.update_data(previewed=True)
    await toast(query)


@router.callback_query(BroadcastForm.audience, Cb("bcd"))
async def draft_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    renderer: Renderer,
    broadcasts: Broadcasts,
    store: Store,
    redis: Redis,
) -> None:
    """Send the previewed draft to its audience, or drop it."""
    op, token = cb.args
    data = await state.get_data()
    if data.get("token") != token or (op == "send" and not data.get("audience")):
        await toast(query, renderer.stale_toast(lang))
        return
    if not await settle_draft(query, state, op, token, "bcdraft", "bc_discarded", lang, renderer, redis, store):
        return
    payload = Payload(data["text"], data.get("photo"))
    bc_id = await broadcasts.enqueue(payload, Audience.from_json(data["audience"]), created_by=query.from_user.id)
    await show_progress(query, bc_id, lang, renderer, broadcasts)


async def show_progress(
    query: CallbackQuery, bc_id: str, lang: str, renderer: Renderer, broadcasts: Broadcasts
) -> None:
    """Turn the confirmation into the progress message the reporter keeps up to date."""
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    message = query.message
    if isinstance(message, Message):
        # Registered before it is edited, so the reporter's first update already finds it.
        await broadcasts.set_progress_message(bc_id, message.chat.id, message.message_id)
    shown = await broadcasts.progress(bc_id)
    screen = renderer.broadcast_progress(shown, lang)
    if isinstance(message, Message):
        await _edit(message, screen)
    else:  # too old to edit: a new progress message
        sent = await query.bot.send_message(query.from_user.id, screen.text, reply_markup=markup(screen))
        await broadcasts.set_progress_message(bc_id, sent.chat.id, sent.message_id)
        message = sent
    # A small audience may be done before the edit above landed: never leave an outdated state behind.
    latest = await broadcasts.progress(bc_id)
    if latest.state != shown.state:
        await _edit(message, renderer.broadcast_progress(latest, lang))


async def _edit(message: Message, screen: Screen) -> None:
    try:
        await message.edit_text(screen.text, reply_markup=markup(screen))
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            raise


# --- a broadcast under way --------------------------------------------------------------------------


@router.callback_query(Cb("bcs"))
async def broadcast_control_handler(
    query: CallbackQuery, cb: Callback, lang: str, renderer: Renderer, broadcasts: Broadcasts
) -> None:
    """Pause, resume, refresh or cancel (asked first, then stop) a broadcast from its progress message."""
    bc_id, op = cb.args
    try:
        progress: Progress = await broadcasts.progress(bc_id)
    except UnknownBroadcast:
        await toast(query, renderer.stale_toast(lang))
        return
    over = progress.state.finished
    if not over and op in ("pause", "resume", "stop"):
        wanted = {"pause": BroadcastState.paused, "resume": BroadcastState.running, "stop": BroadcastState.cancelled}
        progress = await broadcasts.set_state(bc_id, wanted[op])
    await show(query, renderer.broadcast_progress(progress, lang, confirm_cancel=op == "cancel"))
    if over and op != "refresh":
        await toast(query, renderer.toast("bc_control", lang, op="over"))
    elif op in ("pause", "resume", "stop"):
        await toast(query, renderer.toast("bc_control", lang, op=op))
    else:
        await toast(query)


# --- figures ------------------------------------------------------------------------------------------


@router.message(Command("stats", ignore_case=True))
async def command_stats_handler(
    message: Message,
    command: CommandObject,
    lang: str,
    library: Library,
    store: Store,
    renderer: Renderer,
    clock: Clock,
) -> None:
    """Figures for every case, with a chart of pledges over time for one (/stats <case>, else the newest open)."""
    wanted = (command.args or "").strip().lower()
    charted = library.get(wanted) if wanted else next(iter(library.open_cases() or library.all()), None)
    if wanted and charted is None:
        await message.answer(renderer.message("unknown_case", lang))
        return
    # The charted case first, so the caption never leaves it out.
    cases = sorted(library.all(), key=lambda c: c is not charted)
    figures = await aggregates.collect(store, [c.id for c in cases])
    today = clock().date()
    by_id = {c.id: c for c in cases}
    if charted is None:
        await message.answer(renderer.coordinator_stats(figures, by_id, lang, today, limit=MAX_MESSAGE))
        return
    at = charted.deadline_at(renderer.default_timezone)
    deadline = at.date() if at else None
    daily = figures.cases[0].daily
    # matplotlib costs ~60 MB of memory: only processes that draw a chart pay for it.
    from bot.render.charts import pledges_chart

    png = await asyncio.to_thread(
        pledges_chart, daily, deadline, renderer.chart_title(charted, lang), **renderer.chart_labels(lang, deadline)
    )
    await message.answer_photo(
        BufferedInputFile(png, filename=f"pledges-{charted.id}-{today.isoformat()}.png"),
        caption=renderer.coordinator_stats(figures, by_id, lang, today),
    )


@router.message(Command("export", ignore_case=True))
async def command_export_handler(
    message: Message, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """The figures as a CSV file: counts only, no chat ids, no pseudonyms."""
    figures = await aggregates.collect(store, [c.id for c in library.all()])
    today: dt.date = clock().date()
    await message.answer_document(
        BufferedInputFile(aggregates.to_csv(figures), filename=f"figures-{today.isoformat()}.csv"),
        caption=renderer.export_caption(lang, today),
    )


# --- the command menu ---------------------------------------------------------------------------------


async def publish_coordinator_commands(bot: Bot, renderer: Renderer, admin_ids: Iterable[int]) -> set[int]:
    """Coordinators see their commands in the menu: the activist ones plus broadcast, stats, export, cancel.

    Set per coordinator's chat (BotCommandScopeChat), in every UI language. A coordinator who has
    never opened the bot has no chat yet ("chat not found"): skipped with a warning, and set when
    they send /start (coordinator_start_handler). Returns the coordinators left without a menu.
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
