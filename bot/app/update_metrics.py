"""Feeds bot.app.observability.Metrics from the Dispatcher: every update counted by type and timed."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError

from bot.app.observability import Metrics

logger = logging.getLogger(__name__)


def update_type(event: TelegramObject) -> str:
    """The update's kind (message, callback_query...); "unknown" for kinds this aiogram cannot read."""
    if not isinstance(event, Update):
        return type(event).__name__.lower()
    try:
        return event.event_type
    except UpdateTypeLookupError:
        return "unknown"  # skip_unreadable_updates drops these right after: still worth seeing they came


class UpdateMetrics(BaseMiddleware):
    """Outer middleware on dispatcher.update, registered before ours: times the others and the handlers.

    aiogram's own outer middlewares (errors, user context, FSM state read) run outside it. A handler
    that raises passes through here before aiogram's ErrorsMiddleware takes it, so it is counted.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        kind = update_type(event)
        started = time.perf_counter()
        try:
            result = await handler(event, data)
        except Exception:
            self.metrics.observe_update(kind, time.perf_counter() - started, failed=True)
            raise
        self.metrics.observe_update(kind, time.perf_counter() - started)
        return result
