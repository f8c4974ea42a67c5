"""The last line of defence: log with context, tell the user something friendly."""

from __future__ import annotations

import logging
from contextlib import suppress
from typing import Any

from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent
from pydantic import ValidationError

from bot.ground.logs import scrubbed_traceback
from bot.ground.redis_gate import may_retry, trouble
from bot.render import Renderer

logger = logging.getLogger(__name__)


async def error_handler(
    event: ErrorEvent, renderer: Renderer, lang: str | None = None, redeliverable: bool = False
) -> Any:
    """Registered on the Dispatcher so it sees failures from every router."""
    update = event.update
    if redeliverable and trouble(event.exception) is not None and may_retry():
        # The update is handled again once Redis is back (bot.app.intake.WaitForRedis; in webhook mode,
        # Telegram delivers it again): telling the user of an error now would be wrong twice over.
        return UNHANDLED
    if isinstance(event.exception, ValidationError):
        # pydantic quotes the offending input, which may be what the user typed: only where and what.
        logger.error(
            "Update %r (%r) failed: %s at %r",
            update.update_id,
            update.event_type,
            type(event.exception).__name__,
            [(e["loc"], e["type"]) for e in event.exception.errors()[:3]],
        )
    else:
        # The traceback as text, with anything like a chat id blanked (aiogram puts them into error texts).
        trace = scrubbed_traceback(event.exception)
        logger.error("Update %r (%r) failed: %s", update.update_id, update.event_type, trace)
    lang = lang or renderer.default_language
    with suppress(TelegramAPIError):
        if update.callback_query:
            try:
                await update.callback_query.answer(renderer.toast("error", lang).text, show_alert=True)
            except TelegramAPIError:
                # Answered already ("Queued", before the work that failed), or too late: said in the chat.
                assert update.callback_query.bot is not None, "aiogram binds the bot to every event it delivers"
                await update.callback_query.bot.send_message(
                    update.callback_query.from_user.id, renderer.message("error", lang)
                )
        elif update.message:
            await update.message.answer(renderer.message("error", lang))
    return True
