"""Turning rendered screens into Telegram messages: edit in place where we can."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.render import Button, Document, Screen, Toast

logger = logging.getLogger(__name__)


def _button(spec: Button) -> InlineKeyboardButton:
    if spec.url:
        return InlineKeyboardButton(text=spec.text, url=spec.url)
    if spec.copy_text:
        return InlineKeyboardButton(text=spec.text, copy_text=CopyTextButton(text=spec.copy_text))
    return InlineKeyboardButton(text=spec.text, callback_data=spec.callback)


# Screens shared by every user of a case come from the renderer's cache as the same object:
# building their keyboard once saves validating a dozen pydantic models per tap.
_MARKUPS: dict[int, tuple[Screen, InlineKeyboardMarkup]] = {}
_MARKUPS_SIZE = 512


def markup(screen: Screen) -> InlineKeyboardMarkup | None:
    if not screen.buttons:
        return None
    hit = _MARKUPS.get(id(screen))
    if hit is not None and hit[0] is screen:
        return hit[1]
    built = InlineKeyboardMarkup(inline_keyboard=[[_button(b) for b in row] for row in screen.buttons])
    if len(_MARKUPS) >= _MARKUPS_SIZE:
        _MARKUPS.clear()
    _MARKUPS[id(screen)] = (screen, built)
    return built


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
    await query.answer(answer.text if answer else None, show_alert=bool(answer and answer.alert))


async def _send_document(chat_id: int, bot: Bot | None, doc: Document) -> None:
    assert bot is not None, "aiogram binds the bot to every event it delivers"
    file = BufferedInputFile(doc.content, filename=doc.filename)
    await bot.send_document(chat_id, file, caption=doc.caption or None)
