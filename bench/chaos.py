"""Chaos at full scale: a burst of taps, Redis trouble during taps and broadcasts, a slow Telegram, memory.

    .venv/bin/python bench/chaos.py                 # every scenario at full scale, about 25 minutes
    .venv/bin/python bench/chaos.py --quick         # a tenth of the scale, to try it (about 5 minutes)
    .venv/bin/python bench/chaos.py --only burst,memory

How it measures (docs/RELIABILITY.md says more):

* The bot under test is `rrbot run` itself, a child process configured by environment as in production
  (REDIS_URL, PORT for /healthz and /metrics, WEBHOOK_URL in webhook mode). Its RSS is read from /proc,
  its event loop's worst stall from its own /metrics (`rrb_event_loop_lag_max_seconds`).
* Redis is a redis-server of the bench's own on a free port (tests/servers.py), append-only with
  `appendfsync always`, so a killed Redis keeps every write it acknowledged; trouble is made to it:
  stopped (SIGTERM, restarted), killed (SIGKILL, restarted), frozen (SIGSTOP, SIGCONT), full
  (`maxmemory 1` under noeviction, then 0).
* The Bot API emulator runs in this process with flood limits off. It refuses an answer to a tap
  after 15 s, as Telegram does: "answered in time" is the answers it took.
* A tap is one person's "I posted it" (each person taps each action once, so every tap is one pledge
  to count): counted = the case's total in Redis, lost = taps sent - counted.
* The reference for throughput is a bare aiogram bot (bench/taps.py's echo bot: stock session, no
  middleware, no Redis) answering the same taps in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.taps import (  # noqa: E402
    BOT_USERNAME,
    CASE,
    CONTENT,
    PRIVACY_KEY,
    TOKEN,
    bench_emulator_class,
    cpu_seconds,
    memory_kib,
)
from tests.servers import RedisProcess, free_port  # noqa: E402

ACTIONS = ("letter", "email", "tweet")
COORDINATOR = 990_000_001
CALLBACK_WINDOW = 15.0
SETTLE = 30.0  # a scenario ends when nothing was answered or sent for this long
TROUBLES = ("stopped", "killed", "frozen", "full")


# --- the emulator, counting what the bench needs ------------------------------------------------


def chaos_emulator(slow: tuple[float, float, float] | None = None) -> Any:
    """The bench emulator, noting when each tap was answered and each message sent; `slow` = (share, low, high):
    that share of sendMessage calls is answered after low..high seconds (the message is delivered)."""
    base = bench_emulator_class()

    class ChaosEmulator(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.answered_at: dict[str, float] = {}
            self.handled_at: list[float] = []
            self.sent: Counter[int] = Counter()
            self.last_activity = time.perf_counter()
            self.slow = slow
            self.random = random.Random(7)

        async def _invoke(self, method, args, files):  # type: ignore[override]
            status, body = await super()._invoke(method, args, files)
            now = time.perf_counter()
            if method.name == "answerCallbackQuery":
                self.last_activity = now
                self.handled_at.append(now)  # too late to be taken, too: the bot handled the tap
                if status == 200:
                    self.answered_at[args.get("callback_query_id", "")] = now
            elif method.name == "sendMessage" and status == 200:
                self.sent[int(args.get("chat_id", "0"))] += 1
                self.last_activity = now
                if self.slow and self.random.random() < self.slow[0]:
                    await asyncio.sleep(self.random.uniform(self.slow[1], self.slow[2]))
            return status, body

    return ChaosEmulator(token=TOKEN, bot_username=BOT_USERNAME, limits=_no_limits())


def _no_limits() -> Any:
    from emulator import FloodLimits

    return FloodLimits(enabled=False)


# --- the bot under test ---------------------------------------------------------------------------


class Child:
    """`rrbot run` (or the bare aiogram echo bot) in a process of its own, logging to a file."""

    def __init__(self, kind: str, emu: Any, redis_url: str, tmp: Path, **env: str) -> None:
        self.kind, self.emu, self.redis_url, self.tmp = kind, emu, redis_url, tmp
        self.port = free_port()
        self.env = env
        self.log = tmp / f"{kind}-{self.port}.log"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        data = self.tmp / f"data-{self.port}"
        self._log = open(self.log, "wb")
        if self.kind == "echo":
            command = [
                sys.executable,
                str(ROOT / "bench" / "taps.py"),
                "--serve",
                "echo",
                "--api",
                self.emu.base_url,
                "--redis",
                self.redis_url,
                "--data",
                str(data),
            ]
            env = dict(os.environ)
        else:
            command = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(['run']))"]
            if profile := os.environ.get("CHAOS_PROFILE"):  # cProfile of the bot into this file, for a look
                runner = self.tmp / "run.py"
                runner.write_text("import sys\nfrom bot.cli import main\nsys.exit(main(['run']))\n")
                command = [sys.executable, "-m", "cProfile", "-o", profile, str(runner)]
            env = {
                **os.environ,
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": self.emu.base_url,
                "REDIS_URL": self.redis_url,
                "PRIVACY_KEY": PRIVACY_KEY,
                "CONTENT_DIR": str(CONTENT),
                "DATA_DIR": str(data),
                "LOG_LEVEL": "INFO",
                "PORT": str(self.port),
                "ADMIN_IDS": str(COORDINATOR),
                **self.env,
            }
        self.proc = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=self._log, cwd=ROOT, env=env
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.kind == "echo":
                assert self.proc.stdout is not None
                if (await asyncio.wait_for(self.proc.stdout.readline(), 90)).strip() == b"READY":
                    return
            elif b"Serving " in self.log.read_bytes():
                return
            if self.proc.returncode is not None:
                break
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the {self.kind} bot did not start; its log:\n{self.log.read_text()[-3000:]}")

    async def restart(self) -> None:
        """A new process in the place of one that died, with the same configuration and port."""
        self._log.close()
        self.log = self.log.with_suffix(".restarted.log")
        await self.start()

    def rss_mb(self) -> tuple[float, float]:
        """(RSS now, peak RSS) in MB."""
        assert self.proc is not None
        memory = memory_kib(self.proc.pid)
        return memory.get("VmRSS", 0) / 1024, memory.get("VmHWM", 0) / 1024

    async def worst_lag(self) -> float | None:
        """The longest event-loop stall since it started, from its /metrics."""
        import aiohttp

        try:
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{self.port}/metrics", timeout=aiohttp.ClientTimeout(10)) as r:
                    text = await r.text()
        except Exception:
            return None
        found = re.search(r"^rrb_event_loop_lag_max_seconds ([0-9.e+-]+)$", text, re.M)
        return float(found.group(1)) if found else None

    def log_lines(self, needle: str) -> int:
        return sum(needle in line for line in self.log.read_text(errors="replace").splitlines())

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._log.close()


# --- taps -------------------------------------------------------------------------------------------


@dataclass
class Taps:
    """Taps made and what became of them."""

    queued: dict[str, float] = field(default_factory=dict)  # query id -> perf_counter when queued
    during: dict[str, int] = field(default_factory=dict)  # made while Redis was in trouble: query id -> person

    def make(self, emu: Any, people: range, actions: tuple[str, ...] = ("tweet",), trouble: bool = False) -> None:
        now = time.perf_counter()
        for person in people:
            emu.add_user(person, first_name=f"P{person}", language_code="en")
            for action in actions:
                query = emu.user_presses(person, 1, f"pl:{CASE}:{action}")["callback_query"]["id"]
                self.queued[query] = now
                if trouble:
                    self.during[query] = person

    def answered(self, emu: Any) -> int:
        return sum(q in emu.answered_at for q in self.queued)

    def throughput(self, emu: Any) -> float:
        """Taps handled a second, from the first queued to the last handled (answered, in time or not)."""
        if not emu.handled_at:
            return 0.0
        return len(emu.handled_at) / (max(emu.handled_at) - min(self.queued.values()))


async def settle(emu: Any, done: Callable[[], Awaitable[bool] | bool], quiet: float = SETTLE) -> None:
    """Until done(), or nothing was answered or sent for `quiet` seconds."""
    while True:
        value = done()
        if not isinstance(value, bool):
            value = await value
        if value or time.perf_counter() - emu.last_activity > quiet:
            return
        await asyncio.sleep(0.2)


async def not_counted(redis: Any, people: set[int]) -> int:
    from bot.pledges.store import Store

    store = Store(redis, pseudonymizer())
    pledged = await asyncio.gather(*(store.pledged_actions(person, CASE) for person in people))
    return sum(not actions for actions in pledged)


async def counted(redis: Any) -> int:
    totals = await redis.hgetall(f"rrb:{{case:{CASE}}}:count")
    return sum(int(totals.get(action, 0)) for action in ACTIONS)


# --- scenarios --------------------------------------------------------------------------------------


async def burst(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """Taps arriving all at once (queued while the bot was down), for rrbot and for bare aiogram."""
    rows = []
    people = args.taps // len(ACTIONS)
    # ABBA order, so that a busy moment of the machine does not land on one bot only.
    order = [kind for i in range(args.rounds) for kind in (("echo", "rrbot") if i % 2 == 0 else ("rrbot", "echo"))]
    for kind in order:
        async with environment(tmp, kind) as (emu, child, redis, _server):
            idle, _ = child.rss_mb()
            assert child.proc is not None
            cpu = cpu_seconds(child.proc.pid)
            taps = Taps()
            taps.make(emu, range(1_000_000, 1_000_000 + people), ACTIONS)
            await settle(emu, lambda taps=taps: taps.answered(emu) + sum(emu.failures.values()) >= len(taps.queued))
            rss, peak = child.rss_mb()
            counted_now = await counted(redis) if kind == "rrbot" else None
            rows.append(
                {
                    "scenario": f"burst, {kind}",
                    "taps": len(taps.queued),
                    "counted": counted_now,
                    "in time": taps.answered(emu),
                    "lost": None if counted_now is None else len(taps.queued) - counted_now,
                    "taps/s": round(taps.throughput(emu)),
                    "bot CPU ms/tap": round((cpu_seconds(child.proc.pid) - cpu) * 1000 / len(taps.queued), 2),
                    "RSS growth MB": round(peak - idle, 1),
                    "pool errors": child.log_lines("No connection available") if kind == "rrbot" else None,
                    "worst stall s": rounded(await child.worst_lag()) if kind == "rrbot" else None,
                }
            )
            print_row(rows[-1])
    mean = {kind: sum(r["taps/s"] for r in rows if r["scenario"].endswith(kind)) / args.rounds for kind in set(order)}
    ratio = mean["rrbot"] / mean["echo"] if mean["echo"] else float("nan")
    rows.append(
        {
            "scenario": "burst, rrbot / bare aiogram",
            "taps/s": f"{mean['rrbot']:.0f} / {mean['echo']:.0f}",
            "ratio": f"{ratio:.2f}",
        }
    )
    print_row(rows[-1])
    return rows


async def redis_trouble(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """A steady stream of taps; Redis in trouble for --outage seconds in the middle; polling and webhook."""
    rows = []
    for mode in args.modes:
        for trouble in args.troubles:
            async with environment(tmp, "rrbot", webhook=mode == "webhook") as (emu, child, redis, server):
                taps = Taps()
                first = 2_000_000
                stream = Stream(emu, taps, rate=args.rate, first=first)
                runner = asyncio.create_task(stream.run())
                await asyncio.sleep(args.before)
                stream.trouble = True
                began = time.perf_counter()
                await make_trouble(server, trouble)
                await asyncio.sleep(args.outage)
                await end_trouble(server, trouble)
                back = time.perf_counter()
                stream.trouble = False
                await asyncio.sleep(args.after)
                stream.stop = True
                await runner
                await settle(emu, lambda taps=taps: taps.answered(emu) >= len(taps.queued))
                resumed = [t for t in emu.answered_at.values() if t >= back]
                made = await counted(redis)
                rows.append(
                    {
                        "scenario": f"Redis {trouble}, {mode}",
                        "taps": len(taps.queued),
                        "during": len(taps.during),
                        "counted": made,
                        "lost": len(taps.queued) - made,
                        "lost of those during": await not_counted(redis, set(taps.during.values())),
                        "in time": taps.answered(emu),
                        "worst stall s": rounded(await child.worst_lag()),
                        "recovery s": round(min(resumed) - back, 2) if resumed else None,
                        "outage s": round(back - began, 1),
                        "RSS peak MB": round(child.rss_mb()[1], 1),
                        "coordinator told": emu.sent[COORDINATOR],
                    }
                )
                print_row(rows[-1])
    return rows


class Stream:
    """Taps at a steady rate from new people, one tap each."""

    def __init__(self, emu: Any, taps: Taps, rate: float, first: int) -> None:
        self.emu, self.taps, self.rate, self.next = emu, taps, rate, first
        self.stop = False
        self.trouble = False

    async def run(self) -> None:
        started = time.perf_counter()
        made = 0
        while not self.stop:
            due = int((time.perf_counter() - started) * self.rate)
            if due > made:
                self.taps.make(self.emu, range(self.next, self.next + due - made), trouble=self.trouble)
                self.next += due - made
                made = due
            await asyncio.sleep(0.02)


async def make_trouble(server: RedisProcess, trouble: str) -> None:
    if trouble == "stopped":
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.to_thread(server.proc.wait)
        server.proc = None
    elif trouble == "killed":
        await asyncio.to_thread(server.kill)
    elif trouble == "frozen":
        server.freeze()
    else:
        await asyncio.to_thread(server.config, maxmemory=1, maxmemory_policy="noeviction")


async def end_trouble(server: RedisProcess, trouble: str) -> None:
    if trouble in ("stopped", "killed"):
        await asyncio.to_thread(server.start)
    elif trouble == "frozen":
        server.thaw()
    else:
        await asyncio.to_thread(server.config, maxmemory=0)


async def broadcast(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """A broadcast to --recipients followers: Redis killed or frozen for --outage s in the middle; a slow Telegram."""
    rows = []
    for trouble in ("killed", "frozen", "bot killed", "slow"):
        slow = (0.05, 6.0, 10.0) if trouble == "slow" else None
        env = {"BROADCAST_RATE": str(args.broadcast_rate)}
        async with environment(tmp, "rrbot", slow=slow, **env) as (emu, child, redis, server):
            bc_id, people = await start_broadcast(emu, redis, args.recipients)
            started = time.perf_counter()
            after_kill = None
            if trouble in ("killed", "frozen"):
                await settle(emu, lambda: sum(emu.sent.values()) >= args.recipients // 4)
                await make_trouble(server, trouble)
                await asyncio.sleep(args.outage)
                await end_trouble(server, trouble)
            elif trouble == "bot killed":
                # SIGKILL mid-broadcast, then a new process: the sends the dead one had claimed come back
                # once their lease runs out (bot.delivery.worker.LEASE_SECONDS).
                await settle(emu, lambda: sum(emu.sent.values()) >= args.recipients // 4)
                assert child.proc is not None
                child.proc.kill()
                await child.proc.wait()
                killed = time.perf_counter()
                await child.restart()
            progress = await finished(emu, redis, bc_id)
            if trouble == "bot killed":
                after_kill = round(time.perf_counter() - killed, 1)
            reached = sum(emu.sent[p] > 0 for p in people)
            extra = sum(emu.sent[p] for p in people) - reached
            rows.append(
                {
                    "scenario": {
                        "slow": "broadcast, 5 % slow sends (6-10 s)",
                        "bot killed": "broadcast, bot SIGKILLed and restarted",
                    }.get(trouble, f"broadcast, Redis {trouble}"),
                    "recipients": len(people),
                    "reached": reached,
                    "lost": len(people) - reached,
                    "duplicated": extra,
                    "counted as possible duplicates": progress.get("uncertain"),
                    "delivered (record)": progress.get("delivered"),
                    "took s": round(time.perf_counter() - started, 1),
                    "finished s after the kill": after_kill,
                    "worst stall s": rounded(await child.worst_lag()),
                    "RSS peak MB": round(child.rss_mb()[1], 1),
                }
            )
            print_row(rows[-1])
    return rows


async def start_broadcast(emu: Any, redis: Any, recipients: int) -> tuple[str, list[int]]:
    from bot.delivery import Audience, AudienceKind, Broadcasts, Payload
    from bot.pledges.store import Store

    pseudonyms = pseudonymizer()
    store = Store(redis, pseudonyms)
    people = list(range(3_000_000, 3_000_000 + recipients))
    for chunk in range(0, recipients, 500):
        await asyncio.gather(*(store.subscribe(p, CASE) for p in people[chunk : chunk + 500]))
    for person in people:
        emu.add_user(person, first_name=f"P{person}", language_code="en")
    bc_id = await Broadcasts(redis, pseudonyms).enqueue(
        Payload("<b>Alert</b>: the bench"), Audience(AudienceKind.case, CASE)
    )
    return bc_id, people


async def finished(emu: Any, redis: Any, bc_id: str) -> dict[str, int]:
    async def done() -> bool:
        return (await redis.hget(f"rrb:{{bc:{bc_id}}}", "state")) in ("done", "cancelled")

    await settle(emu, done, quiet=60)
    raw = await redis.hgetall(f"rrb:{{bc:{bc_id}}}")
    return {k: int(v) for k, v in raw.items() if v.isdigit()}


async def memory(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    """Two waves of --people new people tapping once: RSS above idle after each."""
    rows = []
    async with environment(tmp, "rrbot", fsync="everysec") as (emu, child, redis, _server):
        await asyncio.sleep(3)
        idle, _ = child.rss_mb()
        figures = {"idle MB": round(idle, 1)}
        first = 4_000_000
        for wave in (1, 2):
            taps = Taps()
            for chunk in range(0, args.people, 10_000):  # as they would come: not all in one getUpdates backlog
                taps.make(emu, range(first + chunk, first + min(chunk + 10_000, args.people)))
                await settle(emu, lambda taps=taps: taps.answered(emu) >= len(taps.queued))
            first += args.people
            await asyncio.sleep(10)  # idle entries go (local buckets are pruned after 5 s)
            rss, _ = child.rss_mb()
            figures[f"after wave {wave} MB"] = round(rss, 1)
            figures[f"wave {wave} answered"] = taps.answered(emu)
        figures["wave 1 above idle MB"] = round(figures["after wave 1 MB"] - idle, 1)
        figures["wave 2 growth MB"] = round(figures["after wave 2 MB"] - figures["after wave 1 MB"], 1)
        rows.append({"scenario": f"memory, 2 x {args.people:,} people", **figures})
        print_row(rows[-1])
    return rows


# --- plumbing ------------------------------------------------------------------------------------------


def pseudonymizer() -> Any:
    from bot.ground.privacy import Pseudonymizer, privacy_key
    from bot.ground.settings import Settings

    settings = Settings(
        bot_token=TOKEN, redis_url="redis://127.0.0.1:1/0", privacy_key=PRIVACY_KEY, content_dir=CONTENT, _env_file=None
    )
    return Pseudonymizer(privacy_key(settings))


class environment:
    """A Redis server, an emulator and a bot, all fresh, for one scenario."""

    def __init__(
        self, tmp: Path, kind: str, *, webhook: bool = False, slow: Any = None, fsync: str = "always", **env: str
    ) -> None:
        self.dir = Path(tempfile.mkdtemp(dir=tmp))
        self.kind, self.webhook, self.slow, self.fsync, self.env = kind, webhook, slow, fsync, env

    async def __aenter__(self) -> tuple[Any, Child, Any, RedisProcess]:
        from bot.ground.redis_client import client_from_url

        self.server = RedisProcess(self.dir, fsync=self.fsync)
        await asyncio.to_thread(self.server.start)
        self.redis = client_from_url(self.server.url)
        self.emu = chaos_emulator(self.slow)
        await self.emu.start()
        self.emu.add_user(COORDINATOR, first_name="Coordinator", language_code="en")
        env = dict(self.env)
        self.child = Child(self.kind, self.emu, self.server.url, self.dir, **env)
        if self.webhook:
            env.update(
                WEBHOOK_URL=f"http://127.0.0.1:{self.child.port}/telegram",
                WEBHOOK_SECRET="bench-chaos-webhook-secret-0123",
            )
            self.child.env = env
        await self.child.start()
        return self.emu, self.child, self.redis, self.server

    async def __aexit__(self, *exc: Any) -> None:
        self.server.thaw()
        await self.child.stop()
        errors = [line for line in self.child.log.read_text(errors="replace").splitlines() if " ERROR " in line]
        if errors:
            print(
                f"    (the bot logged {len(errors)} ERROR line(s), the first: {errors[0][:300]}; {self.child.log})",
                flush=True,
            )
        await self.emu.stop()
        await self.redis.aclose()
        await asyncio.to_thread(self.server.kill)


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def print_row(row: dict[str, Any]) -> None:
    name = row["scenario"]
    rest = ", ".join(f"{k} {v}" for k, v in row.items() if k != "scenario" and v is not None)
    print(f"  {name}: {rest}", flush=True)


SCENARIOS = {"burst": burst, "redis": redis_trouble, "broadcast": broadcast, "memory": memory}


async def main(args: argparse.Namespace) -> int:
    import platform

    print(f"bench/chaos.py on {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(
        f"  scale: {args.taps:,} taps in a burst; {args.rate:g} taps/s with {args.outage:g} s of Redis trouble; "
        f"{args.recipients:,} recipients at {args.broadcast_rate:g}/s; 2 x {args.people:,} people",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="rrbot-chaos-") as name:
        where = Path(args.keep) if args.keep else Path(name)  # --keep: the bots' logs stay there
        where.mkdir(parents=True, exist_ok=True)
        for scenario in args.only:
            print(f"\n{scenario}:", flush=True)
            await SCENARIOS[scenario](args, where)  # each prints its rows as it goes
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a tenth of the scale")
    p.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    p.add_argument("--taps", type=int, default=30_000)
    p.add_argument("--rounds", type=int, default=2, help="bursts per bot, in ABBA order (default 2)")
    p.add_argument("--rate", type=float, default=100.0, help="taps a second during the Redis trouble scenarios")
    p.add_argument("--outage", type=float, default=20.0)
    p.add_argument("--before", type=float, default=5.0)
    p.add_argument("--after", type=float, default=10.0)
    p.add_argument("--recipients", type=int, default=10_000)
    p.add_argument("--broadcast-rate", type=float, default=500.0)
    p.add_argument("--people", type=int, default=100_000)
    p.add_argument("--keep", help="a directory for the bots' logs and data, kept after the run")
    p.add_argument("--modes", default="polling,webhook", help="of the Redis trouble scenarios")
    p.add_argument("--troubles", default=",".join(TROUBLES), help="of the Redis trouble scenarios")
    args = p.parse_args(argv)
    args.only, args.modes, args.troubles = (
        [s.strip() for s in v.split(",") if s.strip()] for v in (args.only, args.modes, args.troubles)
    )
    if unknown := set(args.only) - set(SCENARIOS):
        p.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if args.quick:
        args.taps, args.outage, args.recipients, args.people = args.taps // 10, 5.0, args.recipients // 10, 10_000
        args.rounds = 1
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
