"""aiogram client sessions: one hardened against updates it cannot read, one lean for broadcasts."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import ClientDecodeError, TelegramRetryAfter
from aiogram.methods import EditMessageReplyMarkup, EditMessageText, GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import InputFile, Update
from aiohttp import JsonPayload
from pydantic import ValidationError

logger = logging.getLogger(__name__)


# Edits whose answer nobody reads: the bot never uses the edited message Telegram sends back, yet
# validating it (keyboard and all) was an eighth of a tap's CPU. Their success is read as True,
# which is what Telegram itself answers for an inline message's edit, so the declared type holds.
UNREAD_ANSWERS = (EditMessageText, EditMessageReplyMarkup)


class JsonRequestSession(AiohttpSession):
    """Requests without files go as one JSON body, which the Bot API accepts for every method.

    aiogram sends everything as a form: each nested object JSON-encoded on its own, then the whole
    form percent-encoded byte by byte in pure Python. A letter in Cyrillic is 6 KB of UTF-8 and every
    byte of it was escaped: a tenth of the CPU of a tap that shows a letter.
    """

    def build_form_data(self, bot: Bot, method: TelegramMethod[TelegramType]) -> Any:
        files: dict[str, InputFile] = {}
        body = {}
        for key, value in method.model_dump(warnings=False).items():
            value = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            # As aiogram's form: only what is unset or an empty string is left out (False, 0 and [] count).
            if value is not None and value != "":
                body[key] = value
        if files:
            return super().build_form_data(bot, method)
        return JsonPayload(body, dumps=self.json_dumps)


class LenientUpdatesSession(JsonRequestSession):
    """One malformed update must not wedge polling; edits are not read back.

    aiogram validates a getUpdates batch as a whole, so one bad update fails the batch, the
    offset never advances, and the same batch comes back forever. Here each unreadable update
    is replaced by an empty one with the same update_id: the offset moves past it, and the
    dispatcher skips it (see handlers.middlewares.skip_unreadable_updates).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # pydantic only weakly caches parametrised generics, so aiogram rebuilt Response[...] after
        # every garbage collection: a sixth of a tap's CPU. Strong references keep them built.
        self._response_types: dict[Any, Any] = {}

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        if isinstance(method, UNREAD_ANSWERS) and succeeded(self, status_code, content):
            return Response[Any].model_construct(ok=True, result=True)
        returning = method.__returning__
        if returning not in self._response_types:
            self._response_types[returning] = Response[returning]  # type: ignore[valid-type]
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError:
            if not isinstance(method, GetUpdates):
                raise
            # Only a batch that failed is taken apart, update by update.
            return super().check_response(bot, method, status_code, self._sanitize(bot, content))

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


class BroadcastSession(JsonRequestSession):
    """The broadcast sender's session: a message that went out is not read back.

    The sender only needs to know that a message arrived, yet aiogram turns every answer into a
    validated Message: at 1,000 messages a second, a sixth of a core. A successful answer here
    carries no result; errors are read as aiogram always reads them. Requests whose id is in
    `read_back` are read as usual (a discreet chat's message, whose id is kept to delete it later).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_back: set[int] = set()

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        if id(method) not in self.read_back and succeeded(self, status_code, content):
            return Response[Any].model_construct(ok=True, result=None)
        return super().check_response(bot, method, status_code, content)


def succeeded(session: AiohttpSession, status_code: int, content: str) -> bool:
    """A successful answer, told without reading its result; errors go on to aiogram's own reading."""
    if not HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
        return False
    try:
        return session.json_loads(content).get("ok") is True
    except (ValueError, AttributeError):
        return False


class WaitOnFloodLimit(BaseRequestMiddleware):
    """A reply that hits Telegram's flood limit waits as told and goes again, instead of being lost.

    Only short waits: a user tapping a button will not wait a minute, and the broadcast engine
    paces itself rather than relying on this.
    """

    def __init__(self, max_wait: float = 10.0, attempts: int = 3) -> None:
        self.max_wait = max_wait
        self.attempts = attempts

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_wait:
                    raise
                logger.warning("Flood limit on %r: retrying in %rs", type(method).__name__, exc.retry_after)
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")
