"""Real bot processes stopped with SIGTERM: sends, acknowledgements, the scheduler lock and taps all end cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from bot.app.wiring import STOP_SIGNALS, _stop_on_signals
from bot.cli.sigterm import StopRequested, stop_on_sigterm
from bot.delivery import Audience, AudienceKind, Payload
from bot.ground.privacy import Pseudonymizer
from bot.pledges.store import Store
from emulator import BotAPIEmulator
from tests.conftest import ROOT
from tests.test_delivery_processes import CASE, KEY, bot_env, deliveries, prepare, stop, wait_until

LOCK = "rrb:sched:leader"
CLEAN = "Stopped cleanly"


class BotProcess:
    """`rrbot run` in a subprocess, its log in a file (INFO: the stop is logged at that level)."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log

    @classmethod
    async def start(cls, emulator: BotAPIEmulator, redis_url: str, data_dir: Path) -> BotProcess:
        data_dir.mkdir(parents=True, exist_ok=True)
        log = data_dir / "rrbot.log"
        env = bot_env(emulator, redis_url, data_dir, LOG_LEVEL="INFO")
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                env=env,
                cwd=ROOT,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=out,
            )
        return cls(proc, log)

    async def terminate(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 12) -> tuple[int, float]:
        """SIGTERM (or another signal), then wait for the exit: (exit status, seconds it took)."""
        began = time.monotonic()
        self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        return code, time.monotonic() - began

    def logged(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


async def taking_updates(emulator: BotAPIEmulator, since: float, timeout: float = 20) -> None:
    """Until a process started after `since` is about to poll (a long poll is only logged when it ends)."""
    await emulator.wait_for(
        lambda: any(c.method == "deleteWebhook" and c.at >= since for c in emulator.calls), timeout=timeout
    )


async def test_sigterm_mid_broadcast_then_restart_sends_each_message_exactly_once(
    emulator: BotAPIEmulator, redis, redis_url: str, tmp_path: Path
) -> None:
    broadcasts, chats = await prepare(emulator, redis, 300)
    first = await BotProcess.start(emulator, redis_url, tmp_path / "a")
    second = None
    try:
        bc_id = await broadcasts.enqueue(Payload("<b>Alert</b>"), Audience(AudienceKind.case, CASE))

        async def some_sent() -> bool:
            return (await broadcasts.progress(bc_id)).delivered >= 80

        await wait_until(some_sent, 30)
        code, took = await first.terminate()
        assert code == 0, first.logged()
        assert took < 5, f"stopped in {took:.1f}s"
        assert CLEAN in first.logged()
        # Every send it made has its answer recorded, and nothing is left leased to the dead process.
        sent = sum(deliveries(emulator, chats).values())
        progress = await broadcasts.progress(bc_id)
        assert progress.delivered == sent
        assert await redis.zcard(f"rrb:{{bc:{bc_id}}}:inflight") == 0
        assert 0 < sent < len(chats), "stopped mid-way"

        second = await BotProcess.start(emulator, redis_url, tmp_path / "b")

        async def done() -> bool:
            return (await broadcasts.progress(bc_id)).state.finished

        await wait_until(done, 40)
    finally:
        await stop(first.proc)
        if second is not None:
            await stop(second.proc)
    assert deliveries(emulator, chats) == Counter({chat: 1 for chat in chats}), "none lost, none twice"
    assert (await broadcasts.progress(bc_id)).delivered == len(chats)


async def test_the_scheduling_process_lets_go_of_its_lock_on_sigterm(
    emulator: BotAPIEmulator, redis, redis_url: str, tmp_path: Path
) -> None:
    first = await BotProcess.start(emulator, redis_url, tmp_path / "a")
    second = None
    try:
        await wait_until(lambda: redis.exists(LOCK), timeout=20)
        token = await redis.get(LOCK)
        second = await BotProcess.start(emulator, redis_url, tmp_path / "b")
        await asyncio.sleep(3)  # up, and tried the lock once: it waits for its next try
        assert await redis.get(LOCK) == token
        code, _ = await first.terminate()
        assert code == 0 and CLEAN in first.logged()
        stopped = time.monotonic()
        assert await redis.get(LOCK) != token, "released, not left to run out"

        async def taken_over() -> bool:
            return await redis.get(LOCK) not in (None, token)

        await wait_until(taken_over, 8)
        assert time.monotonic() - stopped < 6.5, "the other process leads at its next try, not after the 20 s TTL"
        code, _ = await second.terminate(signal.SIGINT)  # Ctrl-C stops it the same way
        assert code == 0 and CLEAN in second.logged()
        assert not await redis.exists(LOCK)
    finally:
        await stop(first.proc)
        if second is not None:
            await stop(second.proc)


async def test_taps_being_handled_at_sigterm_complete_and_are_not_handled_again(
    emulator: BotAPIEmulator, redis, redis_url: str, tmp_path: Path
) -> None:
    reader, pledger = 7001, 7002
    emulator.add_user(reader, first_name="Reader", language_code="en")
    emulator.add_user(pledger, first_name="Pledger", language_code="en")
    store = Store(redis, Pseudonymizer(KEY.encode()))
    began = time.time()
    bot = await BotProcess.start(emulator, redis_url, tmp_path)
    try:
        await taking_updates(emulator, began)
        # Telegram is slow: one handler waits for its screen, the other for its tap's answer.
        emulator.delay("sendMessage", 2.0)
        emulator.delay("answerCallbackQuery", 2.0)
        menu = emulator.user_presses(reader, 999, f"act:{CASE}")  # an old message: the menu comes anew
        await emulator.wait_for(lambda: emulator.outbox(reader), timeout=10)  # its sendMessage is under way
        pledge = emulator.user_presses(pledger, 999, f"pl:{CASE}:letter")
        await emulator.wait_for(lambda: pledge["callback_query"]["id"] in emulator.callback_answers, timeout=5)
        terminated = time.time()
        code, took = await bot.terminate()
    finally:
        await stop(bot.proc)
    assert code == 0 and CLEAN in bot.logged(), bot.logged()
    assert took >= 1, "it waited for the handlers"
    assert "letter" in await store.pledged_actions(pledger, CASE), "the pledge is recorded"
    answered = [
        c
        for c in emulator.calls
        if c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == menu["callback_query"]["id"]
    ]
    assert answered and answered[0].at > terminated, "the menu's handler went on after SIGTERM to answer the tap"
    assert len(emulator.outbox(reader)) == 1
    assert not emulator.updates.entries, "both taps confirmed to Telegram: a new process does not get them again"


def catches_sigterm(pid: int) -> bool:
    """The process has a handler for SIGTERM (Linux: bit 15 of SigCgt in /proc/PID/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


async def test_sigterm_while_modules_load_ends_run_at_once_with_exit_0(
    emulator: BotAPIEmulator, redis, redis_url: str, tmp_path: Path
) -> None:
    """`docker stop` in the first second: Python's default would end it with 143, a PID 1 would ignore it."""
    bot = await BotProcess.start(emulator, redis_url, tmp_path)
    try:
        await wait_until(lambda: asyncio.sleep(0, catches_sigterm(bot.proc.pid)), timeout=10)
        code, took = await bot.terminate(timeout=5)
    finally:
        await stop(bot.proc)
    assert code == 0, bot.logged()
    assert took < 1, "it ended at once: nothing was running yet"
    assert "SIGTERM during start-up: stopped before taking any update" in bot.logged()
    assert "Traceback" not in bot.logged()
    assert not [c for c in emulator.calls if c.method == "getUpdates"], "it took no update"


async def test_sigterm_while_start_up_talks_to_telegram_stops_before_taking_updates(
    emulator: BotAPIEmulator, redis, redis_url: str, tmp_path: Path
) -> None:
    emulator.delay("getMe", 1.0)  # start-up is in its first Bot API call when the signal comes
    began = time.time()
    bot = await BotProcess.start(emulator, redis_url, tmp_path)
    try:
        await emulator.wait_for(lambda: any(c.method == "getMe" for c in emulator.calls), timeout=30)
        code, took = await bot.terminate(timeout=10)
    finally:
        await stop(bot.proc)
    assert code == 0, bot.logged()
    assert took < 5
    assert "Stopped during start-up, before taking any update" in bot.logged()
    assert "Traceback" not in bot.logged() and "Unclosed" not in bot.logged()
    assert not [c for c in emulator.calls if c.method == "getUpdates" and c.at >= began]
    assert not await redis.exists(LOCK), "the scheduler's lock is not left behind"


async def test_a_sigterm_the_start_up_swallowed_still_stops_it_before_serving() -> None:
    """A signal that lands in a finaliser only prints its exception: the loop's handler sees it all the same."""
    with stop_on_sigterm():
        early = signal.getsignal(signal.SIGTERM)
        with contextlib.suppress(StopRequested):  # as a finaliser would swallow it
            early(signal.SIGTERM, None)
        shutdown = _stop_on_signals()
        try:
            assert shutdown.is_set()
        finally:
            for sig in STOP_SIGNALS:
                asyncio.get_running_loop().remove_signal_handler(sig)
    assert not getattr(signal.getsignal(signal.SIGTERM), "requested", False), "the handler before it is back"
