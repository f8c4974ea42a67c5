"""The emulator's strict flood mode: sliding windows, penalties, spurious 429s, statistics.

Most tests drive FloodControl with a clock they move by hand, so a loaded machine's
jitter cannot decide them; one goes end to end through HTTP with the real aiogram client.
"""

from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter

from emulator import BotAPIEmulator, FloodLimits
from emulator.limits import FloodControl
from tests import test_emulator

TOKEN = "123456:TEST"
# The aiogram client fixture of the emulator's tests; it talks to this module's `emu`.
bot = test_emulator.bot


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, t: float = 1000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def window(clock: Clock, **fields) -> FloodControl:
    fields.setdefault("penalty", False)  # most tests look at one limit at a time
    return FloodControl(FloodLimits(mode="window", **fields), clock=clock)


def send(flood: FloodControl, clock: Clock, at: float, chat_id: int | str) -> int | None:
    clock.t = at
    return flood.acquire(chat_id)


# -- the global cap as a sliding one-second window ---------------------------------------------------


def test_31st_send_inside_a_second_is_refused():
    clock = Clock()
    flood = window(clock)
    start = clock.t
    results = [send(flood, clock, start + i * 0.999 / 30, chat_id=i) for i in range(31)]
    assert results[:30] == [None] * 30
    assert results[30] == 1  # the first send leaves the window after 1 ms: whole seconds, rounded up
    stats = flood.stats.as_dict()
    assert (stats["accepted"], stats["refused_429"], stats["max_in_any_window"]) == (30, 1, 30)


def test_evenly_spaced_sends_are_all_accepted():
    clock = Clock()
    flood = window(clock)
    start = clock.t
    results = [send(flood, clock, start + i / 30, chat_id=i) for i in range(300)]
    assert results == [None] * 300
    stats = flood.stats.as_dict()
    assert stats["max_in_any_window"] == 30
    assert stats["first_send"] == start and stats["last_send"] == pytest.approx(start + 299 / 30)


def test_window_slides_it_is_not_aligned_to_clock_seconds():
    clock = Clock(1000.7)  # a burst late in one clock second does not free the next one
    flood = window(clock)
    start = clock.t
    assert [send(flood, clock, start, chat_id=i) for i in range(30)] == [None] * 30
    assert send(flood, clock, start + 0.5, chat_id="late") == 1
    assert send(flood, clock, start + 1.0001, chat_id="later") is None
    assert flood.stats.max_in_any_window == 30


def test_refused_send_spends_nothing():
    clock = Clock()
    flood = window(clock, global_per_second=2)
    start = clock.t
    assert send(flood, clock, start, 1) is None
    assert send(flood, clock, start + 0.1, 2) is None
    for i in range(10):
        assert send(flood, clock, start + 0.2 + i * 0.05, 100 + i) is not None
    # Only the two accepted sends fill the window: it is free again one second after the first.
    assert send(flood, clock, start + 1.0, 3) is None


def test_retry_after_covers_the_wait_and_the_configured_value():
    clock = Clock()
    flood = window(clock, global_per_second=1, retry_after=1)
    assert send(flood, clock, clock.t, 1) is None
    assert send(flood, clock, clock.t + 0.2, 2) == 1  # 0.8 s rounded up
    flood = window(clock, global_per_second=1, retry_after=4)
    assert send(flood, clock, clock.t, 1) is None
    assert send(flood, clock, clock.t + 0.2, 2) == 4
    flood = window(clock, group_per_minute=1, retry_after=1)
    assert send(flood, clock, clock.t, -100) is None
    assert send(flood, clock, clock.t + 10, -100) == 50  # the group's minute


# -- per chat and per group ---------------------------------------------------------------------------


def test_one_message_per_second_per_chat_without_burst():
    clock = Clock()
    flood = window(clock)
    start = clock.t
    assert send(flood, clock, start, 42) is None
    assert send(flood, clock, start + 0.5, 42) == 1
    assert send(flood, clock, start + 0.6, 43) is None  # another chat is not held up
    assert send(flood, clock, start + 1.0, 42) is None


def test_group_takes_twenty_per_sliding_minute():
    clock = Clock()
    flood = window(clock)
    start = clock.t
    assert [send(flood, clock, start + i * 1.0, -100) for i in range(20)] == [None] * 20
    assert send(flood, clock, start + 20.0, -100) == 40
    assert send(flood, clock, start + 60.0, -100) is None


# -- penalty, spurious 429s, retry_after drawn between bounds ----------------------------------------


def test_penalty_refuses_every_send_until_retry_after_has_passed():
    clock = Clock()
    flood = window(clock, penalty=True, retry_after=5)
    start = clock.t
    assert send(flood, clock, start, 42) is None
    assert send(flood, clock, start + 0.5, 42) == 5  # per-chat limit; retry_after 5 from now
    assert send(flood, clock, start + 2.5, 43) == 3  # another chat, under every cap: the penalty
    assert send(flood, clock, start + 5.2, 44) == 1  # 0.3 s left, rounded up
    assert send(flood, clock, start + 5.5, 45) is None
    stats = flood.stats.as_dict()
    assert (stats["refused_429"], stats["penalty_429"], stats["accepted"]) == (3, 2, 2)


def test_penalty_is_on_by_default_in_window_mode_only():
    assert FloodLimits(mode="window").penalty
    clock = Clock()
    bucket = FloodControl(FloodLimits(chat_burst=1, retry_after=5), clock=clock)
    assert send(bucket, clock, clock.t, 42) is None
    assert send(bucket, clock, clock.t + 0.5, 42) == 5
    assert send(bucket, clock, clock.t + 0.1, 43) is None


def test_spurious_429_at_probability_one_refuses_everything_and_zero_nothing():
    clock = Clock()
    flood = window(clock, spurious_429=1.0, retry_after=2)
    assert [send(flood, clock, clock.t + i, i) for i in range(10)] == [2] * 10
    assert flood.stats.as_dict()["spurious_429"] == 10
    assert flood.stats.accepted == 0
    flood = window(clock, spurious_429=0.0)
    assert [send(flood, clock, clock.t + i, i) for i in range(10)] == [None] * 10
    assert flood.stats.spurious_429 == 0


def test_spurious_429s_are_reproducible_with_a_seed():
    def pattern(seed: int) -> list[bool]:
        clock = Clock()
        flood = window(clock, spurious_429=0.3, seed=seed)
        return [send(flood, clock, clock.t + i, i) is not None for i in range(200)]

    assert pattern(7) == pattern(7)
    assert 30 < sum(pattern(7)) < 90


def test_retry_after_range_draws_within_bounds_reproducibly():
    def draws(seed: int) -> list[int]:
        clock = Clock()
        flood = window(clock, global_per_second=1, retry_after_range=(1, 30), seed=seed)
        assert send(flood, clock, clock.t, "first") is None
        return [send(flood, clock, clock.t + 0.001, i) for i in range(200)]

    values = draws(3)
    assert all(1 <= value <= 30 for value in values)
    assert len(set(values)) > 10
    assert draws(3) == values
    assert draws(4) != values


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError):
        FloodLimits(mode="strict")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FloodLimits(retry_after_range=(5, 2))
    with pytest.raises(ValueError):
        FloodLimits(spurious_429=1.5)


# -- memory ---------------------------------------------------------------------------------------------


def test_a_hundred_thousand_chats_leave_the_per_chat_table_small():
    clock = Clock()
    flood = window(clock, global_per_second=2000)
    start = clock.t
    for i in range(100_000):
        assert send(flood, clock, start + i / 1000, i) is None
    # Only the chats sent to in the last second are remembered.
    assert flood.tracked_chats <= 1001
    assert len(flood.stats.per_second) <= 101


# -- bucket mode is today's --------------------------------------------------------------------------


def test_bucket_mode_is_the_default_and_allows_a_burst():
    clock = Clock()
    flood = FloodControl(FloodLimits(), clock=clock)
    assert flood.limits.mode == "bucket"
    assert [send(flood, clock, clock.t, i) for i in range(30)] == [None] * 30
    assert send(flood, clock, clock.t, 30) == 1
    assert send(flood, clock, clock.t + 0.04, 31) is None  # a token back after 1/30 s
    assert send(flood, clock, clock.t, 32) == 1  # no penalty in bucket mode either
    assert flood.stats.max_in_any_window == 31  # the statistics count the burst all the same


# -- end to end, through HTTP ---------------------------------------------------------------------------


@pytest.fixture
async def emu():
    """The strict emulator; the `bot` fixture (tests/test_emulator.py) talks to it."""
    async with BotAPIEmulator(
        token=TOKEN, bot_username="rrbot_test_bot", limits=FloodLimits(mode="window", global_per_second=5)
    ) as emulator:
        yield emulator


async def test_aiogram_bot_sending_as_fast_as_it_can_meets_the_window(emu, bot):
    for user_id in range(1, 9):
        emu.add_user(user_id)
    results = await asyncio.gather(*(bot.send_message(uid, "hi") for uid in range(1, 9)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, TelegramRetryAfter)]
    assert refused and all(r.retry_after >= 1 for r in refused)
    stats = emu.flood_stats()
    assert stats["accepted"] + len(refused) == 8 == stats["accepted"] + stats["refused_429"]
    assert stats["max_in_any_window"] <= 5
    assert sum(len(emu.messages(uid)) for uid in range(1, 9)) == stats["accepted"]


async def test_a_send_to_a_blocked_user_counts_against_the_window(emu, bot):
    emu.limits = FloodLimits(mode="window", global_per_second=2)
    for user_id in (1, 2, 3):
        emu.add_user(user_id)
    emu.block(1)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(1, "hi")
    await bot.send_message(2, "hi")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(3, "hi")
    stats = emu.flood_stats()
    assert (stats["accepted"], stats["refused_429"]) == (2, 1)


async def test_bucket_mode_answers_a_blocked_user_for_free_but_counts_the_send(emu, bot):
    emu.limits = FloodLimits(mode="bucket", global_per_second=1, global_burst=1)
    emu.reset_flood_stats()
    for user_id in (1, 2):
        emu.add_user(user_id)
    emu.block(1)
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(1, "hi")
    await bot.send_message(2, "hi")  # the 403 spent no token
    assert emu.flood_stats()["accepted"] == 2
