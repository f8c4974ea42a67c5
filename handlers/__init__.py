"""aiogram routers, assembled in the order they are tried."""

from __future__ import annotations

from aiogram import Router

from bot.ground.settings import Settings
from handlers import account, act, cases, coordinator, fallback, imports, start, updates
from handlers.filters import PrivateChat, TapVerbs, tap_verbs

# account first: while it waits for a signature, any other command or tap must cancel that prompt.
# updates, imports and coordinator next: they exist only for ADMIN_IDS (IsCoordinator), and while
# an update, an import or a broadcast is being written they must see the message before the activist
# routers take it as a command or text. updates before coordinator: the time of a "send later"
# broadcast is text that the broadcast composer would otherwise take for a new draft. imports
# before coordinator: /cancel must end an import rather than say no broadcast is being composed.
_ACTIVIST = (account.router, updates.router, imports.router, coordinator.router, start.router, cases.router, act.router)

# The bot talks to activists one to one; in groups it keeps quiet rather than leak a letter, and a tap
# on its message there (forwarded, or from an old group) finds no handler but the catch-all's toast.
for _router in (*_ACTIVIST, fallback.router):
    _router.message.filter(PrivateChat())
for _router in _ACTIVIST:
    # First, and cheap: a tap skips a router whose handlers take none of its verb, instead of trying each.
    if (_verbs := tap_verbs(_router)) is not None:
        _router.callback_query.filter(TapVerbs(_verbs))
    _router.callback_query.filter(PrivateChat())


def get_routers(settings: Settings) -> list[Router]:
    """Every router of the bot, the catch-all last so it only sees what nothing else took."""
    return [*_ACTIVIST, fallback.router]


def detach_routers(routers: list[Router]) -> None:
    """Free the module-level routers for another Dispatcher (tests build one per test).

    aiogram has no public way to detach a router, and refuses to attach one twice.
    """
    for router in routers:
        router._parent_router = None
