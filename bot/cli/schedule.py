"""`rrbot schedule list [CASE] [--json]` and `rrbot schedule cancel ID`: the plan, as the bots will run it."""

from __future__ import annotations

import json
import sys
from zoneinfo import ZoneInfo

from bot.cli.broadcast import fail, planner, redis_url
from bot.ground.audit import CLI
from bot.ground.redis_client import open_redis
from bot.ground.settings import StoreSettings


async def list_jobs(settings: StoreSettings, case_id: str | None, *, as_json: bool) -> int:
    async with open_redis(redis_url(settings), settings.data_dir) as redis:
        with planner(redis, settings) as scheduler:
            jobs = await scheduler.planned(case_id)
            personal = await scheduler.count_later()
    zone = ZoneInfo(settings.default_timezone)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        "id": j.id,
                        "kind": j.kind,
                        "run_at": j.run_at.isoformat() if j.run_at else None,
                        "case": j.case_id,
                        "detail": j.detail if j.kind == "reminder" else json.loads(j.detail or "null"),
                    }
                    for j in jobs
                ],
                indent=2,
            )
        )
        return 0
    for job in jobs:
        when = job.run_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if job.run_at else "paused"
        what = (
            f"reminder {job.detail} before the deadline of {job.case_id}"
            if job.kind == "reminder"
            else (f"broadcast to {job.detail}" if job.kind == "broadcast" else job.kind)
        )
        print(f"{when}  {job.id}  {what}")
    if not jobs:
        print("nothing scheduled" + (f" for {case_id}" if case_id else ""))
    if personal:
        print(f'(and {personal} personal "remind me later" reminders, not listed)', file=sys.stderr)
    return 0


async def cancel_job(settings: StoreSettings, job_id: str | None) -> int:
    if not job_id:
        return fail("schedule cancel needs an ID (`rrbot schedule list` shows them)")
    async with open_redis(redis_url(settings), settings.data_dir) as redis:
        with planner(redis, settings) as scheduler:
            if not await scheduler.cancel(job_id, by=CLI):
                return fail(f"nothing scheduled as {job_id!r}")
    print(f"cancelled {job_id}")
    return 0
