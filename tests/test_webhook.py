"""Webhook mode: Telegram pushes updates over HTTP; the secret is checked; every update is handled once."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from pydantic import AnyUrl, SecretStr
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.app.web import SECRET_HEADER, WebhookIntake
from bot.app.wiring import App, build_app, make_intake
from bot.content import Library
from bot.ground.settings import Settings
from emulator import BotAPIEmulator
from emulator.journey import Activist
from handlers import detach_routers, get_routers

SECRET = "test-webhook-secret-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    port = free_port()
    return settings.model_copy(
        update={
            "webhook_url": AnyUrl(f"http://127.0.0.1:{port}/telegram"),
            "webhook_secret": SecretStr(SECRET),
            "port": port,
        }
    )


@pytest.fixture
async def hooked(hook_settings: Settings, redis, library: Library) -> AsyncIterator[tuple[App, WebhookIntake]]:
    """The bot in webhook mode: the emulator pushes every update to its port."""
    app = await build_app(hook_settings, redis, library)
    stop = asyncio.Event()
    background = app.background(stop)
    try:
        intake = WebhookIntake(app)
        await intake.start()
        yield app, intake
    finally:
        await intake.stop()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*background), timeout=15)
        detach_routers(get_routers(hook_settings))
        await app.close()


def start_update(update_id: int, user_id: int, text: str = "/start") -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "text": text,
            "chat": {"id": user_id, "type": "private", "first_name": "Ann"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Ann"},
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


async def post(url: str, body: dict, secret: str | None = SECRET) -> int:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with aiohttp.ClientSession() as session, session.post(url, json=body, headers=headers) as response:
        return response.status


async def test_telegram_pushes_updates_and_the_bot_answers(
    hooked: tuple[App, WebhookIntake], emulator: BotAPIEmulator
) -> None:
    app, intake = hooked
    call = next(c for c in emulator.calls if c.method == "setWebhook")
    assert call.params["secret_token"] == SECRET and call.params["url"] == intake.url
    assert "callback_query" in call.params["allowed_updates"] and int(call.params["max_connections"]) == 40
    person = Activist(emulator, 8101, "Ann")
    answer = await person.send("/start", timeout=10)
    assert "lang:en" in str(answer["reply_markup"])  # a first visit asks for the language
    await person.tap_data("lang:en")
    await person.send("/cases")
    await person.tap_data("card:")
    assert "Tajik" in person.last["text"] and "Subscribe" in str(person.last["reply_markup"])


async def test_a_request_without_the_secret_is_refused_and_not_logged(
    hooked: tuple[App, WebhookIntake], emulator: BotAPIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    app, intake = hooked
    emulator.add_user(8201, first_name="Eve")
    forged = start_update(990_001, 8201, "/start a-very-private-message-text")
    with caplog.at_level(logging.DEBUG):
        assert await post(intake.url, forged, secret=None) == 401
        assert await post(intake.url, forged, secret="wrong-secret-0123456789") == 401
    assert "refused" in caplog.text and "a-very-private-message-text" not in caplog.text
    assert emulator.messages(8201) == []


async def test_a_redelivered_update_is_handled_once(
    hooked: tuple[App, WebhookIntake], emulator: BotAPIEmulator
) -> None:
    app, intake = hooked
    emulator.add_user(8301, first_name="Bo")
    update = start_update(990_101, 8301)
    statuses = await asyncio.gather(*(post(intake.url, update) for _ in range(3)))
    await emulator.wait_idle()
    assert statuses.count(200) >= 1 and set(statuses) <= {200, 503}
    assert await post(intake.url, update) == 200  # later: already done
    await emulator.wait_idle()
    assert len(emulator.messages(8301)) == 1


async def test_an_update_that_fails_on_redis_goes_back_to_telegram_and_is_handled_once_redelivered(
    hooked: tuple[App, WebhookIntake], emulator: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, intake = hooked
    emulator.add_user(8401, first_name="Cy")
    await app.store.set_language(8401, "en")
    calls: list[bool] = []
    real = app.store.set_reminders

    async def flaky(chat_id: int, on: bool) -> None:
        calls.append(on)
        if len(calls) == 1:
            raise RedisConnectionError("Redis went away")  # a blip: the next attempt finds it back
        await real(chat_id, on)

    monkeypatch.setattr(app.store, "set_reminders", flaky)
    update = start_update(990_201, 8401, "/reminders off")
    assert await post(intake.url, update) == 500  # not answered with an error: given back
    assert emulator.messages(8401) == []
    assert await post(intake.url, update) == 503, "Redis looked away: nothing is taken until the probe finds it"
    await emulator.wait_for(lambda: app.gate.is_open, timeout=5)
    assert await post(intake.url, update) == 200  # Telegram's redelivery
    assert await post(intake.url, update) == 200  # and a late duplicate of it
    await emulator.wait_idle()
    assert calls == [False, False] and len(emulator.messages(8401)) == 1
    assert (await app.store.user(8401)).reminders is False


async def test_a_claim_left_behind_when_redis_went_away_does_not_hold_the_update_up(
    hooked: tuple[App, WebhookIntake], emulator: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, intake = hooked
    emulator.add_user(8402, first_name="Cy")
    await app.store.set_language(8402, "en")
    real = app.store.set_reminders
    failed: list[bool] = []

    async def flaky(chat_id: int, on: bool) -> None:
        if not failed:
            failed.append(True)
            raise RedisConnectionError("Redis went away")
        await real(chat_id, on)

    async def away(update_id: int) -> None:
        raise RedisConnectionError("still away")

    monkeypatch.setattr(app.store, "set_reminders", flaky)
    monkeypatch.setattr(intake.claims, "release", away)  # the claim stays behind, as when Redis is down
    update = start_update(990_202, 8402, "/reminders off")
    assert await post(intake.url, update) == 500
    await emulator.wait_for(lambda: app.gate.is_open, timeout=5)
    # Not "busy" for the claim's minute: this replica knows the claim is its own and not in hand.
    assert await post(intake.url, update) == 200
    await emulator.wait_idle()
    assert len(emulator.messages(8402)) == 1 and (await app.store.user(8402)).reminders is False


async def test_an_update_handled_but_not_marked_done_is_not_handled_again(
    hooked: tuple[App, WebhookIntake], emulator: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, intake = hooked
    emulator.add_user(8403, first_name="Cy")
    await app.store.set_language(8403, "en")
    real = intake.claims.done

    async def away(update_id: int) -> None:
        raise RedisConnectionError("went away just now")

    monkeypatch.setattr(intake.claims, "done", away)
    update = start_update(990_203, 8403, "/help")
    assert await post(intake.url, update) == 200  # handled: Telegram need not send it again
    monkeypatch.setattr(intake.claims, "done", real)
    await emulator.wait_for(lambda: app.gate.is_open, timeout=5)
    assert await post(intake.url, update) == 200  # it did all the same (it timed out on the answer)
    await emulator.wait_idle()
    assert len(emulator.messages(8403)) == 1, "answered once"


async def test_stopping_finishes_the_update_in_hand_and_refuses_new_ones(
    hooked: tuple[App, WebhookIntake], emulator: BotAPIEmulator
) -> None:
    app, intake = hooked
    emulator.add_user(8501, first_name="Di")
    emulator.add_user(8502, first_name="Ed")
    emulator.delay("sendMessage", 1.0)  # Telegram is slow to answer the reply to the first update
    first = asyncio.create_task(post(intake.url, start_update(990_301, 8501)))
    await emulator.wait_for(lambda: emulator.messages(8501), timeout=5)
    stopping = asyncio.create_task(intake.stop())
    await asyncio.sleep(0.1)
    # Refused while the first is still being handled: Telegram keeps it for another replica.
    assert await post(intake.url, start_update(990_302, 8502)) == 503
    assert not stopping.done()
    assert await first == 200
    await asyncio.wait_for(stopping, timeout=5)
    assert emulator.messages(8502) == []


async def test_polling_serves_healthz_and_metrics_on_port_when_set(
    settings: Settings, redis, library: Library, emulator: BotAPIEmulator
) -> None:
    port = free_port()
    app = await build_app(settings.model_copy(update={"port": port}), redis, library)
    stop = asyncio.Event()
    background = app.background(stop)
    intake = make_intake(app)
    try:
        await intake.start()
        person = Activist(emulator, 8601, "Fay")
        await person.send("/start", timeout=10)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                health = await response.json()
            async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                metrics = await response.text()
        assert health["redis"]["ok"] is True
        assert 'rrb_updates_total{type="message"} 1.0' in metrics
    finally:
        await intake.stop()
        stop.set()
        await asyncio.wait_for(asyncio.gather(*background), timeout=15)
        detach_routers(get_routers(settings))
        await app.close()


async def test_bodies_that_are_no_update_get_400_and_nothing_breaks(
    hooked: tuple[App, WebhookIntake], emulator: BotAPIEmulator
) -> None:
    app, intake = hooked
    headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
    bodies = [b"[" * 400_000, b"not json at all", b'{"update_id": ' + b"[" * 50_000]
    async with aiohttp.ClientSession() as session:
        for body in bodies:
            async with session.post(intake.url, data=body, headers=headers) as response:
                assert response.status == 400, body[:20]
    assert await post(intake.url, start_update(990_401, 8601)) == 200, "and real updates still go through"
