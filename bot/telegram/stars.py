"""The bot's Telegram Star balance (getMyStarBalance), for the cost of a paid broadcast before it goes."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.delivery.paid import Cost, is_paid, nanostars

logger = logging.getLogger(__name__)

# A preview waits this long for the balance, then says it could not be read.
BALANCE_TIMEOUT = 10


async def star_balance(bot: Bot) -> int | None:
    """The balance in nanostars; None when Telegram could not be asked or would not say."""
    try:
        amount = await bot.get_my_star_balance(request_timeout=BALANCE_TIMEOUT)
    except (TelegramAPIError, TimeoutError) as exc:
        logger.warning("Could not read the bot's Star balance: %s", exc)
        return None
    return nanostars(amount.amount, amount.nanostar_amount)


async def broadcast_cost(bot: Bot, rate: float, messages: int) -> Cost | None:
    """What a broadcast to `messages` recipients costs at `rate`, with the balance; None at the free rate
    (and then Telegram is not asked)."""
    if not is_paid(rate):
        return None
    return Cost(messages, await star_balance(bot) if messages else None)
