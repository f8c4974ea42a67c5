"""APScheduler 3 on a Redis job store, run by one process at a time.

APScheduler's FAQ: one job store must not be shared by schedulers that run jobs. Every bot
process starts its scheduler paused, which lets it add, list and remove jobs in the shared store.
Only the holder of a Redis lock (a TTL, renewed while held) resumes its scheduler and runs jobs;
when the holder dies, another process takes the lock within LOCK_TTL + RENEW_EVERY seconds.
The leader looks for jobs that other processes added every POLL seconds.

The job store's Redis client blocks, so nothing here calls it on the event loop: APScheduler
looks for due jobs in a thread of its own, and planning runs in a small pool of threads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.redis import RedisJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from apscheduler.schedulers.base import STATE_STOPPED, BaseScheduler
from apscheduler.triggers.date import DateTrigger
from redis.asyncio import Redis

from bot.content import ACTIONS, Case, Library
from bot.delivery import Audience, Payload
from bot.ground.audit import Action, AuditLog, Who
from bot.ground.keymoves import KeyMove
from bot.ground.privacy import Pseudonymizer
from bot.ground.redis_client import sync_client
from bot.ground.redis_gate import log_failure
from scheduler.context import JobContext
from scheduler.reminders import REMINDER_PREFIX, Reminder, reminder_plan
from scheduler.sends import CaseChange, Send, SendRecords, case_state, number_of, send_job_id

logger = logging.getLogger(__name__)

JOBS_KEY, RUN_TIMES_KEY = "{sched}:jobs", "{sched}:run_times"
# Where APScheduler's keys lived before they shared a hash tag (bot.ground.keymoves runs these on start-up).
KEY_MOVES: tuple[KeyMove, ...] = (
    KeyMove("sched:jobs", "sched:jobs", JOBS_KEY),
    KeyMove("sched:run_times", "sched:run_times", RUN_TIMES_KEY),
)

T = TypeVar("T")

LOCK_TTL = 20.0
RENEW_EVERY = 5.0  # also how often a follower tries to take over: a new leader within 25 s
POLL = 1.0
JOB_GRACE = 5.0  # how long a stopping leader lets the jobs it started finish before it lets go
JOB = "scheduler.jobs:run"
LATER_MARGIN = dt.timedelta(hours=1)  # a personal reminder comes at least this long before the deadline
LATER_MIN = dt.timedelta(minutes=10)  # ...and not sooner than this after the tap: else, act now
# What a job may be scheduled for: APScheduler fails deep inside on years like 9999.
MIN_TIME = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_TIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
# Retention runs daily at this time (UTC), when few people are awake to tap.
RETENTION_JOB = "retention:daily"
RETENTION_AT = dt.time(3, 30)
PLANNING_THREADS = 4

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class Planned:
    """A job as coordinators see it in /schedule and `rrbot schedule list`."""

    id: str
    kind: str  # reminder, later, broadcast
    run_at: dt.datetime | None
    case_id: str | None = None
    detail: str = ""  # the reminder's offset; a broadcast's audience (JSON)
    created_by: int | None = None
    payload: str = ""  # a broadcast's message (bot.delivery.Payload as JSON)


class ContextExecutor(AsyncIOExecutor):
    """Hands every job its process's context as the first argument."""

    def __init__(self, ctx: JobContext | None) -> None:
        super().__init__()
        self.ctx = ctx

    def _do_submit_job(self, job: Any, run_times: list[dt.datetime]) -> None:
        if self.ctx is None:
            raise RuntimeError("this scheduler only plans jobs: it has no context to run them")
        # Submitted from the scheduler's thread: the task that runs the job is made on the loop.
        _on_loop(self._eventloop, super()._do_submit_job, _Bound(job, self.ctx), run_times)

    async def drain(self, timeout: float) -> int:
        """Wait for the jobs running now; returns how many were still running after `timeout` seconds."""
        # AsyncIOExecutor keeps the futures of the jobs it runs here (its own shutdown cancels them).
        running = [f for f in getattr(self, "_pending_futures", ()) if not f.done()]
        if not running:
            return 0
        _, pending = await asyncio.wait(running, timeout=timeout)
        return len(pending)


class _Bound:
    """A job as the executor runs it: the same job, with the context as its first argument."""

    def __init__(self, job: Any, ctx: JobContext) -> None:
        self._job = job
        self.func = functools.partial(job.func, ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._job, name)

    def __str__(self) -> str:
        return str(self._job)


class _OffLoopScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler that looks for due jobs in a thread: a slow job store never stalls the loop.

    One thread, so two runs never overlap: a wakeup during a run brings one more run right after it.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scheduler")
        self._run: Future[float | None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._again = False
        self._closing = False
        self._stop_wait: bool | None = None  # set when a shutdown waits for the run in progress

    @run_in_event_loop
    def wakeup(self) -> None:
        self._stop_timer()
        if self._run is not None:
            self._again = True
        elif not self._closing and self.state != STATE_STOPPED:
            self._start_run()

    def _start_run(self) -> None:
        self._again = False
        self._idle.clear()
        loop = self._eventloop

        def tell(run: Future[float | None]) -> None:
            if not loop.is_closed():  # a run that outlived the loop (a hung Redis at exit) has nobody to tell
                _on_loop(loop, self._ran, run)

        self._run = self._worker.submit(self._process_jobs)
        self._run.add_done_callback(tell)

    def _ran(self, run: Future[float | None]) -> None:
        # After the jobs this run submitted: their tasks exist now (the loop runs callbacks in order).
        self._run = None
        self._idle.set()
        if self._stop_wait is not None:
            self._stop(self._stop_wait)
            return
        if self._closing or self.state == STATE_STOPPED or run.cancelled():
            return
        try:
            wait_seconds = run.result()
        except Exception:
            # As APScheduler does when a job store fails to list due jobs: look again a little later.
            logger.exception("Looking for due jobs failed")
            wait_seconds = self.jobstore_retry_interval
        if self._again:
            self._start_run()
        else:
            self._start_timer(wait_seconds)

    async def settle(self, timeout: float) -> bool:
        """Wait for the run in progress (it may still start jobs); False when it outlasts `timeout`."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)
        self._closing = True
        # A run stuck in a Redis call ends with the call's timeout: nobody waits for it here.
        self._worker.shutdown(wait=False, cancel_futures=True)

    @run_in_event_loop
    def _shutdown(self, wait: bool = True) -> None:
        if self._run is None:
            self._stop(wait)
        else:
            # The run holds the job stores' lock, which stopping takes: the loop would wait out a
            # hung Redis call. The run stops the scheduler when it ends instead.
            self._stop_wait = wait

    def _stop(self, wait: bool) -> None:
        BaseScheduler.shutdown(self, wait)
        self._stop_timer()
        self._eventloop = None


class Scheduler:
    def __init__(
        self,
        redis: Redis,
        *,
        grace: dt.timedelta,
        reminder_hour: int = 10,
        default_timezone: str = "UTC",
        ctx: JobContext | None = None,
        on_missed: Callable[[Planned, dt.datetime, bool], Awaitable[None]] | None = None,
        pseudonyms: Pseudonymizer | None = None,
        library: Library | None = None,
        prefix: str = "rrb:",
        lock_ttl: float = LOCK_TTL,
        renew_every: float = RENEW_EVERY,
        poll: float = POLL,
    ) -> None:
        self.redis = redis
        self.ctx = ctx
        self.pseudonyms = pseudonyms
        # The cases a scheduled send is written for: its case's state is kept with it (scheduler.sends).
        self.library = library if library is not None else (ctx.library if ctx else None)
        self.sends_record = SendRecords(redis, prefix)
        self.reminder_hour = reminder_hour
        self.default_timezone = default_timezone
        self.on_missed = on_missed
        # Planning and dropping a coordinator's message are recorded; the CLI plans with no pseudonyms (it names nobody).
        self.audit = AuditLog(redis, pseudonyms or Pseudonymizer(b"the-cli-names-nobody-by-id"), prefix=prefix)
        self.lock_key = prefix + "sched:leader"
        self.seq_key = prefix + "sched:seq"
        self.token = secrets.token_hex(8)
        self.lock_ttl, self.renew_every, self.poll = lock_ttl, renew_every, poll
        self.leading = False
        self.on_lead: Callable[[], Awaitable[None]] | None = None
        # One hash tag: the job store adds and removes a job in one transaction over both keys (Redis Cluster).
        store = RedisJobStore(jobs_key=prefix + JOBS_KEY, run_times_key=prefix + RUN_TIMES_KEY)
        store.redis.close()
        store.redis = sync_client(redis)  # the same server and database as the bot's own client
        self._store = store
        self._executor = ContextExecutor(ctx)
        self._aps = _OffLoopScheduler(
            timezone=dt.UTC,
            # "local": housekeeping every process plans for itself (only the leader runs it), kept out of Redis.
            jobstores={"default": store, "local": MemoryJobStore()},
            executors={"default": self._executor},
            job_defaults={"misfire_grace_time": int(grace.total_seconds()), "coalesce": True, "max_instances": 1},
        )
        self._aps.add_listener(self._missed, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # Planning calls wait on the job store's Redis here: a frozen Redis holds these few threads, not
        # the event loop's default pool (aiohttp resolves host names there).
        self._planning = ThreadPoolExecutor(max_workers=PLANNING_THREADS, thread_name_prefix="scheduler-plan")

    # --- running ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start paused: this process can plan jobs now; it runs them only once it leads."""
        if not self._aps.running:
            self._loop = asyncio.get_running_loop()
            self._aps.start(paused=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Take the lead when it is free, keep it while alive, run due jobs while leading."""
        self.start()
        renewed = 0.0
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                try:
                    if self.leading and loop.time() - renewed >= self.renew_every:
                        if await self._renew(keys=[self.lock_key], args=[self.token, int(self.lock_ttl * 1000)]):
                            renewed = loop.time()
                        else:
                            self._step_down("the lock went to another process")
                    elif not self.leading and loop.time() - renewed >= self.renew_every:
                        renewed = loop.time()
                        if await self.redis.set(self.lock_key, self.token, nx=True, px=int(self.lock_ttl * 1000)):
                            await self._take_lead()
                    if self.leading:
                        self._aps.wakeup()  # jobs other processes added since
                except Exception as exc:
                    # Redis away (or planning failed): without a renewed lock another process may
                    # lead by now, so stop, and leave the lock to whoever can use it.
                    log_failure(logger, exc, "Scheduler lock check failed")
                    if self.leading:
                        self._step_down("an error")
                        await self._let_go()
                    renewed = loop.time()
                await _sleep_or_stop(stop, self.poll)
        finally:
            await self.release()
            self.shutdown()

    async def release(self, grace: float = JOB_GRACE) -> None:
        """Stop leading: no new job starts, the running ones may finish, then the lock is free at once.

        Another process takes over at its next try (RENEW_EVERY) instead of waiting out the TTL.
        Compare-and-delete: a lock that already went to another process stays with it.
        """
        if not self.leading:
            return
        self._step_down("shutting down", logging.INFO)
        if not await self._aps.settle(grace):
            logger.warning("Still looking for due jobs after %rs (Redis slow?): letting go anyway", grace)
        # APScheduler's shutdown cancels running jobs: a personal reminder would be lost mid-send.
        if cut := await self._executor.drain(grace):
            logger.warning("%d scheduled job(s) still running after %rs: cut short", cut, grace)
        if self._tasks:  # coordinators hear of a job that just failed before the bot's session closes
            await asyncio.wait(self._tasks, timeout=grace)
        await self._let_go()

    async def _let_go(self) -> None:
        try:
            await self._release(keys=[self.lock_key], args=[self.token])
        except Exception:
            logger.warning("Could not release the scheduler lock; it runs out by itself")

    async def _take_lead(self) -> None:
        self.leading = True
        logger.info("This process now runs the scheduler")
        if self.on_lead:
            await self.on_lead()
        self._aps.resume()

    def _step_down(self, why: str, level: int = logging.WARNING) -> None:
        if self.leading:
            logger.log(level, "This process stops running the scheduler: %s", why)
            self.leading = False
            self._aps.pause()

    def shutdown(self) -> None:
        if self._aps.running and not self._stopping:
            self._stopping = True
            self._aps.shutdown(wait=False)
        # APScheduler closes its store from the event loop, later; the connections go now.
        self._store.redis.close()
        self._planning.shutdown(wait=False, cancel_futures=True)

    # --- planning ---------------------------------------------------------------------------------

    async def _off_loop(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._planning, functools.partial(func, *args))

    async def reconcile(self, cases: Iterable[Case], now: dt.datetime) -> None:
        """Make the stored reminders match the cases: new ones added, moved or closed ones removed.

        A reminder already due stays for the missed-run rules (its job looks at the case again
        before it sends anything), unless its case is closed or gone.
        """
        await self._off_loop(self._reconcile, list(cases), now)

    def _reconcile(self, cases: list[Case], now: dt.datetime) -> None:
        wanted = {
            r.job_id: r
            for case in cases
            for r in reminder_plan(case, reminder_hour=self.reminder_hour, default_tz=self.default_timezone, now=now)
        }
        open_ids = {c.id for c in cases if c.status.value == "open"}
        for job in self._aps.get_jobs():
            if not job.id.startswith(REMINDER_PREFIX + ":") or job.id in wanted:
                continue
            due = job.next_run_time is not None and job.next_run_time <= now
            if due and job.args[2] in open_ids:
                continue
            self._aps.remove_job(job.id)
            logger.info("Reminder %r removed: its case changed", job.id)
        for job_id, reminder in wanted.items():
            if self._aps.get_job(job_id) is None:
                self._add_reminder(reminder)

    async def add_reminder(self, reminder: Reminder) -> None:
        await self._off_loop(self._add_reminder, reminder)

    def _add_reminder(self, reminder: Reminder) -> None:
        r = reminder
        self._add(r.job_id, r.at, "reminder", r.case_id, r.offset, r.at.timestamp())

    async def remind_later(self, chat_id: int, case_id: str, action: str, at: dt.datetime) -> str:
        """One reminder per person, case and action: tapping again moves it."""
        job_id = self._later_id(chat_id, case_id, action)
        await self._off_loop(self._add, job_id, at, "later", chat_id, case_id, action)
        return job_id

    def _later_id(self, chat_id: int, case_id: str, action: str) -> str:
        # Job ids show up in APScheduler's log and in `rrbot schedule`: a pseudonym, never the chat id.
        who = self.pseudonyms.user(chat_id) if self.pseudonyms else str(chat_id)
        return f"later:{who}:{case_id}:{action}"

    async def schedule_broadcast(
        self, payload: str, audience: str, created_by: int | None, at: dt.datetime, *, by: Who | None = None
    ) -> str:
        """Plan a coordinator's message for `at`; recorded in the audit log as scheduled by `by` (else `created_by`)."""
        number = await self.redis.incr(self.seq_key)
        case_id = Audience.from_json(audience).case_id
        if case_id and self.library is not None:
            # Before the job exists: a case change right after must find what the send was written for.
            await self.sends_record.written(number, case_state(self.library.get(case_id), self.default_timezone))
        await self._off_loop(self._add, send_job_id(number), at, "broadcast", payload, audience, created_by)
        await self.audit.record(Action.schedule, by or created_by, **_what(payload, audience))
        return send_job_id(number)

    # --- scheduled broadcasts, as coordinators act on them -------------------------------------------

    async def sends(self) -> list[Send]:
        """The broadcasts still to go out, held ones included, soonest first (held ones last)."""
        jobs = await self._off_loop(self._aps.get_jobs, "default")
        found = [s for s in [await self._send_of(job) for job in jobs if number_of(job.id)] if s is not None]
        far = dt.datetime.max.replace(tzinfo=dt.UTC)
        return sorted(found, key=lambda s: (s.run_at or far, s.number))

    async def send(self, number: int) -> Send | None:
        """One scheduled broadcast; None once it went out or was cancelled (SendRecords.fate says which)."""
        job = await self._off_loop(self._aps.get_job, send_job_id(number), "default")
        return await self._send_of(job) if job is not None else None

    async def _send_of(self, job: Any) -> Send | None:
        number = number_of(job.id)
        if number is None or len(job.args) < 5:
            return None
        _, _, payload, audience, created_by = job.args[:5]
        try:
            message, to = Payload.from_json(payload), Audience.from_json(audience)
        except (ValueError, KeyError, TypeError) as exc:
            # Written by a broken tool: it fails when due, and coordinators hear of it then (on_missed).
            logger.warning("Scheduled broadcast %r cannot be read: %s", job.id, type(exc).__name__)
            return None
        held = await self.sends_record.held_from(number) if job.next_run_time is None else None
        return Send(number, job.next_run_time, message, to, created_by, held)

    async def move(self, number: int, at: dt.datetime, *, by: Who | None = None) -> Send | None:
        """A new time for a send (a held one is released); None when it is no longer scheduled. With `by`, the
        move goes in the audit log."""
        if not await self._off_loop(self._move, send_job_id(number), at):
            return None
        await self.sends_record.released(number)
        moved = await self.send(number)
        if moved is not None and by is not None:
            await self.audit.record(Action.move, by, case=moved.audience.case_id or "", title=moved.payload.text)
        return moved

    def _move(self, job_id: str, at: dt.datetime) -> bool:
        if not MIN_TIME < at < MAX_TIME:
            raise ValueError(f"{at.isoformat()} is too far out to schedule")
        job = self._aps.get_job(job_id, "default")
        if job is None:
            return False
        kind, _, *rest = job.args
        # Modified, never added again: a send that started meanwhile must not come back to go out twice.
        try:
            self._aps.modify_job(
                job_id,
                "default",
                args=(kind, f"{job_id}@{int(at.timestamp())}", *rest),  # a new "fired" mark for the new time
                trigger=DateTrigger(run_date=at, timezone=dt.UTC),
                next_run_time=at,
            )
        except JobLookupError:
            return False
        return True

    async def keep(self, number: int, now: dt.datetime) -> tuple[str, Send | None]:
        """Its coordinator keeps a send after its case changed: "kept" (a held one goes at its time again),
        "needs time" (held past its time: it needs a new one), or "gone" (no longer scheduled)."""
        send = await self.send(number)
        if send is None:
            return "gone", None
        if not send.held:
            return "kept", send
        if send.planned_for is None or send.planned_for <= now:
            return "needs time", send
        moved = await self.move(number, send.planned_for)
        return ("kept", moved) if moved is not None else ("gone", None)

    async def cancel_send(self, number: int, *, by: Who | None = None) -> bool:
        """False when it was no longer scheduled (gone out, or cancelled by someone else first)."""
        return await self.cancel(send_job_id(number), by=by)

    async def recheck(self, cases: Iterable[Case], now: dt.datetime) -> list[CaseChange]:
        """Compare each send written for a case with the case now: what changed, once, for its coordinator.

        A send for a case that closed is held (paused) until its coordinator decides: its followers were just
        told that nothing more is needed, and a send written for an open case would say otherwise.
        """
        by_id = {case.id: case for case in cases}
        changes = []
        for send in await self.sends():
            case = by_id.get(send.case_id or "")
            if case is None:
                continue
            seen = await self.sends_record.case_seen(send.number)
            current = case_state(case, self.default_timezone)
            if seen is None:  # scheduled where the cases were not at hand (an old job): from now on
                await self.sends_record.written(send.number, current)
                continue
            if seen == current or not await self.sends_record.take_change(send.number, seen, current):
                continue
            kind = (
                "closed"
                if current["status"] == "closed" and seen["status"] != "closed"
                else "reopened"
                if seen["status"] == "closed" and current["status"] != "closed"
                else "extended"
            )
            hold = kind == "closed" and not send.held
            if hold and send.run_at is not None:
                await self.sends_record.hold(send.number, send.run_at)
                await self._off_loop(self._aps.pause_job, send.id, "default")
                logger.info("Scheduled broadcast %r held: its case %r closed", send.id, case.id)
                send = await self.send(send.number) or send
            changes.append(CaseChange(send, case, kind, send.held))
        return changes

    def _add(self, job_id: str, at: dt.datetime, kind: str, *args: Any) -> None:
        if not MIN_TIME < at < MAX_TIME:
            raise ValueError(f"{at.isoformat()} is too far out to schedule")
        # The run time goes into the job's "fired" mark: the same job moved to a new time runs again.
        run = f"{job_id}@{int(at.timestamp())}"
        self._aps.add_job(JOB, "date", run_date=at, id=job_id, args=(kind, run, *args), replace_existing=True)

    def plan_retention(self, days: int, at: dt.time = RETENTION_AT) -> None:
        """The daily deletion of pledge records of cases closed over `days` ago (bot/pledges/retention.py)."""
        if self.ctx is None:
            return  # a planning-only scheduler (the CLI) runs nothing
        self._aps.add_job(
            "scheduler.jobs:retention",
            "cron",
            hour=at.hour,
            minute=at.minute,
            id=RETENTION_JOB,
            args=(days,),
            jobstore="local",
            replace_existing=True,
        )

    async def forget(self, chat_id: int, case_ids: Iterable[str]) -> int:
        """Drop a person's "remind me later" jobs (their arguments hold the chat id): /forget, /stop."""
        return await self._off_loop(self._forget, chat_id, list(case_ids))

    def _forget(self, chat_id: int, case_ids: list[str]) -> int:
        wanted = {self._later_id(chat_id, case_id, action) for case_id in case_ids for action in ACTIONS}
        # Also those about cases that are in no file any more: found by their id in the job store.
        prefix = self._later_id(chat_id, "", "").rstrip(":") + ":"
        wanted.update(
            job_id.decode() if isinstance(job_id, bytes) else job_id
            for job_id, _ in self._store.redis.hscan_iter(self._store.jobs_key, match=prefix + "*", count=1000)
        )
        return sum(self._cancel(job_id) for job_id in wanted)

    async def forget_author(self, chat_id: int) -> int:
        """/forget: the scheduled sends a coordinator wrote keep going, no longer naming them (their report and
        any question about them then go to every coordinator, as for a send from the command line)."""
        return await self._off_loop(self._forget_author, chat_id)

    def _forget_author(self, chat_id: int) -> int:
        changed = 0
        for job in self._aps.get_jobs("default"):
            args = tuple(job.args)
            if number_of(job.id) is not None and len(args) >= 5 and args[4] == chat_id:
                try:
                    self._aps.modify_job(job.id, "default", args=(*args[:4], None, *args[5:]))
                    changed += 1
                except JobLookupError:  # it went out just now
                    continue
        return changed

    def _cancel(self, job_id: str) -> bool:
        if self._aps.get_job(job_id) is None:
            return False
        try:
            self._aps.remove_job(job_id)
        except JobLookupError:  # it started, or someone else cancelled it, just now
            return False
        return True

    async def cancel(self, job_id: str, *, by: Who | None = None) -> bool:
        """Drop a planned job; with `by`, a coordinator's message dropped goes in the audit log."""
        job = await self._off_loop(self._aps.get_job, job_id) if by is not None else None
        cancelled = await self._off_loop(self._cancel, job_id)
        if cancelled and (number := number_of(job_id)) is not None:
            await self.sends_record.gone(number, "cancelled")  # an old button then says so
        if cancelled and job is not None and len(job.args) >= 4 and number_of(job_id) is not None:
            await self.audit.record(Action.cancel, by, **_what(job.args[2], job.args[3]))
        return cancelled

    async def planned(self, case_id: str | None = None) -> list[Planned]:
        """Everything scheduled (for one case, when given), soonest first; personal reminders not listed."""
        jobs = await self._off_loop(self._aps.get_jobs, "default")
        found = [describe(job.id, job.args, job.next_run_time) for job in jobs]
        return [p for p in found if p.kind != "later" and (case_id is None or p.case_id == case_id)]

    async def count_later(self) -> int:
        jobs = await self._off_loop(self._aps.get_jobs)
        return sum(job.id.startswith("later:") for job in jobs)

    # --- missed runs ------------------------------------------------------------------------------

    def _missed(self, event: JobExecutionEvent) -> None:
        """A job skipped (past the grace window) or failed: coordinators hear of it."""
        failed = event.code == EVENT_JOB_ERROR
        if not failed:
            logger.warning(
                "Job %r missed its time %s by more than the grace window", event.job_id, event.scheduled_run_time
            )
        if self.on_missed is None or event.job_id.startswith("later:"):
            return  # a personal reminder is nobody else's business
        assert self._loop is not None, "only a started scheduler has events"
        # APScheduler may tell from its thread: the report is a task on the loop.
        _on_loop(self._loop, self._report, self.on_missed, event, failed)

    def _report(
        self, on_missed: Callable[[Planned, dt.datetime, bool], Awaitable[None]], event: JobExecutionEvent, failed: bool
    ) -> None:
        task = asyncio.get_running_loop().create_task(
            on_missed(describe(event.job_id, (), event.scheduled_run_time), event.scheduled_run_time, failed)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _what(payload: str, audience: str) -> dict[str, str]:
    """A planned message's case and text, for the audit log; nothing from a record this code cannot read."""
    try:
        return {"case": json.loads(audience).get("case_id") or "", "title": json.loads(payload)["text"]}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {}


def later_time(now: dt.datetime, after: dt.timedelta, deadline: dt.datetime | None) -> dt.datetime | None:
    """When "remind me later" should come: after the usual wait, or an hour before a nearer deadline.

    None when the deadline is too close for a reminder to help.
    """
    at = now + after
    if deadline is None or at <= deadline - LATER_MARGIN:
        return at
    at = deadline - LATER_MARGIN
    return at if at >= now + LATER_MIN else None


def describe(job_id: str, args: tuple[Any, ...], run_at: dt.datetime | None) -> Planned:
    kind, _, rest = job_id.partition(":")
    if kind == REMINDER_PREFIX:
        case_id, offset, _ = rest.split(":")
        return Planned(job_id, kind, run_at, case_id, offset)
    if kind == "broadcast" and len(args) >= 5:
        from bot.delivery import Audience

        audience = Audience.from_json(args[3])
        return Planned(job_id, kind, run_at, audience.case_id, args[3], args[4], payload=args[2])
    return Planned(job_id, kind, run_at)


def _on_loop(loop: asyncio.AbstractEventLoop, func: Callable[..., Any], *args: Any) -> None:
    """Call `func` on `loop`: at once from the loop's own thread, else as soon as the loop gets to it."""
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    if here is loop:
        func(*args)
    else:
        loop.call_soon_threadsafe(func, *args)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
