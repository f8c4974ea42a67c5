"""The last line of defence: log with context, tell the user something friendly."""

from __future__ import annotations

import logging
from contextlib import suppress

from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.render import Renderer

logger = logging.getLogger(__name__)


async def error_handler(event: ErrorEvent, renderer: Renderer, lang: str | None = None) -> bool:
    """Registered on the Dispatcher so it sees failures from every router."""
    update = event.update
    logger.error(
        "Update %r (%r) failed: %r",
        update.update_id,
        update.event_type,
        event.exception,
        exc_info=event.exception,
    )
    lang = lang or renderer.default_language
    with suppress(TelegramAPIError):
        if update.callback_query:
            await update.callback_query.answer(renderer.toast("error", lang).text, show_alert=True)
        elif update.message:
            await update.message.answer(renderer.message("error", lang))
    return True
