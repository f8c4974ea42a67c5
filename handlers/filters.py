"""Callback data parsed once, strictly: a forged payload simply matches no handler; who is a coordinator."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.callbacks import Callback, decode
from bot.settings import Settings


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


class PrivateChat(Filter):
    """A message in, or a tap on a message in, a private chat. A tap on the bot's message in a group (or on an
    inline message) is not one: the letter would be shown to the group.

    A coroutine on purpose: aiogram runs plain callables, magic filters included, in a thread.
    """

    async def __call__(self, event: Message | CallbackQuery) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        return message is not None and message.chat.type == ChatType.PRIVATE


class IsCoordinator(Filter):
    """A coordinator of the national section: a user listed in ADMIN_IDS.

    Guards the coordinator router as a whole: for anyone else its handlers do not exist, so a
    command falls through to the unknown-command reply and a forged tap to the stale-button toast.
    """

    async def __call__(self, event: TelegramObject, settings: Settings, event_from_user: User | None = None) -> bool:
        return event_from_user is not None and event_from_user.id in settings.admin_ids
