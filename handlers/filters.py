"""Callback data parsed once, strictly: a forged payload simply matches no handler; who is a coordinator."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatType
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.ground.audit import AuditLog
from bot.ground.roles import Roles
from bot.render.callbacks import Callback, decode


class Cb(Filter):
    """Callback data of one of `verbs`; with `first`, only when its first argument is one of those."""

    def __init__(self, *verbs: str, first: tuple[str, ...] = ()) -> None:
        self.verbs = frozenset(verbs)
        self.first = frozenset(first)

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Callback]:
        parsed = decode(query.data)
        if parsed is None or parsed.verb not in self.verbs:
            return False
        if self.first and (not parsed.args or parsed.args[0] not in self.first):
            return False
        return {"cb": parsed}


class TapVerbs(Filter):
    """A router's root filter: only taps of the verbs its handlers take reach their filters (handlers/__init__.py)."""

    def __init__(self, verbs: frozenset[str]) -> None:
        self.verbs = verbs

    async def __call__(self, query: CallbackQuery) -> bool:
        parsed = decode(query.data)
        return parsed is not None and parsed.verb in self.verbs


def tap_verbs(router: Router) -> frozenset[str] | None:
    """The verbs of the taps a router's handlers take; None when one of them takes taps of any verb."""
    verbs: set[str] = set()
    for handler in router.callback_query.handlers:
        found = [f.callback for f in handler.filters or () if isinstance(f.callback, Cb)]
        if not found:
            return None
        verbs.update(*(cb.verbs for cb in found))
    return frozenset(verbs)


class PrivateChat(Filter):
    """A message in, or a tap on a message in, a private chat. A tap on the bot's message in a group (or on an
    inline message) is not one: the letter would be shown to the group.

    A coroutine on purpose: aiogram runs plain callables, magic filters included, in a thread.
    """

    async def __call__(self, event: Message | CallbackQuery) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        return message is not None and message.chat.type == ChatType.PRIVATE


class IsCoordinator(Filter):
    """A coordinator of the national section: an owner (ADMIN_IDS) or someone an owner added (bot.ground.roles).

    Scopes the coordinators' routers as a whole (handlers/__init__.py): for anyone else their handlers do
    not exist, so a command falls through to the unknown-command reply and a forged tap to the stale-button toast.
    Their name, as Telegram shows it, is kept for the audit log (written only when it changed).
    """

    async def __call__(
        self, event: TelegramObject, roles: Roles, audit: AuditLog, event_from_user: User | None = None
    ) -> bool:
        if event_from_user is None or not await roles.is_coordinator(event_from_user.id):
            return False
        await audit.remember(event_from_user.id, event_from_user.full_name)
        return True


class IsOwner(Filter):
    """An owner: a user listed in ADMIN_IDS, who adds and removes coordinators."""

    async def __call__(self, event: TelegramObject, roles: Roles, event_from_user: User | None = None) -> bool:
        return event_from_user is not None and roles.is_owner(event_from_user.id)
