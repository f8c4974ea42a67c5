"""Coordinators: the broadcast conversation, from /broadcast to its progress, "send later" included.

/broadcast asks for the message (text or a photo; a long paste arrives in parts and they are gathered into
one), then its audience; the preview is the message itself, as activists will get it, every part of every
language version; then Send, Send later (a time, scheduled), Send to me first, Add a version in a language
the audience reads, or Cancel (bot.publishing.composer keeps the draft). The progress
message that follows has Pause, Resume, Refresh and Cancel. Coordinators only: handlers/__init__.py
scopes the router, and for anyone else these commands and buttons do not exist.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import suppress

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from redis.asyncio import Redis

from bot.content import Case, Library
from bot.delivery import Audience, Broadcasts, Outcome, OutcomeKind, Payload, Progress, UnknownBroadcast
from bot.delivery import State as BroadcastState
from bot.delivery.audiences import chosen
from bot.ground.clock import Clock
from bot.ground.quiet import zone_name
from bot.ground.redis_gate import no_retry_from_here
from bot.ground.settings import Settings
from bot.ground.when import Verdict, read_time
from bot.pledges.store import Store, UserPrefs
from bot.publishing.composer import Draft, by_version, length, missing_versions
from bot.publishing.drafts import MessageDrafts
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback
from bot.render.markup import MAX_CAPTION, MAX_MESSAGE
from bot.telegram.keyboards import markup
from bot.telegram.sender import TelegramSender
from bot.telegram.stars import broadcast_cost
from handlers.approval import ApprovalDesk
from handlers.filters import Cb
from handlers.ui import delete_in_chat, send, show, toast
from scheduler import Scheduler

logger = logging.getLogger(__name__)
router = Router(name="broadcast")

# How long a draft's "already sent" mark lives: long enough to outlast any double tap.
DRAFT_MARK_TTL = 7 * 24 * 3600


class BroadcastForm(StatesGroup):
    text = State()  # waiting for the message to send
    audience = State()  # choosing who gets it (more text: more parts); then the preview, Send, Send later or Cancel
    version = State()  # waiting for the message in another language ("Add a version in Russian")
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
    *,
    answer: bool = True,
    drafts: MessageDrafts | None = None,
) -> bool:
    """Cancel, or take, a previewed draft (a broadcast, an update): True for the one tap that sends it (then
    answered "Queued" unless `answer` is False: the caller answers once it knows)."""
    if op == "cancel":
        await state.clear()
        if drafts is not None:  # a message discarded: not a draft to come back to
            await drafts.drop(query.from_user.id, token)
        await show(query, renderer.screen(discarded, lang))
        await toast(query)
        return False
    # Updates are handled concurrently: of two quick taps on Send, only the first takes the draft.
    if not await claim_draft(redis, store, kind, token):
        await toast(query, renderer.stale_toast(lang))
        return False
    no_retry_from_here()  # taken: run again, this update would find it taken and send nothing
    if drafts is not None:
        await drafts.drop(query.from_user.id, token)
    await state.clear()
    if answer:  # answered first: queueing a large audience or recording an update can take a few seconds
        await toast(query, renderer.toast("bc_control", lang, op="sent"))
    return True


# --- composing --------------------------------------------------------------------------------------


@router.message(Command("cancel", ignore_case=True))
async def command_cancel_handler(
    message: Message, state: FSMContext, lang: str, renderer: Renderer, drafts: MessageDrafts
) -> None:
    """Leave the broadcast being composed, at any step."""
    if await state.get_state() is None:
        await message.answer(renderer.message("bc_nothing_to_cancel", lang))
        return
    await drafts.drop(message.chat.id, (await state.get_data()).get("token"))  # discarded: no draft kept
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


def _too_long(message: Message, lang: str, renderer: Renderer, *, caption: bool) -> str | None:
    """Why one message of the draft cannot go (too long for a message, or for a caption), or None."""
    plain = message.text or message.caption or ""
    limit = MAX_CAPTION if caption else MAX_MESSAGE
    if length(plain) > limit:
        return renderer.broadcast_too_long(lang, length=length(plain), limit=limit, photo=caption)
    return None


# Commands are excluded here and below: after the handler above skips, these still see the old state.
# Once "Send later" asks for the time, a text is that time (broadcast_when_handler), not a new draft: the
# states keep the two apart, so neither handler needs to come first. A photo still replaces the draft.
@router.message(StateFilter(BroadcastForm.text, BroadcastForm.audience), F.photo | (F.text & ~F.text.startswith("/")))
@router.message(BroadcastForm.when, F.photo)
async def broadcast_message_handler(
    message: Message, state: FSMContext, lang: str, renderer: Renderer, clock: Clock, drafts: MessageDrafts
) -> None:
    """The message to send, then the audience. A text that follows before the audience is chosen (or within
    seconds: Telegram splits a long paste) is its next part; anything else starts a new draft."""
    photo = max(message.photo, key=lambda size: size.width * size.height).file_id if message.photo else None
    if refused := _too_long(message, lang, renderer, caption=bool(photo)):
        await message.answer(refused)
        return
    data = await state.get_data()
    draft = Draft.from_data(data, lang)
    now = clock().timestamp()
    # html_text keeps the bold, italics and links the coordinator typed.
    html = message.html_text if (message.text or message.caption) else ""
    ongoing = await state.get_state() == BroadcastForm.audience.state and draft.parts
    if photo is None and ongoing and (not data.get("chosen") or draft.gathering(now)):
        draft.add(html, now)
        token = data["token"]
    else:
        draft, token = Draft(lang, photo=photo), secrets.token_hex(4)
        draft.add(html, now)
    await state.set_state(BroadcastForm.audience)
    await state.set_data({**draft.to_data(), "token": token, "picker": data.get("picker") if ongoing else None})
    # Kept a week as a draft (/drafts): another command, or a day away, does not lose it.
    await drafts.save(message.chat.id, token, {**draft.to_data(), "token": token}, at=now)
    picker = renderer.broadcast_audience_picker(lang, token, parts=len(draft.parts), length=draft.characters())
    await _replace(message, state, picker)


async def _replace(message: Message, state: FSMContext, screen: Screen) -> None:
    """Send the screen below the latest part and delete the one it replaces: one picker, whatever the parts."""
    old = (await state.get_data()).get("picker")
    sent = await send(message, screen)
    await state.update_data(picker=sent.message_id)
    if old:
        assert message.bot is not None, "aiogram binds the bot to every event it delivers"
        await delete_in_chat(message.bot, message.chat.id, [old])


@router.message(BroadcastForm.version, F.text & ~F.text.startswith("/"))
async def broadcast_version_handler(
    message: Message, state: FSMContext, lang: str, renderer: Renderer, clock: Clock
) -> None:
    """A part of the message in another language: its size so far, with Preview."""
    data = await state.get_data()
    draft, code = Draft.from_data(data, lang), data.get("adding") or ""
    if refused := _too_long(message, lang, renderer, caption=bool(draft.photo and not draft.parts_of(code))):
        await message.answer(refused)
        return
    draft.add(message.html_text, clock().timestamp(), version=code)
    await state.update_data(**draft.to_data(), previewed=False)
    status = renderer.broadcast_version_status(
        lang, code, data["token"], parts=len(draft.parts_of(code)), length=draft.characters(code)
    )
    await _replace(message, state, status)


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
        draft = Draft.from_data(await state.get_data(), lang)
        token = (await state.get_data())["token"]
        await show(
            query,
            renderer.broadcast_audience_picker(lang, token, parts=len(draft.parts), length=draft.characters()),
        )
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


async def send_all(sender: TelegramSender, chat_id: int, payload: Payload) -> Outcome:
    """Every message of a payload (a text in parts), in order, as a recipient gets them: the first refusal."""
    for part in payload.messages():
        outcome = await sender(chat_id, part)
        if outcome.kind != OutcomeKind.ok:
            return outcome
    return Outcome.ok()


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
    """The message exactly as recipients will get it (once per draft: each language version, all its parts),
    then its audience, its size, who gets which version, Send, Send to me first and Add a version.

    Above Telegram's free rate it also says what the broadcast costs in Stars and the bot's balance, read
    afresh each time (choosing the audience again checks again); a short balance leaves no Send.
    """
    data = await state.get_data()
    draft = Draft.from_data(data, lang)
    name = renderer.audience_name(lang, audience.kind.value, case, audience.language)
    count = await broadcasts.count(audience)
    readers = await broadcasts.readers(audience)
    languages = draft.languages()
    counts = by_version(languages, readers)
    payload = draft.payload()
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    cost = await broadcast_cost(query.bot, settings.broadcast_rate, count * payload.parts)
    confirm = renderer.broadcast_confirm(
        lang,
        audience=name,
        count=count,
        token=data["token"],
        cost=cost,
        versions=[(code, counts[code], len(draft.parts_of(code)), draft.characters(code)) for code in languages],
        offer=missing_versions(languages, readers, renderer.languages),
        urgent=bool(data.get("urgent")),
    )
    # Short of Stars, no audience is kept: a forged Send or Send later then finds nothing to send.
    short = cost is not None and cost.short
    await state.update_data(audience=None if short else audience.to_json(), chosen=audience.to_json(), name=name)
    if data.get("previewed"):
        await show(query, confirm)  # the preview is already just above
        await toast(query)
        return
    # The same code that will deliver it: what the coordinator sees is what activists get.
    sender = TelegramSender(query.bot)
    for code in languages:
        if len(languages) > 1:
            await query.bot.send_message(query.from_user.id, renderer.version_label(lang, code, counts[code]))
        outcome = await send_all(sender, query.from_user.id, payload.for_language(code))
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
    await state.update_data(previewed=True, picker=None)
    await toast(query)


async def _preview_again(
    query: CallbackQuery,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    broadcasts: Broadcasts,
    settings: Settings,
) -> None:
    """Back to the preview, for the audience already chosen: all of it again when a version was written or
    removed (the draft then says it is not previewed), else only the confirmation."""
    data = await state.get_data()
    audience = Audience.from_json(data["chosen"])
    await state.set_state(BroadcastForm.audience)
    await state.update_data(adding=None, picker=None)
    case = library.get(audience.case_id) if audience.case_id else None
    await _preview(query, state, audience, case, lang, renderer, broadcasts, settings)


@router.callback_query(StateFilter(BroadcastForm.audience, BroadcastForm.version), Cb("bcv"))
async def version_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    broadcasts: Broadcasts,
    settings: Settings,
) -> None:
    """Add a version in another language (then its text), preview it once written, or remove it."""
    op, code, token = cb.args
    data = await state.get_data()
    if data.get("token") != token or not data.get("chosen") or code not in renderer.languages:
        await toast(query, renderer.stale_toast(lang))
        return
    if op == "add":
        await state.set_state(BroadcastForm.version)
        await state.update_data(adding=code, picker=query.message.message_id if query.message else None)
        await show(query, renderer.broadcast_version_prompt(lang, code, token))
        await toast(query)
        return
    draft = Draft.from_data(data, lang)
    if op == "drop" and draft.parts_of(code):
        draft.drop(code)
        await state.update_data(**draft.to_data(), previewed=False)
    await _preview_again(query, state, lang, library, renderer, broadcasts, settings)


@router.callback_query(BroadcastForm.audience, Cb("bct"))
async def test_send_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer
) -> None:
    """Send to me first: exactly what a recipient in the coordinator's language gets, to the coordinator alone."""
    data = await state.get_data()
    if data.get("token") != cb.args[0] or not data.get("chosen"):
        await toast(query, renderer.stale_toast(lang))
        return
    payload = Draft.from_data(data, lang).payload().for_language(lang)
    await send_to_me_first(query, payload, lang, renderer)


async def send_to_me_first(query: CallbackQuery, payload: Payload, lang: str, renderer: Renderer) -> None:
    """The test send of a broadcast or an update: not recorded anywhere, so it is no broadcast; the screen
    tapped comes down below it, its buttons still there, so the coordinator goes on from the bottom."""
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    outcome = await send_all(TelegramSender(query.bot), query.from_user.id, payload)
    if outcome.kind != OutcomeKind.ok:
        logger.warning("A test send failed: %r", outcome)
        failed = "bc_preview_failed" if outcome.kind == OutcomeKind.rejected else "error"
        await query.bot.send_message(query.from_user.id, renderer.message(failed, lang))
        await toast(query)
        return
    tapped = query.message
    if isinstance(tapped, Message):
        await tapped.answer(tapped.html_text, reply_markup=tapped.reply_markup)
        await delete_in_chat(query.bot, tapped.chat.id, [tapped.message_id])
    await toast(query, renderer.toast("bc_tested", lang, count=len(payload.messages())))


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
    drafts: MessageDrafts,
    approval: ApprovalDesk,
) -> None:
    """Send the previewed draft to its audience, or drop it."""
    op, token = cb.args
    data = await state.get_data()
    if data.get("token") != token or (op == "send" and not data.get("audience")):
        await toast(query, renderer.stale_toast(lang))
        return
    if op == "send" and await approval.nobody_to_ask(Audience.from_json(data["audience"]), query.from_user.id):
        await toast(query, renderer.toast("apv_nobody", lang, alert=True))  # the draft stays, for another audience
        return
    taken = await settle_draft(
        query, state, op, token, "bcdraft", "bc_discarded", lang, renderer, redis, store, answer=False, drafts=drafts
    )
    if not taken:
        return
    payload = Draft.from_data(data, lang).payload(urgent=bool(data.get("urgent")))
    audience = Audience.from_json(data["audience"])
    if await approval.held(query, payload, audience, lang):
        await toast(query)  # its message says it waits: not "Queued"
        return  # an owner wants another coordinator's tap first (handlers/approval.py)
    await toast(query, renderer.toast("bc_control", lang, op="sent"))
    bc_id = await broadcasts.enqueue(payload, audience, created_by=query.from_user.id)
    await show_progress(query, bc_id, lang, renderer, broadcasts)


@router.callback_query(BroadcastForm.audience, Cb("bcu"))
async def urgent_toggle_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer
) -> None:
    """Urgent or not: only its button changes (people in their night get it at once silently, or at their 08:00)."""
    token, wanted = cb.args
    data = await state.get_data()
    if data.get("token") != token or not isinstance(query.message, Message) or query.message.reply_markup is None:
        await toast(query, renderer.stale_toast(lang))
        return
    urgent = wanted == "on"
    await state.update_data(urgent=urgent)
    new = markup(Screen("", [[renderer.urgent_button(lang, token, urgent)]]))
    assert new is not None
    rows = [
        [new.inline_keyboard[0][0] if (b.callback_data or "").startswith("bcu:") else b for b in row]
        for row in query.message.reply_markup.inline_keyboard
    ]
    with suppress(TelegramBadRequest):  # a double tap: the markup is already so
        await query.message.edit_reply_markup(reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
    await toast(query, renderer.toast("bc_urgent", lang, urgent=urgent))


# --- a broadcast sent later ------------------------------------------------------------------------


def coordinator_zone(settings: Settings, prefs: UserPrefs | None) -> str:
    """The timezone a coordinator's times are read and shown in: the one /settings shows them (chosen, else guessed
    from their language), else the organisation's."""
    return zone_name(prefs.timezone, prefs.lang, settings.default_timezone) if prefs else settings.default_timezone


@router.callback_query(BroadcastForm.audience, Cb("bcw"))
async def broadcast_later_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    renderer: Renderer,
    settings: Settings,
    clock: Clock,
    prefs: UserPrefs | None = None,
) -> None:
    """ "Send later": ask when."""
    data = await state.get_data()
    if data.get("token") != cb.args[0] or not data.get("audience"):
        await toast(query, renderer.stale_toast(lang))
        return
    await state.set_state(BroadcastForm.when)
    await show(query, renderer.when_prompt(lang, clock(), coordinator_zone(settings, prefs)))
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
    drafts: MessageDrafts,
    approval: ApprovalDesk,
    prefs: UserPrefs | None = None,
) -> None:
    """The time, as the coordinator writes it: schedule the draft (once approved, when an owner wants that); its
    audience is counted when it goes out."""
    zone, now = coordinator_zone(settings, prefs), clock()
    reading = read_time(message.text or "", zone, now, lang)
    if reading.verdict is not Verdict.ok or reading.at is None:
        await message.answer(renderer.when_refused(reading, lang, now, zone))
        return
    at = reading.at
    data = await state.get_data()
    assert message.from_user is not None, "a private chat message always has a sender"
    if data.get("audience") and await approval.nobody_to_ask(
        Audience.from_json(data["audience"]), message.from_user.id
    ):
        # The draft stays: the preview's buttons work again (another audience, or /cancel).
        await state.set_state(BroadcastForm.audience)
        await message.answer(renderer.message("apv_nobody", lang))
        return
    # Two quick answers, or Send then a time: the draft goes out once (the mark draft_handler sets).
    if not await claim_draft(redis, store, "bcdraft", data.get("token")):
        await state.clear()
        return
    no_retry_from_here()  # taken: run again, this update would find it taken and schedule nothing
    assert message.from_user is not None, "a private chat message always has a sender"
    await drafts.drop(message.chat.id, data.get("token"))
    await state.clear()
    payload = Draft.from_data(data, lang).payload(urgent=bool(data.get("urgent")))
    if await approval.held(message, payload, Audience.from_json(data["audience"]), lang, send_at=at):
        return  # scheduled once another coordinator approves it (handlers/approval.py)
    await scheduler.schedule_broadcast(payload.to_json(), data["audience"], message.from_user.id, at)
    await message.answer(renderer.when_scheduled(at, lang, now, zone))


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
        progress = await broadcasts.set_state(bc_id, wanted[op], by=query.from_user.id)
    screen = renderer.broadcast_progress(progress, lang, confirm_cancel=op == "cancel")
    live = await broadcasts.progress_message(bc_id) if op == "resume" else None
    if live and query.message and live[0] == query.message.chat.id and live[1] != query.message.message_id:
        # Resumed from the pause message: the live progress message above goes on; this one would not. (Another
        # coordinator's view, opened from /broadcasts, is in another chat: it stays a progress view.)
        screen = renderer.screen(
            "bc_resumed_elsewhere", lang, number=bc_id, purpose=progress.purpose, title=progress.title
        )
    await show(query, screen)
    if over and op != "refresh":
        await toast(query, renderer.toast("bc_control", lang, op="over"))
    elif op in ("pause", "resume", "stop"):
        await toast(query, renderer.toast("bc_control", lang, op=op))
    else:
        await toast(query)
