"""Real bot processes: killed with SIGKILL mid-broadcast, and two sharing one broadcast."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.delivery import Audience, AudienceKind, Broadcasts, Payload
from bot.ground.privacy import Pseudonymizer
from bot.pledges.store import Store
from emulator import BotAPIEmulator, FloodLimits
from tests.conftest import ROOT, TOKEN

pytestmark = pytest.mark.timeout(120)

CASE = "ua-84-11"
KEY = "process-test-privacy-key-0123456789"
RATE = 40


def bot_env(emulator: BotAPIEmulator, redis_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of an `rrbot run` subprocess against the test's emulator and Redis."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "REDIS_URL": redis_url,
        "PRIVACY_KEY": KEY,
        "BROADCAST_RATE": str(RATE),
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def start_bot(
    emulator: BotAPIEmulator, redis_url: str, data_dir: Path, **extra: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        env=bot_env(emulator, redis_url, data_dir, **extra),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()


def deliveries(emulator: BotAPIEmulator, chats: list[int]) -> Counter[int]:
    return Counter(
        chat
        for chat in chats
        for entry in emulator.outbox(chat)
        if entry["method"] == "sendMessage" and "Alert" in entry["message"].get("text", "")
    )


async def prepare(emulator: BotAPIEmulator, redis, count: int) -> tuple[Broadcasts, list[int]]:
    emulator.limits = FloodLimits(global_per_second=1000, global_burst=1000)
    store = Store(redis, Pseudonymizer(KEY.encode()))
    chats = list(range(20_000, 20_000 + count))
    for chat in chats:
        emulator.add_user(chat, first_name="S", language_code="en")
        await store.subscribe(chat, CASE)
    return Broadcasts(redis, Pseudonymizer(KEY.encode())), chats


async def wait_until(predicate, timeout: float) -> None:
    async def poll() -> None:
        while not await predicate():
            await asyncio.sleep(0.1)

    await asyncio.wait_for(poll(), timeout)


async def test_sigkill_mid_broadcast_then_restart_loses_no_one(
    emulator: BotAPIEmulator, redis, redis_url: str, tmp_path: Path
) -> None:
    broadcasts, chats = await prepare(emulator, redis, 240)
    first = await start_bot(emulator, redis_url, tmp_path)
    try:
        bc_id = await broadcasts.enqueue(Payload("<b>Alert</b>"), Audience(AudienceKind.case, CASE))

        async def some_sent() -> bool:
            return (await broadcasts.progress(bc_id)).delivered >= 60

        await wait_until(some_sent, 30)
        first.kill()  # SIGKILL: no chance to tidy up
        await first.wait()
        at_kill = (await broadcasts.progress(bc_id)).delivered
        restarted = time.time()
        second = await start_bot(emulator, redis_url, tmp_path)
        try:

            async def resumed() -> bool:
                return (await broadcasts.progress(bc_id)).delivered > at_kill

            await wait_until(resumed, 20)
            # From the moment the new process is up (its first API call) to its first broadcast send.
            up = min(c.at for c in emulator.calls if c.at >= restarted)
            first_send = min(
                c.at
                for c in emulator.calls
                if c.at >= restarted and c.method == "sendMessage" and "Alert" in str(c.params.get("text"))
            )
            resumed_after = first_send - up

            async def done() -> bool:
                return (await broadcasts.progress(bc_id)).state.finished

            await wait_until(done, 90)  # the killed process's sends in flight come back after their 35 s lease
        finally:
            await stop(second)
    finally:
        await stop(first)
    counts = deliveries(emulator, chats)
    assert set(counts) == set(chats), "no recipient is lost"
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= RATE // 10 * 2, f"{duplicates} duplicates: more than the sends in flight at the kill"
    assert duplicates <= (await broadcasts.progress(bc_id)).uncertain, "every second copy is counted as possible"
    assert resumed_after < 5, f"resumed {resumed_after:.1f}s after the new process came up"


async def test_two_processes_share_one_broadcast(
    emulator: BotAPIEmulator, redis, redis_url: str, tmp_path: Path
) -> None:
    broadcasts, chats = await prepare(emulator, redis, 200)
    procs = [await start_bot(emulator, redis_url, tmp_path / str(i)) for i in range(2)]
    try:
        await asyncio.sleep(3)  # both up and polling for work
        bc_id = await broadcasts.enqueue(Payload("<b>Alert</b>"), Audience(AudienceKind.case, CASE))

        async def done() -> bool:
            return (await broadcasts.progress(bc_id)).state.finished

        await wait_until(done, 60)
        progress = await broadcasts.progress(bc_id)
    finally:
        for proc in procs:
            await stop(proc)
    counts = deliveries(emulator, chats)
    assert counts == Counter({chat: 1 for chat in chats})
    assert progress.rate <= RATE * 1.15, "the two processes share one rate limit"
