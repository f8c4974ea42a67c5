"""Coordinators: what went out (/broadcasts), messages not sent yet (/drafts), who did what (/audit), and who
coordinates (/coordinators).

Any coordinator opens any send from /broadcasts and may pause or stop it there, whoever sent it (the
progress view's buttons are handlers/broadcast.py's). Owners (ADMIN_IDS) add a coordinator by choosing
them with Telegram's user picker, by forwarding a message they wrote, or by their numeric id; and remove one.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BotCommandScopeChat,
    CallbackQuery,
    KeyboardButton,
    KeyboardButtonRequestUsers,
    Message,
    MessageOriginHiddenUser,
    MessageOriginUser,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.content import Library
from bot.delivery import Broadcasts, UnknownBroadcast
from bot.ground.audit import AuditLog, title_of
from bot.ground.roles import Roles
from bot.pledges.store import Store
from bot.publishing.composer import Draft
from bot.publishing.drafts import MessageDrafts, SavedMessage
from bot.publishing.history import recent_sends
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback
from bot.telegram.keyboards import markup
from handlers.broadcast import BroadcastForm
from handlers.filters import Cb, IsOwner
from handlers.start import publish_coordinator_commands
from handlers.ui import send, show, toast

logger = logging.getLogger(__name__)
router = Router(name="history")

SENDS_PAGE = 5
AUDIT_PAGE = 10
PICKER_REQUEST = 1  # request_id of the user picker: one picker per prompt
MAX_USER_ID = 2**52  # Telegram's user ids fit in 52 bits


class CoordinatorForm(StatesGroup):
    adding = State()  # an owner is choosing whom to add


# --- /broadcasts ------------------------------------------------------------------------------------


async def _sends(
    user_id: int,
    offset: int,
    lang: str,
    broadcasts: Broadcasts,
    store: Store,
    library: Library,
    renderer: Renderer,
    drafts: MessageDrafts,
) -> Screen:
    page = await recent_sends(broadcasts, store, library.ids(), offset=offset, size=SENDS_PAGE)
    kept = len(await drafts.all(user_id))
    return renderer.sends_page(lang, page, {c.id: c for c in library.all()}, SENDS_PAGE, drafts=kept)


@router.message(Command("broadcasts", ignore_case=True))
async def command_broadcasts_handler(
    message: Message,
    lang: str,
    broadcasts: Broadcasts,
    store: Store,
    library: Library,
    renderer: Renderer,
    drafts: MessageDrafts,
) -> None:
    """Recent sends: what, who, when, to whom, how it went, and the actions that followed."""
    await send(message, await _sends(message.chat.id, 0, lang, broadcasts, store, library, renderer, drafts))


@router.callback_query(Cb("bch"))
async def sends_page_handler(
    query: CallbackQuery,
    cb: Callback,
    lang: str,
    broadcasts: Broadcasts,
    store: Store,
    library: Library,
    renderer: Renderer,
    drafts: MessageDrafts,
) -> None:
    """Older or newer sends."""
    offset = int(cb.args[0])
    await show(query, await _sends(query.from_user.id, offset, lang, broadcasts, store, library, renderer, drafts))
    await toast(query)


@router.callback_query(Cb("bco"))
async def send_open_handler(
    query: CallbackQuery, cb: Callback, lang: str, broadcasts: Broadcasts, renderer: Renderer
) -> None:
    """One send's progress view, as a message of its own (the list stays): Pause, Resume, Cancel for anyone."""
    try:
        progress = await broadcasts.progress(cb.args[0])
    except UnknownBroadcast:
        await toast(query, renderer.stale_toast(lang))
        return
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    screen = renderer.broadcast_progress(progress, lang)
    await query.bot.send_message(query.from_user.id, screen.text, reply_markup=markup(screen))
    await toast(query)


# --- /drafts -----------------------------------------------------------------------------------------


@router.message(Command("drafts", ignore_case=True))
async def command_drafts_handler(message: Message, lang: str, renderer: Renderer, drafts: MessageDrafts) -> None:
    """The messages this coordinator wrote in /broadcast and did not send or cancel."""
    await send(message, renderer.drafts_screen(lang, await drafts.all(message.chat.id)))


@router.callback_query(Cb("drf"))
async def draft_open_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, drafts: MessageDrafts
) -> None:
    """Resume a draft where the composer asks for its audience; delete one; or the list."""
    op, token = cb.args
    user_id = query.from_user.id
    data = await drafts.get(user_id, token) if token else None
    if op == "list" or (op == "drop" and data is not None):
        if op == "drop":
            await drafts.drop(user_id, token)
        await show(query, renderer.drafts_screen(lang, await drafts.all(user_id)))
        await toast(query)
        return
    if data is None:  # sent, cancelled or expired meanwhile
        await show(query, renderer.drafts_screen(lang, await drafts.all(user_id)))
        await toast(query, renderer.stale_toast(lang))
        return
    # As the composer left it once the message was in (its own data, whatever it holds): next, the audience.
    await state.set_state(BroadcastForm.audience)
    await state.set_data(data)
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    draft = Draft.from_data(data, lang)
    title = title_of(SavedMessage(token, data, 0.0).text) or "…"
    await query.bot.send_message(user_id, renderer.message("drafts_resumed", lang, title=title))
    picker = renderer.broadcast_audience_picker(lang, token, parts=len(draft.parts), length=draft.characters())
    sent = await query.bot.send_message(user_id, picker.text, reply_markup=markup(picker))
    await state.update_data(picker=sent.message_id)  # the composer's one picker: a next part replaces it
    await toast(query)


# --- /audit -----------------------------------------------------------------------------------------


@router.message(Command("audit", ignore_case=True))
async def command_audit_handler(
    message: Message, lang: str, audit: AuditLog, library: Library, renderer: Renderer
) -> None:
    """Who did what and when, newest first."""
    page = await audit.page(AUDIT_PAGE)
    await send(message, renderer.audit_page(lang, page, {c.id: c for c in library.all()}))


@router.callback_query(Cb("aud"))
async def audit_page_handler(
    query: CallbackQuery, cb: Callback, lang: str, audit: AuditLog, library: Library, renderer: Renderer
) -> None:
    """Older, or newer, entries."""
    way, entry = cb.args
    before = entry if way == "o" else await audit.newer_start(entry, AUDIT_PAGE)
    page = await audit.page(AUDIT_PAGE, before=before)
    await show(query, renderer.audit_page(lang, page, {c.id: c for c in library.all()}))
    await toast(query)


# --- /coordinators ------------------------------------------------------------------------------------


async def _coordinators(user_id: int, lang: str, roles: Roles, audit: AuditLog, renderer: Renderer) -> Screen:
    owners = sorted(roles.owners)
    added = await roles.added()
    names = await audit.names([*owners, *added])
    return renderer.coordinators_screen(
        lang,
        list(zip(owners, names[: len(owners)])),
        list(zip(added, names[len(owners) :])),
        owner=roles.is_owner(user_id),
    )


@router.message(Command("coordinators", ignore_case=True))
async def command_coordinators_handler(
    message: Message, lang: str, roles: Roles, audit: AuditLog, renderer: Renderer
) -> None:
    """Who coordinates; an owner adds and removes them here."""
    await send(message, await _coordinators(message.chat.id, lang, roles, audit, renderer))


@router.callback_query(Cb("crd", first=("add",)), IsOwner())
async def coordinator_add_handler(query: CallbackQuery, state: FSMContext, lang: str, renderer: Renderer) -> None:
    """Ask whom to add, with Telegram's user picker under the message."""
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    choose, cancel = renderer.coordinator_add_buttons(lang)
    picker = KeyboardButton(
        text=choose,
        request_users=KeyboardButtonRequestUsers(request_id=PICKER_REQUEST, user_is_bot=False, request_name=True),
    )
    keyboard = ReplyKeyboardMarkup(
        keyboard=[[picker], [KeyboardButton(text=cancel)]], resize_keyboard=True, one_time_keyboard=True
    )
    await state.set_state(CoordinatorForm.adding)
    text = renderer.message("crd_prompt", lang, choose=choose)
    await query.bot.send_message(query.from_user.id, text, reply_markup=keyboard)
    await toast(query)


@router.callback_query(Cb("crd", first=("rm",)), IsOwner())
async def coordinator_remove_handler(
    query: CallbackQuery, cb: Callback, bot: Bot, lang: str, roles: Roles, audit: AuditLog, renderer: Renderer
) -> None:
    """Take the role away: their coordinator commands and buttons stop working at once."""
    user_id = int(cb.args[1] or 0)
    name = await audit.name_of(user_id) or str(user_id)
    if not await roles.remove(user_id, by=query.from_user.id):
        await show(query, await _coordinators(query.from_user.id, lang, roles, audit, renderer))
        await toast(query, renderer.stale_toast(lang))
        return
    await _drop_menu(bot, user_id, renderer)
    await show(query, await _coordinators(query.from_user.id, lang, roles, audit, renderer))
    await toast(query, renderer.toast("crd_removed", lang, name=name))


@router.callback_query(Cb("crd", first=("list",)))
async def coordinator_list_handler(
    query: CallbackQuery, lang: str, roles: Roles, audit: AuditLog, renderer: Renderer
) -> None:
    """The list again."""
    await show(query, await _coordinators(query.from_user.id, lang, roles, audit, renderer))
    await toast(query)


@router.message(CoordinatorForm.adding, IsOwner())
async def coordinator_chosen_handler(
    message: Message,
    state: FSMContext,
    bot: Bot,
    lang: str,
    roles: Roles,
    audit: AuditLog,
    store: Store,
    renderer: Renderer,
    menu_missing: set[int],
) -> None:
    """The person to add: shared with the picker, a message of theirs forwarded, or their numeric id."""
    _, cancel = renderer.coordinator_add_buttons(lang)
    if message.text and (message.text == cancel or message.text.startswith("/")):
        await state.clear()
        await message.answer(renderer.message("crd_stopped", lang), reply_markup=ReplyKeyboardRemove())
        if message.text.startswith("/") and message.text.split()[0].lower() != "/cancel":
            raise SkipHandler  # another command: it runs too
        return
    user_id, name = None, None
    origin = message.forward_origin
    if message.users_shared and message.users_shared.users:
        shared = message.users_shared.users[0]
        user_id = shared.user_id
        name = " ".join(p for p in (shared.first_name, shared.last_name) if p) or None
    elif isinstance(origin, MessageOriginUser) and not origin.sender_user.is_bot:
        user_id, name = origin.sender_user.id, origin.sender_user.full_name
    elif isinstance(origin, MessageOriginHiddenUser):
        await message.answer(renderer.message("crd_hidden", lang))
        return
    elif message.text and message.text.strip().isdigit() and 0 < int(message.text.strip()) < MAX_USER_ID:
        user_id = int(message.text.strip())
    if user_id is None:
        await message.answer(renderer.message("crd_not_a_person", lang))
        return
    if name:
        await audit.remember(user_id, name)
    shown = name or await audit.name_of(user_id) or str(user_id)
    await state.clear()
    if not await roles.add(user_id, by=message.chat.id):
        await message.answer(renderer.message("crd_already", lang, name=shown), reply_markup=ReplyKeyboardRemove())
        return
    await message.answer(renderer.message("crd_added", lang, name=shown), reply_markup=ReplyKeyboardRemove())
    await send(message, await _coordinators(message.chat.id, lang, roles, audit, renderer))
    # Their command menu, and a word to them: Telegram refuses both until they have opened the bot.
    if await publish_coordinator_commands(bot, renderer, [user_id]):
        menu_missing.add(user_id)
        return
    their = (await store.user(user_id)).lang or renderer.default_language
    try:
        await bot.send_message(user_id, renderer.message("crd_welcome", their))
    except TelegramAPIError as exc:
        logger.info("A new coordinator was not told: %s", exc.message)


async def _drop_menu(bot: Bot, user_id: int, renderer: Renderer) -> None:
    """Back to the activists' command menu (the chat scope's commands go)."""
    for code in (None, *renderer.languages):
        try:
            await bot.delete_my_commands(scope=BotCommandScopeChat(chat_id=user_id), language_code=code)
        except TelegramAPIError as exc:
            logger.info("A removed coordinator's menu stays until they open the bot: %s", exc.message)
            return
