"""The delivery engine against the emulator with its limits on: every subscriber once, whatever Telegram says."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from bot.app.wiring import App, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Payload, Progress, State, Worker
from bot.ground.settings import Settings
from bot.telegram.sender import TelegramSender
from emulator import BotAPIEmulator, FloodLimits

CASE = "ua-84-11"
TEXT = "📢 <b>Update</b>: Nizomkhon Juraev has been found."


@pytest.fixture
async def fast_app(settings: Settings, redis, library: Library, emulator: BotAPIEmulator) -> AsyncIterator[App]:
    """Telegram's real per-chat limit stays on; the global one is raised so tests run in seconds."""
    emulator.limits = FloodLimits(global_per_second=400, global_burst=400)
    settings = settings.model_copy(update={"broadcast_rate": 200.0})
    async with running(settings, redis, library) as app:
        yield app


async def subscribers(app: App, emulator: BotAPIEmulator, count: int, start: int = 10_000) -> list[int]:
    chats = list(range(start, start + count))
    for chat in chats:
        emulator.add_user(chat, first_name=f"S{chat}", language_code="en")
        await app.store.start(chat)  # /start: alerts and everyone-broadcasts
        await app.store.subscribe(chat, CASE)
    return chats


async def finished(app: App, bc_id: str, timeout: float = 30) -> Progress:
    async def poll() -> Progress:
        while True:
            progress = await app.broadcasts.progress(bc_id)
            if progress.state.finished:
                return progress
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


def received(emulator: BotAPIEmulator, chats: list[int]) -> Counter[int]:
    return Counter(
        chat
        for chat in chats
        for entry in emulator.outbox(chat)
        if entry["method"] == "sendMessage" and "Update" in entry["message"].get("text", "")
    )


@asynccontextmanager
async def two_processes(
    settings: Settings, redis, library: Library, rate: float, **worker: float
) -> AsyncIterator[App]:
    """The app's worker and a second one beside it, as two processes would share one Redis."""
    async with running(settings.model_copy(update={"broadcast_rate": rate}), redis, library) as app:
        second = Worker(app.broadcasts, TelegramSender(app.sender_bot), app.store, rate=rate, **worker)
        stop = asyncio.Event()
        other = asyncio.create_task(second.run(stop))
        try:
            yield app
        finally:
            stop.set()
            await other


async def test_every_subscriber_gets_the_broadcast_once(fast_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(fast_app, emulator, 300)
    bc_id = await fast_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    progress = await finished(fast_app, bc_id)
    assert progress.state == State.done and progress.delivered == 300 and progress.left == 0
    assert received(emulator, chats) == Counter({chat: 1 for chat in chats})
    entities = emulator.last_message(chats[0])["entities"]
    assert any(e["type"] == "bold" for e in entities), "formatting survives"


async def test_blocked_and_vanished_chats_are_dropped_and_counted(fast_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(fast_app, emulator, 100)
    for chat in chats[:20]:
        # 403s the bot meets while sending: a deleted account (a block the bot hears of at once, see
        # tests/test_consent.py, unless the update has not come yet).
        emulator.deactivate(chat)
    for chat in (90_001, 90_002):  # subscribed, but Telegram never heard of them
        await fast_app.store.subscribe(chat, CASE)
    bc_id = await fast_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    progress = await finished(fast_app, bc_id)
    assert (progress.delivered, progress.blocked, progress.not_found) == (80, 20, 2)
    assert not await fast_app.store.is_subscribed(chats[0], CASE), "a chat that blocked the bot is unsubscribed"
    assert not await fast_app.store.redis.exists(fast_app.store.key("user", chats[0])), "and nothing kept about it"
    assert await fast_app.store.is_subscribed(chats[50], CASE)
    assert received(emulator, chats[20:]) == Counter({chat: 1 for chat in chats[20:]})


async def test_a_429_storm_pauses_everyone_and_loses_no_one(fast_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(fast_app, emulator, 150)
    emulator.inject("sendMessage", 429, "Too Many Requests: retry after 1", times=15, retry_after=1)
    bc_id = await fast_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    progress = await finished(fast_app, bc_id)
    assert progress.delivered == 150 and progress.failed == 0
    assert received(emulator, chats) == Counter({chat: 1 for chat in chats})


async def test_server_errors_and_timeouts_are_retried(fast_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(fast_app, emulator, 100)
    emulator.inject("sendMessage", 502, "Bad Gateway", times=10)
    emulator.delay("sendMessage", 10.0, times=3)  # longer than the sender's timeout
    bc_id = await fast_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    progress = await finished(fast_app, bc_id, timeout=60)
    assert progress.delivered + progress.failed == 100 and progress.failed <= 3
    counts = received(emulator, chats)
    assert set(counts) == set(chats) and max(counts.values()) <= 2, (
        "a timed-out send may have arrived: once more at most"
    )


async def test_audiences(fast_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(fast_app, emulator, 10)
    for chat in chats[:4]:
        await fast_app.store.pledge(chat, CASE, "letter")
    for chat in chats[:3]:
        await fast_app.store.set_language(chat, "ru")
    count = fast_app.broadcasts.count
    assert await count(Audience(AudienceKind.case, CASE)) == 10
    assert await count(Audience(AudienceKind.not_acted, CASE)) == 6
    assert await count(Audience(AudienceKind.all, language="ru")) == 3
    bc_id = await fast_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.not_acted, CASE))
    await finished(fast_app, bc_id)
    assert set(received(emulator, chats)) == set(chats[4:])


async def test_cancel_stops_sending(fast_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(fast_app, emulator, 50)
    bc_id = await fast_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE), send_at=10**10)
    progress = await fast_app.broadcasts.set_state(bc_id, State.cancelled)
    assert progress.state == State.cancelled
    await asyncio.sleep(0.5)
    assert not received(emulator, chats)


async def test_pause_and_resume(fast_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(fast_app, emulator, 40)
    bc_id = await fast_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE), send_at=10**10)
    await fast_app.broadcasts.set_state(bc_id, State.paused)
    await fast_app.broadcasts.redis.zadd(fast_app.broadcasts.key("bc", "active"), {bc_id: 0})  # due now
    await asyncio.sleep(0.5)
    assert not received(emulator, chats), "paused: nothing goes out"
    await fast_app.broadcasts.set_state(bc_id, State.running)
    progress = await finished(fast_app, bc_id)
    assert progress.delivered == 40


async def test_after_pause_no_process_sends_another_message(
    settings: Settings, redis, library: Library, emulator: BotAPIEmulator
) -> None:
    """Pause stops every process within a tick, sends waiting for their slots included; Resume goes on at once."""
    emulator.limits = FloodLimits(global_per_second=400, global_burst=400)
    # At 20/s each process holds 0.6 s of slots ahead.
    async with two_processes(settings, redis, library, 20.0) as app:
        chats = await subscribers(app, emulator, 60)
        bc_id = await app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
        while (await app.broadcasts.progress(bc_id)).delivered < 10:
            await asyncio.sleep(0.02)
        await app.broadcasts.set_state(bc_id, State.paused)
        paused = time.time()
        await asyncio.sleep(1.5)
        late = [c.at - paused for c in emulator.calls if c.method == "sendMessage" and c.at > paused + 0.3]
        assert not late, f"sent {late} s after the pause"
        at_pause = await app.broadcasts.progress(bc_id)
        await asyncio.sleep(0.5)
        still = await app.broadcasts.progress(bc_id)
        assert still.state == State.paused and still.delivered == at_pause.delivered < 40
        resumed = await app.broadcasts.set_state(bc_id, State.running)
        assert resumed.state == State.running  # "sending", not "waiting to start"
        progress = await finished(app, bc_id)
    assert progress.delivered == 60
    assert received(emulator, chats) == Counter({chat: 1 for chat in chats})


async def test_a_pause_longer_than_a_lease_sends_no_duplicates(
    settings: Settings, redis, library: Library, emulator: BotAPIEmulator
) -> None:
    """Two workers, a one-second lease and a three-second 429: nobody may be sent twice."""
    emulator.limits = FloodLimits(global_per_second=400, global_burst=400)
    async with two_processes(settings, redis, library, 100.0, lease_seconds=1.0) as app:
        app.worker.lease_ms = 1000
        chats = await subscribers(app, emulator, 120)
        emulator.inject("sendMessage", 429, "Too Many Requests: retry after 3", times=1, retry_after=3)
        bc_id = await app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
        progress = await finished(app, bc_id)
    assert progress.delivered == 120
    assert received(emulator, chats) == Counter({chat: 1 for chat in chats})


async def test_a_send_answered_too_late_is_sent_again_and_counted(fast_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(fast_app, emulator, 20)
    fast_app.worker.sender.timeout = 1.0  # type: ignore[attr-defined]  # Telegram is slower than this, three times
    emulator.delay("sendMessage", 2.0, times=3)
    bc_id = await fast_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    progress = await finished(fast_app, bc_id)
    counts = received(emulator, chats)
    assert set(counts) == set(chats), "nobody lost"
    assert sorted(counts.values()).count(2) == 3, "the three late ones arrived twice"
    assert progress.delivered == 20 and progress.uncertain == 3
    report = fast_app.renderer.broadcast_report(progress, "en")
    assert "possibly received twice: 3" in report


async def test_a_stop_hands_back_sends_telegram_has_not_answered(fast_app: App, emulator: BotAPIEmulator) -> None:
    """Stopping while Telegram is slow: the late sends go back to the queue at once, counted as possibly received."""
    import time

    from bot.delivery import Broadcasts
    from bot.delivery.worker import STOP_GRACE

    redis = fast_app.store.redis
    chats = [20_001, 20_002, 20_003]
    for chat in chats:
        emulator.add_user(chat, first_name=f"S{chat}")
    broadcasts = Broadcasts(redis, fast_app.broadcasts.pseudonyms, prefix="t:")  # out of the app's own worker's way
    await redis.sadd("t:users", *chats)
    emulator.delay("sendMessage", 12.0, times=3)
    worker = Worker(broadcasts, TelegramSender(fast_app.sender_bot), fast_app.store, rate=100.0)
    stop = asyncio.Event()
    running_worker = asyncio.create_task(worker.run(stop))
    bc_id = await broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.all))
    await emulator.wait_for(lambda: worker.pacing.fired_total == 3, timeout=10)  # all three on their way
    stopped = time.monotonic()
    stop.set()
    await running_worker
    assert time.monotonic() - stopped < STOP_GRACE + 3, "a stop does not wait for Telegram's late answers"
    assert (await broadcasts.progress(bc_id)).uncertain == 3
    assert await redis.llen(broadcasts.key("bc", bc_id, "q")) == 3, "queued again, for the next process to send at once"
    assert await redis.zcard(broadcasts.key("bc", bc_id, "inflight")) == 0, "not left leased"
