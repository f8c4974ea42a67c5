"""Discreet mode on the wire: every message to a discreet chat, whoever sends it, is disguised here. Over aiogram.

One request middleware on both bots (replies and broadcasts), so no send path can forget it: the
neutral first line, `protect_content`, and the deletion planned when the person asked for one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import EditMessageCaption, EditMessageText, SendDocument, SendMessage, SendPhoto, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import Message, MessageEntity

from bot.ground.discreet import DiscreetChats, Discretion
from bot.ground.redis_gate import log_failure
from bot.render.markup import visible_length

logger = logging.getLogger(__name__)

# method -> (its text field, the field of that text's entities, Telegram's limit for it)
TEXTS: dict[type, tuple[str, str, int]] = {
    SendMessage: ("text", "entities", 4096),
    EditMessageText: ("text", "entities", 4096),
    SendPhoto: ("caption", "caption_entities", 1024),
    SendDocument: ("caption", "caption_entities", 1024),
    EditMessageCaption: ("caption", "caption_entities", 1024),
}
SENDS = (SendMessage, SendPhoto, SendDocument)  # new messages: protected, and deleted later if asked


class DiscreetRequests(BaseRequestMiddleware):
    def __init__(self, chats: DiscreetChats, neutral_line: Callable[[str], str]) -> None:
        self.chats = chats
        self.neutral_line = neutral_line

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Any:
        chat_id = getattr(method, "chat_id", None)
        found = self.chats.mode(chat_id) if isinstance(chat_id, int) and type(method) in TEXTS else None
        if found is None:
            return await make_request(bot, method)
        method = self._disguised(method, found)
        read_back = getattr(bot.session, "read_back", None)  # the broadcast session reads no answers otherwise
        if read_back is not None:
            read_back.add(id(method))
        try:
            result = await make_request(bot, method)  # aiogram hands middlewares the result, not the Response
        finally:
            if read_back is not None:
                read_back.discard(id(method))
        if isinstance(method, SENDS) and isinstance(result, Message):
            try:
                await self.chats.sent(chat_id, result.message_id)
            except Exception as exc:  # the message went out; only its deletion is not planned
                logger.warning("Could not plan the deletion of a discreet message: %r", type(exc).__name__)
        return result

    def _disguised(self, method: TelegramMethod[Any], found: Discretion) -> TelegramMethod[Any]:
        field, entities_field, limit = TEXTS[type(method)]
        changes: dict[str, Any] = {}
        if isinstance(method, SENDS):
            changes["protect_content"] = True
        text = getattr(method, field)
        if isinstance(text, str) and text:
            line = self.neutral_line(found.lang)
            room = _utf16(line) + 2  # Telegram counts UTF-16 units: "📩" is two
            entities = getattr(method, entities_field)
            # Never push a message over Telegram's limit: then it goes without the line (screens leave
            # room for it, bot.render.markup.NEUTRAL_ROOM; a coordinator's long text may not).
            if (_utf16(text) if entities else visible_length(text)) + room > limit:
                logger.warning("A message to a discreet chat was too long for its neutral first line")
            elif entities:  # plain text with entities: shift them past the line
                changes[field] = f"{line}\n\n{text}"
                changes[entities_field] = [
                    MessageEntity(**{**e.model_dump(), "offset": e.offset + room}) for e in entities
                ]
            else:
                changes[field] = f"<i>{escape(line, quote=False)}</i>\n\n{text}"
        return method.model_copy(update=changes) if changes else method


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


async def sweep(chats: DiscreetChats, bot: Bot, stop: asyncio.Event, every: float = 5.0) -> None:
    """Delete the messages whose time has come, and keep the local copy of the modes fresh."""
    while not stop.is_set():
        try:
            await chats.refresh()
            due = await chats.due()
            for i, (chat_id, message_id) in enumerate(due):
                try:
                    await bot.delete_message(chat_id, message_id)
                except TelegramRetryAfter as exc:  # Telegram asks to wait: these and the rest, later
                    for chat, message in due[i:]:
                        await chats.retry(chat, message, float(exc.retry_after))
                    break
                except (TelegramNetworkError, TelegramServerError):
                    await chats.retry(chat_id, message_id, 30.0)
                except TelegramAPIError as exc:  # deleted by hand, or past Telegram's 48 hours
                    logger.info("A discreet message could not be deleted: %s", type(exc).__name__)
        except Exception as exc:
            log_failure(logger, exc, "Discreet sweep failed; retrying")
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass
