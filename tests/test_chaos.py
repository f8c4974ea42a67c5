"""The moment of truth, at small scale: taps in a burst after downtime, and Redis killed, frozen or full
while people tap and while a broadcast goes out, in polling and webhook mode. Nothing tapped is lost,
nobody is told "try again", and the bot goes on by itself. bench/chaos.py runs the same at full scale."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from pydantic import AnyUrl, SecretStr

from bot.app import App, build_app, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Payload
from bot.emulator import BotAPIEmulator
from bot.intake import make_intake
from bot.journey import Activist
from bot.settings import Settings
from bot.storage import client_from_url
from bot.telegram_reporter import RedisNotices
from handlers import detach_routers, get_routers
from tests.conftest import ADMIN_ID
from tests.servers import RedisProcess, free_port

CASE = "ua-84-11"
ACTION = "tweet"


def tap_pledges(emulator: BotAPIEmulator, users: Iterable[int]) -> list[dict[str, Any]]:
    """Each person taps "I posted it" once (the pledge needs no earlier screen)."""
    updates = []
    for user in users:
        emulator.add_user(user, first_name=f"P{user}", language_code="en")
        updates.append(emulator.user_presses(user, 1, f"pl:{CASE}:{ACTION}"))
    return updates


async def answered(emulator: BotAPIEmulator, taps: list[dict[str, Any]], timeout: float) -> list[str]:
    """The text each tap was answered with, once all were answered."""
    ids = [tap["callback_query"]["id"] for tap in taps]

    def all_answered() -> bool:
        return all(i in emulator.callback_answers for i in ids)

    await emulator.wait_for(all_answered, timeout)
    return [emulator.callback_answers[i].get("text") or "" for i in ids]


def error_toast(app: App) -> str:
    return app.renderer.toast("error", "en").text


@pytest.fixture
async def own_redis(redis_process: RedisProcess) -> AsyncIterator[Any]:
    client = client_from_url(redis_process.url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def bot_on_own_redis(
    own_redis: Any, emulator: BotAPIEmulator, settings: Settings, library: Library
) -> AsyncIterator[App]:
    async with running(settings, own_redis, library) as app:
        yield app


async def test_taps_queued_while_the_bot_was_down_are_all_counted_and_answered(
    emulator: BotAPIEmulator, settings: Settings, redis: Any, library: Library
) -> None:
    taps = tap_pledges(emulator, range(610_000, 610_300))
    async with running(settings, redis, library) as app:
        texts = await answered(emulator, taps, timeout=60)
        assert (await app.store.totals(CASE))[ACTION] == 300
        assert error_toast(app) not in texts and all(texts)


async def test_taps_while_redis_is_killed_wait_and_count_once_it_is_back(
    bot_on_own_redis: App, redis_process: RedisProcess, emulator: BotAPIEmulator
) -> None:
    app = bot_on_own_redis
    await answered(emulator, tap_pledges(emulator, range(620_000, 620_010)), timeout=15)
    redis_process.kill()
    during = tap_pledges(emulator, range(620_010, 620_040))
    await emulator.wait_for(lambda: not app.gate.is_open, timeout=15)
    # The long poll already waiting takes what comes next; after it, the bot asks for nothing more.
    during += tap_pledges(emulator, range(620_040, 620_045))
    await emulator.wait_for(lambda: emulator.updates.undelivered() == 0, timeout=5)
    kept = tap_pledges(emulator, range(620_045, 620_050))
    await asyncio.sleep(1.5)
    assert emulator.updates.undelivered() == len(kept), "Telegram keeps what the bot cannot take yet"
    assert not any(tap["callback_query"]["id"] in emulator.callback_answers for tap in during + kept)

    redis_process.start()
    texts = await answered(emulator, during + kept, timeout=30)
    assert error_toast(app) not in texts, "nobody was told to try again"
    assert (await app.store.totals(CASE))[ACTION] == 50
    assert app.gate.is_open


async def test_taps_while_redis_is_frozen_wait_and_count_once_it_thaws(
    bot_on_own_redis: App, redis_process: RedisProcess, emulator: BotAPIEmulator
) -> None:
    app = bot_on_own_redis
    redis_process.freeze()  # SIGSTOP: connections open, no answers; calls time out after 5 s
    try:
        taps = tap_pledges(emulator, range(630_000, 630_030))
        await emulator.wait_for(lambda: not app.gate.is_open, timeout=20)
        await asyncio.sleep(1.0)
    finally:
        redis_process.thaw()
    texts = await answered(emulator, taps, timeout=30)
    assert error_toast(app) not in texts
    assert (await app.store.totals(CASE))[ACTION] == 30


async def test_a_full_redis_holds_taps_and_tells_coordinators_once(
    bot_on_own_redis: App, redis_process: RedisProcess, emulator: BotAPIEmulator
) -> None:
    app = bot_on_own_redis
    notices = next(each for each in app.gate.listeners if isinstance(each, RedisNotices))
    notices.settle = 1.0  # "room again" once writes kept working this long (a minute in production)
    emulator.add_user(ADMIN_ID, first_name="Coordinator", language_code="en")
    reader = Activist(emulator, 640_100, "Ann", "en")
    await reader.send("/help")
    redis_process.config(maxmemory=1, maxmemory_policy="noeviction")  # every write refused
    taps = tap_pledges(emulator, range(640_000, 640_020))
    await emulator.wait_for(lambda: not app.gate.is_open, timeout=15)
    await emulator.wait_for(lambda: emulator.messages(ADMIN_ID), timeout=10)
    more = tap_pledges(emulator, range(640_020, 640_030))
    assert "/cases" in (await reader.send("/help", timeout=5))["text"], "what needs no write is still answered"
    # A restart is the usual way out after raising maxmemory: still one message each way.
    redis_process.kill()
    redis_process.start("--maxmemory", "1", "--maxmemory-policy", "noeviction")
    await asyncio.sleep(1.5)
    told = [m["text"] for m in emulator.messages(ADMIN_ID)]
    assert len(told) == 1 and "maxmemory" in told[0], "told once, with what to do"
    assert not any(tap["callback_query"]["id"] in emulator.callback_answers for tap in taps + more)

    redis_process.config(maxmemory=0)
    texts = await answered(emulator, taps + more, timeout=30)
    assert error_toast(app) not in texts
    assert (await app.store.totals(CASE))[ACTION] == 30
    await emulator.wait_for(lambda: len(emulator.messages(ADMIN_ID)) == 2, timeout=10)
    assert "room again" in emulator.messages(ADMIN_ID)[-1]["text"]


async def test_a_pledge_held_past_telegrams_answer_window_is_confirmed_in_a_message(
    bot_on_own_redis: App, redis_process: RedisProcess, emulator: BotAPIEmulator
) -> None:
    app = bot_on_own_redis
    emulator.callback_timeout = 1.0  # Telegram's ~15 s, shortened
    redis_process.kill()
    [tap] = tap_pledges(emulator, [645_000])
    await emulator.wait_for(lambda: not app.gate.is_open, timeout=15)
    await asyncio.sleep(1.5)
    redis_process.start()
    message = await emulator.wait_for(lambda: emulator.last_message(645_000), timeout=15)
    assert "Counted" in message["text"] and "Sorry for the delay" in message["text"]
    assert tap["callback_query"]["id"] not in emulator.callback_answers
    assert (await app.store.totals(CASE))[ACTION] == 1


async def test_a_broadcast_through_a_redis_restart_reaches_everyone_once(
    bot_on_own_redis: App, redis_process: RedisProcess, emulator: BotAPIEmulator
) -> None:
    app = bot_on_own_redis
    people = range(650_000, 650_060)
    for person in people:
        emulator.add_user(person, first_name=f"P{person}", language_code="en")
        await app.store.subscribe(person, CASE)
    emulator.delay("sendMessage", 0.05, times=10_000)  # a broadcast that takes a few seconds
    bc_id = await app.broadcasts.enqueue(Payload("<b>Alert</b>"), Audience(AudienceKind.case, CASE))
    await emulator.wait_for(lambda: sum(bool(emulator.messages(p)) for p in people) >= 10, timeout=20)
    redis_process.kill()
    await asyncio.sleep(2.0)
    redis_process.start()
    await emulator.wait_for(lambda: all(emulator.messages(p) for p in people), timeout=60)
    await emulator.wait_idle(timeout=20, quiet=0.5)
    received = [len(emulator.messages(p)) for p in people]
    progress = await app.broadcasts.progress(bc_id)
    # A send whose acknowledgement Redis lost may go twice (a duplicate is better than a lost alert),
    # and is then counted as such.
    assert all(n >= 1 for n in received), "nobody missed the alert"
    assert sum(received) - len(people) <= progress.uncertain, "every second copy is counted as possible"
    assert progress.delivered == len(people)


async def test_webhook_mode_loses_no_tap_while_redis_is_killed(
    own_redis: Any, redis_process: RedisProcess, emulator: BotAPIEmulator, settings: Settings, library: Library
) -> None:
    port = free_port()
    hooked = settings.model_copy(update={
        "webhook_url": AnyUrl(f"http://127.0.0.1:{port}/telegram"),
        "webhook_secret": SecretStr("chaos-webhook-secret-0123456789"), "port": port,
    })
    app = await build_app(hooked, own_redis, library)
    stop = asyncio.Event()
    background = app.background(stop)
    intake = make_intake(app)
    try:
        await intake.start()
        await answered(emulator, tap_pledges(emulator, range(660_000, 660_005)), timeout=15)
        redis_process.kill()
        during = tap_pledges(emulator, range(660_005, 660_025))
        await emulator.wait_for(lambda: not app.gate.is_open, timeout=15)
        await asyncio.sleep(1.0)
        redis_process.start()
        texts = await answered(emulator, during, timeout=30)
        assert error_toast(app) not in texts
        assert (await app.store.totals(CASE))[ACTION] == 25
    finally:
        await intake.stop()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*background, return_exceptions=True), timeout=15)
        detach_routers(get_routers(hooked))
        await app.close()
