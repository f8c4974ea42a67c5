"""A peer library against the same Bot API emulator: aiogram_broadcaster 0.6.8, side by side with ours.

    .venv/bin/python bench/peers.py                        # 30/s cap, 600 recipients, 5 % blocked, strict limiter
    .venv/bin/python bench/peers.py --rate 30 --recipients 600 --blocked 0.05 --bucket --variant interval

bench/broadcast.py imports run_aiogram_broadcaster() and points it at its own emulator, mode and audience.

How it measures:

* The peer runs in a throwaway venv of its own, made once with `python -m venv` and
  `pip install aiogram_broadcaster==0.6.8 aiogram==3.31.0` (the library asks for aiogram>=3.22; the pin
  is the aiogram this project uses) under ~/.cache/rrbot-bench/peers/aiogram_broadcaster-0.6.8-pyX.Y/.
  It is built in a sibling folder and renamed into place once its imports answer with the pinned
  versions, and built again when that check fails. Nothing of this project is importable there.
* A child script in that venv broadcasts one text message to every chat id as the library's examples
  do: `Broadcaster(bot)`, `create_mailer(chats=..., content=TextContent(text=...))`, `await mailer.start()`,
  the bot's session being `AiohttpSession(api=TelegramAPIServer.from_base(<emulator URL>))`. No storage,
  no dispatcher (neither is needed to broadcast). Pacing, by variant:
  - "default": the library as shipped. Its mailer sends one message after another, each awaited, with
    no interval and no retry of a 429 (that chat is marked failed).
  - "interval": `SimpleInterval(interval=1/cap)`, one message every 1/cap seconds after each answer,
    what a user who knows Telegram's "30 per second" would set (the issue's "sends one message every 1/30 s").
  - "retry": the defaults plus the library's own `setup_retry_after_handler` (waits the retry_after, sends again).
* The child counts the library's success_send / failed_send events (each attempt, a resend included),
  failures by exception class, the time of the first and last answer and the wall time of mailer.start().
* The emulator's figures are the ones to compare with ours: its limiter's flood_stats() (sends counted,
  403s included; 429s; the fullest sliding one-second window; first and last counted send) and the
  sendMessage calls it recorded, by HTTP status. Rate = sends counted / cap / (last - first counted send),
  the issue's definition. "reached" = distinct chats answered 200 or 403: a sender that drops the chats
  it was refused does not finish the broadcast, whatever its rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from emulator import BotAPIEmulator, FloodLimits  # noqa: E402

PEER = "aiogram_broadcaster"
PEER_VERSION = "0.6.8"
AIOGRAM_VERSION = "3.31.0"  # the aiogram this project runs; the peer accepts >=3.22
VARIANTS = ("default", "interval", "retry")
FREE_RATE = 30.0  # Telegram's free broadcast rate (bot.delivery.paid.FREE_RATE; this module imports no bot code)
TOKEN = "123456789:PEERS-token-for-the-emulator-only"
FIRST_CHAT = 400_000_000
TEXT = "Urgent Action: write to the authorities today, every letter counts. Reply /stop to unsubscribe."

CHILD = r'''
"""Broadcast one text to every chat id with aiogram_broadcaster, as its examples do; report as JSON."""
import asyncio
import json
import sys
import time

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram_broadcaster import Broadcaster, Event
from aiogram_broadcaster.contents import TextContent
from aiogram_broadcaster.intervals import SimpleInterval
from aiogram_broadcaster.utils.retry_after_handler import setup_retry_after_handler


async def main(config_path, report_path):
    with open(config_path) as f:
        config = json.load(f)
    report = {"sent_ok": 0, "errors": {}, "error_samples": {}, "first_answer": None, "last_answer": None}
    reached = set()

    def answered(chat_id, ok):
        now = time.time()
        if report["first_answer"] is None:
            report["first_answer"] = now
        report["last_answer"] = now
        if ok:
            reached.add(chat_id)

    events = Event(name="bench")

    @events.success_send()
    async def on_success(chat_id):
        report["sent_ok"] += 1
        answered(chat_id, True)

    @events.failed_send()
    async def on_failed(chat_id, error):
        kind = type(error).__name__
        report["errors"][kind] = report["errors"].get(kind, 0) + 1
        report["error_samples"].setdefault(kind, str(error)[:200])
        answered(chat_id, False)

    bot = Bot(config["token"], session=AiohttpSession(api=TelegramAPIServer.from_base(config["api_url"])))
    broadcaster = Broadcaster(bot)
    broadcaster.event.bind(events)
    if config["retry_after_handler"]:
        setup_retry_after_handler(broadcaster.event)
    interval = None if config["interval"] is None else SimpleInterval(interval=config["interval"])
    try:
        mailer = await broadcaster.create_mailer(
            chats=config["chat_ids"],
            content=TextContent(text=config["text"], allow_paid_broadcast=config["paid"]),
            interval=interval,
        )
        started = time.time()
        completed = await mailer.start()
        report["wall_s"] = time.time() - started
        report["completed"] = bool(completed)
        report["library_success"] = len(mailer.chats.success)
        report["library_failed"] = len(mailer.chats.failed)
        report["chats_sent_ok"] = len(reached)
    finally:
        await bot.session.close()
    with open(report_path, "w") as f:
        json.dump(report, f)


asyncio.run(main(sys.argv[1], sys.argv[2]))
'''


@dataclass
class PeerResult:
    """What the peer's child process reported (times on its wall clock, time.time())."""

    peer: str
    variant: str
    recipients: int
    sent_ok: int = 0  # success_send events (a resend that succeeded counts once more)
    chats_sent_ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # failed_send events by exception class
    error_samples: dict[str, str] = field(default_factory=dict)
    first_answer: float | None = None
    last_answer: float | None = None
    wall_s: float | None = None  # mailer.start() until it returned
    completed: bool = False
    library_success: int = 0
    library_failed: int = 0
    timed_out: bool = False
    returncode: int | None = None
    stderr_tail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    py = f"py{sys.version_info.major}.{sys.version_info.minor}"
    return base / "rrbot-bench" / "peers" / f"{PEER}-{PEER_VERSION}-{py}"


async def _run(*cmd: str | Path, timeout: float) -> tuple[int, str]:
    """Run a command without blocking the event loop (the emulator may be serving on it); rc and output."""
    proc = await asyncio.create_subprocess_exec(
        *map(str, cmd), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, f"timed out after {timeout:.0f} s: {' '.join(map(str, cmd))}"
    return proc.returncode or 0, out.decode(errors="replace")


async def _venv_answers(venv: Path) -> bool:
    check = (
        "import aiogram, aiogram_broadcaster; "
        f"assert aiogram.__version__ == {AIOGRAM_VERSION!r}, aiogram.__version__; "
        f"assert aiogram_broadcaster.__version__ == {PEER_VERSION!r}, aiogram_broadcaster.__version__"
    )
    python = venv / "bin" / "python"
    if not python.exists():
        return False
    rc, _ = await _run(python, "-I", "-c", check, timeout=60)
    return rc == 0


async def ensure_venv() -> Path:
    """The peer's venv (made on first use, made again if broken); returns its python."""
    venv = cache_dir()
    if await _venv_answers(venv):
        return venv / "bin" / "python"
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    # Built beside its place and renamed in: an interrupted install never leaves a half venv to be trusted.
    building = venv.with_name(f"{venv.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    try:
        for cmd in (
            (sys.executable, "-m", "venv", building),
            (
                building / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"{PEER}=={PEER_VERSION}",
                f"aiogram=={AIOGRAM_VERSION}",
            ),
        ):
            rc, out = await _run(*cmd, timeout=600)
            if rc != 0:
                raise RuntimeError(f"making the {PEER} venv failed ({rc}): {out[-2000:]}")
        if not await _venv_answers(building):
            raise RuntimeError(f"the new {PEER} venv does not import the pinned versions")
        os.replace(building, venv)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return venv / "bin" / "python"


def variant_config(variant: str, cap: float) -> dict[str, Any]:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    return {
        "interval": 1.0 / cap if variant == "interval" else None,
        "retry_after_handler": variant == "retry",
        # Above Telegram's free 30/s a user passes allow_paid_broadcast, as our bot does (the content takes it).
        "paid": True if cap > FREE_RATE else None,
    }


async def run_aiogram_broadcaster(
    api_url: str,
    token: str,
    chat_ids: list[int],
    text: str,
    *,
    timeout: float,
    variant: str = "default",
    cap: float = 30.0,
) -> PeerResult:
    """Broadcast text to chat_ids with aiogram_broadcaster against the Bot API at api_url.

    variant: "default" (the library as shipped), "interval" (SimpleInterval of 1/cap) or "retry"
    (the defaults plus its retry_after handler); cap is only read by "interval".
    """
    config = {"api_url": api_url, "token": token, "chat_ids": list(chat_ids), "text": text}
    config.update(variant_config(variant, cap))
    result = PeerResult(peer=f"{PEER} {PEER_VERSION}", variant=variant, recipients=len(chat_ids))
    python = await ensure_venv()
    with tempfile.TemporaryDirectory(prefix="rrbot-peer-") as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "child.py").write_text(CHILD)
        (tmp / "config.json").write_text(json.dumps(config))
        report = tmp / "report.json"
        # -I: the venv's packages only, no PYTHONPATH or user site from this process.
        proc = await asyncio.create_subprocess_exec(
            str(python),
            "-I",
            str(tmp / "child.py"),
            str(tmp / "config.json"),
            str(report),
            cwd=tmp,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            _, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            _, err = await proc.communicate()
            result.timed_out = True
        result.returncode = proc.returncode
        result.stderr_tail = err.decode(errors="replace")[-2000:]
        if report.exists():
            for key, value in json.loads(report.read_text()).items():
                setattr(result, key, value)
    return result


# -- standalone: our emulator, the peer, the figures ------------------------------------------------


def limits_for(rate: float, strict: bool) -> FloodLimits:
    """The limiter bench/broadcast.py uses for the same flags."""
    if strict:
        return FloodLimits(mode="window", global_per_second=rate, retry_after=3)
    return FloodLimits(mode="bucket", global_per_second=rate, global_burst=int(rate))


def emulator_figures(emu: BotAPIEmulator, rate: float, since: int) -> dict[str, Any]:
    """What the emulator saw of the sends since emu.calls[since]."""
    stats = emu.flood_stats()
    statuses: dict[int, int] = {}
    reached: set[Any] = set()
    for call in emu.calls[since:]:
        if call.method != "sendMessage":
            continue
        statuses[call.status] = statuses.get(call.status, 0) + 1
        if call.status in (200, 403):
            reached.add(call.params.get("chat_id"))
    first, last = stats["first_send"], stats["last_send"]
    span = (last - first) if first is not None and last is not None else 0.0
    return {
        "counted": stats["accepted"],
        "refused_429": stats["refused_429"],
        "max_in_any_window": stats["max_in_any_window"],
        "span_s": span,
        "ratio": stats["accepted"] / rate / span if span > 0 else None,
        "statuses": dict(sorted(statuses.items())),
        "reached": len(reached),
    }


def print_figures(result: PeerResult, fig: dict[str, Any], rate: float) -> None:
    ratio = f"{fig['ratio']:.3f}" if fig["ratio"] is not None else "n/a"
    print(f"{result.peer}, variant {result.variant}:")
    print(
        f"  emulator: {fig['counted']} sends received (403 included), {fig['refused_429']} x 429, "
        f"fullest one-second window {fig['max_in_any_window']} (cap {rate:g}), "
        f"first->last {fig['span_s']:.2f} s, rate {ratio} of the cap"
    )
    unfinished = fig["reached"] < result.recipients
    print(
        f"  sendMessage by status: {fig['statuses']}; reached {fig['reached']} of {result.recipients} recipients"
        + (" (unfinished: the rate above is not comparable)" if unfinished else "")
    )
    wall = f"{result.wall_s:.2f} s" if result.wall_s is not None else "n/a"
    print(
        f"  peer says: {result.sent_ok} sent ok, errors {result.errors or '{}'}, wall {wall}, "
        f"library: {result.library_success} success / {result.library_failed} failed"
        + (", TIMED OUT" if result.timed_out else "")
        + (f", exit {result.returncode}" if result.returncode else "")
    )
    if result.returncode and result.stderr_tail:
        print("  " + result.stderr_tail.strip().replace("\n", "\n  "))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=30.0, help="the emulator's global cap, messages per second")
    parser.add_argument("--recipients", type=int, default=600)
    parser.add_argument("--blocked", type=float, default=0.05, help="share of recipients who blocked the bot")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--strict", dest="strict", action="store_true", default=True, help="sliding window (default)")
    mode.add_argument("--bucket", dest="strict", action="store_false", help="the lenient token bucket instead")
    parser.add_argument(
        "--variant", action="append", choices=VARIANTS, help=f"repeatable; default: all of {', '.join(VARIANTS)}"
    )
    parser.add_argument("--seed", type=int, default=16, help="which recipients are blocked")
    args = parser.parse_args()
    variants = args.variant or list(VARIANTS)
    print(__doc__.split("How it measures:")[1].strip())
    print()
    t0 = time.perf_counter()
    await ensure_venv()
    print(f"venv ready in {time.perf_counter() - t0:.1f} s: {cache_dir()}")
    chat_ids = list(range(FIRST_CHAT, FIRST_CHAT + args.recipients))
    blocked = random.Random(args.seed).sample(chat_ids, round(args.blocked * len(chat_ids)))
    async with BotAPIEmulator(token=TOKEN, bot_username="rrbot_test_bot") as emu:
        for chat_id in chat_ids:
            emu.add_user(chat_id, first_name="S", language_code="en")
        for chat_id in blocked:
            emu.block(chat_id)
        limits = limits_for(args.rate, args.strict)
        print(
            f"emulator: {limits.mode} mode, cap {args.rate:g}/s, retry_after {limits.retry_after} s; "
            f"{len(chat_ids)} recipients, {len(blocked)} of them blocked the bot"
        )
        for variant in variants:
            emu.limits = limits_for(args.rate, args.strict)  # fresh windows, no penalty left by the last run
            emu.reset_flood_stats()
            since = len(emu.calls)
            timeout = max(120.0, 10 * len(chat_ids) / args.rate)
            result = await run_aiogram_broadcaster(
                emu.base_url, TOKEN, chat_ids, TEXT, timeout=timeout, variant=variant, cap=args.rate
            )
            print_figures(result, emulator_figures(emu, args.rate, since), args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
