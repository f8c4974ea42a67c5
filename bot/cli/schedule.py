"""`rrbot schedule list [CASE] [--json]` and `rrbot schedule cancel ID`: the plan, as the bots will run it."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_timedelta

from bot.app.keys import open_migrated
from bot.cli.broadcast import audience_words, case_words, fail, planner
from bot.content import Library
from bot.delivery import Audience, Broadcasts, Payload
from bot.delivery.audiences import MessageKind, audience
from bot.ground.audit import CLI
from bot.ground.durations import parse_duration
from bot.ground.privacy import Pseudonymizer, privacy_key
from bot.ground.settings import StoreSettings
from bot.render.markup import shorten, visible_text
from bot.render.telegram_html import ParseError, parse_html
from scheduler import Planned

WHAT_WIDTH = 48
AUDIENCE_WIDTH = 60


@dataclass(frozen=True)
class Row:
    """One scheduled job as a coordinator reads it."""

    job: Planned
    what: str
    audience: str
    recipients: int | None  # how many it would reach now (None: its audience cannot be read)
    by: str


def first_line(payload: str) -> str:
    """The first line a recipient reads of a scheduled message."""
    try:
        html = Payload.from_json(payload).text
    except (ValueError, TypeError, KeyError, AttributeError):
        return "(a message this version cannot read)"
    try:
        plain = parse_html(html)[0]
    except ParseError:
        plain = visible_text(html)
    return next((line.strip() for line in plain.splitlines() if line.strip()), "(no text)")


def target_of(job: Planned) -> Audience | None:
    """Who the job would reach: a broadcast's stored audience, a deadline reminder's by the table."""
    if job.kind == "reminder" and job.case_id:
        return audience(MessageKind.reminder, job.case_id)
    if job.kind == "broadcast":
        try:
            return Audience.from_json(job.detail)
        except (ValueError, TypeError, KeyError):
            return None
    return None


def what_of(job: Planned) -> str:
    if job.kind == "reminder":
        span = parse_duration(job.detail) if job.detail else None
        if not span:
            return "deadline reminder, on the last day"
        return f"deadline reminder, {format_timedelta(span, threshold=1.0, locale='en')} before"
    if job.kind == "broadcast":
        return first_line(job.payload)
    return job.kind


def by_whom(job: Planned, settings: StoreSettings) -> str:
    if job.kind == "reminder":
        return "the case file"
    if job.created_by is None:
        return "command line"
    return f"coordinator {job.created_by}" if job.created_by in settings.admin_ids else f"chat {job.created_by}"


async def rows_of(jobs: list[Planned], settings: StoreSettings, broadcasts: Broadcasts, library: Library) -> list[Row]:
    rows = []
    for job in jobs:
        target = target_of(job)
        rows.append(
            Row(
                job,
                what_of(job),
                audience_words(target, library) if target else "(unreadable)",
                await broadcasts.count(target) if target else None,
                by_whom(job, settings),
            )
        )
    return rows


def when(job: Planned, zone: str) -> str:
    return job.run_at.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") if job.run_at else "paused"


def as_dict(row: Row, zone: str) -> dict[str, Any]:
    job = row.job
    return {
        "id": job.id,
        "kind": job.kind,
        "run_at": job.run_at.isoformat() if job.run_at else None,
        "local_time": when(job, zone) if job.run_at else None,
        "timezone": zone,
        "case": job.case_id,
        "text": row.what if job.kind == "broadcast" else None,
        "what": row.what,
        "audience": row.audience,
        "recipients": row.recipients,
        "scheduled_by": job.created_by,
        "detail": job.detail if job.kind != "broadcast" else _json_or_text(job.detail),
    }


def _json_or_text(raw: str) -> Any:
    try:
        return json.loads(raw or "null")
    except ValueError:
        return raw


def table(rows: list[Row], zone: str) -> str:
    """Columns sized to what they hold, long texts cut: one job a line, as `ls -l` reads."""
    header = (f"WHEN ({zone})", "WHAT", "AUDIENCE", "PEOPLE NOW", "BY", "ID")
    cells = [
        (
            when(row.job, zone),
            shorten(row.what, WHAT_WIDTH),
            shorten(row.audience, AUDIENCE_WIDTH),
            f"{row.recipients:,}" if row.recipients is not None else "?",
            row.by,
            row.job.id,
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(len(header))]
    right = {3}  # numbers line up on the right

    def line(values: tuple[str, ...]) -> str:
        return "  ".join(
            v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))
        ).rstrip()

    return "\n".join(line(values) for values in [header, *cells])


async def list_jobs(settings: StoreSettings, case_id: str | None, *, as_json: bool) -> int:
    library = Library.load(settings.content_dir)
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        with planner(redis, settings) as scheduler:
            jobs = await scheduler.planned(case_id)
            personal = await scheduler.count_later()
        broadcasts = Broadcasts(redis, Pseudonymizer(privacy_key(settings)))
        rows = await rows_of(jobs, settings, broadcasts, library)
    zone = settings.default_timezone
    if as_json:
        print(json.dumps([as_dict(row, zone) for row in rows], indent=2, ensure_ascii=False))
        return 0
    if rows:
        print(table(rows, zone))
    else:
        print("nothing scheduled" + (f" for {case_words(case_id, library)}" if case_id else ""))
    if personal:
        print(f'(and {personal} personal "remind me later" reminders, not listed)', file=sys.stderr)
    return 0


async def cancel_job(settings: StoreSettings, job_id: str | None) -> int:
    if not job_id:
        return fail("schedule cancel needs an ID (`rrbot schedule list` shows them)")
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        with planner(redis, settings) as scheduler:
            if not await scheduler.cancel(job_id, by=CLI):
                return fail(f"nothing scheduled as {job_id!r}")
    print(f"cancelled {job_id}")
    return 0
