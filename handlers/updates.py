"""Coordinators: updates of a case (/update) and /reload of the case files.

An update is news, an extension or closure; it is previewed as followers will get it (Send to me first
tries it; its text may come in a version per language its followers read), then sent to them through
the delivery engine (its progress is the broadcast's: handlers.broadcast.show_progress).
Coordinators only: handlers/__init__.py scopes the router.
"""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from redis.asyncio import Redis

from bot.content import Case, Library
from bot.content.check import check_content
from bot.content.states import MAX_UPDATE, CaseStates, ChangeRefused, UpdateKind, check_change, overlay, state_changes
from bot.content.sync import ContentSync
from bot.delivery import Broadcasts
from bot.delivery.audiences import MessageKind, audience
from bot.ground.audit import Action, AuditLog
from bot.ground.clock import Clock
from bot.ground.settings import Settings
from bot.pledges.store import Store
from bot.publishing.announce import publish_update, screen_payload
from bot.publishing.channel import Channel
from bot.publishing.composer import by_version, missing_versions
from bot.render import Renderer, Screen, Toast
from bot.render.callbacks import Callback
from bot.render.markup import visible_text
from handlers.broadcast import send_to_me_first, settle_draft, show_progress
from handlers.filters import Cb
from handlers.ui import send, show, toast

router = Router(name="updates")

SHOWN_PROBLEMS = 10


class UpdateForm(StatesGroup):
    kind = State()  # the case is chosen: what does the update change?
    deadline = State()  # waiting for the new deadline
    text = State()  # waiting for the text
    confirm = State()  # previewed: send, send to me first, add a version in another language, or drop
    version = State()  # waiting for the text in another language


def _zone(case: Case, settings: Settings) -> str:
    return case.timezone or settings.default_timezone


async def _draft_case(state: FSMContext, library: Library) -> Case | None:
    """The case of the update being written; the draft is dropped when the case is gone."""
    case = library.get((await state.get_data()).get("case"))
    if case is None:
        await state.clear()
    return case


def _changed(case: Case, data: dict) -> Case:
    """The case as the update being written would leave it, for the preview."""
    deadline = dt.date.fromisoformat(data["deadline"]) if data.get("deadline") else None
    changes = state_changes(UpdateKind(data["kind"]), deadline, bool(data.get("reopen")))
    return overlay(case, {"update": str((case.update or 0) + 1), **changes})


# --- /update --------------------------------------------------------------------------------------


@router.message(StateFilter(UpdateForm), Command("cancel", ignore_case=True))
async def update_cancel_handler(message: Message, state: FSMContext, lang: str, renderer: Renderer) -> None:
    """Leave the update being written, at any step."""
    await state.clear()
    await message.answer(renderer.message("up_discarded", lang))


@router.message(StateFilter(UpdateForm), F.text.startswith("/"))
async def update_left_by_command_handler(message: Message, state: FSMContext) -> None:
    """Another command while writing an update: drop it, let the command run."""
    await state.clear()
    raise SkipHandler


@router.message(Command("update", ignore_case=True))
async def command_update_handler(
    message: Message, state: FSMContext, lang: str, library: Library, renderer: Renderer
) -> None:
    """Start an update: which case is it about?"""
    await state.clear()
    await send(message, renderer.update_case_picker(lang, library.all()))


@router.callback_query(Cb("upc"))
async def update_case_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, library: Library, renderer: Renderer
) -> None:
    """The case is chosen: ask what the update changes."""
    case = library.get(cb.args[0])
    if case is None:
        await toast(query, renderer.stale_toast(lang))
        return
    await state.set_state(UpdateForm.kind)
    await state.set_data({"case": case.id})
    await show(query, renderer.update_kind_picker(lang, case))
    await toast(query)


@router.callback_query(UpdateForm.kind, Cb("upk"))
async def update_kind_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    settings: Settings,
    clock: Clock,
) -> None:
    """News, an extension (then the new date) or closure; then the text."""
    case = await _draft_case(state, library)
    if case is None:
        await toast(query, renderer.stale_toast(lang))
        return
    kind, reopen = cb.args[0], cb.args[1] == "r"
    if kind != UpdateKind.extended.value:  # an extension is checked with its date
        try:
            check_change(
                case,
                UpdateKind(kind),
                deadline=None,
                today=clock().date(),
                default_tz=_zone(case, settings),
                reopen=reopen,
            )
        except ChangeRefused as refused:
            await show(query, renderer.update_kind_picker(lang, case))
            await toast(query, Toast(visible_text(renderer.change_refused(lang, refused)), alert=True))
            return
    await state.update_data(kind=kind, reopen=reopen)
    if kind == UpdateKind.extended.value:
        await state.set_state(UpdateForm.deadline)
        await show(query, renderer.screen("up_deadline_prompt", lang, zone=_zone(case, settings)))
    else:
        await state.set_state(UpdateForm.text)
        await show(query, renderer.screen("up_text_prompt", lang, limit=MAX_UPDATE))
    await toast(query)


# Commands are excluded here and below: after the handler above skips, these still see the old state.
@router.message(UpdateForm.deadline, F.text & ~F.text.startswith("/"))
async def update_deadline_handler(
    message: Message,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    settings: Settings,
    clock: Clock,
) -> None:
    """The new deadline: a date after today, in the case's timezone."""
    case = await _draft_case(state, library)
    if case is None:
        await message.answer(renderer.message("stale_button", lang))
        return
    zone = _zone(case, settings)
    today = clock().astimezone(ZoneInfo(zone)).date()
    try:
        day = dt.date.fromisoformat((message.text or "").strip())
    except ValueError:
        current = case.deadline_at(settings.default_timezone)
        earliest = max(today, current.date() if current else dt.date.min)
        await message.answer(renderer.message("up_bad_deadline", lang, after=renderer.day(earliest, lang)))
        return
    try:
        check_change(
            case,
            UpdateKind.extended,
            deadline=day,
            today=today,
            default_tz=settings.default_timezone,
            reopen=bool((await state.get_data()).get("reopen")),
        )
    except ChangeRefused as refused:
        await message.answer(renderer.change_refused(lang, refused))
        return
    await state.update_data(deadline=day.isoformat())
    await state.set_state(UpdateForm.text)
    await message.answer(renderer.message("up_text_prompt", lang, limit=MAX_UPDATE))


@router.message(StateFilter(UpdateForm.text, UpdateForm.version), F.text & ~F.text.startswith("/"))
async def update_text_handler(
    message: Message,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    store: Store,
    broadcasts: Broadcasts,
    clock: Clock,
) -> None:
    """The text, or its version in another language: show it exactly as its followers will get it, then how
    many get which version, with Send, Send to me first and Add a version."""
    case = await _draft_case(state, library)
    if case is None:
        await message.answer(renderer.message("stale_button", lang))
        return
    data = await state.get_data()
    if len(message.text or "") > MAX_UPDATE:
        await message.answer(renderer.message("up_too_long", lang, length=len(message.text or ""), limit=MAX_UPDATE))
        return
    code = data.get("adding") if await state.get_state() == UpdateForm.version.state else None
    if code:
        token, texts = data["token"], {**_texts(data, lang), code: message.html_text}
        await state.update_data(texts=texts, adding=None)
    else:
        token, texts = secrets.token_hex(4), {lang: message.html_text}
        await state.update_data(text=message.html_text, texts=texts, written=lang, token=token, adding=None)
    await state.set_state(UpdateForm.confirm)
    data = await state.get_data()
    confirm, counts = await _update_confirm(data, case, lang, renderer, broadcasts)
    if code:
        await message.answer(renderer.version_label(lang, code, counts[code]))
    await send(message, await _update_screen(case, data, code or lang, store, renderer, clock))
    await send(message, confirm)


def _texts(data: dict, lang: str) -> dict[str, str]:
    """The update's text by language, the one written first first."""
    return dict(data.get("texts") or ({data.get("written") or lang: data["text"]} if data.get("text") else {}))


async def _update_screen(case: Case, data: dict, code: str, store: Store, renderer: Renderer, clock: Clock) -> Screen:
    """The update as a follower whose language is `code` gets it."""
    texts = _texts(data, code)
    return renderer.case_update(
        _changed(case, data),
        code,
        clock(),
        number=(case.update or 0) + 1,
        kind=data["kind"],
        text=texts.get(code, data["text"]),
        letters_sent=await store.letters_sent(case.id),
        reopened=bool(data.get("reopen")),
    )


@router.callback_query(StateFilter(UpdateForm.confirm, UpdateForm.version), Cb("upv"))
async def update_version_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    broadcasts: Broadcasts,
) -> None:
    """Add a version of the text in another language (asked for next), or remove one (or the one asked for)."""
    op, code, token = cb.args
    data = await state.get_data()
    case = library.get(data.get("case"))
    if data.get("token") != token or case is None or code not in renderer.languages:
        await toast(query, renderer.stale_toast(lang))
        return
    if op == "add":
        await state.set_state(UpdateForm.version)
        await state.update_data(adding=code)
        await show(query, renderer.update_version_prompt(lang, code, token))
        await toast(query)
        return
    texts = _texts(data, lang)
    if code != data.get("written"):
        texts.pop(code, None)
    await state.set_state(UpdateForm.confirm)
    await state.update_data(texts=texts, adding=None)
    await show(query, (await _update_confirm(await state.get_data(), case, lang, renderer, broadcasts))[0])
    await toast(query)


async def _update_confirm(
    data: dict, case: Case, lang: str, renderer: Renderer, broadcasts: Broadcasts
) -> tuple[Screen, dict[str, int]]:
    """Send, Send to me first and Add a version, under how many followers get which version; those counts."""
    languages = list(_texts(data, lang))
    readers = await broadcasts.readers(audience(MessageKind.update, case.id))
    counts = by_version(languages, readers)
    confirm = renderer.update_confirm(
        lang,
        sum(readers.values()),
        data["token"],
        versions=[(c, counts[c]) for c in languages],
        offer=missing_versions(languages, readers, renderer.languages),
    )
    return confirm, counts


@router.callback_query(UpdateForm.confirm, Cb("upt"))
async def update_test_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    store: Store,
    clock: Clock,
) -> None:
    """Send to me first: the update as a follower in the coordinator's language gets it, to them alone."""
    data = await state.get_data()
    case = library.get(data.get("case"))
    if data.get("token") != cb.args[0] or case is None:
        await toast(query, renderer.stale_toast(lang))
        return
    screen = await _update_screen(case, data, lang, store, renderer, clock)
    await send_to_me_first(query, screen_payload(screen), lang, renderer)


@router.callback_query(UpdateForm.confirm, Cb("upd"))
async def update_send_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    library: Library,
    renderer: Renderer,
    store: Store,
    broadcasts: Broadcasts,
    cases: CaseStates,
    content: ContentSync,
    redis: Redis,
    clock: Clock,
    channel: Channel | None,
) -> None:
    """Record the update, send it to the followers (and the channel), and let every process reload the case."""
    op, token = cb.args
    data = await state.get_data()
    case = library.get(data.get("case"))
    if data.get("token") != token or case is None:
        await toast(query, renderer.stale_toast(lang))
        return
    if not await settle_draft(query, state, op, token, "updraft", "up_discarded", lang, renderer, redis, store):
        return
    deadline = dt.date.fromisoformat(data["deadline"]) if data.get("deadline") else None
    try:
        _, bc_id = await publish_update(
            broadcasts,
            renderer,
            cases,
            case,
            UpdateKind(data["kind"]),
            data["text"],
            clock(),
            deadline=deadline,
            letters_sent=await store.letters_sent(case.id),
            created_by=query.from_user.id,
            reopen=bool(data.get("reopen")),
            versions={code: text for code, text in _texts(data, lang).items() if code != data.get("written")} or None,
            channel=channel,
        )
    except ChangeRefused as refused:  # the case changed since the preview (another coordinator, a reload)
        await state.clear()
        await show(query, Screen(renderer.change_refused(lang, refused)))
        await toast(query)
        return
    content.seen = await cases.version()  # this process reloads now; the others see the version move
    await content.reload()
    await show_progress(query, bc_id, lang, renderer, broadcasts)


# --- /reload (/schedule: handlers/schedule.py) -----------------------------------------------------


@router.message(Command("reload", ignore_case=True))
async def command_reload_handler(
    message: Message,
    lang: str,
    library: Library,
    renderer: Renderer,
    cases: CaseStates,
    content: ContentSync,
    settings: Settings,
    audit: AuditLog,
) -> None:
    """Read the case files again in every process, after checking them; reminders follow."""
    problems = check_content(library.content_dir or settings.content_dir)
    if problems:
        shown = [str(p) for p in problems[:SHOWN_PROBLEMS]]
        await message.answer(renderer.message("reload_failed", lang, problems=shown, more=len(problems) - len(shown)))
        return
    content.seen = await cases.changed()
    await content.reload()
    await audit.record(Action.reload, message.chat.id)
    await message.answer(renderer.message("reload_done", lang, count=len(library)))
