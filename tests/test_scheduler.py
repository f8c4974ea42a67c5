"""Scheduled pushes with the real Redis job store: reminders at the right instants, once, across
restarts and processes; missed runs; "remind me later"; extension and closure of a case."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.app.wiring import running
from bot.content import Case, Library, Status
from bot.ground.durations import in_days, parse_duration
from bot.ground.privacy import Pseudonymizer, privacy_key
from bot.ground.redis_client import client_from_url
from bot.ground.settings import Settings
from bot.pledges.store import Store
from emulator import BotAPIEmulator
from emulator.journey import Activist
from scheduler import Scheduler
from scheduler.reminders import Reminder, reminder_plan
from tests.conftest import ADMIN_ID, CONTENT
from tests.servers import RedisProcess

CASE = "ua-84-11"
UTC = dt.UTC


def write_content(root: Path, **changes: object) -> Path:
    """A content directory like the shipped one, with the seed case changed (deadline, reminders...)."""
    target = root / "content"
    if not target.exists():
        shutil.copytree(CONTENT, target)
    path = target / "cases" / f"{CASE}.yaml"
    data = yaml.safe_load((CONTENT / "cases" / f"{CASE}.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def planned_jobs(scheduler: Scheduler, case_id: str, count: int) -> Callable[[], Awaitable[bool]]:
    """For wait_for: `count` jobs are planned for the case."""

    async def planned() -> bool:
        return len(await scheduler.planned(case_id)) == count

    return planned


def seed(**changes: object) -> Case:
    data = yaml.safe_load((CONTENT / "cases" / f"{CASE}.yaml").read_text(encoding="utf-8"))
    return Case.model_validate({**data, **changes})


# --- when reminders fire (pure) ---------------------------------------------------------------------


def test_durations_read_as_people_write_them() -> None:
    assert parse_duration("7d") == dt.timedelta(days=7)
    assert parse_duration("1d12h") == dt.timedelta(hours=36)
    assert parse_duration(" 90M ") == dt.timedelta(minutes=90)
    assert in_days("0d") and not in_days("48h")
    with pytest.raises(ValueError, match="like 7d"):
        parse_duration("a week")


@pytest.mark.parametrize(
    ("zone", "utc_hour"),
    [("Europe/Moscow", 7), ("America/New_York", 15)],  # 10:00 local in December
)
def test_day_reminders_fire_at_the_reminder_hour_of_the_cases_timezone(zone: str, utc_hour: int) -> None:
    case = seed(deadline="2026-12-20", timezone=zone, reminders=["7d", "2d", "0d"])
    now = dt.datetime(2026, 12, 1, tzinfo=UTC)
    plan = reminder_plan(case, reminder_hour=10, default_tz="UTC", now=now)
    assert [(r.offset, r.at.astimezone(UTC)) for r in plan] == [
        ("7d", dt.datetime(2026, 12, 13, utc_hour, tzinfo=UTC)),
        ("2d", dt.datetime(2026, 12, 18, utc_hour, tzinfo=UTC)),
        ("0d", dt.datetime(2026, 12, 20, utc_hour, tzinfo=UTC)),
    ]
    assert all(r.at.astimezone(ZoneInfo(zone)).hour == 10 for r in plan)


def test_hour_reminders_fire_at_the_exact_instant_and_useless_ones_are_left_out() -> None:
    case = seed(deadline="2026-12-20T09:00:00", timezone="Asia/Tokyo", reminders=["6h", "30m", "0d", "1d"])
    now = dt.datetime(2026, 12, 19, 1, 0, tzinfo=UTC)  # 10:00 in Tokyo: the 1d reminder is just past
    plan = reminder_plan(case, reminder_hour=10, default_tz="UTC", now=now)
    tokyo = ZoneInfo("Asia/Tokyo")
    # 0d would be 10:00 on the deadline day, after the 09:00 deadline: no use, so left out.
    assert [(r.offset, r.at.astimezone(tokyo).strftime("%d %H:%M")) for r in plan] == [
        ("6h", "20 03:00"),
        ("30m", "20 08:30"),
    ]
    assert (
        reminder_plan(seed(status="closed", deadline="2026-12-20"), reminder_hour=10, default_tz="UTC", now=now) == []
    )


def test_hour_reminders_count_real_hours_across_a_clock_change() -> None:
    # Berlin moves its clocks forward at 02:00 on 28 March 2027: 6 h before 06:00 is 23:00 the day before.
    case = seed(deadline="2027-03-28T06:00:00", timezone="Europe/Berlin", reminders=["6h"])
    [reminder] = reminder_plan(case, reminder_hour=10, default_tz="UTC", now=dt.datetime(2027, 3, 1, tzinfo=UTC))
    assert case.deadline_at().astimezone(UTC) - reminder.at.astimezone(UTC) == dt.timedelta(hours=6)
    assert reminder.at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%d %H:%M") == "27 23:00"


def test_remind_me_later_comes_before_a_near_deadline_or_not_at_all() -> None:
    from scheduler import later_time

    now = dt.datetime(2026, 12, 1, 12, tzinfo=UTC)
    three = dt.timedelta(hours=3)
    assert later_time(now, three, None) == now + three
    assert later_time(now, three, now + dt.timedelta(days=1)) == now + three
    assert later_time(now, three, now + dt.timedelta(hours=2)) == now + dt.timedelta(hours=1), "an hour before"
    assert later_time(now, three, now + dt.timedelta(minutes=65)) is None, "too close to help"


def test_a_case_file_with_a_bad_reminder_is_refused_with_the_field_named(tmp_path: Path) -> None:
    from bot.content.check import check_content

    content = write_content(tmp_path, reminders=["7d", "soon"])
    problems = [str(p) for p in check_content(content)]
    assert any("reminders" in p and "soon" in p for p in problems), problems


# --- the plan in the job store ----------------------------------------------------------------------


@pytest.fixture
async def planner(redis) -> AsyncIterator[Scheduler]:
    scheduler = Scheduler(redis, grace=dt.timedelta(hours=6), reminder_hour=10, default_timezone="UTC")
    scheduler.start()
    yield scheduler
    scheduler.shutdown()


async def test_reconcile_plans_moves_and_drops_the_reminders_of_a_case(planner: Scheduler) -> None:
    now = dt.datetime.now(UTC)
    deadline = (now + dt.timedelta(days=10)).date()
    case = seed(deadline=deadline.isoformat(), timezone="Europe/Moscow")
    await planner.reconcile([case], now)
    first = {(p.detail, p.run_at) for p in await planner.planned(CASE)}
    assert {offset for offset, _ in first} == {"7d", "2d", "0d"}
    await planner.reconcile([case], now)
    assert {(p.detail, p.run_at) for p in await planner.planned(CASE)} == first, "planning twice changes nothing"

    extended = case.model_copy(update={"deadline": deadline + dt.timedelta(days=5)})
    await planner.reconcile([extended], now)
    moved = {(p.detail, p.run_at) for p in await planner.planned(CASE)}
    assert {o for o, _ in moved} == {"7d", "2d", "0d"} and not moved & first
    assert all(at.astimezone(ZoneInfo("Europe/Moscow")).hour == 10 for _, at in moved)

    await planner.reconcile([extended.model_copy(update={"status": Status.closed})], now)
    assert await planner.planned(CASE) == []


# --- firing, through the running bot ----------------------------------------------------------------


@pytest.fixture
def followers() -> dict[str, int]:
    return {"waiting": 5101, "acted": 5102, "no_reminders": 5103}


async def prepare_followers(
    settings: Settings, redis, emulator: BotAPIEmulator, people: dict[str, int]
) -> dict[str, Activist]:
    """Followers of the case, written before the bot starts (a due job may run as soon as it does)."""
    store = Store(redis, Pseudonymizer(privacy_key(settings)))
    activists = {name: Activist(emulator, chat, name) for name, chat in people.items()}
    for chat in people.values():
        await store.set_language(chat, "en")
        await store.subscribe(chat, CASE)
    await store.pledge(people["acted"], CASE, "letter")
    await store.set_reminders(people["no_reminders"], False)
    return activists


def reminders_received(person: Activist) -> int:
    return sum("have not written to an official" in m.get("text", "") for m in person.messages)


async def test_a_due_reminder_reaches_only_followers_who_have_not_acted(
    settings: Settings, redis, emulator: BotAPIEmulator, tmp_path: Path, followers: dict[str, int]
) -> None:
    deadline = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="UTC", reminders=["3597s"])
    people = await prepare_followers(settings, redis, emulator, followers)
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
        await emulator.wait_for(lambda: reminders_received(people["waiting"]) == 1, timeout=15)
        await emulator.wait_idle()
        assert "What can I do?" in str(people["waiting"].last["reply_markup"])
        assert reminders_received(people["acted"]) == 0, "who acted is left in peace"
        assert reminders_received(people["no_reminders"]) == 0, "/reminders off is respected"
        assert await app.scheduler.planned(CASE) == []


async def test_a_day_reminder_fires_at_ten_in_the_cases_timezone(
    settings: Settings, redis, emulator: BotAPIEmulator, tmp_path: Path, followers: dict[str, int]
) -> None:
    import time_machine

    today = dt.datetime.now(ZoneInfo("America/New_York")).date()
    content = write_content(
        tmp_path, deadline=(today + dt.timedelta(days=12)).isoformat(), timezone="America/New_York", reminders=["7d"]
    )
    due = dt.datetime.combine(today + dt.timedelta(days=5), dt.time(10), tzinfo=ZoneInfo("America/New_York"))
    people = await prepare_followers(settings, redis, emulator, followers)
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
        await emulator.wait_for(lambda: app.scheduler.planned(CASE), timeout=10)
        [planned] = await app.scheduler.planned(CASE)
        assert planned.run_at == due
        with time_machine.travel(due - dt.timedelta(minutes=1), tick=True):
            app.scheduler._aps.wakeup()
            await asyncio.sleep(1.5)
            assert reminders_received(people["waiting"]) == 0, "not a minute early"
        with time_machine.travel(due + dt.timedelta(seconds=1), tick=True):
            app.scheduler._aps.wakeup()
            await emulator.wait_for(lambda: reminders_received(people["waiting"]) == 1, timeout=10)


async def test_a_reminder_planned_before_a_restart_fires_once_after_it(
    settings: Settings, redis, emulator: BotAPIEmulator, tmp_path: Path, followers: dict[str, int]
) -> None:
    deadline = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="UTC", reminders=["3594s"])
    config = settings.model_copy(update={"content_dir": content})
    people = await prepare_followers(settings, redis, emulator, followers)
    async with running(config, redis, Library.load(content)) as app:
        await emulator.wait_for(lambda: app.scheduler.planned(CASE), timeout=10)
    # The bot is down now; the job waits in Redis. A new process takes over and fires it, once.
    assert reminders_received(people["waiting"]) == 0
    async with running(config, redis, Library.load(content)):
        await emulator.wait_for(lambda: reminders_received(people["waiting"]) == 1, timeout=15)
        await asyncio.sleep(2)
    assert reminders_received(people["waiting"]) == 1


async def test_two_schedulers_one_runs_the_jobs_and_the_other_takes_over(
    settings: Settings, redis, emulator: BotAPIEmulator, tmp_path: Path, followers: dict[str, int]
) -> None:
    deadline = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="UTC", reminders=["3592s"])
    people = await prepare_followers(settings, redis, emulator, followers)
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
        await emulator.wait_for(lambda: app.scheduler.leading, timeout=5)
        # A second process's scheduler, with the same context: it plans, and waits for the lock.
        other = Scheduler(
            redis,
            grace=dt.timedelta(hours=6),
            ctx=app.scheduler.ctx,
            lock_ttl=2.0,
            renew_every=0.5,
            poll=0.2,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(other.run(stop))
        try:
            await asyncio.sleep(1)
            assert app.scheduler.leading and not other.leading
            await other.reconcile(app.library.all(), dt.datetime.now(UTC))
            assert len(await redis.hkeys("rrb:{sched}:jobs")) == 1, "both planned it: still one job"
            # Both run jobs, as when a stalled leader's lock ran out: the job still fires once.
            other._aps.resume()
            await emulator.wait_for(lambda: reminders_received(people["waiting"]) == 1, timeout=15)
            await asyncio.sleep(1.5)
            assert reminders_received(people["waiting"]) == 1
            other._aps.pause()

            # The leader dies without a word: its lock runs out and the other one leads.
            app.scheduler.lock_ttl = 2.0
            await redis.pexpire(app.scheduler.lock_key, 2000)
            app.scheduler.renew_every = 3600.0
            await emulator.wait_for(lambda: other.leading, timeout=5)
        finally:
            stop.set()
            await task


async def test_a_missed_job_runs_within_the_grace_window_and_is_reported_beyond_it(
    settings: Settings, redis, emulator: BotAPIEmulator, tmp_path: Path, followers: dict[str, int], planner: Scheduler
) -> None:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    deadline = now + dt.timedelta(hours=1)
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="UTC", reminders=["3h", "10h"])
    # Planned while the bot was down: one due two hours ago (inside the 6 h window), one nine hours ago.
    await planner.add_reminder(Reminder(CASE, "3h", deadline - dt.timedelta(hours=3)))
    await planner.add_reminder(Reminder(CASE, "10h", deadline - dt.timedelta(hours=10)))
    admin = Activist(emulator, ADMIN_ID, "Coordinator")
    people = await prepare_followers(settings, redis, emulator, followers)
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)):
        report = await emulator.wait_for(
            lambda: next((m for m in admin.messages if m.get("text", "").startswith("⚠️ Skipped")), None), timeout=15
        )
        assert "10 hours before" in report["text"] and "6 hours" in report["text"]
        await emulator.wait_for(lambda: reminders_received(people["waiting"]) == 1, timeout=15)
        await asyncio.sleep(1)
        assert reminders_received(people["waiting"]) == 1, "the skipped one never goes out"


async def test_a_job_that_fails_is_reported_to_coordinators(
    settings: Settings, redis, emulator: BotAPIEmulator, planner: Scheduler
) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coordinator")
    async with running(settings, redis, Library.load(CONTENT)):
        # A broadcast whose stored message cannot be read (written by a broken tool, say).
        await planner.schedule_broadcast(
            "{not json", '{"kind": "all"}', None, dt.datetime.now(UTC) + dt.timedelta(seconds=1)
        )
        report = await emulator.wait_for(
            lambda: next((m for m in admin.messages if m.get("text", "").startswith("⚠️ Failed")), None), timeout=15
        )
        assert "a scheduled broadcast" in report["text"]
    assert not [k for k in await redis.keys("rrb:sched:fired:*")], "a failed job leaves no mark: it can run again"


# --- a frozen Redis ----------------------------------------------------------------------------------


async def note_run(*args: object) -> None:
    """A job for these tests: its context is a set, and it puts its name there."""
    ran, name = args
    assert isinstance(ran, set)
    ran.add(name)


async def worst_lag(done: asyncio.Event, step: float = 0.05) -> float:
    """How much later than asked a short sleep ended, at worst, until `done`: the event loop's stalls."""
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not done.is_set():
        before = loop.time()
        await asyncio.sleep(step)
        worst = max(worst, loop.time() - before - step)
    return worst


async def _until(predicate: Callable[[], object]) -> None:
    while not predicate():
        await asyncio.sleep(0.01)


async def test_a_frozen_redis_does_not_stall_the_event_loop(redis_process: RedisProcess) -> None:
    assert redis_process.proc is not None
    client = client_from_url(redis_process.url)
    ran: set[str] = set()
    # The lock is renewed long after the freeze: only the job store meets the frozen server.
    scheduler = Scheduler(
        client,
        grace=dt.timedelta(hours=1),
        ctx=ran,
        lock_ttl=120,
        renew_every=60,
        poll=0.1,  # type: ignore[arg-type]
    )
    stop, measured = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(scheduler.run(stop))
    # SIGCONT from a thread of its own: a stalled loop must not make the freeze last longer.
    thaw = threading.Timer(3.0, redis_process.proc.send_signal, (signal.SIGCONT,))
    try:
        await asyncio.wait_for(_until(lambda: scheduler.leading), timeout=5)
        loop = asyncio.get_running_loop()
        at = dt.datetime.now(UTC) + dt.timedelta(seconds=1)  # due while Redis is frozen
        scheduler._aps.add_job("tests.test_scheduler:note_run", "date", run_date=at, id="due", args=("due",))

        lag = asyncio.create_task(worst_lag(measured))
        await asyncio.sleep(0.2)
        redis_process.proc.send_signal(signal.SIGSTOP)
        thaw.start()
        began = loop.time()
        await asyncio.sleep(0.5)  # the leader looks for due jobs every 0.1 s meanwhile
        later = await scheduler.remind_later(7001, CASE, "letter", dt.datetime.now(UTC) + dt.timedelta(hours=3))
        waited = loop.time() - began
        measured.set()
        stall = await lag

        assert waited > 2.5, f"the planning call took {waited:.2f}s: Redis was not frozen while it waited"
        assert stall < 0.5, f"the event loop stalled for {stall:.2f}s"
        assert await client.hexists("rrb:{sched}:jobs", later), "planned during the freeze, stored after it"
        await asyncio.wait_for(_until(lambda: "due" in ran), timeout=10)
    finally:
        thaw.cancel()
        redis_process.proc.send_signal(signal.SIGCONT)
        measured.set()
        stop.set()
        await task
        await client.aclose()


async def test_apscheduler_stopped_while_redis_is_frozen_does_not_wait_for_it(redis_process: RedisProcess) -> None:
    assert redis_process.proc is not None
    client = client_from_url(redis_process.url)
    scheduler = Scheduler(client, grace=dt.timedelta(hours=1), ctx=set())  # type: ignore[arg-type]
    scheduler.start()
    measured = asyncio.Event()
    thaw = threading.Timer(3.0, redis_process.proc.send_signal, (signal.SIGCONT,))
    try:
        scheduler._aps.resume()
        await asyncio.sleep(0.2)
        redis_process.proc.send_signal(signal.SIGSTOP)
        thaw.start()
        lag = asyncio.create_task(worst_lag(measured))
        scheduler._aps.wakeup()
        await asyncio.sleep(0.3)  # the scheduler's thread waits on the frozen server, holding the job stores
        # APScheduler's part of Scheduler.shutdown() alone: closing the store's client would cut the wait short.
        scheduler._aps.shutdown(wait=False)
        await asyncio.sleep(1)
        measured.set()
        assert await lag < 0.5, "stopping waits for the job stores off the event loop"
        await asyncio.wait_for(_until(lambda: not scheduler._aps.running), timeout=10)
    finally:
        thaw.cancel()
        redis_process.proc.send_signal(signal.SIGCONT)
        measured.set()
        scheduler.shutdown()
        await client.aclose()


# --- real processes -----------------------------------------------------------------------------------


@pytest.mark.timeout(150)
async def test_when_the_scheduling_process_is_killed_another_takes_over_and_fires_once(
    emulator: BotAPIEmulator, redis, redis_url: str, tmp_path: Path
) -> None:
    from tests.test_delivery_processes import KEY, start_bot, stop, wait_until

    deadline = dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(hours=1)
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="UTC", reminders=["3570s"])
    person = Activist(emulator, 5901, "Waiting")
    store = Store(redis, Pseudonymizer(KEY.encode()))
    await store.set_language(5901, "en")
    await store.subscribe(5901, CASE)
    first = await start_bot(emulator, redis_url, tmp_path / "a", CONTENT_DIR=str(content))
    second = None
    try:
        await wait_until(lambda: redis.exists("rrb:sched:leader"), timeout=30)
        await wait_until(lambda: redis.hlen("rrb:{sched}:jobs"), timeout=10)  # it planned the reminder
        second = await start_bot(emulator, redis_url, tmp_path / "b", CONTENT_DIR=str(content))
        await asyncio.sleep(4)  # the second one is up, waiting for the lock
        first.kill()  # SIGKILL: no lock released, no goodbye
        await first.wait()
        killed = asyncio.get_running_loop().time()
        assert reminders_received(person) == 0
        await emulator.wait_for(lambda: reminders_received(person) == 1, timeout=45)
        assert asyncio.get_running_loop().time() - killed < 30 + 5, "taken over within the lock's 20 s + 5 s"
        await asyncio.sleep(3)
        assert reminders_received(person) == 1, "fired once"
    finally:
        await stop(first)
        if second is not None:
            await stop(second)
