"""What the bot keeps about a user: /sign, /reminders, /settings, /mydata, /discreet, /forget, and a block."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import KICKED, ChatMemberUpdatedFilter, Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message

from bot.content import Library
from bot.delivery import Broadcasts
from bot.ground.audit import AuditLog
from bot.ground.clock import Clock
from bot.ground.discreet import DiscreetChats
from bot.ground.quiet import ZONE_GUESS, QuietHours, find_zone, utc_offset, zone
from bot.ground.roles import Roles
from bot.pledges.store import Store, UserPrefs
from bot.publishing.drafts import MessageDrafts
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback
from bot.telegram.replay import CutUpdates
from handlers.approval import ApprovalDesk
from handlers.filters import Cb
from handlers.ui import delete_quietly, send, show, toast
from scheduler import Scheduler

router = Router(name="account")

# Long enough for a name and a postal address; anything longer is not a signature.
MAX_SIGNATURE = 200
MAX_SIGNATURE_LINES = 6


class SignForm(StatesGroup):
    waiting = State()


class SettingsForm(StatesGroup):
    zone = State()  # /settings is open: a text is a city or zone name


async def _save_signature(message: Message, text: str, lang: str, store: Store, renderer: Renderer) -> None:
    # Lines are kept: a name, then a postal address for replies, as they go under a letter.
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    signature = "\n".join(lines)
    if len(signature) > MAX_SIGNATURE or len(lines) > MAX_SIGNATURE_LINES:
        await message.answer(renderer.message("sign_too_long", lang, limit=MAX_SIGNATURE))
        return
    await store.set_signature(message.chat.id, signature)
    await message.answer(renderer.message("sign_saved", lang, signature=signature))


@router.message(Command("reminders", ignore_case=True))
async def command_reminders_handler(
    message: Message, command: CommandObject, prefs: UserPrefs, lang: str, store: Store, renderer: Renderer
) -> None:
    """/reminders on|off: deadline reminders for cases the user follows and has not acted on."""
    wanted = (command.args or "").strip().lower()
    if wanted in ("on", "off"):
        await store.set_reminders(message.chat.id, wanted == "on")
        await message.answer(renderer.message("reminders_set", lang, on=wanted == "on", stopped=prefs.stopped))
    else:
        await message.answer(renderer.message("reminders_usage", lang, on=prefs.reminders))


def _settings(
    lang: str, prefs_lang: str | None, chosen: str | None, renderer: Renderer, clock: Clock, quiet: QuietHours | None
) -> Screen:
    guessed = ZONE_GUESS.get(prefs_lang or "")
    night = quiet or QuietHours()
    return renderer.settings_screen(lang, chosen if zone(chosen) else None, guessed, clock(), (night.start, night.end))


@router.message(Command("settings", ignore_case=True))
async def command_settings_handler(
    message: Message,
    state: FSMContext,
    prefs: UserPrefs,
    lang: str,
    renderer: Renderer,
    clock: Clock,
    quiet: QuietHours | None = None,
) -> None:
    """The person's timezone for quiet hours: the common zones as buttons, or a city typed."""
    await state.set_state(SettingsForm.zone)
    await send(message, _settings(lang, prefs.lang, prefs.timezone, renderer, clock, quiet))


@router.callback_query(Cb("tz"))
async def zone_chosen_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    prefs: UserPrefs,
    lang: str,
    store: Store,
    renderer: Renderer,
    clock: Clock,
    quiet: QuietHours | None = None,
) -> None:
    """A zone tapped in /settings (or back to the guess from the language); a city typed next still counts."""
    chosen = None if cb.args[0] == "guess" else cb.args[0]
    if chosen is not None and zone(chosen) is None:
        await toast(query, renderer.stale_toast(lang))
        return
    # The screen still offers to type a city: a name sent next is read as one.
    await state.set_state(SettingsForm.zone)
    await store.set_timezone(query.from_user.id, chosen)
    await show(query, _settings(lang, prefs.lang, chosen, renderer, clock, quiet))
    await toast(query)


@router.message(SettingsForm.zone, F.text.startswith("/"))
async def settings_left_by_command_handler(message: Message, state: FSMContext) -> None:
    """Another command while /settings waits for a city: drop the wait, let the command run."""
    await state.clear()
    raise SkipHandler


@router.callback_query(SettingsForm.zone, ~Cb("tz"))
async def settings_left_by_tap_handler(query: CallbackQuery, state: FSMContext) -> None:
    """A tap elsewhere while /settings waits for a city: drop the wait, let the tap work."""
    await state.clear()
    raise SkipHandler


@router.message(SettingsForm.zone, F.text, ~F.text.startswith("/"))
async def zone_typed_handler(
    message: Message, state: FSMContext, lang: str, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """A city or zone name sent after /settings; only the zone's name is kept, never what was typed."""
    found = find_zone(message.text or "")
    if found is None:
        await message.answer(renderer.message("tz_unknown", lang))
        return
    await state.clear()
    await store.set_timezone(message.chat.id, found)
    now = clock()
    local = now.astimezone(zone(found)).strftime("%H:%M")
    await message.answer(
        renderer.message(
            "tz_set", lang, zone=renderer.zone_name(found, lang), offset=utc_offset(found, now), local=local
        )
    )


@router.message(Command("sign", ignore_case=True))
async def command_sign_handler(
    message: Message,
    command: CommandObject,
    state: FSMContext,
    prefs: UserPrefs,
    lang: str,
    store: Store,
    renderer: Renderer,
) -> None:
    """Save the signature given after /sign, or ask for one."""
    if command.args:
        await state.clear()
        await _save_signature(message, command.args, lang, store, renderer)
        return
    await state.set_state(SignForm.waiting)
    await send(message, renderer.sign_prompt(lang, prefs.signature))


@router.message(SignForm.waiting, F.text.startswith("/"))
async def sign_prompt_left_by_command_handler(message: Message, state: FSMContext) -> None:
    """Another command while the bot waits for a signature: drop the prompt, let the command run."""
    await state.clear()
    raise SkipHandler


@router.callback_query(SignForm.waiting, ~Cb("sign"))
async def sign_prompt_left_by_tap_handler(query: CallbackQuery, state: FSMContext) -> None:
    """A tap elsewhere while the bot waits for a signature: drop the prompt, let the tap work."""
    await state.clear()
    raise SkipHandler


@router.message(SignForm.waiting, F.text, ~F.text.startswith("/"))
async def signature_received_handler(
    message: Message, state: FSMContext, lang: str, store: Store, renderer: Renderer
) -> None:
    """The text sent after /sign is the signature."""
    await state.clear()
    await _save_signature(message, message.text or "", lang, store, renderer)


@router.callback_query(Cb("sign"))
async def signature_clear_handler(
    query: CallbackQuery, state: FSMContext, lang: str, store: Store, renderer: Renderer
) -> None:
    """Remove the saved signature."""
    await state.clear()
    await store.set_signature(query.from_user.id, None)
    await show(query, renderer.sign_prompt(lang, None))
    await toast(query, renderer.toast("sign_cleared", lang))


@router.message(Command("mydata", ignore_case=True))
async def command_mydata_handler(
    message: Message, lang: str, library: Library, store: Store, renderer: Renderer, discreet: DiscreetChats
) -> None:
    """Everything the bot stores about this user, said plainly."""
    data = await store.my_data(message.chat.id, library.ids())
    mode = discreet.mode(message.chat.id)
    data["discreet"] = mode.mode if mode else None
    await send(message, renderer.mydata_screen(lang, data, {c.id: c for c in library.all()}))


@router.message(Command("discreet", ignore_case=True))
async def command_discreet_handler(message: Message, lang: str, renderer: Renderer, discreet: DiscreetChats) -> None:
    """What discreet mode does, and the choice."""
    mode = discreet.mode(message.chat.id)
    await send(message, renderer.discreet_menu(lang, mode.mode if mode else None))


@router.callback_query(Cb("disc"))
async def discreet_chosen_handler(
    query: CallbackQuery, cb: Callback, lang: str, renderer: Renderer, discreet: DiscreetChats
) -> None:
    """Discreet mode on (keeping messages, or deleting them after an hour or a day) or off."""
    choice = cb.args[0]
    if choice == "show":
        mode = discreet.mode(query.from_user.id)
        await show(query, renderer.discreet_menu(lang, mode.mode if mode else None))
        await toast(query)
        return
    mode = None if choice == "off" else choice
    await discreet.set(query.from_user.id, mode, lang)
    await show(query, renderer.discreet_menu(lang, mode))
    await toast(query, renderer.toast("discreet_set", lang, mode=mode))


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def blocked_handler(
    event: ChatMemberUpdated, library: Library, store: Store, broadcasts: Broadcasts, scheduler: Scheduler
) -> None:
    """The person blocked the bot: nothing more goes to them, and their record goes (docs/PRIVACY.md)."""
    await broadcasts.withdraw(event.chat.id)
    await store.drop_chat(event.chat.id)
    await scheduler.forget(event.chat.id, library.ids())


@router.message(Command("forget", ignore_case=True))
async def command_forget_handler(message: Message, lang: str, renderer: Renderer) -> None:
    """Ask before erasing: it cannot be undone."""
    await send(message, renderer.forget_confirm(lang))


@router.callback_query(Cb("forget"))
async def forget_confirmed_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    store: Store,
    renderer: Renderer,
    scheduler: Scheduler,
    broadcasts: Broadcasts,
    cut_updates: CutUpdates,
    discreet: DiscreetChats,
    audit: AuditLog,
    roles: Roles,
    drafts: MessageDrafts,
    approval: ApprovalDesk,
) -> None:
    """Erase everything about the user, keeping only anonymous totals."""
    if cb.args[0] == "no":
        await show(query, renderer.screen("forget_kept", lang))
        await toast(query)
        return
    await state.clear()
    # Out of every send under way first, so that nothing delivered meanwhile writes about them again.
    await broadcasts.forget(query.from_user.id)
    cases = await store.forget(query.from_user.id, library.ids())
    # "Remind me later" jobs carry the chat id; cases gone from the files included (one keyspace walk for both).
    await scheduler.forget(query.from_user.id, cases)
    await scheduler.forget_author(query.from_user.id)  # their scheduled sends still go, naming nobody
    await approval.approvals.forget(query.from_user.id)  # their sends waiting for approval are withdrawn
    await cut_updates.forget(query.from_user.id)
    # A coordinator's name leaves the audit log (their entries stay, a former coordinator's), and so does
    # the role an owner gave them: it holds their Telegram id. Owners stay owners: they are in the settings.
    await audit.forget(query.from_user.id)
    await roles.remove(query.from_user.id, by=None)
    await drafts.forget(query.from_user.id)
    pending = await discreet.forget(query.from_user.id)
    await show(query, renderer.screen("forgotten", lang))
    await toast(query)
    # Messages discreet mode was still to delete go now, as nothing would delete them later; the answer stays.
    tapped = query.message.message_id if query.message else None
    await delete_quietly(query, [m for m in pending if m != tapped])
