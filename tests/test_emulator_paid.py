"""The emulator's paid broadcasts: allow_paid_broadcast, its own cap, 0.1 Star a send, getMyStarBalance.

The limiter tests move a clock by hand (no jitter decides them); the Star tests go through HTTP with
the real aiogram client.
"""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter

from emulator import BotAPIEmulator, FloodLimits
from emulator.limits import FloodControl
from tests import test_emulator
from tests.test_emulator_strict import Clock

TOKEN = "123456:TEST"
bot = test_emulator.bot  # the aiogram client fixture; it talks to this module's `emu`


def sends(flood: FloodControl, clock: Clock, count: int, *, paid: bool, start: float = 1000.0) -> list[int | None]:
    """`count` sends to different chats, all in the same instant."""
    clock.t = start
    return [flood.acquire(f"{'p' if paid else 'f'}{i}", paid=paid) for i in range(count)]


@pytest.mark.parametrize("mode", ["bucket", "window"])
def test_paid_sends_have_a_cap_of_their_own(mode):
    clock = Clock()
    flood = FloodControl(FloodLimits(mode=mode, penalty=False, paid_per_second=100), clock=clock)
    paid = sends(flood, clock, 101, paid=True)
    assert paid[:100] == [None] * 100 and paid[100] is not None  # the paid cap, not the free 30
    free = sends(flood, clock, 31, paid=False)
    assert free[:30] == [None] * 30 and free[30] is not None  # the free cap is untouched by paid sends
    stats = flood.stats.as_dict()
    assert (stats["accepted"], stats["refused_429"]) == (130, 2)  # every send counted alike


@pytest.mark.parametrize("mode", ["bucket", "window"])
def test_without_a_paid_cap_the_flag_changes_nothing(mode):
    clock = Clock()
    flood = FloodControl(FloodLimits(mode=mode, penalty=False), clock=clock)
    results = sends(flood, clock, 31, paid=True)
    assert results[:30] == [None] * 30 and results[30] is not None


def test_paid_cap_must_be_positive():
    with pytest.raises(ValueError, match="paid_per_second"):
        FloodLimits(paid_per_second=0)


@pytest.fixture
async def emu():
    async with BotAPIEmulator(token=TOKEN, limits=FloodLimits(enabled=False), star_balance=0.25) as emulator:
        for user in (1, 2, 3, 4):
            emulator.add_user(user)
        yield emulator


async def test_each_paid_send_takes_a_tenth_of_a_star_until_the_balance_is_short(emu, bot):
    balance = await bot.get_my_star_balance()
    assert (balance.amount, balance.nanostar_amount) == (0, 250_000_000)
    await bot.send_message(1, "one", allow_paid_broadcast=True)
    await bot.send_photo(2, emu.files.add("photo", b"x").file_id, allow_paid_broadcast=True)
    with pytest.raises(TelegramBadRequest, match="BALANCE_TOO_LOW"):
        await bot.send_message(3, "three", allow_paid_broadcast=True)
    assert emu.last_message(3) is None
    await bot.send_message(3, "free", allow_paid_broadcast=False)  # a free send needs no Stars
    balance = await bot.get_my_star_balance()
    assert (balance.amount, balance.nanostar_amount) == (0, 50_000_000)
    paid = [c for c in emu.calls if c.params.get("allow_paid_broadcast") in (True, "true")]
    assert len(paid) == 3


async def test_stars_are_counted_without_float_drift(emu, bot):
    # In floats 0.3 - 0.1 - 0.1 is a hair under 0.1, and the third send would be refused.
    emu.star_balance = 0.3
    for user in (1, 2, 3):
        await bot.send_message(user, "paid", allow_paid_broadcast=True)
    assert emu.nanostars == 0
    with pytest.raises(TelegramBadRequest, match="BALANCE_TOO_LOW"):
        await bot.send_message(4, "paid", allow_paid_broadcast=True)
    assert (await bot.get_my_star_balance()).amount == 0


async def test_a_paid_send_refused_for_the_flood_limit_costs_nothing():
    limits = FloodLimits(mode="window", paid_per_second=1, penalty=False)
    async with BotAPIEmulator(token=TOKEN, limits=limits, star_balance=10) as emulator:
        emulator.add_user(1)
        emulator.add_user(2)
        client = test_emulator.make_bot(emulator)
        try:
            await client.send_message(1, "one", allow_paid_broadcast=True)
            with pytest.raises(TelegramRetryAfter):
                await client.send_message(2, "two", allow_paid_broadcast=True)
            assert emulator.star_balance == pytest.approx(9.9)
            balance = await client.get_my_star_balance()
            assert (balance.amount, balance.nanostar_amount) == (9, 900_000_000)
        finally:
            await client.session.close()
