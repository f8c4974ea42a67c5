"""Redis restarts and broken content: nothing is lost, nothing crashes."""

from __future__ import annotations

import asyncio
import time

from bot.app.wiring import running
from bot.content import Library
from bot.ground.redis_client import client_from_url
from bot.ground.settings import Settings
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.servers import RedisProcess

CASE = "ua-84-11"


async def test_redis_restart_between_two_pledges_loses_nothing(
    redis_process: RedisProcess, emulator: BotAPIEmulator, settings: Settings, library: Library
) -> None:
    redis = client_from_url(redis_process.url)
    try:
        async with running(settings, redis, library) as app:
            ann = Activist(emulator, 201, "Ann", "en")
            await app.store.set_language(201, "en")
            await ann.send(f"/start {CASE}")
            await ann.tap_data("act:")
            await ann.tap_data("tw:")
            await ann.tap_data(f"pl:{CASE}:tweet")

            redis_process.kill()  # SIGKILL: no goodbye, only what is on disk survives
            restart = asyncio.get_running_loop().run_in_executor(None, lambda: (time.sleep(0.5), redis_process.start()))

            bob = Activist(emulator, 202, "Bob", "en")
            await asyncio.gather(restart, app.store.set_language(202, "en"))
            await bob.send(f"/start {CASE}")
            await bob.tap_data("act:")
            await bob.tap_data("tw:")
            answer = await bob.tap_data(f"pl:{CASE}:tweet")
            again = await ann.tap_data(f"pl:{CASE}:tweet")

            assert (await app.store.totals(CASE))["tweet"] == 2
            assert "2 people" in answer["text"], "Bob hears that Ann wrote before the restart"
            assert again["text"] != answer["text"], "Ann's pledge is remembered as already counted"
    finally:
        await redis.aclose()


async def test_malformed_updates_do_not_wedge_the_bot(app, emulator: BotAPIEmulator) -> None:
    who = Activist(emulator, 204, "Ann", "en")
    emulator.queue_update({"message": {"message_id": "oops", "chat": "nope"}})
    emulator.queue_update({"callback_query": {"id": "1"}})
    emulator.queue_update({"weird_new_kind": {"x": 1}})
    reply = await who.send("/help", timeout=10)
    assert "/cases" in reply["text"]
    emulator.queue_update({"message": None})  # the last of a batch, too
    reply = await who.send("/cases", timeout=10)
    assert "Tajik" in reply["text"] or who.buttons(reply)
