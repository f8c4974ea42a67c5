"""The heart of the bot: "What can I do?", letters, emails, faxes, tweets and sharing."""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.content import Case, Library, Status
from bot.content.actions import ACTION_BY_KEY, ACTION_BY_VERB, ACTION_TABLE
from bot.ground.clock import Clock
from bot.ground.privacy import Pseudonymizer
from bot.ground.quiet import QuietHours, zone_of
from bot.ground.settings import Settings
from bot.pledges.store import Store, UserPrefs
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback
from handlers.filters import Cb
from handlers.ui import send, send_document, show, toast
from scheduler import Scheduler, later_time

router = Router(name="act")

# The verbs that open an action's screen, from the action table: one screen per case, or per official.
CASE_ACTION_VERBS = tuple(a.verb for a in ACTION_TABLE if not a.per_target)
TARGET_ACTION_VERBS = tuple(a.verb for a in ACTION_TABLE if a.per_target)


@router.message(Command("act", ignore_case=True))
async def command_act_handler(
    message: Message, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """Straight to the actions of the case the user follows, or the list when it is not one case."""
    subscribed = await store.subscriptions(message.chat.id)
    followed = [c for c in library.open_cases() if c.id in subscribed]
    candidates = followed or library.open_cases()
    if len(candidates) == 1:
        written = await _written(store, message.chat.id, candidates[0])
        await send(message, renderer.act_menu(candidates[0], lang, clock(), written))
    elif candidates:
        await send(message, renderer.case_list(candidates, lang, clock()))
    else:
        await message.answer(renderer.message("no_cases", lang))


async def actions_screen(case: Case, user_id: int, lang: str, store: Store, renderer: Renderer, clock: Clock) -> Screen:
    """ "What can I do?" for a case, ✅ on the officials this person said they wrote to."""
    return renderer.act_menu(case, lang, clock(), await _written(store, user_id, case))


async def _written(store: Store, user_id: int, case: Case) -> frozenset[str]:
    """The officials (ids) this person said they wrote to, by letter, email or fax."""
    return frozenset(official for _, official in await store.written(user_id, case.id, [t.id for t in case.targets]))


@router.callback_query(Cb("act", *CASE_ACTION_VERBS))
async def case_action_handler(
    query: CallbackQuery, cb: Callback, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """The action menu, and the screens of the case-wide actions (the post on X, the share)."""
    case = library.get(cb.args[0])
    if case is None or case.status == Status.closed:
        await show(query, renderer.case_list(library.all(), lang, clock()))
        await toast(query, renderer.toast("stale_button", lang))
        return
    if cb.verb == "act":
        await show(query, renderer.act_menu(case, lang, clock(), await _written(store, query.from_user.id, case)))
    else:
        await show(query, renderer.case_action(ACTION_BY_VERB[cb.verb], case, lang, clock()))
    await toast(query)


@router.callback_query(Cb(*TARGET_ACTION_VERBS, "doc", "prt"))
async def target_handler(
    query: CallbackQuery,
    cb: Callback,
    lang: str,
    prefs: UserPrefs,
    library: Library,
    renderer: Renderer,
    pseudonyms: Pseudonymizer,
    clock: Clock,
) -> None:
    """A per-target action's screen (letter, email, fax) for one official, or the letter as a file or a PDF."""
    case_id, target_id, letter_lang = cb.args
    case = library.get(case_id)
    index = case.target_index(target_id) if case is not None else None
    if case is None or case.status == Status.closed or index is None:
        await show(query, renderer.case_list(library.all(), lang, clock()))
        await toast(query, renderer.toast("stale_button", lang))
        return
    seed, signature, now = pseudonyms.seed(query.from_user.id, case.id), prefs.signature, clock()
    if cb.verb == "doc":
        document = renderer.letter_document(
            case, index, lang, letter_lang, variant_seed=seed, signature=signature, now=now
        )
        await send_document(query, document)
    elif cb.verb == "prt":
        # Laying out and subsetting the font takes 50-100 ms of CPU: off the event loop, so other taps go on.
        document = await asyncio.to_thread(
            renderer.letter_pdf, case, index, lang, letter_lang, variant_seed=seed, signature=signature, now=now
        )
        await send_document(query, document)
    else:
        action = ACTION_BY_VERB[cb.verb]
        screen = renderer.target_action(
            action, case, index, lang, letter_lang, variant_seed=seed, signature=signature, now=now
        )
        await show(query, screen)
    await toast(query)


async def _actionable(
    query: CallbackQuery, case_id: str, lang: str, library: Library, renderer: Renderer
) -> Case | None:
    """The case a pledge or reminder button is about, or None once the tap is answered (gone, closed)."""
    case = library.get(case_id)
    if case is None:
        await toast(query, renderer.toast("stale_button", lang))
    elif case.status == Status.closed:
        # A button left on an old screen: the case no longer asks for action.
        await toast(query, renderer.toast("closed_case", lang, alert=True, case=case))
        return None
    return case


@router.callback_query(Cb("pl"))
async def pledge_handler(
    query: CallbackQuery, cb: Callback, lang: str, library: Library, store: Store, renderer: Renderer
) -> None:
    """ "I sent it": count once per user, case and action (and official), and show the running total."""
    case_id, action, official = cb.args
    case = await _actionable(query, case_id, lang, library, renderer)
    if case is None:
        return
    # An official the case no longer has (or one named for a case-wide action) counts for the case only.
    index = case.target_index(official) if official and ACTION_BY_KEY[action].per_target else None
    result = await store.pledge(query.from_user.id, case.id, action, official=official if index is not None else None)
    # Held up past Telegram's answer window (a downtime, Redis away), the toast is lost: the pledge still
    # counts, and tapping again says so. No message instead: after a downtime that would be thousands of
    # them against Telegram's 30 a second, ahead of every other reply.
    if index is not None and not result.counted:
        answer = renderer.official_pledge_toast(
            case, index, lang, counted=bool(result.official_counted), total=result.official_people
        )
    else:
        answer = renderer.pledge_toast(action, lang, counted=result.counted, total=result.total, case=case)
    await toast(query, answer)


@router.callback_query(Cb("later"))
async def remind_later_handler(
    query: CallbackQuery,
    cb: Callback,
    lang: str,
    library: Library,
    store: Store,
    renderer: Renderer,
    scheduler: Scheduler,
    settings: Settings,
    clock: Clock,
    prefs: UserPrefs,
    quiet: QuietHours | None = None,
) -> None:
    """ "Remind me later": one reminder about this action, dropped if the user does it meanwhile."""
    case_id, action = cb.args
    case = await _actionable(query, case_id, lang, library, renderer)
    if case is None:
        return
    if action in await store.pledged_actions(query.from_user.id, case.id):
        await toast(query, renderer.toast("later_done", lang))
        return
    now, deadline = clock(), case.deadline_at(settings.default_timezone)
    if deadline is not None and deadline <= now:
        await toast(query, renderer.toast("later_passed", lang, alert=True))
        return
    at = later_time(now, settings.remind_later, deadline)
    if at is None:
        await toast(query, renderer.toast("later_too_late", lang, alert=True))
        return
    morning = quiet.morning(at, zone_of(prefs.timezone, prefs.lang)) if quiet else None
    if morning is not None and (deadline is None or morning < deadline):
        at = morning  # not in their night: the toast says how long it waits
    await scheduler.remind_later(query.from_user.id, case.id, action, at)
    await toast(query, renderer.later_toast(lang, at - now))
