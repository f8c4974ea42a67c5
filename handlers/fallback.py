"""The catch-all: anything no other router took gets a short, helpful reply."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.render import Renderer
from handlers.ui import toast

router = Router(name="fallback")


@router.message(F.text.startswith("/"))
async def unknown_command_handler(message: Message, lang: str, renderer: Renderer) -> None:
    """A command the bot does not know (coordinator commands included, for everyone else)."""
    await message.answer(renderer.message("unknown_command", lang))


@router.message(F.text)
async def free_text_handler(message: Message, lang: str, renderer: Renderer) -> None:
    """Free text: the bot is driven by buttons, so point to them."""
    await message.answer(renderer.message("free_text", lang))


@router.message()
async def media_handler(message: Message, lang: str, renderer: Renderer) -> None:
    """Stickers, photos, voice and the rest."""
    await message.answer(renderer.message("media", lang))


@router.callback_query()
async def stale_callback_handler(query: CallbackQuery, lang: str, renderer: Renderer) -> None:
    """A button from an old version, or forged data: answer politely, change nothing."""
    await toast(query, renderer.toast("stale_button", lang))
