"""Coordinators: /schedule, the sends still to go out, and what they can do with each.

Each scheduled send is listed with its first line, audience and its size now, time and author; its buttons
preview it, change its time or cancel it (asked first). The same buttons answer the question a coordinator
gets when a case they scheduled a send for changes (scheduler.Scheduler.recheck). A button of a send that
went out or was cancelled meanwhile says so and shows the list as it is now. Coordinators only:
handlers/__init__.py scopes the router.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.content import Case, Library
from bot.delivery import Broadcasts, OutcomeKind
from bot.ground.clock import Clock
from bot.ground.settings import Settings
from bot.ground.when import Verdict, read_time
from bot.pledges.store import UserPrefs
from bot.render import Renderer, Screen, Toast
from bot.render.callbacks import Callback
from bot.render.markup import visible_text
from bot.telegram.sender import TelegramSender
from handlers.broadcast import coordinator_zone, send_all
from handlers.filters import Cb
from handlers.ui import send, show, toast
from scheduler import Scheduler
from scheduler.sends import Send

logger = logging.getLogger(__name__)
router = Router(name="schedule")


class ScheduleForm(StatesGroup):
    when = State()  # "Change time": waiting for the new time of one send


async def _author(bot: Bot | None, viewer: int, created_by: int | None, lang: str, renderer: Renderer) -> str:
    if created_by is None or bot is None:
        return renderer.send_author(lang, None)
    if created_by == viewer:
        return renderer.send_author(lang, None, you=True)
    try:
        chat = await bot.get_chat(created_by)
    except Exception as exc:  # a coordinator who blocked the bot, or Telegram away: still listed
        logger.info("A send's author could not be looked up: %s", type(exc).__name__)
        return renderer.send_author(lang, "")
    return renderer.send_author(lang, " ".join(filter(None, (chat.first_name, chat.last_name))))


async def _sends_with_details(
    bot: Bot | None, viewer: int, lang: str, renderer: Renderer, broadcasts: Broadcasts, sends: list[Send]
) -> list[tuple[Send, int | None, str]]:
    """Each send with its audience's size now and who scheduled it."""
    authors: dict[int | None, str] = {}
    found = []
    for each in sends:
        if each.created_by not in authors:
            authors[each.created_by] = await _author(bot, viewer, each.created_by, lang, renderer)
        found.append((each, await broadcasts.count(each.audience), authors[each.created_by]))
    return found


async def _list(
    bot: Bot | None,
    viewer: int,
    lang: str,
    renderer: Renderer,
    scheduler: Scheduler,
    broadcasts: Broadcasts,
    library: Library,
    zone: str,
    case: Case | None = None,
) -> Screen:
    sends = [s for s in await scheduler.sends() if case is None or s.audience.case_id == case.id]
    reminders = [p for p in await scheduler.planned(case.id if case else None) if p.kind == "reminder"]
    details = await _sends_with_details(bot, viewer, lang, renderer, broadcasts, sends)
    cases = {c.id: c for c in library.all()}
    return renderer.schedule_list(lang, details, reminders, cases, zone, case)


@router.message(StateFilter(ScheduleForm), Command("cancel", ignore_case=True))
async def schedule_when_cancel_handler(message: Message, state: FSMContext, lang: str, renderer: Renderer) -> None:
    """Leave "Change time": the send keeps its time."""
    number = (await state.get_data()).get("send", 0)
    await state.clear()
    await message.answer(renderer.schedule_done(lang, "unchanged", number))


@router.message(StateFilter(ScheduleForm), F.text.startswith("/"))
async def schedule_left_by_command_handler(message: Message, state: FSMContext) -> None:
    """Another command while a new time is asked for: drop the question, let the command run."""
    await state.clear()
    raise SkipHandler


@router.message(Command("schedule", ignore_case=True))
async def command_schedule_handler(
    message: Message,
    command: CommandObject,
    lang: str,
    library: Library,
    renderer: Renderer,
    scheduler: Scheduler,
    broadcasts: Broadcasts,
    settings: Settings,
    prefs: UserPrefs | None = None,
) -> None:
    """What will go out and when, with buttons per send: every case, or the one named (/schedule ua-84-11)."""
    wanted = (command.args or "").strip().lower()
    case = library.get(wanted) if wanted else None
    if wanted and case is None:
        await message.answer(renderer.message("unknown_case", lang))
        return
    assert message.from_user is not None, "a private chat message always has a sender"
    viewer = message.from_user.id
    await send(
        message,
        await _list(
            message.bot, viewer, lang, renderer, scheduler, broadcasts, library, coordinator_zone(settings, prefs), case
        ),
    )


@router.callback_query(Cb("sch"))
async def schedule_tap_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    scheduler: Scheduler,
    broadcasts: Broadcasts,
    settings: Settings,
    clock: Clock,
    prefs: UserPrefs | None = None,
) -> None:
    """Preview, change the time, cancel (asked, then done) or keep one send; or the list again."""
    op, number = cb.args[0], int(cb.args[1])
    viewer, zone = query.from_user.id, coordinator_zone(settings, prefs)

    async def the_list() -> Screen:
        return await _list(query.bot, viewer, lang, renderer, scheduler, broadcasts, library, zone)

    if op == "list":
        await show(query, await the_list())
        await toast(query)
        return
    found = await scheduler.send(number)
    if found is None:
        await _gone(query, number, lang, renderer, scheduler, the_list)
        return
    cases = {c.id: c for c in library.all()}
    if op == "preview":
        await _preview(query, found, lang, renderer)
    elif op == "cancel":
        [(_, size, who)] = await _sends_with_details(query.bot, viewer, lang, renderer, broadcasts, [found])
        await show(query, renderer.schedule_cancel_confirm(lang, found, size, who, cases, zone))
        await toast(query)
    elif op == "yes":
        if not await scheduler.cancel_send(
            number, by=query.from_user.id
        ):  # gone out, or cancelled by another coordinator, just now
            await _gone(query, number, lang, renderer, scheduler, the_list)
            return
        logger.info("Scheduled broadcast %r cancelled from chat", found.id)
        await show(query, await the_list())
        await toast(query, _toast(renderer.schedule_done(lang, "cancelled", number)))
    elif op == "keep" and (kept := await scheduler.keep(number, clock()))[0] != "needs time":
        outcome, send_now = kept
        if send_now is None:
            await _gone(query, number, lang, renderer, scheduler, the_list)
            return
        await show(query, Screen(renderer.schedule_done(lang, outcome, number, when=send_now.run_at, zone=zone)))
        await toast(query)
    else:  # a new time; or "keep" for a held send whose time passed while it waited: it needs a new one
        await state.set_state(ScheduleForm.when)
        await state.set_data({"send": number})
        examples = renderer.when_examples(lang, clock(), zone)
        await show(query, renderer.schedule_when_prompt(lang, found, zone, examples))
        await toast(query)


async def _gone(
    query: CallbackQuery,
    number: int,
    lang: str,
    renderer: Renderer,
    scheduler: Scheduler,
    the_list: Callable[[], Awaitable[Screen]],
) -> None:
    """A button of a send no longer scheduled: say what became of it, and show the list as it is now."""
    fate = await scheduler.sends_record.fate(number)
    await show(query, await the_list())
    if fate is None:  # never scheduled under this number: forged, or from before the records
        await toast(query, renderer.stale_toast(lang))
        return
    op = "sent" if fate.outcome == "sent" else "gone"
    await toast(query, _toast(renderer.schedule_done(lang, op, number, broadcast=fate.broadcast), alert=True))


async def _preview(query: CallbackQuery, found: Send, lang: str, renderer: Renderer) -> None:
    """The send exactly as its recipients get it (in the coordinator's language, when it has versions)."""
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    outcome = await send_all(TelegramSender(query.bot), query.from_user.id, found.payload.for_language(lang))
    if outcome.kind != OutcomeKind.ok:
        logger.warning("The preview of a scheduled broadcast failed: %r", outcome)
        await query.bot.send_message(query.from_user.id, renderer.message("error", lang))
    await toast(query)


def _toast(text: str, *, alert: bool = False) -> Toast:
    return Toast(visible_text(text)[:200], alert)


@router.message(ScheduleForm.when, F.text & ~F.text.startswith("/"))
async def schedule_when_handler(
    message: Message,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    scheduler: Scheduler,
    broadcasts: Broadcasts,
    settings: Settings,
    clock: Clock,
    prefs: UserPrefs | None = None,
) -> None:
    """The new time, read exactly as the composer's "Send later" reads it; then the list as it is now."""
    zone, now = coordinator_zone(settings, prefs), clock()
    reading = read_time(message.text or "", zone, now, lang)
    if reading.verdict is not Verdict.ok or reading.at is None:
        await message.answer(renderer.when_refused(reading, lang, now, zone))
        return
    at = reading.at
    number = int((await state.get_data()).get("send", 0))
    await state.clear()
    assert message.from_user is not None, "a private chat message always has a sender"
    moved = await scheduler.move(number, at, by=message.from_user.id)
    if moved is None:
        fate = await scheduler.sends_record.fate(number)
        op = "sent" if fate and fate.outcome == "sent" else "gone"
        await message.answer(renderer.schedule_done(lang, op, number, broadcast=fate.broadcast if fate else ""))
        return
    await message.answer(renderer.schedule_done(lang, "moved", number, when=moved.run_at, zone=zone))
    assert message.from_user is not None, "a private chat message always has a sender"
    viewer = message.from_user.id
    await send(message, await _list(message.bot, viewer, lang, renderer, scheduler, broadcasts, library, zone))
