"""The moment of truth, at small scale: taps in a burst after downtime, and Redis killed, frozen or full
while people tap and while a broadcast goes out, in polling and webhook mode. Nothing tapped is lost,
nobody is told "try again", and the bot goes on by itself. bench/chaos.py runs the same at full scale."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from pydantic import AnyUrl, SecretStr
from redis.exceptions import ConnectionError, OutOfMemoryError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.app.wiring import App, build_app, make_intake, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Payload
from bot.ground.redis_client import client_from_url
from bot.ground.redis_gate import RedisState, trouble
from bot.ground.settings import Settings
from bot.telegram.reporter import RedisNotices
from emulator import BotAPIEmulator
from emulator.journey import Activist
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


@pytest.mark.parametrize(
    ("error", "state"),
    [
        (ConnectionError("Error 111 connecting to 127.0.0.1:6379"), RedisState.AWAY),
        (RedisTimeoutError("Timeout reading from socket"), RedisState.AWAY),
        (OutOfMemoryError("command not allowed when used memory > 'maxmemory'"), RedisState.REFUSING),
        # Redis 7 keeps a script's error code first; Redis 6 (the embedded server) puts its own words first.
        (ResponseError("OOM command not allowed when used memory > 'maxmemory'. script: 1a2b"), RedisState.REFUSING),
        (
            ResponseError(
                "ERR Error running script (call to f_1a2b): @user_script:3: -MISCONF Redis is configured to "
                "save RDB snapshots, but it's currently unable to persist to disk"
            ),
            RedisState.REFUSING,
        ),
        (
            ResponseError(
                "ERR Error running script (call to f_1a2b): @user_script:3: -READONLY You can't write "
                "against a read only replica."
            ),
            RedisState.AWAY,
        ),
        (ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"), None),
        (ResponseError("ERR unknown command 'OOMPH'"), None),
        (ValueError("not Redis at all"), None),
    ],
)
def test_errors_that_waiting_cures_shut_the_gate_and_others_do_not(error: Exception, state: RedisState | None) -> None:
    assert trouble(error) is state


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


async def test_a_pledge_held_past_telegrams_answer_window_counts_and_says_so_when_tapped_again(
    bot_on_own_redis: App, redis_process: RedisProcess, emulator: BotAPIEmulator
) -> None:
    app = bot_on_own_redis
    emulator.callback_timeout = 1.0  # Telegram's ~15 s, shortened
    redis_process.kill()
    [tap] = tap_pledges(emulator, [645_000])
    await emulator.wait_for(lambda: not app.gate.is_open, timeout=15)
    await asyncio.sleep(1.5)
    redis_process.start()

    def refused_as_too_late() -> bool:  # the answer the bot tried, after it counted the pledge
        return any(c.method == "answerCallbackQuery" and c.status == 400 for c in emulator.calls)

    await emulator.wait_for(refused_as_too_late, timeout=15)
    await emulator.wait_idle(timeout=10)
    assert tap["callback_query"]["id"] not in emulator.callback_answers, "too late for Telegram to show"
    assert emulator.messages(645_000) == [], "no message instead (a downtime would make thousands)"
    assert (await app.store.totals(CASE))[ACTION] == 1
    emulator.callback_timeout = 15.0
    [again] = tap_pledges(emulator, [645_000])
    assert "already counted" in (await answered(emulator, [again], timeout=10))[0]


async def test_a_stop_while_redis_is_away_keeps_the_held_taps_for_the_next_start(
    redis_process: RedisProcess, own_redis: Any, emulator: BotAPIEmulator, settings: Settings, library: Library
) -> None:
    async with running(settings, own_redis, library, grace=1.0) as app:
        await answered(emulator, tap_pledges(emulator, range(670_000, 670_003)), timeout=15)
        redis_process.kill()
        held = tap_pledges(emulator, range(670_003, 670_008))
        await emulator.wait_for(lambda: app.gate.held == len(held), timeout=20)
    spool = settings.data_dir / "cut-updates.jsonl"
    assert spool.exists() and spool.stat().st_mode & 0o077 == 0, "on disk, readable by the bot's user only"

    redis_process.start()
    async with running(settings, own_redis, library) as app:

        async def all_counted() -> bool:
            return (await app.store.totals(CASE))[ACTION] == 8

        await emulator.wait_for(all_counted, timeout=20)  # the taps held at the stop, after the next start
        assert not spool.exists()


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
    hooked = settings.model_copy(
        update={
            "webhook_url": AnyUrl(f"http://127.0.0.1:{port}/telegram"),
            "webhook_secret": SecretStr("chaos-webhook-secret-0123456789"),
            "port": port,
        }
    )
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
