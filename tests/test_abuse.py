"""Abuse limits: a flood from one user is dropped, cheaply, without slowing anyone else; oversized input too."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator

import pytest

from bot.app.wiring import App, running
from bot.content import Library
from bot.ground.settings import Settings, StoreSettings
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from tests.conftest import ADMIN_ID

CASE = "ua-84-11"
FLOODER = 5_550_001_234
CALM = 5_550_004_321
BURST = StoreSettings.model_fields["user_burst"].default
RATE = StoreSettings.model_fields["user_rate"].default


@pytest.fixture
async def limited(settings: Settings, redis, library: Library, emulator: BotAPIEmulator) -> AsyncIterator[App]:
    """The bot with the production limits (tests elsewhere raise them for their scripted users).

    Telegram's own limit on messages to one chat is off in the emulator: its 429s would hide ours.
    """
    emulator.limits = FloodLimits(enabled=False)
    async with running(settings.model_copy(update={"user_burst": BURST, "user_rate": RATE}), redis, library) as app:
        yield app


async def arrive(emulator: BotAPIEmulator, user_id: int) -> Activist:
    who = Activist(emulator, user_id, f"U{user_id}", "en")
    await who.send(f"/start {CASE}")
    await who.tap_data("lang:en:")
    return who


def slow_down(app: App) -> str:
    return app.renderer.toast("slow_down", "en").text


async def test_a_flood_neither_slows_others_nor_moves_the_counters(limited: App, emulator: BotAPIEmulator) -> None:
    app = limited
    flooder = await arrive(emulator, FLOODER)
    await flooder.tap_data("act:")
    await flooder.tap_data("tgt:")
    letter = flooder.last
    button = next(b["callback_data"] for b in flooder.buttons(letter) if b.get("callback_data", "").startswith("pl:"))
    replies_before = len(flooder.messages)

    started = time.monotonic()
    taps = [emulator.user_presses(FLOODER, letter["message_id"], button) for _ in range(200)]
    for i in range(200):
        emulator.user_sends(FLOODER, f"spam {i}")

    calm = Activist(emulator, CALM, "Calm", "en")
    lags = []
    for step in (
        lambda: calm.send(f"/start {CASE}"),
        lambda: calm.tap_data("lang:en:"),
        lambda: calm.tap_data("act:"),
        lambda: calm.tap_data("tgt:"),
        lambda: calm.tap_data(f"pl:{CASE}:letter"),
    ):
        began = time.monotonic()
        await step()
        lags.append(time.monotonic() - began)
    await emulator.wait_idle(timeout=20)
    elapsed = time.monotonic() - started

    assert max(lags) < 1.0, f"the calm user waited {max(lags):.2f}s behind the flood"
    assert (await app.store.totals(CASE))["letter"] == 2, "the flooder counts once, like anyone"
    answers = [emulator.callback_answers.get(t["callback_query"]["id"]) for t in taps]
    answered = [a for a in answers if a is not None]
    # What the bucket held, what it refilled while the flood lasted, and one notice per window.
    window = max(1.0, BURST / RATE)
    allowed = BURST + math.ceil(RATE * elapsed)
    notices = math.ceil(elapsed / window) + 1
    assert len(answered) <= allowed + notices, f"{len(answered)} of 200 taps were handled"
    told = [a for a in answered if a.get("text") == slow_down(app)]
    assert 1 <= len(told) <= notices, "a refused tap is told once per window, so its spinner stops"
    replies = flooder.messages[replies_before:]
    slowed = [m for m in replies if m["text"] == app.renderer.message("slow_down", "en")]
    assert len(replies) <= allowed + notices and len(slowed) <= notices


async def test_over_the_limit_the_user_hears_it_once(limited: App, emulator: BotAPIEmulator) -> None:
    app = limited
    who = Activist(emulator, FLOODER, "Fast", "en")
    await app.store.set_language(FLOODER, "en")
    for i in range(BURST + 5):
        emulator.user_sends(FLOODER, f"hello {i}")
    await emulator.wait_idle()
    texts = [m["text"] for m in who.messages]
    assert texts.count(app.renderer.message("free_text", "en")) == BURST
    assert texts.count(app.renderer.message("slow_down", "en")) == 1
    # The bucket refills at USER_RATE a second: after a pause the bot answers again.
    await asyncio.sleep(1.2 / RATE)
    assert (await who.send("hello again"))["text"] == app.renderer.message("free_text", "en")


async def test_the_bucket_is_shared_through_redis(limited: App, emulator: BotAPIEmulator, redis) -> None:
    """Every replica reads the same bucket near the limit: it lives in Redis, under the pseudonym, and expires."""
    who = Activist(emulator, FLOODER, "Fast", "en")
    await who.send("/help")
    # At a human pace the process's own view suffices: no Redis call, no key.
    assert [k async for k in redis.scan_iter(match="rrb:rl:*")] == []
    for _ in range(BURST // 2):
        emulator.user_sends(FLOODER, "/help")
    await emulator.wait_idle()
    [key] = [k async for k in redis.scan_iter(match="rrb:rl:*")]
    assert str(FLOODER) not in key and key.endswith(limited.store.pseudonyms.user(FLOODER))
    assert 0 < await redis.pttl(key) <= (BURST / RATE) * 2000 + 1000


async def test_coordinators_paste_long_texts_but_tap_like_everyone(limited: App, emulator: BotAPIEmulator) -> None:
    app = limited
    admin = Activist(emulator, ADMIN_ID, "Coord", "en")
    await app.store.set_language(ADMIN_ID, "en")
    for i in range(BURST * 3):  # a long Urgent Action arrives in many parts at once
        emulator.user_sends(ADMIN_ID, f"part {i}")
    await emulator.wait_idle()
    assert [m["text"] for m in admin.messages].count(app.renderer.message("free_text", "en")) == BURST * 3
    await admin.send("/cases")
    taps = [emulator.user_presses(ADMIN_ID, admin.last["message_id"], "home") for _ in range(BURST + 5)]
    await emulator.wait_idle()
    answers = [emulator.callback_answers.get(t["callback_query"]["id"]) for t in taps]
    assert sum(a is not None for a in answers) <= BURST + 2, "taps are limited for coordinators too"


async def test_oversized_input_is_dropped_before_any_handler(app: App, emulator: BotAPIEmulator) -> None:
    who = Activist(emulator, CALM, "Calm", "en")
    await app.store.set_language(CALM, "en")
    free_text = app.renderer.message("free_text", "en")
    for forged in (lambda: emulator.user_sends(CALM, "x" * 4097), lambda: emulator.user_sends_photo(CALM, "y" * 4097)):
        forged()
        await emulator.wait_idle()
        assert who.messages == [], "Telegram never sends these: a forged update gets nothing"
    assert (await who.send("x" * 4096))["text"] == free_text, "the longest real message is still read"

    await who.send("/cases")
    update = emulator.user_presses(CALM, who.last["message_id"], "card:" + "a" * 64)
    await emulator.wait_idle()
    assert update["callback_query"]["id"] not in emulator.callback_answers, "over 64 bytes: dropped"
    fits = await who.press(who.last["message_id"], "card:" + "a" * 59)
    assert fits["text"] == app.renderer.toast("stale_button", "en").text, "64 bytes: read (and found stale)"


def test_a_process_lets_taps_through_alone_only_while_far_from_the_limit() -> None:
    from handlers.middlewares import LocalBuckets

    buckets = LocalBuckets(burst=10, rate=2)
    assert [buckets.take(1) for _ in range(7)] == [True] * 5 + [False] * 2
    assert buckets.synced(1) == 5 and buckets.synced(1) == 0  # charged to the shared bucket once
    assert buckets.take(2)  # each user has a bucket of their own
