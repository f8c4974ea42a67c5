"""Paid broadcasts: above Telegram's free rate each message costs Stars. The figures live here, once.

Telegram lets a bot send about 30 messages a second for free; past that, up to 1,000 a second, every
message must carry `allow_paid_broadcast` and costs 0.1 Telegram Star from the bot's balance. Amounts
are kept in nanostars (10^-9 Star, as the Bot API's StarAmount gives them), so sums do not drift.
No aiogram here: bot/telegram reads the balance and passes the flag.
"""

from __future__ import annotations

from dataclasses import dataclass

FREE_RATE = 30.0  # messages a second Telegram allows a bot without paying
NANOSTARS = 1_000_000_000  # in one Star
PRICE = NANOSTARS // 10  # 0.1 Star, in nanostars, per message sent with allow_paid_broadcast
NO_STARS = "stars"  # why a broadcast paused: the balance could not pay for its next message (Progress.paused_for)


def is_paid(rate: float) -> bool:
    """Whether sending at `rate` messages a second needs paid broadcasts."""
    return rate > FREE_RATE


def nanostars(amount: int, nanostar_amount: int | None = None) -> int:
    """A StarAmount (whole Stars and the rest in nanostars) as nanostars."""
    return amount * NANOSTARS + (nanostar_amount or 0)


def stars(value: int) -> float:
    """Nanostars as Stars, for display."""
    return value / NANOSTARS


@dataclass(frozen=True)
class Cost:
    """What a paid broadcast to `messages` recipients costs, against the balance read (None: unreadable)."""

    messages: int
    balance: int | None  # nanostars

    @property
    def price(self) -> int:
        return self.messages * PRICE

    @property
    def short(self) -> bool:
        """The balance was read and cannot pay for every message."""
        return self.balance is not None and self.balance < self.price

    @property
    def missing(self) -> int:
        return max(self.price - (self.balance or 0), 0) if self.balance is not None else 0
