"""Coordinators: the broadcast conversation, from /broadcast to its progress, "send later" included.

/broadcast asks for the message (text or a photo), then its audience; the preview is the message
itself, as activists will get it; then Send, Send later (a time, scheduled), or Cancel. The progress
message that follows has Pause, Resume, Refresh and Cancel. Coordinators only: handlers/__init__.py
scopes the router, and for anyone else these commands and buttons do not exist.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from redis.asyncio import Redis

from bot.content import Case, Library
from bot.delivery import Audience, Broadcasts, OutcomeKind, Payload, Progress, UnknownBroadcast
from bot.delivery import State as BroadcastState
from bot.delivery.audiences import chosen
from bot.ground.clock import Clock, parse_local_time
from bot.ground.redis_gate import no_retry_from_here
from bot.ground.settings import Settings
from bot.pledges.store import Store
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback
from bot.render.markup import MAX_CAPTION, MAX_MESSAGE
from bot.telegram.keyboards import markup
from bot.telegram.sender import TelegramSender
from bot.telegram.stars import broadcast_cost
from handlers.approval import ApprovalDesk
from handlers.filters import Cb
from handlers.ui import send, show, toast
from scheduler import Scheduler

logger = logging.getLogger(__name__)
router = Router(name="broadcast")

# How long a draft's "already sent" mark lives: long enough to outlast any double tap.
DRAFT_MARK_TTL = 7 * 24 * 3600
MAX_AHEAD = dt.timedelta(days=366)  # "send later" within a year: anything further is a typo


class BroadcastForm(StatesGroup):
    text = State()  # waiting for the message to send
    audience = State()  # choosing who gets it; then the preview, Send, Send later or Cancel
    when = State()  # "Send later": waiting for the time


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
# Once "Send later" asks for the time, a text is that time (broadcast_when_handler), not a new draft: the
# states keep the two apart, so neither handler needs to come first. A photo still replaces the draft.
@router.message(StateFilter(BroadcastForm.text, BroadcastForm.audience), F.photo | (F.text & ~F.text.startswith("/")))
@router.message(BroadcastForm.when, F.photo)
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
    settings: Settings,
) -> None:
    """Everyone (straight to the preview), or the case / language picker, or back to the choice."""
    kind = cb.args[0]
    if kind == "menu":
        await show(query, renderer.broadcast_audience_picker(lang, (await state.get_data())["token"]))
    elif kind == "all":
        await _preview(query, state, chosen("all"), None, lang, renderer, broadcasts, settings)
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
    settings: Settings,
) -> None:
    """A case's subscribers, all of them or only those who have not acted yet."""
    kind, case_id = cb.args
    case = library.get(case_id)
    if case is None:
        await show(query, renderer.broadcast_case_picker(lang, kind, library.all()))
        await toast(query, renderer.stale_toast(lang))
        return
    audience = chosen("case" if kind == "case" else "not-acted", case.id)
    await _preview(query, state, audience, case, lang, renderer, broadcasts, settings)


@router.callback_query(BroadcastForm.audience, Cb("bcl"))
async def audience_language_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    settings: Settings,
    lang: str,
    renderer: Renderer,
    broadcasts: Broadcasts,
) -> None:
    """Everyone who uses the bot in one language."""
    language = cb.args[0]
    if language not in renderer.languages:
        await toast(query, renderer.stale_toast(lang))
        return
    await _preview(query, state, chosen("all", language=language), None, lang, renderer, broadcasts, settings)


async def _preview(
    query: CallbackQuery,
    state: FSMContext,
    audience: Audience,
    case: Case | None,
    lang: str,
    renderer: Renderer,
    broadcasts: Broadcasts,
    settings: Settings,
) -> None:
    """The message exactly as recipients will get it (once per draft), then its audience, size and Send.

    Above Telegram's free rate it also says what the broadcast costs in Stars and the bot's balance, read
    afresh each time (choosing the audience again checks again); a short balance leaves no Send.
    """
    data = await state.get_data()
    name = renderer.audience_name(lang, audience.kind.value, case, audience.language)
    count = await broadcasts.count(audience)
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    cost = await broadcast_cost(query.bot, settings.broadcast_rate, count)
    confirm = renderer.broadcast_confirm(lang, audience=name, count=count, token=data["token"], cost=cost)
    # Short of Stars, no audience is kept: a forged Send or Send later then finds nothing to send.
    await state.update_data(audience=None if cost is not None and cost.short else audience.to_json())
    if data.get("previewed"):
        await show(query, confirm)  # the preview is already just above
        await toast(query)
        return
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
    approval: ApprovalDesk,
) -> None:
    """Send the previewed draft to its audience, or drop it."""
    op, token = cb.args
    data = await state.get_data()
    if data.get("token") != token or (op == "send" and not data.get("audience")):
        await toast(query, renderer.stale_toast(lang))
        return
    if not await settle_draft(query, state, op, token, "bcdraft", "bc_discarded", lang, renderer, redis, store):
        return
    payload, audience = Payload(data["text"], data.get("photo")), Audience.from_json(data["audience"])
    if await approval.held(query, payload, audience, lang):
        return  # an owner wants another coordinator's tap first (handlers/approval.py)
    bc_id = await broadcasts.enqueue(payload, audience, created_by=query.from_user.id)
    await show_progress(query, bc_id, lang, renderer, broadcasts)


# --- a broadcast sent later ------------------------------------------------------------------------


@router.callback_query(BroadcastForm.audience, Cb("bcw"))
async def broadcast_later_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, settings: Settings
) -> None:
    """ "Send later": ask when."""
    data = await state.get_data()
    if data.get("token") != cb.args[0] or not data.get("audience"):
        await toast(query, renderer.stale_toast(lang))
        return
    await state.set_state(BroadcastForm.when)
    await show(query, renderer.screen("bc_when_prompt", lang, zone=settings.default_timezone))
    await toast(query)


@router.message(BroadcastForm.when, F.text & ~F.text.startswith("/"))
async def broadcast_when_handler(
    message: Message,
    state: FSMContext,
    lang: str,
    renderer: Renderer,
    scheduler: Scheduler,
    settings: Settings,
    clock: Clock,
    store: Store,
    redis: Redis,
) -> None:
    """The time: schedule the draft; its audience is counted when it goes out."""
    zone = settings.default_timezone
    at = parse_local_time(message.text or "", zone)
    if at is None or not clock() < at < clock() + MAX_AHEAD:
        await message.answer(renderer.message("bc_bad_when", lang))
        return
    data = await state.get_data()
    # Two quick answers, or Send then a time: the draft goes out once (the mark draft_handler sets).
    if not await claim_draft(redis, store, "bcdraft", data.get("token")):
        await state.clear()
        return
    no_retry_from_here()  # taken: run again, this update would find it taken and schedule nothing
    assert message.from_user is not None, "a private chat message always has a sender"
    await scheduler.schedule_broadcast(
        Payload(data["text"], data.get("photo")).to_json(), data["audience"], message.from_user.id, at
    )
    await state.clear()
    await message.answer(renderer.message("bc_scheduled", lang, when=renderer.when(at, lang, zone), zone=zone))


# --- a broadcast under way --------------------------------------------------------------------------


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
    screen = renderer.broadcast_progress(progress, lang, confirm_cancel=op == "cancel")
    live = await broadcasts.progress_message(bc_id) if op == "resume" else None
    if live and query.message and live[1] != query.message.message_id:
        # Resumed from the pause message: the live progress message above goes on; this one would not.
        screen = renderer.screen("bc_resumed_elsewhere", lang, number=bc_id, purpose=progress.purpose)
    await show(query, screen)
    if over and op != "refresh":
        await toast(query, renderer.toast("bc_control", lang, op="over"))
    elif op in ("pause", "resume", "stop"):
        await toast(query, renderer.toast("bc_control", lang, op=op))
    else:
        await toast(query)
