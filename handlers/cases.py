"""Browsing cases: the case list, the alert card, background, subscribing and /stop."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.content import Case, Library
from bot.delivery import Broadcasts
from bot.ground.clock import Clock
from bot.pledges.store import Store
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback
from handlers.filters import Cb
from handlers.ui import send, show, toast
from scheduler import Scheduler

router = Router(name="cases")


async def card_screen(case: Case, user_id: int, lang: str, store: Store, renderer: Renderer, clock: Clock) -> Screen:
    """The alert card, with the user's subscription and the running total."""
    return renderer.card(
        case,
        lang,
        clock(),
        subscribed=await store.is_subscribed(user_id, case.id),
        letters_sent=await store.letters_sent(case.id),
    )


@router.message(Command("cases", ignore_case=True))
async def command_cases_handler(
    message: Message, lang: str, library: Library, renderer: Renderer, clock: Clock
) -> None:
    """List every case, open ones first."""
    await send(message, renderer.case_list(library.all(), lang, clock()))


@router.callback_query(Cb("cases"))
async def case_list_handler(
    query: CallbackQuery, cb: Callback, lang: str, library: Library, renderer: Renderer, clock: Clock
) -> None:
    """A page of the case list."""
    await show(query, renderer.case_list(library.all(), lang, clock(), page=int(cb.args[0])))
    await toast(query)


@router.callback_query(Cb("card", "bg", "sub", "unsub"))
async def case_screen_handler(
    query: CallbackQuery, cb: Callback, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """The card, its background, and (un)subscribing from it."""
    case = library.get(cb.args[0])
    if case is None:
        await show(query, renderer.case_list(library.all(), lang, clock()))
        await toast(query, renderer.toast("stale_button", lang))
        return
    user_id = query.from_user.id
    if cb.verb == "bg":
        await show(query, renderer.background(case, lang))
        await toast(query)
        return
    answer = None
    if cb.verb == "sub":
        restored = await store.resume(user_id)  # tapping Subscribe after /stop is coming back
        await store.subscribe(user_id, case.id)
        if restored is not None:
            answer = renderer.toast("resumed", lang, count=len(restored))
        else:
            answer = renderer.toast("subscribed", lang)
    elif cb.verb == "unsub":
        await store.unsubscribe(user_id, case.id)
        answer = renderer.toast("unsubscribed", lang)
    await show(query, await card_screen(case, user_id, lang, store, renderer, clock))
    await toast(query, answer)


@router.message(Command("stop", ignore_case=True))
async def command_stop_handler(
    message: Message,
    lang: str,
    store: Store,
    renderer: Renderer,
    library: Library,
    scheduler: Scheduler,
    broadcasts: Broadcasts,
) -> None:
    """Nothing more from the bot until /start: out of every audience, every queue, every personal reminder."""
    cases = await store.stop(message.chat.id)
    await broadcasts.withdraw(message.chat.id)
    await scheduler.forget(message.chat.id, library.ids())
    await message.answer(renderer.message("stopped", lang, count=len(cases)))
