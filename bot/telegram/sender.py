"""The one place where aiogram's answers become delivery outcomes."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.delivery import Outcome, OutcomeKind, Payload

logger = logging.getLogger(__name__)

# Telegram under load answers a send in seconds, sometimes tens of seconds: a send is given this long
# before it counts as late (the worker's lease, bot.delivery.worker.LEASE_SECONDS, is longer still).
SEND_TIMEOUT = 25.0


def _markup(payload: Payload) -> InlineKeyboardMarkup | None:
    if not payload.buttons:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(**b) for b in row] for row in payload.buttons])


def _maybe_sent(exc: BaseException) -> bool:
    """Whether a failed request may have reached Telegram all the same: it timed out or the connection
    dropped after it went out. One that never connected (refused, connect timeout) did not."""
    cause = exc.__cause__ if isinstance(exc, TelegramNetworkError) else exc
    if isinstance(cause, (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError)):
        return False
    return isinstance(cause, (asyncio.TimeoutError, aiohttp.ServerDisconnectedError))


def _stars_short(message: str) -> bool:
    """Whether Telegram refused a paid send because the bot's Stars cannot pay for it. The Bot API does not
    document this answer: Telegram's own API calls it BALANCE_TOO_LOW, and any wording about Stars that
    are short is taken for it too."""
    text = message.lower()
    return "balance_too_low" in text or ("star" in text and ("balance" in text or "not enough" in text))


class TelegramSender:
    """Sends one broadcast message; never raises. Give it a Bot without retrying middleware:
    the engine must see every 429 to pause all processes. The timeout fits a slow Telegram (tens of
    seconds) and stays below the worker's lease, so a slow send is never handed to a second worker
    while it may still arrive; one that timed out is sent again and counted as possibly duplicated.

    `paid`: every send carries allow_paid_broadcast (0.1 Star each), which the configured rate needs
    above Telegram's free one (bot.delivery.paid); a send the balance cannot pay for is `no_stars`."""

    def __init__(self, bot: Bot, timeout: float = SEND_TIMEOUT, *, paid: bool = False) -> None:
        self.bot = bot
        self.timeout = timeout
        self.paid = paid
        self._markups: dict[int, tuple[Payload, InlineKeyboardMarkup | None]] = {}

    def _markup(self, payload: Payload) -> InlineKeyboardMarkup | None:
        # The worker hands over the same Payload objects for a whole broadcast: build each keyboard once.
        # (Keyed by identity, holding the payload so the id cannot be reused meanwhile.)
        cached = self._markups.get(id(payload))
        if cached is None or cached[0] is not payload:
            if len(self._markups) > 64:
                self._markups.clear()
            cached = self._markups[id(payload)] = (payload, _markup(payload))
        return cached[1]

    async def __call__(self, chat_id: int, payload: Payload) -> Outcome:
        try:
            if payload.photo:
                await self.bot.send_photo(
                    chat_id,
                    payload.photo,
                    caption=payload.text,
                    reply_markup=self._markup(payload),
                    allow_paid_broadcast=self.paid or None,
                    disable_notification=payload.silent or None,  # their night: no sound
                    request_timeout=int(self.timeout),
                )
            else:
                await self.bot.send_message(
                    chat_id,
                    payload.text,
                    reply_markup=self._markup(payload),
                    allow_paid_broadcast=self.paid or None,
                    disable_notification=payload.silent or None,  # their night: no sound
                    request_timeout=int(self.timeout),
                )
            return Outcome.ok()
        except TelegramRetryAfter as exc:
            return Outcome(OutcomeKind.retry_after, retry_after=float(exc.retry_after))
        except TelegramMigrateToChat as exc:
            return Outcome(OutcomeKind.migrated, new_chat_id=exc.migrate_to_chat_id)
        except TelegramForbiddenError:
            return Outcome(OutcomeKind.blocked)
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                return Outcome(OutcomeKind.not_found)
            if self.paid and _stars_short(exc.message):
                return Outcome(OutcomeKind.no_stars)
            logger.warning("Telegram refused a broadcast message: %r", exc.message)
            return Outcome(OutcomeKind.rejected)
        except (TimeoutError, TelegramNetworkError) as exc:
            late = _maybe_sent(exc)
            logger.info("Transient delivery failure: %r%s", type(exc).__name__, " (answer too late)" if late else "")
            return Outcome(OutcomeKind.transient, maybe_sent=late)
        except TelegramServerError as exc:
            logger.info("Transient delivery failure: %r", type(exc).__name__)
            return Outcome(OutcomeKind.transient)
        except TelegramAPIError as exc:
            logger.warning("Telegram refused a broadcast message: %r", exc.message)
            return Outcome(OutcomeKind.rejected)
        except Exception as exc:
            # Anything else (a malformed payload, a decoding error) is counted against the attempts,
            # so the broadcast still ends instead of leasing this chat forever.
            logger.warning("Unexpected delivery failure: %r", exc)
            return Outcome(OutcomeKind.transient)
