"""Health and Prometheus metrics for operators: GET /healthz and GET /metrics. No aiogram here.

Mounting (bot/app/web.py): `build_app` creates the `Metrics` and keeps it as `app.metrics`; add its
routes to the aiohttp application that listens on PORT, next to the webhook route:

    from bot.app.observability import routes

    web_app = web.Application()
    web_app.add_routes(routes(app.metrics))   # GET /healthz, GET /metrics

The handlers need nothing else (no middleware, no app keys) and work the same in polling and
webhook mode. Both paths are fixed, so keep them off any prefix the webhook route uses.

/healthz answers 200 when this replica can use Redis (a PING within a second, the delivery state
readable), else 503; the body is JSON with each check. No scheduler leader makes the status
"degraded" but stays 200: it is the same for every replica for up to 25 s after a leader dies
(LOCK_TTL + RENEW_EVERY), and a proxy that dropped them all for it would stop the bot answering.
Alert on it instead. A delivery backlog is reported, never a failure: a big broadcast takes a while.

Two kinds of figures are on /metrics:
  * this process's own: updates by type, handling latency, handler errors, whether it leads the
    scheduler. Sum them over replicas.
  * shared, read from Redis at scrape time (deliveries, 429s, queue depth, pledges, scheduled
    jobs): every replica reports the same cluster-wide truth, so aggregate with max(), not sum().
    When Redis does not answer they are left out and `rrb_redis_up` is 0.
Only counts are exported, labelled by type, outcome, kind, action and case id: never a chat id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from bot.content import ACTIONS, Library
from bot.delivery import Broadcasts, State
from bot.delivery.models import COUNTERS, pace
from bot.delivery.worker import RATE_LIMITED, Pacing
from bot.ground.redis_gate import RedisGate
from bot.pledges.store import Store
from scheduler import Planned, Scheduler
from scheduler.jobs import OUTCOMES

logger = logging.getLogger(__name__)

# A tap should be answered well under a second; 10 s is where Telegram users give up.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PING_TIMEOUT = 1.0
READ_TIMEOUT = 5.0  # all shared figures of one scrape; Prometheus's own default timeout is 10 s
LIVE = (State.preparing.value, State.queued.value, State.running.value, State.paused.value)
# A broadcast copying its audience is not in bc:active yet; it is among the newest (as in resume_preparing).
RECENT = 50
BATCH = 1000  # broadcasts per pipeline when summing delivery outcomes
FINISHED = (State.done.value, State.cancelled.value)
SETTLED_AFTER = 300.0  # seconds after its end: late answers to a cancelled broadcast's last sends are in by then
JOB_KINDS = ("reminder", "later", "broadcast")
LAG_EVERY = 0.1  # how often the event loop's lag is sampled
LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Backlog:
    queued: int  # recipients waiting in the queues
    in_flight: int  # claimed by a worker, answer not recorded yet
    broadcasts: int  # live ones: preparing, queued, running or paused


@dataclass
class Shared:
    """The cluster-wide figures of one scrape, read from Redis beforehand (collectors cannot await)."""

    backlog: Backlog
    deliveries: dict[str, int]
    rate_limited: int
    pace: float  # the share of BROADCAST_RATE every process may send at now (below 1 for a while after a 429)
    pledges: dict[tuple[str, str], int]  # (case, action) -> total
    job_runs: dict[tuple[str, str], int]  # (kind, outcome) -> count
    planned: dict[str, int] = field(default_factory=dict)  # kind -> jobs waiting; empty when unreadable


async def read_backlog(redis: Redis, broadcasts: Broadcasts) -> Backlog:
    """Recipients still to be sent across live broadcasts, in two round trips."""
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zrange(broadcasts.key("bc", "active"), 0, -1)
        pipe.zrevrange(broadcasts.key("bc", "all"), 0, RECENT - 1)
        active, recent = await pipe.execute()
    ids = list(dict.fromkeys([*active, *recent]))
    async with redis.pipeline(transaction=False) as pipe:
        for bc_id in ids:
            pipe.hget(broadcasts.key("bc", bc_id), "state")
            pipe.llen(broadcasts.key("bc", bc_id, "q"))
            pipe.zcard(broadcasts.key("bc", bc_id, "inflight"))
        replies = await pipe.execute()
    live = [i for i in range(len(ids)) if replies[3 * i] in LIVE]
    return Backlog(
        queued=sum(replies[3 * i + 1] for i in live),
        in_flight=sum(replies[3 * i + 2] for i in live),
        broadcasts=len(live),
    )


class DeliveryTotals:
    """Outcomes summed over every broadcast ever sent (the engine keeps them per broadcast, forever).

    A broadcast finished SETTLED_AFTER ago takes no more answers: it is read once and remembered, so a
    scrape reads only the broadcasts of the last minutes, however many went out over the years.
    """

    def __init__(self, redis: Redis, broadcasts: Broadcasts) -> None:
        self.redis, self.broadcasts = redis, broadcasts
        self.settled: set[str] = set()
        self.settled_sum = [0] * len(COUNTERS)

    async def read(self, now: float | None = None) -> dict[str, int]:
        now = time.time() if now is None else now
        every = await self.redis.zrange(self.broadcasts.key("bc", "all"), 0, -1)
        if not self.settled.issubset(every):
            # Redis was restored from an older copy, or emptied: the remembered ones may be new ones now.
            self.settled, self.settled_sum = set(), [0] * len(COUNTERS)
        ids = [bc_id for bc_id in every if bc_id not in self.settled]
        totals = list(self.settled_sum)
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            async with self.redis.pipeline(transaction=False) as pipe:
                for bc_id in batch:
                    pipe.hmget(self.broadcasts.key("bc", bc_id), [*COUNTERS, "state", "finished_at"])
                replies = await pipe.execute()
            for bc_id, values in zip(batch, replies):
                counts = [int(v or 0) for v in values[: len(COUNTERS)]]
                totals = [a + b for a, b in zip(totals, counts)]
                state, finished = values[len(COUNTERS)], values[len(COUNTERS) + 1]
                if state in FINISHED and finished and now - float(finished) > SETTLED_AFTER:
                    self.settled.add(bc_id)
                    self.settled_sum = [a + b for a, b in zip(self.settled_sum, counts)]
        return dict(zip(COUNTERS, totals))


async def health(
    redis: Redis,
    broadcasts: Broadcasts,
    scheduler: Scheduler,
    *,
    timeout: float = PING_TIMEOUT,
    gate: RedisGate | None = None,
) -> tuple[bool, dict[str, Any]]:
    """Whether this process can do its work, and each check's findings (no personal data)."""
    if gate is not None and not gate.is_open:
        # Its own probe already says so: the intake takes no updates until Redis is back.
        away = round(time.monotonic() - gate.since, 1)
        return False, {
            "status": "unhealthy",
            "redis": {"ok": False, "state": str(gate.state), "for_s": away, "updates_waiting": gate.held},
            "intake": {"ok": False, "paused": True},
        }
    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            await redis.ping()
    except Exception as exc:
        # The type only: a connection error's text carries the Redis address.
        logger.warning("Health check: Redis did not answer: %r", type(exc).__name__)
        return False, {
            "status": "unhealthy",
            "redis": {"ok": False, "error": type(exc).__name__},
            "scheduler": {"ok": False, "leader": None, "leading": scheduler.leading},
            "delivery": {"ok": False, "backlog": None, "in_flight": None, "broadcasts": None},
        }
    checks: dict[str, Any] = {"redis": {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}}
    try:
        async with asyncio.timeout(timeout):
            holder = await redis.get(scheduler.lock_key)
        leader = None if holder is None else "self" if holder == scheduler.token else "other"
        checks["scheduler"] = {"ok": leader is not None, "leader": leader, "leading": scheduler.leading}
    except Exception as exc:
        checks["scheduler"] = {"ok": False, "leader": None, "leading": scheduler.leading, "error": type(exc).__name__}
    try:
        async with asyncio.timeout(timeout):
            backlog = await read_backlog(redis, broadcasts)
        checks["delivery"] = {
            "ok": True,
            "backlog": backlog.queued,
            "in_flight": backlog.in_flight,
            "broadcasts": backlog.broadcasts,
        }
    except Exception as exc:
        checks["delivery"] = {"ok": False, "backlog": None, "error": type(exc).__name__}
    ok = checks["redis"]["ok"] and checks["delivery"]["ok"]
    status = "unhealthy" if not ok else "ok" if checks["scheduler"]["ok"] else "degraded"
    return ok, {"status": status, **checks}


class SharedCollector(Collector):
    """Yields the figures the last `Metrics.refresh` read from Redis; nothing when it could not."""

    def __init__(self) -> None:
        self.shared: Shared | None = None

    def describe(self) -> list[Metric]:
        return list(self._families(None))

    def collect(self) -> Iterator[Metric]:
        if self.shared is None:
            return iter(())  # absent rather than zero: a dashboard must not read "nothing queued"
        return self._families(self.shared)

    def _families(self, shared: Shared | None) -> Iterator[Metric]:
        deliveries = CounterMetricFamily(
            "rrb_deliveries", "Broadcast messages by outcome, all broadcasts, all processes", labels=["outcome"]
        )
        limited = CounterMetricFamily("rrb_delivery_rate_limited", "429 answers to broadcast sends, all processes")
        pace = GaugeMetricFamily(
            "rrb_delivery_pace", "Share of BROADCAST_RATE allowed now, all processes (below 1 for a while after a 429)"
        )
        depth = GaugeMetricFamily("rrb_delivery_queue_depth", "Recipients waiting in the queues of live broadcasts")
        in_flight = GaugeMetricFamily("rrb_delivery_in_flight", "Broadcast sends claimed whose answer is not recorded")
        live = GaugeMetricFamily("rrb_broadcasts_live", "Broadcasts preparing, queued, running or paused")
        pledges = CounterMetricFamily("rrb_pledges", "Pledges counted, by case and action", labels=["case", "action"])
        planned = GaugeMetricFamily("rrb_scheduler_jobs", "Scheduled jobs waiting, by kind", labels=["kind"])
        runs = CounterMetricFamily(
            "rrb_scheduler_job_runs",
            "Scheduled jobs by kind and outcome (ran, failed, missed)",
            labels=["kind", "outcome"],
        )
        if shared is not None:
            for outcome, count in shared.deliveries.items():
                deliveries.add_metric([outcome], count)
            limited.add_metric([], shared.rate_limited)
            pace.add_metric([], shared.pace)
            depth.add_metric([], shared.backlog.queued)
            in_flight.add_metric([], shared.backlog.in_flight)
            live.add_metric([], shared.backlog.broadcasts)
            for (case_id, action), count in sorted(shared.pledges.items()):
                pledges.add_metric([case_id, action], count)
            for kind, count in shared.planned.items():
                planned.add_metric([kind], count)
            for (kind, outcome), count in sorted(shared.job_runs.items()):
                runs.add_metric([kind, outcome], count)
        yield from (deliveries, limited, pace, depth, in_flight, live, pledges, planned, runs)


class PacingCollector(Collector):
    """This process's broadcast sends against their slots on the shared clock (bot.delivery.worker.Pacing)."""

    def __init__(self, pacing: Pacing) -> None:
        self.pacing = pacing

    def describe(self) -> list[Metric]:
        return list(self.collect())

    def collect(self) -> Iterator[Metric]:
        pacing = self.pacing
        sent = CounterMetricFamily("rrb_delivery_sends", "Broadcast sends this process made, each at its slot")
        sent.add_metric([], pacing.fired_total)
        given_up = CounterMetricFamily(
            "rrb_delivery_slots_given_up",
            "Slots this process did not send in (the message went back to the queue), by reason",
            labels=["reason"],
        )
        for reason, count in pacing.given_up.items():
            given_up.add_metric([reason], count)
        late = GaugeMetricFamily(
            "rrb_delivery_send_lateness_max_seconds", "Longest a send of this process went after its slot"
        )
        late.add_metric([], pacing.max_lateness)
        fullest = GaugeMetricFamily(
            "rrb_delivery_fullest_second", "Most broadcast sends this process made within any one second"
        )
        fullest.add_metric([], pacing.fullest_second)
        yield from (sent, given_up, late, fullest)


class Metrics:
    """One App's registry: its own counters, fed by bot.app.update_metrics, plus the shared figures from Redis."""

    def __init__(
        self,
        redis: Redis,
        *,
        store: Store,
        broadcasts: Broadcasts,
        scheduler: Scheduler,
        library: Library,
        gate: RedisGate | None = None,
        pacing: Pacing | None = None,
    ) -> None:
        self.redis, self.store, self.broadcasts, self.gate = redis, store, broadcasts, gate
        self.scheduler, self.library = scheduler, library
        # Not the global default registry: tests build many apps in one process.
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "rrb_updates", "Telegram updates this process received, by type", ["type"], registry=self.registry
        )
        self.update_errors = Counter(
            "rrb_update_errors", "Updates whose handling raised, by type", ["type"], registry=self.registry
        )
        self.latency = Histogram(
            "rrb_update_handling_seconds",
            "Time from receiving an update to having handled it, by type",
            ["type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.redis_up = Gauge("rrb_redis_up", "1 when Redis answered this scrape", registry=self.registry)
        self.leading = Gauge("rrb_scheduler_leading", "1 while this process runs the scheduler", registry=self.registry)
        self.leading.set_function(lambda: float(self.scheduler.leading))
        self.loop_lag = Histogram(
            "rrb_event_loop_lag_seconds",
            "How late the event loop woke a task that slept: every update waits behind such a stall",
            buckets=LAG_BUCKETS,
            registry=self.registry,
        )
        self.worst_lag = Gauge(
            "rrb_event_loop_lag_max_seconds",
            "The longest event-loop stall since this process started",
            registry=self.registry,
        )
        self.shared = SharedCollector()
        self.registry.register(self.shared)
        if pacing is not None:
            self.registry.register(PacingCollector(pacing))
        self.deliveries = DeliveryTotals(redis, broadcasts)
        self._scrape = asyncio.Lock()

    def observe_update(self, kind: str, seconds: float, *, failed: bool = False) -> None:
        """Count one handled update of this type and how long it took."""
        self.updates.labels(kind).inc()
        self.latency.labels(kind).observe(seconds)
        if failed:
            self.update_errors.labels(kind).inc()

    async def watch_loop(self, stop: asyncio.Event, every: float = LAG_EVERY) -> None:
        """Sample the event loop's lag until stop: a blocking call anywhere shows here."""
        loop = asyncio.get_running_loop()
        worst = 0.0
        while not stop.is_set():
            asked = loop.time()
            await asyncio.sleep(every)
            lag = max(0.0, loop.time() - asked - every)
            self.loop_lag.observe(lag)
            if lag > worst:
                worst = lag
                self.worst_lag.set(lag)

    async def render(self) -> bytes:
        """The exposition text, with the shared figures read from Redis just now."""
        async with self._scrape:  # concurrent scrapes would overwrite each other's snapshot
            await self.refresh()
            return generate_latest(self.registry)

    async def refresh(self) -> None:
        """Read the shared figures for the next collection; leave them out when Redis does not answer."""
        try:
            async with asyncio.timeout(PING_TIMEOUT):
                await self.redis.ping()
            async with asyncio.timeout(READ_TIMEOUT):
                shared = await self._read()
        except Exception as exc:
            logger.warning("Metrics: shared figures unavailable: %r", type(exc).__name__)
            self.redis_up.set(0)
            self.shared.shared = None
            return
        self.redis_up.set(1)
        self.shared.shared = shared

    async def _read(self) -> Shared:
        backlog = await read_backlog(self.redis, self.broadcasts)
        deliveries = await self.deliveries.read()
        case_ids = self.library.ids()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.broadcasts.key(RATE_LIMITED))
            self.broadcasts.read_pace(pipe)
            pipe.hgetall(self.store.key(OUTCOMES))
            for case_id in case_ids:
                pipe.hgetall(self.store.case_key(case_id, "count"))
            limited, depth, left, runs, *counts = await pipe.execute()
        pledges = {
            (case_id, action): int(raw.get(action, 0)) for case_id, raw in zip(case_ids, counts) for action in ACTIONS
        }
        job_runs = {}
        for name, value in runs.items():
            kind, _, outcome = name.partition(":")
            job_runs[(kind, outcome)] = int(value)
        pace_now = pace(float(depth or 0), left)
        return Shared(backlog, deliveries, int(limited or 0), pace_now, pledges, job_runs, await self._planned())

    async def _planned(self) -> dict[str, int]:
        """Jobs waiting by kind (the scheduler reads its blocking store off the event loop)."""
        try:
            found = dict.fromkeys(JOB_KINDS, 0)
            for job in await self.scheduler.planned():
                found[job.kind] = found.get(job.kind, 0) + 1
            found["later"] = await self.scheduler.count_later()
            return found
        except Exception as exc:
            logger.warning("Metrics: scheduled jobs unreadable: %r", type(exc).__name__)
            return {}

    def counting_missed(
        self, on_missed: Callable[[Planned, dt.datetime, bool], Awaitable[None]] | None
    ) -> Callable[[Planned, dt.datetime, bool], Awaitable[None]]:
        """Wrap the scheduler's on_missed so a job skipped past its grace window is counted too.

        Failures are counted by scheduler.jobs.run itself, which also sees personal reminders.
        """

        async def wrapped(planned: Planned, at: dt.datetime, failed: bool) -> None:
            if not failed:
                try:
                    await self.redis.hincrby(self.store.key(OUTCOMES), f"{planned.kind}:missed", 1)
                except Exception as exc:  # coordinators must still hear of it
                    logger.warning("Could not count a missed job: %r", type(exc).__name__)
            if on_missed is not None:
                await on_missed(planned, at, failed)

        return wrapped


def routes(metrics: Metrics) -> list[web.RouteDef]:
    """GET /healthz and GET /metrics, for the aiohttp application serving PORT (see the module docstring)."""

    async def healthz(request: web.Request) -> web.Response:
        ok, report = await health(metrics.redis, metrics.broadcasts, metrics.scheduler, gate=metrics.gate)
        return web.json_response(report, status=200 if ok else 503, headers={"Cache-Control": "no-store"})

    async def exposition(request: web.Request) -> web.Response:
        body = await metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})

    return [web.get("/healthz", healthz), web.get("/metrics", exposition)]
