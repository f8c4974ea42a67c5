"""The aiogram client session, hardened against updates it cannot read."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Update
from pydantic import ValidationError

logger = logging.getLogger(__name__)


class LenientUpdatesSession(AiohttpSession):
    """One malformed update must not wedge polling.

    aiogram validates a getUpdates batch as a whole, so one bad update fails the batch, the
    offset never advances, and the same batch comes back forever. Here each unreadable update
    is replaced by an empty one with the same update_id: the offset moves past it, and the
    dispatcher skips it (see handlers.middlewares.skip_unreadable_updates).
    """

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates):
            content = self._sanitize(bot, content)
        return super().check_response(bot, method, status_code, content)

    def _sanitize(self, bot: Bot, content: str) -> str:
        try:
            data: Any = self.json_loads(content)
        except ValueError:
            return content  # not JSON at all: let aiogram report it as usual
        items = data.get("result") if isinstance(data, dict) else None
        if not isinstance(items, list):
            return content
        clean = []
        for item in items:
            try:
                Update.model_validate(item, context={"bot": bot})
                clean.append(item)
            except ValidationError as exc:
                update_id = item.get("update_id") if isinstance(item, dict) else None
                if not isinstance(update_id, int):
                    logger.warning("Dropped an update without a usable update_id")
                    continue
                # Only the id and the failing fields: an update's content may be personal.
                logger.warning("Skipped unreadable update %r: %r", update_id, [e["loc"] for e in exc.errors()[:3]])
                clean.append({"update_id": update_id})
        data["result"] = clean
        return self.json_dumps(data)
