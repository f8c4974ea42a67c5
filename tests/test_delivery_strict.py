"""The delivery engine against the strictest limiter Telegram may apply: a sliding one-second window, no burst."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from bot.app.wiring import App, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Payload, State
from bot.delivery.worker import Worker
from bot.ground.settings import Settings
from emulator import BotAPIEmulator, FloodLimits
from tests.test_delivery import CASE, TEXT, finished, received, subscribers

CAP = 20  # low, so that a loaded machine's jitter cannot decide it


@pytest.fixture
async def strict_app(settings: Settings, redis, library: Library, emulator: BotAPIEmulator) -> AsyncIterator[App]:
    """The bot configured at the cap itself: only its pacing keeps it under a window that counts every second."""
    emulator.limits = FloodLimits(mode="window", global_per_second=CAP, retry_after=3)
    settings = settings.model_copy(update={"broadcast_rate": float(CAP)})
    async with running(settings, redis, library) as app:
        yield app


async def test_a_broadcast_at_the_cap_never_crosses_a_sliding_window(strict_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(strict_app, emulator, 150)
    emulator.reset_flood_stats()
    bc_id = await strict_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    progress = await finished(strict_app, bc_id, timeout=60)
    stats = emulator.flood_stats()
    assert progress.state == State.done and progress.delivered == 150
    assert received(emulator, chats) == Counter({chat: 1 for chat in chats})
    assert stats["refused_429"] == 0, stats
    assert stats["max_in_any_window"] <= CAP
    # Evenly spaced a little under the cap, not far under it.
    rate = (stats["accepted"] - 1) / (stats["last_send"] - stats["first_send"])
    assert rate >= 0.9 * CAP, rate


async def test_a_distant_telegram_costs_no_speed_and_no_429(strict_app: App, emulator: BotAPIEmulator) -> None:
    """Every answer 0.2 s late (a far-away server): the rate stays at the cap, under the window."""
    chats = await subscribers(strict_app, emulator, 100)
    emulator.reset_flood_stats()
    emulator.delay("sendMessage", 0.2, times=1_000)
    bc_id = await strict_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    progress = await finished(strict_app, bc_id, timeout=60)
    stats = emulator.flood_stats()
    assert progress.delivered == 100 and received(emulator, chats) == Counter({chat: 1 for chat in chats})
    assert stats["refused_429"] == 0 and stats["max_in_any_window"] <= CAP
    rate = (stats["accepted"] - 1) / (stats["last_send"] - stats["first_send"])
    assert rate >= 0.93 * CAP, rate  # 0.83 of it if the round trip counted against the window


async def test_a_429_slows_every_sender_then_the_rate_climbs_back(strict_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(strict_app, emulator, 60)
    emulator.inject("sendMessage", 429, "Too Many Requests: retry after 1", times=1, retry_after=1)
    bc_id = await strict_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    redis = strict_app.store.redis
    slow = strict_app.broadcasts.key("rate", "slow")

    async def cut() -> float:
        return float(await redis.get(slow) or 0)

    progress = await finished(strict_app, bc_id, timeout=60)
    assert progress.delivered == 60 and received(emulator, chats) == Counter({chat: 1 for chat in chats})
    # A fifth slower after the 429, for a while that runs out: then the full rate again.
    assert await cut() == pytest.approx(0.2)
    assert 0 < await redis.pttl(slow) <= 30_000
    assert emulator.flood_stats()["refused_429"] == 0  # the injected one is not the limiter's
    # The coordinator sees the 429 and the speed allowed now; /metrics too.
    assert progress.limited == 1 and 0.8 <= progress.pace < 1
    running_now = replace(progress, state=State.running, finished_at=None)
    text = strict_app.renderer.broadcast_progress(running_now, "en").text
    assert "Telegram asked the bot to wait: 1 time · now at 8" in text and "% of full speed" in text, text
    assert (
        "Telegram попросил бота подождать: 1 раз · скорость сейчас"
        in strict_app.renderer.broadcast_progress(running_now, "ru").text
    )
    assert "Telegram asked the bot to wait: 1 time" in strict_app.renderer.broadcast_report(progress, "en")
    exposed = (await strict_app.metrics.render()).decode()
    assert "rrb_delivery_rate_limited_total 1.0" in exposed
    assert re.search(r"^rrb_delivery_pace 0\.[89]", exposed, re.M), exposed
    assert re.search(r"^rrb_delivery_sends_total [1-9]", exposed, re.M)


async def test_a_process_knows_whether_it_sends_alone(strict_app: App) -> None:
    """Alone, a late send goes late (its own answers keep it under the cap); with another process it gives way."""
    worker = strict_app.worker
    other = Worker(strict_app.broadcasts, worker.sender, strict_app.store, rate=float(CAP))
    worker._next_presence = 0.0
    await worker._presence()
    assert worker.alone
    assert worker._not_now("1", time.time(), time.time() - 0.5) == ""
    assert worker.seen  # nobody else sends: it may start at once
    await other._presence()
    # The newcomer sends nothing until the first has renewed its presence since it joined: until then the first
    # would still send late as if alone, with all of the cap.
    assert not other.seen and worker.alone
    other._next_presence = 0.0
    await other._presence()
    assert not other.seen
    worker._next_presence = 0.0
    await worker._presence()
    assert not worker.alone and worker.pacing.limit == CAP / 2
    other._next_presence = 0.0
    await other._presence()
    assert other.seen and not other.alone
    assert worker._not_now("1", time.time(), time.time() - 0.5) == "late"
    await other._leave()
    worker._next_presence = 0.0
    await worker._presence()
    assert worker.alone


async def test_a_text_in_parts_goes_whole_and_in_order_within_every_limit(
    strict_app: App, emulator: BotAPIEmulator
) -> None:
    """Three parts to each of 60 chats: every part a send of its own on the shared clock (the cap holds over
    180 sends, no 429 from the global or the per-chat window), each chat gets all three in order, and one
    recipient counts once, in its language version."""
    chats = await subscribers(strict_app, emulator, 60)
    russian = set(chats[::4])
    for chat in russian:
        await strict_app.store.set_language(chat, "ru")
    parts = ["Update part one", "Update part two", "Update part three"]
    payload = Payload(
        parts[0], more=parts[1:], lang="en", variants={"ru": Payload("Update по-русски", more=["Update конец"])}
    )
    emulator.reset_flood_stats()
    bc_id = await strict_app.broadcasts.enqueue(payload, Audience(AudienceKind.case, CASE))
    progress = await finished(strict_app, bc_id, timeout=60)
    stats = emulator.flood_stats()
    assert progress.state == State.done and progress.delivered == 60 and progress.total == 60
    assert progress.versions == {"en": 60 - len(russian), "ru": len(russian)}
    for chat in chats:
        got = [m["text"] for m in emulator.messages(chat)]
        assert got == (["Update по-русски", "Update конец"] if chat in russian else parts), (chat, got)
    assert stats["refused_429"] == 0, stats
    assert stats["max_in_any_window"] <= CAP
    rate = (stats["accepted"] - 1) / (stats["last_send"] - stats["first_send"])
    assert rate >= 0.8 * CAP, rate
