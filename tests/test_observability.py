"""/healthz and /metrics over real HTTP, after driving the real bot through the emulator.

What an operator would notice: taps and messages counted by type and timed, a broadcast's
outcomes and its queue emptying, a pledge in the totals, the case's reminders among the planned
jobs, the scheduler's leader; and a 503 rather than a crash when Redis is gone.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app.observability import DeliveryTotals, Metrics, routes
from bot.app.wiring import App, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Broadcasts, Payload
from bot.ground.privacy import Pseudonymizer
from bot.ground.redis_client import client_from_url
from bot.ground.settings import Settings
from emulator import BotAPIEmulator
from emulator.journey import Activist
from scheduler.reminders import Reminder
from tests.conftest import ADMIN_ID, CONTENT
from tests.test_publishing import finished

CASE = "ua-84-11"
ANN = 71_001
READERS = [71_101, 71_102, 71_103]
BLOCKED = 71_201
VANISHED = 71_999  # follows the case, but Telegram never heard of it
UTC = dt.UTC

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """The shipped content, with the seed case's deadline ahead so that its reminders are planned."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    path = target / "cases" / f"{CASE}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["deadline"] = (dt.date.today() + dt.timedelta(days=10)).isoformat()
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@pytest.fixture
async def app(settings: Settings, redis, content: Path) -> AsyncIterator[App]:
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
        yield app


@asynccontextmanager
async def served(metrics: Metrics) -> AsyncIterator[TestClient]:
    """The routes as bot/app/web.py mounts them, on a real port."""
    web_app = web.Application()
    web_app.add_routes(routes(metrics))
    async with TestClient(TestServer(web_app)) as client:
        yield client


async def scrape(client: TestClient) -> tuple[Samples, str]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = await response.text()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    return samples, text


async def scrape_until(client: TestClient, done: Callable[[Samples], bool], timeout: float = 15) -> Samples:
    """Scrape until `done` holds: a handler's figures land just after its last answer to Telegram."""
    deadline = time.monotonic() + timeout
    while True:
        samples, _ = await scrape(client)
        if done(samples) or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.1)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


async def healthz(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz")
    return response.status, await response.json()


async def audience(app: App, emulator: BotAPIEmulator) -> None:
    """Followers of the case besides Ann: three who read, one the bot meets a 403 for, one gone."""
    for chat in (*READERS, BLOCKED):
        emulator.add_user(chat, first_name=f"R{chat}", language_code="en")
        await app.store.subscribe(chat, CASE)
    emulator.deactivate(BLOCKED)  # a block is told to the bot at once (tests/test_consent.py); this is not
    await app.store.subscribe(VANISHED, CASE)


async def test_an_operator_sees_taps_a_broadcast_and_a_pledge(app: App, emulator: BotAPIEmulator) -> None:
    await emulator.wait_for(lambda: app.scheduler.planned(CASE), timeout=10)
    reminders = len(await app.scheduler.planned(CASE))
    assert app.metrics is not None
    async with served(app.metrics) as client:
        before, _ = await scrape(client)
        assert value(before, "rrb_updates_total", type="message") == 0

        # One message and four taps: the deep link, the language, the actions, a letter, the pledge.
        ann = Activist(emulator, ANN, "Ann", "en")
        await ann.send(f"/start {CASE}")
        await ann.tap_data("lang:en:")
        await ann.tap_data("act:")
        await ann.tap_data("tgt:")
        await ann.tap_data(f"pl:{CASE}:letter")
        after = await scrape_until(client, lambda s: value(s, "rrb_updates_total", type="callback_query") >= 4)
        assert value(after, "rrb_updates_total", type="message") == 1
        assert value(after, "rrb_updates_total", type="callback_query") == 4
        assert value(after, "rrb_update_handling_seconds_count", type="callback_query") == 4
        assert value(after, "rrb_update_handling_seconds_bucket", type="callback_query", le="+Inf") == 4
        assert 0 < value(after, "rrb_update_handling_seconds_sum", type="callback_query") < 40
        assert value(after, "rrb_update_errors_total", type="callback_query") == 0

        assert value(after, "rrb_pledges_total", case=CASE, action="letter") == 1
        assert total(after, "rrb_pledges_total") == 1, "one pledge, counted once"
        assert value(after, "rrb_scheduler_jobs", kind="reminder") == reminders
        assert value(after, "rrb_scheduler_jobs", kind="later") == 0
        assert value(after, "rrb_scheduler_leading") == 1
        assert value(after, "rrb_redis_up") == 1

        # A broadcast due in a moment: its recipients wait in the queue, then the queue empties.
        await audience(app, emulator)
        bc_id = await app.broadcasts.enqueue(
            Payload("Good news"), Audience(AudienceKind.case, CASE), send_at=time.time() + 2
        )
        waiting, _ = await scrape(client)
        assert value(waiting, "rrb_delivery_queue_depth") == 6  # Ann, three readers, the blocked, the gone
        assert value(waiting, "rrb_broadcasts_live") == 1
        status, report = await healthz(client)
        assert status == 200 and report["delivery"]["backlog"] == 6, "a backlog is no failure"

        emulator.inject("sendMessage", 429, "Too Many Requests: retry after 1", times=1, retry_after=1)
        progress = await finished(app, bc_id)
        assert (progress.delivered, progress.blocked, progress.not_found) == (4, 1, 1)
        done, text = await scrape(client)
        assert value(done, "rrb_deliveries_total", outcome="delivered") == 4
        assert value(done, "rrb_deliveries_total", outcome="blocked") == 1
        assert value(done, "rrb_deliveries_total", outcome="not_found") == 1
        assert value(done, "rrb_deliveries_total", outcome="failed") == 0
        assert value(done, "rrb_delivery_rate_limited_total") == 1
        assert value(done, "rrb_delivery_queue_depth") == 0
        assert value(done, "rrb_delivery_in_flight") == 0
        assert value(done, "rrb_broadcasts_live") == 0
        status, report = await healthz(client)
        assert status == 200 and report["delivery"]["backlog"] == 0

    exported = text + str(report)
    for chat in (ANN, *READERS, BLOCKED, VANISHED):
        # A whole number only: the digits of a short test id also turn up inside a float's fraction.
        leak = re.search(rf"(?<![\w.-]){chat}(?!\w)", exported)
        assert leak is None, "no chat id leaves through these endpoints"


async def test_scheduled_jobs_that_ran_failed_or_were_missed_are_counted(app: App, emulator: BotAPIEmulator) -> None:
    Activist(emulator, ADMIN_ID, "Coord")  # coordinators hear of the failed and the missed job
    await emulator.wait_for(lambda: app.scheduler.leading, timeout=10)
    soon = dt.datetime.now(UTC) + dt.timedelta(seconds=1)
    everyone = Audience(AudienceKind.all).to_json()
    await app.scheduler.schedule_broadcast(Payload("Scheduled").to_json(), everyone, None, soon)
    await app.scheduler.schedule_broadcast("{not json", everyone, None, soon)  # written by a broken tool
    # Planned for nine hours ago, while the bot was down: past the six-hour grace window.
    await app.scheduler.add_reminder(Reminder(CASE, "10h", dt.datetime.now(UTC) - dt.timedelta(hours=9)))
    assert app.metrics is not None
    async with served(app.metrics) as client:
        expected = {("broadcast", "ran"): 1, ("broadcast", "failed"): 1, ("reminder", "missed"): 1}

        def counted(samples: Samples) -> dict[tuple[str, str], float]:
            return {
                key: value(samples, "rrb_scheduler_job_runs_total", kind=key[0], outcome=key[1]) for key in expected
            }

        samples = await scrape_until(client, lambda s: counted(s) == expected)
        assert counted(samples) == expected
        assert value(samples, "rrb_scheduler_jobs", kind="broadcast") == 0, "both ran: none waits"


async def test_healthz_names_the_leader_and_fails_without_redis(app: App, redis, emulator: BotAPIEmulator) -> None:
    await emulator.wait_for(lambda: app.scheduler.leading, timeout=10)
    assert app.metrics is not None
    async with served(app.metrics) as client:
        status, report = await healthz(client)
        assert status == 200, report
        assert report["status"] == "ok" and report["redis"]["ok"] and report["redis"]["latency_ms"] >= 0
        assert report["scheduler"] == {"ok": True, "leader": "self", "leading": True}
        assert report["delivery"] == {"ok": True, "backlog": 0, "in_flight": 0, "broadcasts": 0}

        await redis.set(app.scheduler.lock_key, "another-process", px=20_000)
        status, report = await healthz(client)
        assert status == 200 and report["scheduler"]["leader"] == "other"
        await redis.delete(app.scheduler.lock_key)
        status, report = await healthz(client)
        # Nobody would run the reminders: said, but every replica still takes updates.
        assert status == 200 and report["status"] == "degraded" and report["scheduler"]["leader"] is None

    # The same checks through a client of a Redis that is not there.
    dead = client_from_url(f"redis://127.0.0.1:{closed_port()}/9")
    try:
        unreachable = Metrics(
            dead, store=app.store, broadcasts=app.broadcasts, scheduler=app.scheduler, library=app.library
        )
        unreachable.observe_update("message", 0.02)
        async with served(unreachable) as client:
            started = time.monotonic()
            status, report = await healthz(client)
            assert status == 503 and report["status"] == "unhealthy"
            assert report["redis"]["ok"] is False and report["delivery"]["backlog"] is None
            assert time.monotonic() - started < 5, "a short timeout, not the client's whole retry budget"
            samples, text = await scrape(client)
            assert value(samples, "rrb_redis_up") == 0
            assert value(samples, "rrb_updates_total", type="message") == 1, "this process's own figures still show"
            assert "rrb_deliveries_total" not in text, "no made-up zeros for what could not be read"
    finally:
        await dead.aclose()


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_delivery_totals_read_a_long_finished_broadcast_once(redis) -> None:
    broadcasts = Broadcasts(redis, Pseudonymizer(b"k" * 32))
    totals = DeliveryTotals(redis, broadcasts)
    now = 100_000.0
    records = {
        "1": {"state": "done", "finished_at": now - 3600, "delivered": 5, "blocked": 1},
        "2": {"state": "cancelled", "finished_at": now - 10, "delivered": 4},  # late answers may still come
        "3": {"state": "running", "delivered": 2},
    }
    for bc_id, fields in records.items():
        await redis.hset(broadcasts.key("bc", bc_id), mapping=fields)
        await redis.zadd(broadcasts.key("bc", "all"), {bc_id: int(bc_id)})
    first = await totals.read(now)
    assert (first["delivered"], first["blocked"], first["failed"]) == (11, 1, 0)

    await redis.hset(broadcasts.key("bc", "1"), "delivered", 999)  # never happens: shows it is not read again
    await redis.hincrby(broadcasts.key("bc", "2"), "delivered", 1)  # a late answer to the cancelled one
    await redis.hincrby(broadcasts.key("bc", "3"), "delivered", 3)
    second = await totals.read(now + 1)
    assert second["delivered"] == 5 + 5 + 5 and second["blocked"] == 1
    assert totals.settled == {"1"}

    # Redis restored from an older copy: the ids start again, and nothing remembered is trusted.
    await redis.delete(broadcasts.key("bc", "all"), *(broadcasts.key("bc", i) for i in records))
    await redis.hset(broadcasts.key("bc", "2"), mapping={"state": "running", "delivered": 1})
    await redis.zadd(broadcasts.key("bc", "all"), {"2": 2})
    assert (await totals.read(now + 2))["delivered"] == 1
