"""Two `rrbot run` replicas behind one webhook, on one Redis, behave as one bot."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.delivery import Audience, AudienceKind, Broadcasts, Payload
from bot.ground.privacy import Pseudonymizer
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from tests.test_delivery_processes import KEY, start_bot, stop
from tests.test_webhook import SECRET, free_port

pytestmark = pytest.mark.timeout(120)


class RoundRobin:
    """The load balancer in front of the replicas: each request to the next one, in turn."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.turn = itertools.cycle(range(len(backends)))
        self.served: Counter[int] = Counter()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/telegram"

    async def forward(self, request: web.Request) -> web.Response:
        index = next(self.turn)
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        headers["Content-Type"] = "application/json"
        try:
            async with self.session.post(self.backends[index], data=body, headers=headers) as response:
                await response.read()
                self.served[index] += response.status == 200
                return web.Response(status=response.status)
        except aiohttp.ClientError:
            return web.Response(status=502)  # that replica is not up yet: Telegram retries

    async def __aenter__(self) -> RoundRobin:
        # One pooled session, its connections to the replicas kept open, as a real load balancer does.
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application()
        app.add_routes([web.post("/telegram", self.forward)])
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()
        await self.session.close()


@pytest.fixture
async def replicas(emulator: BotAPIEmulator, redis_url: str, tmp_path: Path) -> AsyncIterator[RoundRobin]:
    emulator.limits = FloodLimits(global_per_second=1000, global_burst=1000)
    ports = [free_port(), free_port()]
    async with RoundRobin([f"http://127.0.0.1:{port}/telegram" for port in ports]) as balancer:
        processes = [
            await start_bot(
                emulator,
                redis_url,
                tmp_path / f"replica{i}",
                WEBHOOK_URL=balancer.url,
                WEBHOOK_SECRET=SECRET,
                PORT=str(port),
                ADMIN_IDS="",
            )
            for i, port in enumerate(ports)
        ]
        try:
            yield balancer
        finally:
            await asyncio.gather(*(stop(p) for p in processes))


async def test_two_replicas_share_conversations_broadcasts_and_the_scheduler(
    replicas: RoundRobin, emulator: BotAPIEmulator, redis
) -> None:
    people = [Activist(emulator, 30_000 + i, f"P{i}") for i in range(8)]
    await emulator.wait_for(lambda: emulator.webhook.url == replicas.url, timeout=20)
    for person in people:
        await person.send("/start", timeout=20)
        await person.tap_data("lang:en")
        await person.send("/sign")
        # The prompt was set by one replica; the answer lands on the other, which must know it.
        saved = await person.send(f"Name {person.user_id}, Town")
        assert f"Name {person.user_id}, Town" in saved["text"] and "Saved" in saved["text"], saved["text"]
    assert replicas.served[0] > 0 and replicas.served[1] > 0, replicas.served

    # One broadcast, both workers: each person gets it once.
    broadcasts = Broadcasts(redis, Pseudonymizer(KEY.encode()))
    bc_id = await broadcasts.enqueue(Payload("<b>Alert</b> for all"), Audience(AudienceKind.all))

    async def done() -> bool:
        return (await broadcasts.progress(bc_id)).state.finished

    while not await done():
        await asyncio.sleep(0.1)
    got = Counter(p.user_id for p in people for m in p.messages if "Alert for all" in (m.get("text") or ""))
    assert got == Counter({p.user_id: 1 for p in people})
    # One scheduler leader between them.
    assert await redis.get("rrb:sched:leader") is not None
