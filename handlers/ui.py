"""Turning rendered screens into Telegram messages: edit in place where we can."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.render import Document, Screen, Toast
from bot.telegram.keyboards import markup

logger = logging.getLogger(__name__)


async def send(message: Message, screen: Screen) -> Message:
    """Answer with a new message (and the document, when the screen carries one)."""
    sent = await message.answer(screen.text, reply_markup=markup(screen))
    if screen.document:
        await _send_document(message.chat.id, message.bot, screen.document)
    return sent


async def show(query: CallbackQuery, screen: Screen) -> None:
    """Edit the tapped message into the new screen; fall back to a new message when it cannot be edited."""
    message = query.message
    if not isinstance(message, Message):
        # Too old for Telegram to show us: say it anew in the chat.
        await query.bot.send_message(query.from_user.id, screen.text, reply_markup=markup(screen))
        return
    try:
        await message.edit_text(screen.text, reply_markup=markup(screen))
    except TelegramBadRequest as exc:
        if "not modified" in exc.message:
            pass  # a double tap: the screen is already what was asked for
        elif "can't be edited" in exc.message or "not found" in exc.message:
            await message.answer(screen.text, reply_markup=markup(screen))
        else:
            raise
    if screen.document:
        await _send_document(message.chat.id, message.bot, screen.document)


async def send_document(query: CallbackQuery, document: Document) -> None:
    """A file into the chat the tap came from."""
    await _send_document(query.from_user.id, query.bot, document)


async def toast(query: CallbackQuery, answer: Toast | None = None) -> None:
    """Answer the tap. Handlers answer after their screen is shown, so the answer marks the end of the work."""
    try:
        await query.answer(answer.text if answer else None, show_alert=bool(answer and answer.alert))
    except TelegramBadRequest as exc:
        # Telegram takes an answer for 15 s or so: a tap handled after a restart or an outage got its
        # screen, and its spinner has long stopped. Nothing is lost by not answering it.
        if "query is too old" not in exc.message:
            raise
        logger.info("A tap was handled too late to be answered")


async def delete_quietly(query: CallbackQuery, message_ids: list[int]) -> None:
    """Delete the bot's messages in the tapping user's chat, a hundred a call; gone already or too old is fine."""
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    await delete_in_chat(query.bot, query.from_user.id, message_ids)


async def delete_in_chat(bot: Bot, chat_id: int, message_ids: list[int]) -> None:
    """Delete the bot's messages in a chat, a hundred a call; gone already or too old is fine."""
    for start in range(0, len(message_ids), 100):
        try:
            await bot.delete_messages(chat_id, message_ids[start : start + 100])
        except TelegramBadRequest as exc:
            logger.info("Messages could not be deleted: %s", type(exc).__name__)


async def _send_document(chat_id: int, bot: Bot | None, doc: Document) -> None:
    assert bot is not None, "aiogram binds the bot to every event it delivers"
    file = BufferedInputFile(doc.content, filename=doc.filename)
    await bot.send_document(chat_id, file, caption=doc.caption or None)
