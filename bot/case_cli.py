"""`rrbot publish`: a case file in CONTENT_DIR goes live, its alert through the running bots."""

from __future__ import annotations

import sys

from bot.broadcast_cli import fail, redis_url
from bot.clock import utc_now
from bot.content import Library, Status
from bot.content.check import check_content, format_report
from bot.delivery import Broadcasts
from bot.privacy import Pseudonymizer, privacy_key
from bot.publishing import announce, announced, make_renderer
from bot.settings import StoreSettings
from bot.storage import open_redis


async def publish(settings: StoreSettings, case_id: str) -> int:
    problems = check_content(settings.content_dir)
    if problems:
        print(format_report(problems), file=sys.stderr)
        return fail(f"not publishing: {len(problems)} problem(s) in {settings.content_dir}")
    case = Library.load(settings.content_dir).get(case_id)
    if case is None:
        return fail(f"no case {case_id!r} in {settings.content_dir}/cases")
    if case.status == Status.closed:
        return fail(f"case {case_id!r} is closed: there is nothing to ask people for")
    async with open_redis(redis_url(settings), settings.data_dir) as redis:
        broadcasts = Broadcasts(redis, Pseudonymizer(privacy_key(settings)))
        bc_id = await announce(broadcasts, make_renderer(settings), case, utc_now())
        if bc_id is None:
            return fail(
                f"the alert of {case_id!r} already went out (broadcast {await announced(broadcasts, case_id)}); "
                "news of the case goes out as an update"
            )
        total = (await broadcasts.progress(bc_id)).total
    print(bc_id)
    print(f"alert of {case_id} queued for {total} people; running bots deliver it. `rrbot broadcast status {bc_id}`",
          file=sys.stderr)
    return 0
