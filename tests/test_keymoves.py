"""Keys written before the hash tags move to their new names on start-up, once, and the bot reads them there.

tests/data/keys-before-cluster.json is a copy of what the release before wrote (tests/data/make_keys_before_cluster.py):
pledges, a case's update, discreet mode, a coordinator and the audit log, and APScheduler's job store with a
"remind me later" and a planned send. Run on a single Redis and (RRBOT_TEST_REDIS=cluster) on a Redis Cluster.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from bot.app.keys import KEY_MOVES, migrate
from bot.content import Library
from bot.content.states import CaseStates
from bot.delivery import Broadcasts, State
from bot.ground.audit import Action, AuditLog
from bot.ground.discreet import DiscreetChats
from bot.ground.keymoves import DONE, KeyMove, move_keys
from bot.ground.privacy import Pseudonymizer
from bot.ground.roles import Roles
from bot.pledges.store import Store
from scheduler.service import Scheduler

DATA = Path(__file__).with_name("data") / "keys-before-cluster.json"
CONTENT = Path(__file__).resolve().parent.parent / "content"
KEY = b"test-privacy-key-0123456789abcdef"
CASE = "ua-84-11"
OWNER, COORD = 9000, 9100


async def restore(redis, dump: dict) -> None:
    """Write every key of the dump as it was (bytes as they were: the jobs are pickles)."""
    for key, entry in dump["keys"].items():
        kind, value = entry["type"], entry["value"]
        if kind == "string":
            await redis.set(key, bytes.fromhex(value))
        elif kind == "hash":
            await redis.hset(key, mapping={bytes.fromhex(f): bytes.fromhex(v) for f, v in value.items()})
        elif kind == "set":
            await redis.sadd(key, *(bytes.fromhex(m) for m in value))
        elif kind == "zset":
            await redis.zadd(key, {bytes.fromhex(m): score for m, score in value})
        elif kind == "list":
            await redis.rpush(key, *(bytes.fromhex(m) for m in value))
        elif kind == "stream":
            for entry_id, fields in value:
                await redis.xadd(key, {bytes.fromhex(f): bytes.fromhex(v) for f, v in fields.items()}, id=entry_id)
        if entry["ttl_ms"] > 0:
            await redis.pexpire(key, entry["ttl_ms"])


async def all_keys(redis) -> set[str]:
    return {key async for key in redis.scan_iter(match="rrb:*", count=1000)}


async def test_keys_of_the_release_before_move_once_and_the_bot_reads_them(redis, caplog) -> None:
    dump = json.loads(DATA.read_text(encoding="utf-8"))
    await restore(redis, dump)
    before = await all_keys(redis)
    assert before == set(dump["keys"])

    moved = await migrate(redis)
    after = await all_keys(redis)
    # At least: 3 pledge sets, acted, count, daily, hourly; the case state and updates; discreet and its version;
    # the 2 job keys (and the broadcast's, once bot/delivery moves them too).
    expected = [k for k in before if any(m.target(k.removeprefix("rrb:")) for m in KEY_MOVES)]
    assert moved == len(expected) >= 13, sorted(after)
    assert not {k for k in after if k.startswith(("rrb:pledged:", "rrb:count:", "rrb:case:", "rrb:sched:jobs"))}
    assert {"rrb:{case:ua-84-11}:count", "rrb:{sched}:jobs", "rrb:{sched}:run_times", "rrb:{discreet}:modes"} <= after
    assert len(after) == len(before) + 1, "every key kept, plus the done-marker"
    assert await migrate(redis) == 0, "a second start moves nothing"
    assert await all_keys(redis) == after
    assert await redis.scard("rrb:" + DONE) == len(KEY_MOVES)

    pseudonyms = Pseudonymizer(KEY)
    library = Library.load(CONTENT)
    store = Store(redis, pseudonyms)
    totals = await store.totals(CASE)
    assert (totals["letter"], totals["tweet"], totals["email"]) == (2, 1, 1)
    assert await store.pledged_actions(102, CASE) == {"letter", "tweet"}
    assert await store.official_totals(CASE) == {"peshkov": {"email": 1}}
    assert await store.known_cases([]) == {CASE}, "found by its new acted key"
    assert (await store.stats([CASE]))["cases"][CASE]["subscribers"] == 3
    assert [u.text for u in await CaseStates(redis).updates(CASE)] == ["More time"]
    overlay = await CaseStates(redis).load(CONTENT)
    assert overlay.get(CASE).deadline_at("UTC").date() == dt.date(2027, 6, 1), "the update's deadline is laid over"
    discreet = DiscreetChats(redis)
    await discreet.refresh(force=True)
    assert discreet.mode(103) is not None, "discreet mode still on"

    broadcasts = Broadcasts(redis, pseudonyms)
    [finished] = await broadcasts.recent()
    assert finished.state == State.cancelled and (await broadcasts.payload(finished.id)).text == "Write today"

    audit = AuditLog(redis, pseudonyms)
    assert await Roles(redis, [OWNER], audit).is_coordinator(COORD)
    actions = [entry.action for entry in await audit.entries()]
    assert Action.send in actions and Action.role_add in actions

    scheduler = Scheduler(redis, grace=dt.timedelta(hours=6), pseudonyms=pseudonyms, library=library)
    scheduler.start()
    try:
        assert await scheduler.count_later() == 1, "the 'remind me later' job is still planned"
        planned = await scheduler.planned(CASE)
        assert [(p.kind, p.run_at.year if p.run_at else None) for p in planned] == [("broadcast", 2030)]
        [send] = await scheduler.sends()
        assert send.run_at is not None and send.run_at.year == 2030 and send.payload.text == "Hello in 2030"
    finally:
        scheduler.shutdown()


async def test_a_key_already_at_its_new_name_is_never_written_over(redis, caplog) -> None:
    await redis.hset("rrb:count:ua-1", "letter", 5)
    await redis.hset("rrb:{case:ua-1}:count", "letter", 7)  # written by the new code: newer
    await redis.hset("rrb:count:ua-2", "letter", 3)
    await redis.set("rrb:daily:ua-3", "x", px=600_000)
    with caplog.at_level(logging.WARNING, logger="bot.ground.keymoves"):
        moved = await move_keys(
            redis,
            [KeyMove("count:*", r"count:([^:{}]+)", r"{case:\1}:count"), KeyMove("daily:*", "daily:(.+)", r"d:\1")],
        )
    assert moved == 2
    assert await redis.hget("rrb:{case:ua-1}:count", "letter") == "7", "the newer one stays"
    assert await redis.hget("rrb:count:ua-1", "letter") == "5", "the old one is kept, not lost"
    assert "rrb:count:ua-1" in caplog.text and "exists already" in caplog.text
    assert await redis.hget("rrb:{case:ua-2}:count", "letter") == "3"
    assert 0 < await redis.pttl("rrb:d:ua-3") <= 600_000, "a key's expiry moves with it"


@pytest.mark.parametrize("processes", [2])
async def test_two_processes_starting_together_move_each_key_once(redis, processes: int) -> None:
    import asyncio

    for n in range(200):
        await redis.sadd(f"rrb:acted:c{n}", "someone")
    results = await asyncio.gather(*(migrate(redis) for _ in range(processes)))
    assert sorted(results) == [0, 200], "one moved them, the other waited and found the work done"
    assert await redis.scard("rrb:{case:c7}:acted") == 1
