"""Write keys-before-cluster.json: the Redis keys a bot wrote before its keys got hash tags (tests/test_keymoves.py).

Run with the code of that release (commit 67c0d17) first on the path, against an empty database:

    mkdir /tmp/before && git archive 67c0d17 | tar -x -C /tmp/before
    PYTHONPATH=/tmp/before python tests/data/make_keys_before_cluster.py redis://127.0.0.1:6379/5

It records people following and pledging (per case and per official), an update of a case, discreet mode,
a coordinator added (roles and the audit log), a finished (cancelled) broadcast, a planned "remind me later"
and a planned send in APScheduler's job store, then dumps every key, type by type, as JSON (bytes of the pickled jobs in hex).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from pathlib import Path

import redis as sync_redis
from redis.asyncio import Redis

from bot.content import Library
from bot.content.states import CaseStates, UpdateKind
from bot.delivery import Audience, AudienceKind, Broadcasts, Payload, State
from bot.ground.audit import Action, AuditLog
from bot.ground.discreet import DiscreetChats
from bot.ground.privacy import Pseudonymizer
from bot.ground.roles import Roles
from bot.pledges.store import Store
from scheduler.service import Scheduler

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).with_name("keys-before-cluster.json")
KEY = b"test-privacy-key-0123456789abcdef"  # tests/conftest.py's PRIVACY_KEY
CASE = "ua-84-11"
OWNER, COORD = 9000, 9100


async def fill(url: str) -> None:
    redis = Redis.from_url(url, decode_responses=True)
    if await redis.dbsize():
        raise SystemExit(f"{url} is not empty")
    pseudonyms = Pseudonymizer(KEY)
    library = Library.load(ROOT / "content")
    store = Store(redis, pseudonyms)
    for user in (101, 102, 103):
        await store.set_language(user, "en")
        await store.start(user)
        await store.subscribe(user, CASE)
    await store.pledge(101, CASE, "letter", dt.date(2026, 12, 1))
    await store.pledge(102, CASE, "letter", dt.date(2026, 12, 2))
    await store.pledge(102, CASE, "tweet", dt.date(2026, 12, 2))
    await store.pledge(103, CASE, "email", dt.date(2026, 12, 3), official="peshkov")
    await CaseStates(redis).record(
        library.get(CASE), UpdateKind.extended, "More time", deadline=dt.date(2027, 6, 1), at=1_780_000_000.0
    )
    await DiscreetChats(redis).set(103, "on", "en")
    audit = AuditLog(redis, pseudonyms)
    await audit.remember(OWNER, "Olga Owner")
    await Roles(redis, [OWNER], audit).add(COORD, OWNER)
    await audit.record(Action.send, COORD, case=CASE, title="Urgent news")
    broadcasts = Broadcasts(redis, pseudonyms)
    sent = await broadcasts.enqueue(
        Payload("Write today"), Audience(AudienceKind.case, CASE), created_by=COORD, by=COORD
    )
    await broadcasts.set_state(sent, State.cancelled, by=COORD)  # finished: its record and its report stay
    scheduler = Scheduler(redis, grace=dt.timedelta(hours=6), pseudonyms=pseudonyms, library=library)
    scheduler.start()
    try:
        at = dt.datetime(2030, 1, 1, 10, tzinfo=dt.UTC)
        await scheduler.remind_later(101, CASE, "letter", at)
        audience = Audience(AudienceKind.case, CASE).to_json()
        await scheduler.schedule_broadcast(Payload("Hello in 2030").to_json(), audience, COORD, at, by=COORD)
    finally:
        scheduler.shutdown()
    await redis.aclose()


def dump(url: str) -> dict:
    raw = sync_redis.Redis.from_url(url)
    keys: dict[str, dict] = {}
    for key in sorted(raw.scan_iter(count=1000)):
        kind = raw.type(key).decode()
        if kind == "string":
            value: object = raw.get(key).hex()
        elif kind == "hash":
            value = {f.hex(): v.hex() for f, v in raw.hgetall(key).items()}
        elif kind == "set":
            value = sorted(m.hex() for m in raw.smembers(key))
        elif kind == "zset":
            value = [[m.hex(), s] for m, s in raw.zrange(key, 0, -1, withscores=True)]
        elif kind == "list":
            value = [m.hex() for m in raw.lrange(key, 0, -1)]
        elif kind == "stream":
            value = [[i.decode(), {f.hex(): v.hex() for f, v in e.items()}] for i, e in raw.xrange(key)]
        else:
            raise SystemExit(f"{key!r}: type {kind} not dumped")
        keys[key.decode()] = {"type": kind, "ttl_ms": raw.pttl(key), "value": value}
    return {"redis_version": raw.info()["redis_version"], "keys": keys}


if __name__ == "__main__":
    target = sys.argv[1]
    asyncio.run(fill(target))
    OUT.write_text(json.dumps(dump(target), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(json.loads(OUT.read_text())['keys'])} keys")
