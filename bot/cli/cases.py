"""`rrbot publish`, `update` and `reload`: cases go live and change; the running bots deliver and re-plan."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from bot.app.keys import open_migrated
from bot.cli.broadcast import fail, read_message
from bot.content import ContentError, Library, Status
from bot.content.check import check_content, format_report
from bot.content.states import MAX_UPDATE, CaseStates, ChangeRefused, UpdateKind
from bot.delivery import Broadcasts
from bot.ground.audit import CLI, Action, AuditLog
from bot.ground.clock import utc_now
from bot.ground.privacy import Pseudonymizer, privacy_key
from bot.ground.settings import StoreSettings
from bot.pledges.store import Store
from bot.publishing.announce import announce, announced, make_renderer, publish_update
from bot.publishing.channel import Channel
from bot.render.markup import visible_text

SETTLE = 3.0  # seconds for every bot process to notice new content (ContentSync checks every 2 s)


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
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        broadcasts = Broadcasts(redis, Pseudonymizer(privacy_key(settings)))
        # The running bots read the new file and plan its reminders; the alert waits for them to
        # know the case, so that its buttons work from the first tap.
        await CaseStates(redis).changed()
        now = utc_now()
        bc_id = await announce(
            broadcasts,
            make_renderer(settings),
            case,
            now,
            send_at=now.timestamp() + SETTLE,
            channel=Channel.from_settings(settings),
            by=CLI,
        )
        if bc_id is None:
            return fail(
                f"the alert of {case_id!r} already went out (broadcast {await announced(broadcasts, case_id)}); "
                "news of the case goes out as an update"
            )
        total = (await broadcasts.progress(bc_id)).total
    print(bc_id)
    print(
        f"alert of {case_id} queued for {total} people, who follow the case as it reaches them; running bots "
        f"deliver it. `rrbot broadcast status {bc_id}`",
        file=sys.stderr,
    )
    return 0


async def update(
    settings: StoreSettings, case_id: str, text_file: Path, *, close: bool, deadline: str | None, reopen: bool = False
) -> int:
    text = read_message(text_file, limit=MAX_UPDATE)
    if isinstance(text, int):
        return text
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        cases = CaseStates(redis)
        try:
            library = await cases.load(settings.content_dir)
        except ContentError as exc:
            return fail(f"the case files have problems; `rrbot check` lists them: {exc.problems[0]}")
        case = library.get(case_id)
        if case is None:
            return fail(f"no case {case_id!r} in {settings.content_dir}/cases")
        new_deadline = None
        if deadline is not None:
            try:
                new_deadline = dt.date.fromisoformat(deadline)
            except ValueError:
                return fail(f"--deadline {deadline!r} is not a date like 2026-12-31")
        kind = UpdateKind.closed if close else UpdateKind.extended if new_deadline else UpdateKind.news
        pseudonyms = Pseudonymizer(privacy_key(settings))
        broadcasts = Broadcasts(redis, pseudonyms)
        renderer = make_renderer(settings)
        try:
            update, bc_id = await publish_update(
                broadcasts,
                renderer,
                cases,
                case,
                kind,
                text,
                utc_now(),
                deadline=new_deadline,
                letters_sent=await Store(redis, pseudonyms).letters_sent(case.id),
                reopen=reopen,
                by=CLI,
                channel=Channel.from_settings(settings),
            )
        except ChangeRefused as refused:
            # The chat's own words for it, in English: one rule, one message (bot.content.states.check_change).
            return fail(visible_text(renderer.change_refused("en", refused, cli=True)).removeprefix("⚠️").strip())
        total = (await broadcasts.progress(bc_id)).total
    print(bc_id)
    print(
        f"update {update.number} of {case_id} ({kind.value}) queued for {total} followers; running bots reload "
        f"the case and re-plan its reminders. `rrbot broadcast status {bc_id}`",
        file=sys.stderr,
    )
    return 0


async def reload(settings: StoreSettings) -> int:
    problems = check_content(settings.content_dir)
    if problems:
        print(format_report(problems), file=sys.stderr)
        return fail(f"not reloading: {len(problems)} problem(s) in {settings.content_dir}")
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        await CaseStates(redis).changed()
        await AuditLog(redis, Pseudonymizer(b"the-cli-names-nobody-by-id")).record(Action.reload, CLI)
    count = len(Library.load(settings.content_dir))
    print(f"running bots reload {count} case(s) within seconds and re-plan their reminders", file=sys.stderr)
    return 0
