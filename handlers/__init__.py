"""aiogram routers, assembled in the order they are tried, each scoped to who may use it."""

from __future__ import annotations

from aiogram import Router

from bot.ground.settings import Settings
from handlers import (
    account,
    act,
    approval,
    broadcast,
    cases,
    fallback,
    history,
    imports,
    schedule,
    start,
    stats,
    updates,
)
from handlers.filters import IsCoordinator, PrivateChat, TapVerbs, tap_verbs

# An update goes to the first router with a handler that takes it; a handler that raises SkipHandler (a
# command that leaves a form, a coordinator's /start) passes it on. The order, and why:
# - account first: while it waits for a signature, any other command or tap must cancel that prompt.
# - the coordinators' routers next: while an update, an import or a broadcast is being written, they must
#   see the message before the activist routers take it as a command or text.
# - updates and imports before broadcast: /schedule and /reload leave a broadcast being composed as it is
#   (broadcast drops its draft on any command it does not answer itself), and /cancel must end an import
#   rather than say no broadcast is being composed. The time of a "send later" is broadcast's own: its states keep it
#   apart from a new draft, whatever the order.
# - schedule before broadcast too, for the same reason; and /cancel while it asks for a send's new time is its own.
# - approval and stats after broadcast: /approval, /stats and /export drop a broadcast being composed, as the
#   commands after it do; approval's taps are its own.
# - history (/broadcasts, /drafts, /audit, /coordinators) before broadcast, as updates: those commands leave a
#   broadcast being composed as it is; while an owner chooses whom to add, the person they share is history's.
# - start, cases and act: the activists' (coordinators are activists too).
_COORDINATORS = (
    updates.router,
    history.router,
    imports.router,
    schedule.router,
    broadcast.router,
    approval.router,
    stats.router,
)
_ACTIVISTS = (start.router, cases.router, act.router)
_ROUTERS = (account.router, *_COORDINATORS, *_ACTIVISTS)

# Coordinators are the users in ADMIN_IDS: for anyone else their routers do not exist, so a command falls
# through to the unknown-command reply and a forged tap to the stale-button toast.
for _router in _COORDINATORS:
    _router.message.filter(IsCoordinator())
    _router.callback_query.filter(IsCoordinator())
# The bot talks to activists one to one; in groups it keeps quiet rather than leak a letter, and a tap
# on its message there (forwarded, or from an old group) finds no handler but the catch-all's toast.
for _router in (*_ROUTERS, fallback.router):
    _router.message.filter(PrivateChat())
for _router in _ROUTERS:
    # Cheap: a tap skips a router whose handlers take none of its verb, instead of trying each.
    if (_verbs := tap_verbs(_router)) is not None:
        _router.callback_query.filter(TapVerbs(_verbs))
    _router.callback_query.filter(PrivateChat())


def get_routers(settings: Settings) -> list[Router]:
    """Every router of the bot in the order above; the catch-all last, so it only sees what nothing else took."""
    return [*_ROUTERS, fallback.router]


def detach_routers(routers: list[Router]) -> None:
    """Free the module-level routers for another Dispatcher (tests build one per test).

    aiogram has no public way to detach a router, and refuses to attach one twice.
    """
    for router in routers:
        router._parent_router = None
