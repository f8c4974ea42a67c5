"""The scheduled jobs. Each takes the context first, then plain arguments (ids, numbers, JSON text).

APScheduler stores every job as `scheduler.jobs:run` with the job's name and arguments, so the
job store holds nothing but strings and numbers, and renaming a function here cannot strand jobs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

from bot.content import Case, Status
from bot.delivery import OutcomeKind, Payload, Purpose
from bot.delivery.audiences import REMINDED_TTL, Audience, AudienceKind, MessageKind, Reminder, audience
from bot.pledges.retention import Retention
from bot.publishing.announce import screen_payload
from bot.render.formatting import ua_reference
from scheduler.context import JobContext
from scheduler.reminders import reminder_plan
from scheduler.sends import SendRecords, number_of

logger = logging.getLogger(__name__)

# A reminder due this soon after another goes with it: as long as the mark that keeps a person from a
# second reminder, so that a reminder it holds back was always in the message they got.
DIGEST_AHEAD = REMINDED_TTL
# A deadline reminder held until someone's morning (bot.ground.quiet) waits at most this long.
QUIET_LIMIT = dt.timedelta(hours=12)
FIRED_TTL = 90 * 86_400  # long past any deadline a job could be for
OUTCOMES = "sched:outcomes"  # hash "kind:outcome" -> count, for /metrics (bot.app.observability)


async def run(*args: Any) -> None:
    """What APScheduler calls: (ctx, name, "job id@run time", arguments...). Runs each at most once."""
    ctx, name, run_id, *rest = args
    # The scheduler removes a one-off job before running it; this mark also holds when two
    # processes briefly both think they lead (a stalled leader whose lock ran out).
    mark = ctx.store.key("sched", "fired", run_id)
    if not await ctx.redis.set(mark, 1, nx=True, ex=FIRED_TTL):
        logger.warning("Job %r already ran: not running it again", run_id.split(":")[0])
        return
    number = number_of(run_id.partition("@")[0]) if name == "broadcast" else None
    try:
        result = await JOBS[name](ctx, *rest, **({"number": number} if number is not None else {}))
    except Exception:
        # Nothing went out: the mark goes, so that planning the job again can run it.
        await ctx.redis.delete(mark)
        await _count(ctx, name, "failed")
        raise
    await _count(ctx, name, "ran")
    if number is not None:
        # A button of /schedule tapped later says it went out, and as which broadcast.
        await SendRecords(ctx.redis, ctx.store.prefix).gone(number, "sent", result or "")


async def _count(ctx: JobContext, name: str, outcome: str) -> None:
    """Count a job's outcome in Redis, where it outlives a change of leader; never fails the job."""
    try:
        await ctx.redis.hincrby(ctx.store.key(OUTCOMES), f"{name}:{outcome}", 1)
    except Exception as exc:
        logger.warning("Could not count a %r job as %r: %r", name, outcome, type(exc).__name__)


async def deadline_reminder(ctx: JobContext, case_id: str, offset: str, at: float) -> None:
    """Remind the case's followers who have not written yet (and want reminders) that time runs out."""
    case = ctx.library.get(case_id)
    if case is None or case.status == Status.closed:
        logger.info("Reminder %r for case %r dropped: the case is closed or gone", offset, case_id)
        return
    # The case may have changed since this was planned: only a reminder still in its plan goes out.
    planned = reminder_plan(
        case,
        reminder_hour=ctx.reminder_hour,
        default_tz=ctx.default_timezone,
        now=dt.datetime.fromtimestamp(at - 1, dt.UTC),
    )
    if not any(r.offset == offset and int(r.at.timestamp()) == int(at) for r in planned):
        logger.info("Reminder %r for case %r dropped: its deadline moved", offset, case_id)
        return
    now = ctx.clock()
    deadline = case.deadline_at(ctx.default_timezone)
    if deadline is not None and now >= deadline:
        logger.info("Reminder %r for case %r dropped: it ran late and the deadline has passed", offset, case_id)
        return
    # Reminders of other cases due within DIGEST_AHEAD come in the same message: one a day at most.
    due = {case.id: case} | {
        other.id: other for other in ctx.library.open_cases() if other.id != case.id and _due_soon(ctx, other, at)
    }

    def render(variant: str) -> Payload:
        lang, items = Reminder.parse(variant)
        screen = ctx.renderer.deadline_reminders(
            [(due[c], done) for c, done in items], lang or ctx.renderer.default_language, now
        )
        return screen_payload(screen)

    async def pairs() -> AsyncIterator[list[tuple[int, str]]]:
        async for batch in ctx.broadcasts.audiences.reminders(list(due)):
            yield [(r.chat, r.variant) for r in batch]

    bc_id = await ctx.broadcasts.enqueue_personal(
        audience(MessageKind.reminder, case_id),
        pairs(),
        render,
        purpose=Purpose("reminder", ua_reference(case)),
        # Held for the morning, a reminder this close to the deadline could come after it: it goes at once, and to
        # those in their night without a sound.
        urgent=deadline is not None and deadline - now <= QUIET_LIMIT,
    )
    logger.info(
        "Reminder %r for case %r (with %d case(s) due soon) queued as broadcast %r",
        offset,
        case_id,
        len(due) - 1,
        bc_id,
    )


def _due_soon(ctx: JobContext, case: Case, at: float) -> bool:
    """Whether a case has a reminder planned from `at` to DIGEST_AHEAD later."""
    start = dt.datetime.fromtimestamp(at - 1, dt.UTC)
    planned = reminder_plan(case, reminder_hour=ctx.reminder_hour, default_tz=ctx.default_timezone, now=start)
    return any(r.at.timestamp() < at + DIGEST_AHEAD for r in planned)


async def remind_later(ctx: JobContext, chat_id: int, case_id: str, action: str) -> None:
    """The reminder one person asked for, unless they did it meanwhile (or it is too late)."""
    case = ctx.library.get(case_id)
    if case is None or case.status == Status.closed:
        return
    deadline = case.deadline_at(ctx.default_timezone)
    if deadline is not None and ctx.clock() >= deadline:
        return
    if not await ctx.broadcasts.audiences.may_remind_later(chat_id, case_id, action):
        logger.info("A reminder to act on case %r was not needed: done already, or the person stopped", case_id)
        return
    prefs = await ctx.store.user(chat_id)
    lang = prefs.lang or ctx.renderer.default_language
    screen = ctx.renderer.later_reminder(case, lang, action, ctx.clock())
    # Planned for their morning (handlers/act.py); should it fall in their night all the same (they moved, or the
    # deadline came first), it goes without a sound.
    silent = bool(ctx.quiet and ctx.quiet.quiet_now(ctx.clock(), prefs.timezone, prefs.lang))
    outcome = await ctx.send(chat_id, replace(screen_payload(screen), silent=silent))
    if outcome.kind in (OutcomeKind.blocked, OutcomeKind.not_found):
        await ctx.store.drop_chat(chat_id)  # as the delivery engine does
    logger.info("Personal reminder for case %r: %s", case_id, outcome.kind.value)


async def scheduled_broadcast(
    ctx: JobContext, payload: str, audience: str, created_by: int | None, *, number: int | None = None
) -> str:
    """A broadcast a coordinator set to go at this time: its audience is taken now, not when it was set."""
    to = Audience.from_json(audience)
    case = ctx.library.get(to.case_id) if to.case_id and to.kind != AudienceKind.all else None
    seen = await SendRecords(ctx.redis, ctx.store.prefix).case_seen(number) if number is not None else None
    if case is not None and case.status == Status.closed and (seen or {}).get("status") != "closed":
        # Closed since its coordinator last saw it, and not yet held (Scheduler.recheck runs on the next
        # reload): its followers were just told nothing more is needed. Failing tells the coordinators.
        raise CaseClosedMeanwhile(f"the case {case.id!r} closed after this broadcast was scheduled for it")
    bc_id = await ctx.broadcasts.enqueue(Payload.from_json(payload), to, created_by=created_by)
    logger.info("Scheduled broadcast queued as %r", bc_id)
    return bc_id


class CaseClosedMeanwhile(RuntimeError):
    pass


async def retention(*args: Any) -> None:
    """Daily, (ctx, days): forget who pledged for cases closed over `days` ago; the totals stay.

    Called directly, not through run(): it is idempotent, so a second run the same day is harmless.
    The context comes first from the executor, so APScheduler must not check the arguments it sees.
    """
    ctx, days = args
    await Retention(ctx.redis, ctx.cases, ctx.store.prefix).run(ctx.library, days=days, now=ctx.clock())


JOBS: dict[str, Callable[..., Awaitable[object]]] = {
    "reminder": deadline_reminder,
    "later": remind_later,
    "broadcast": scheduled_broadcast,
}
