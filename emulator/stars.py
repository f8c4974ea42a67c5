"""The bot's Telegram Star balance, which pays for sends made with allow_paid_broadcast.

Kept in nanostars (10^-9 Star, the unit of StarAmount.nanostar_amount): a million debits of 0.1 Star
add up exactly, where floats would drift.
"""

from __future__ import annotations

from decimal import Decimal

from .errors import ApiError, bad_request

NANOSTARS = 1_000_000_000  # in one Star
# Telegram charges 0.1 Star for each message sent with allow_paid_broadcast (Bot API, sendMessage).
PAID_SEND_PRICE = NANOSTARS // 10
# Enough for the benches: a million paid sends cost 100,000 Stars. Tests of a short balance set their own.
DEFAULT_STAR_BALANCE = 1_000_000


def to_nanostars(stars: float | int | str | Decimal) -> int:
    return int((Decimal(str(stars)) * NANOSTARS).to_integral_value())


def star_amount(nanostars: int) -> dict[str, int]:
    """A StarAmount: whole Stars rounded toward 0, and the rest in nanostars (omitted when 0, as it is optional)."""
    whole = abs(nanostars) // NANOSTARS * (1 if nanostars >= 0 else -1)
    amount: dict[str, int] = {"amount": whole}
    if nanostars - whole * NANOSTARS:
        amount["nanostar_amount"] = nanostars - whole * NANOSTARS
    return amount


def balance_too_low() -> ApiError:
    # A guess: the Bot API does not document the answer to a paid send the balance cannot pay for. This is
    # the error Telegram's own API (MTProto) gives when Stars are short for a transaction (BALANCE_TOO_LOW,
    # 400), worded the way the Bot API server passes such errors on ("Bad Request: MESSAGE_ID_INVALID").
    return bad_request("BALANCE_TOO_LOW")
