"""Privacy: /forget leaves no trace anywhere in Redis, fast; pledge records of closed cases expire."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import time_machine

from bot.app.wiring import running
from bot.content import Library, Status
from bot.content.states import CaseStates, UpdateKind
from bot.delivery import Audience, AudienceKind, Payload
from bot.ground.privacy import Pseudonymizer
from bot.ground.settings import Settings
from bot.pledges.retention import Retention
from bot.pledges.store import Store
from emulator import BotAPIEmulator
from emulator.journey import Activist
from scheduler import jobs
from tests.redis_cluster import raw_client
from tests.test_scheduler import write_content

CASE = "ua-84-11"
OTHER = "ua-other"
UTC = dt.UTC
USER = 6_204_118_375
NEIGHBOUR = 6_204_118_376
SIGNATURE = "Olga Petrova, Samara"
KEY = b"test-privacy-key-0123456789abcdef"


async def traces(redis_url: str, needles: list[str]) -> list[str]:
    """Every key, and every key whose value (any type, bytes included) contains one of the needles."""
    raw = raw_client(redis_url)  # bytes: the job store keeps pickles; one Redis or a cluster
    wanted = [n.encode() for n in needles]
    found = []
    try:
        async for key in raw.scan_iter(count=1000):
            kind = (await raw.type(key)).decode()
            if kind == "string":
                parts = [await raw.get(key)]
            elif kind == "hash":
                parts = [x for pair in (await raw.hgetall(key)).items() for x in pair]
            elif kind == "set":
                parts = list(await raw.smembers(key))
            elif kind == "list":
                parts = await raw.lrange(key, 0, -1)
            elif kind == "zset":
                parts = await raw.zrange(key, 0, -1)
            else:
                parts = []
            if any(n in key for n in wanted) or any(n in (p or b"") for p in parts for n in wanted):
                found.append(key.decode())
    finally:
        await raw.aclose()
    return found


# --- /forget ----------------------------------------------------------------------------------------


def cut_short(user_id: int) -> str:
    """An entry of the cut-short updates list (bot/telegram/replay.py): a tap on the user's own menu."""
    person = {"id": user_id, "is_bot": False, "first_name": "X"}
    message = {"message_id": 3, "date": 1, "chat": {"id": user_id, "type": "private"}, "text": "menu"}
    tap = {"id": str(user_id), "from": person, "message": message, "chat_instance": "1", "data": "act:"}
    return json.dumps({"cuts": 1, "update": {"update_id": user_id, "callback_query": tap}})


async def test_forget_erases_every_trace_within_a_second(
    settings: Settings, redis, redis_url: str, emulator: BotAPIEmulator, tmp_path: Path
) -> None:
    deadline = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(days=5)
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="UTC")
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
        who = Activist(emulator, USER, "Olga", "ru")
        neighbour = Activist(emulator, NEIGHBOUR, "Ivan", "en")
        for person, lang in ((neighbour, "en"), (who, "ru")):
            await person.send(f"/start {CASE}")
            await person.tap_data(f"lang:{lang}:")
        await who.send(f"/sign {SIGNATURE}")
        await who.send("/discreet")  # discreet mode: their chat id in its hash, their messages to delete
        await who.tap_data("disc:1d")
        await who.send("/reminders off")
        await who.send(f"/start {CASE}")
        await who.tap_data("act:")
        await who.tap_data("tgt:")
        await who.tap_data(f"later:{CASE}:letter")  # a personal job holding the chat id
        await who.tap_data(f"pl:{CASE}:letter")
        await who.send("/sign")  # waiting for a signature: FSM state in the user's record
        pseudonym = Pseudonymizer(KEY).user(USER)
        # A personal reminder that already went out leaves its "ran" mark.
        ran = f"later:{pseudonym}:{CASE}:fax@{int(time.time())}"
        await jobs.run(app.scheduler.ctx, "later", ran, USER, CASE, "fax")
        # A broadcast not yet sent holds them in its queue; an import in progress elsewhere does not.
        await app.broadcasts.enqueue(Payload("Soon"), Audience(AudienceKind.case, CASE), send_at=time.time() + 3600)
        # A tap of theirs that a stop cut short waits for the next start to handle it; the neighbour's too.
        await redis.rpush("rrb:intake:cut", cut_short(USER), cut_short(NEIGHBOUR))
        assert await traces(redis_url, [str(USER), pseudonym]), "the journey left data to erase"

        await who.send("/forget")
        started = time.monotonic()
        await who.tap_data("forget:yes")
        assert time.monotonic() - started < 1.0, "erased and answered within a second"

        left = await traces(redis_url, [str(USER), pseudonym])
        assert left == [], f"traces of the user remain in {left}"
        assert not [j for j in app.scheduler._aps.get_jobs() if USER in j.args], "no job holds the chat id"
        # Anonymous totals stay; the neighbour is untouched.
        assert (await app.store.totals(CASE))["letter"] == 1
        assert await app.store.is_subscribed(NEIGHBOUR, CASE)
        assert await redis.llen(app.broadcasts.key("bc", (await app.broadcasts.recent(1))[0].id, "q")) == 1
        assert await redis.llen("rrb:intake:cut") == 1


async def test_forget_reaches_cases_gone_from_the_files(app, emulator: BotAPIEmulator, redis, redis_url: str) -> None:
    """A "remind me later" job and pledges about a case that was removed since are found all the same."""
    who = Activist(emulator, USER, "Olga", "en")
    await app.store.set_language(USER, "en")
    await app.store.pledge(USER, "ua-removed", "letter")
    at = dt.datetime.now(UTC) + dt.timedelta(hours=3)
    await app.scheduler.remind_later(USER, "ua-removed", "email", at)
    await who.send("/forget")
    await who.tap_data("forget:yes")
    assert await traces(redis_url, [str(USER), Pseudonymizer(KEY).user(USER)]) == []


# --- retention --------------------------------------------------------------------------------------


def closed(library: Library, *case_ids: str) -> Library:
    """The library with these cases closed in their files."""
    return Library(
        {c.id: c.model_copy(update={"status": Status.closed}) if c.id in case_ids else c for c in library.all()},
        library.content_dir,
    )


async def pledged(store: Store, case_id: str, users: range) -> None:
    for user in users:
        await store.pledge(user, case_id, "letter")
        await store.pledge(user, case_id, "email")


async def test_pledge_records_go_retention_days_after_the_case_closed(redis, library: Library) -> None:
    store = Store(redis, Pseudonymizer(KEY))
    states = CaseStates(redis)
    case = library.get(CASE)
    assert case is not None
    await pledged(store, CASE, range(70_001, 70_051))
    await pledged(store, OTHER, range(70_001, 70_011))  # a case whose file is gone
    who = store.pseudonyms.user(70_001)
    await redis.set(f"rrb:sched:fired:later:{who}:{CASE}:email@1700000000", 1)
    totals = await store.totals(CASE)
    daily = await redis.hgetall(f"rrb:{{case:{CASE}}}:daily")

    closing = dt.datetime(2026, 3, 1, 12, tzinfo=UTC)
    await states.record(case, UpdateKind.closed, "Released!", at=closing.timestamp())
    library = await states.apply(library)
    retention = Retention(redis, states)

    early = await retention.run(library, days=30, now=closing + dt.timedelta(days=29))
    assert early.keys == 0 and await redis.scard(f"rrb:{{case:{CASE}}}:acted") == 50, "not before the period is over"

    done = await retention.run(library, days=30, now=closing + dt.timedelta(days=30, seconds=1))
    assert done.cases == 1 and done.records == 50 + 50 + 50 + 1  # acted, letter, email, one reminder mark
    for key in (
        f"rrb:{{case:{CASE}}}:acted",
        f"rrb:{{case:{CASE}}}:pledged:letter",
        f"rrb:{{case:{CASE}}}:pledged:email",
    ):
        assert not await redis.exists(key)
    assert not await redis.keys(f"rrb:sched:fired:later:*:{CASE}:*")
    assert await store.totals(CASE) == totals and await redis.hgetall(f"rrb:{{case:{CASE}}}:daily") == daily, (
        "aggregates stay"
    )
    assert await store.pledged_actions(70_001, OTHER) == {"letter", "email"}, "the gone case waits its own period"

    again = await retention.run(library, days=30, now=closing + dt.timedelta(days=31))
    assert again.keys == 0, "idempotent"


async def test_a_case_closed_in_its_file_counts_from_the_day_it_was_first_seen_closed(redis, library: Library) -> None:
    store = Store(redis, Pseudonymizer(KEY))
    retention = Retention(redis, CaseStates(redis))
    await pledged(store, CASE, range(70_001, 70_004))
    await pledged(store, OTHER, range(70_001, 70_004))
    seen = dt.datetime(2026, 5, 1, tzinfo=UTC)
    shut = closed(library, CASE)
    assert (await retention.run(shut, days=10, now=seen)).keys == 0
    assert (await retention.run(shut, days=10, now=seen + dt.timedelta(days=9))).keys == 0
    # Reopened meanwhile (an extension): the clock starts again at the next closure.
    assert (await retention.run(library, days=10, now=seen + dt.timedelta(days=9, hours=12))).keys == 0
    gone = await retention.run(shut, days=10, now=seen + dt.timedelta(days=11))
    assert gone.cases == 1 and await store.pledged_actions(70_001, OTHER) == set(), "a case whose file is gone"
    assert await store.pledged_actions(70_001, CASE) == {"letter", "email"}, "reopened: its clock started again"
    purged = await retention.run(shut, days=10, now=seen + dt.timedelta(days=21, seconds=1))
    assert purged.cases == 1 and await store.pledged_actions(70_001, CASE) == set()
    assert (await store.totals(CASE))["letter"] == 3


async def test_the_scheduler_runs_retention_daily(app, redis) -> None:
    job = app.scheduler._aps.get_job("retention:daily")
    assert job is not None and "cron" in str(job.trigger) and job.args == (app.settings.retention_days,)
    assert all(p.id != "retention:daily" for p in await app.scheduler.planned()), "housekeeping is not listed"
    assert not await redis.hexists("rrb:{sched}:jobs", "retention:daily"), "each process plans it in memory"
    store, case = app.store, app.library.get(CASE)
    await pledged(store, CASE, range(70_001, 70_004))
    await app.cases.record(case, UpdateKind.closed, "Released!", at=time.time())
    app.library.replace(await app.cases.apply(app.library))
    days = app.settings.retention_days
    with time_machine.travel(dt.datetime.now(UTC) + dt.timedelta(days=days + 1)):
        await jobs.retention(app.scheduler.ctx, days)
    assert await store.pledged_actions(70_001, CASE) == set()
    assert (await store.totals(CASE))["email"] == 3


async def test_retention_of_zero_days_deletes_at_once(redis, library: Library) -> None:
    store = Store(redis, Pseudonymizer(KEY))
    await pledged(store, CASE, range(70_001, 70_003))
    purged = await Retention(redis, CaseStates(redis)).run(closed(library, CASE), days=0, now=dt.datetime.now(UTC))
    assert purged.cases == 1 and await store.pledged_actions(70_001, CASE) == set()
