"""aiogram routers, assembled in the order they are tried."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType

from bot.settings import Settings
from handlers import account, act, cases, fallback, start

# account first: while it waits for a signature, any other command or tap must cancel that prompt.
_ACTIVIST = (account.router, start.router, cases.router, act.router)

# The bot talks to activists one to one; in groups it keeps quiet rather than leak a letter.
for _router in (*_ACTIVIST, fallback.router):
    _router.message.filter(F.chat.type == ChatType.PRIVATE)


def get_routers(settings: Settings) -> list[Router]:
    """Every router of the bot, the catch-all last so it only sees what nothing else took."""
    return [*_ACTIVIST, fallback.router]


def detach_routers(routers: list[Router]) -> None:
    """Free the module-level routers for another Dispatcher (tests build one per test).

    aiogram has no public way to detach a router, and refuses to attach one twice.
    """
    for router in routers:
        router._parent_router = None
