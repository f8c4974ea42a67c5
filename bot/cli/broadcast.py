"""`rrbot broadcast`: queue a broadcast in Redis for the running bot processes, see it, cancel it."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis.asyncio import Redis

from bot.app.wiring import create_bot
from bot.content import Library
from bot.delivery import Audience, Broadcasts, Payload, Progress, State, UnknownBroadcast
from bot.delivery.audiences import CHOSEN, chosen
from bot.delivery.paid import FREE_RATE, NO_STARS, PRICE, Cost, is_paid, stars
from bot.ground.clock import utc_now
from bot.ground.privacy import Pseudonymizer, privacy_key
from bot.ground.redis_client import open_redis
from bot.ground.settings import Settings, SettingsError, StoreSettings, load_settings
from bot.ground.when import MAX_AHEAD, Reading, Verdict, read_time
from bot.render.markup import MAX_MESSAGE
from bot.render.telegram_html import ParseError, parse_html
from bot.telegram.stars import broadcast_cost
from scheduler import Scheduler


def fail(message: str) -> int:
    print(f"rrbot: {message}", file=sys.stderr)
    return 2


def redis_url(settings: StoreSettings) -> str | None:
    return str(settings.redis_url) if settings.redis_url else None


@contextmanager
def planner(redis: Redis, settings: StoreSettings) -> Iterator[Scheduler]:
    """A scheduler that only plans (it never runs jobs): started paused, in this event loop."""
    scheduler = Scheduler(
        redis,
        grace=settings.schedule_grace,
        reminder_hour=settings.reminder_hour,
        default_timezone=settings.default_timezone,
    )
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown()


def describe(progress: Progress) -> str:
    eta = f", about {progress.eta_seconds:.0f} s left" if progress.eta_seconds is not None else ""
    purpose = progress.purpose
    carries = ""
    if purpose is not None:
        what = f"{purpose.kind} {purpose.number}" if purpose.number is not None else purpose.kind
        carries = f" ({what} of {purpose.ref})"
    why = (
        " (the bot's Star balance ran out: add Stars, then Resume it in chat)"
        if progress.paused_for == NO_STARS
        else ""
    )
    return (
        f"broadcast {progress.id}{carries}: {progress.state.value}{why}; {progress.delivered} delivered, "
        f"{progress.blocked} blocked, {progress.not_found} not found, {progress.failed} failed, "
        f"{progress.left} left of {progress.total}"
        f"{'; ' + format(progress.rate, '.1f') + ' msg/s' if progress.rate else ''}{eta}"
    )


def _stars(nanostars: int) -> str:
    """An amount of Stars as an operator reads it: "1 Star", "0.5 Stars", "1,200 Stars"."""
    amount = f"{stars(nanostars):,.1f}".removesuffix(".0")
    return f"{amount} Star" if amount == "1" else f"{amount} Stars"


async def paid_cost(settings: StoreSettings, redis: Redis, target: Audience) -> Cost | None:
    """Above the free rate, what the broadcast costs and the bot's balance (read with BOT_TOKEN, as
    `rrbot run` reads it); None at the free rate, when Telegram is not asked."""
    if not is_paid(settings.broadcast_rate):
        return None
    count = await Broadcasts(redis, Pseudonymizer(privacy_key(settings))).count(target)
    try:
        full = load_settings(Settings)
    except SettingsError:
        return Cost(count, None)  # no token here: the balance cannot be read
    bot = create_bot(full)
    try:
        return await broadcast_cost(bot, settings.broadcast_rate, count)
    finally:
        await bot.session.close()


def cost_refusal(settings: StoreSettings, cost: Cost | None) -> int | None:
    """Print what a paid broadcast costs; an exit status when the balance is short (nothing queued)."""
    if cost is None or not cost.messages:
        return None
    costs = f"{_stars(cost.price)} ({cost.messages:,} messages x {_stars(PRICE)})"
    paid = f"BROADCAST_RATE {settings.broadcast_rate:g}/s is above Telegram's free {FREE_RATE:g}/s: paid messages"
    if cost.balance is None:
        print(
            f"rrbot: warning: cost {costs}; the bot's Star balance could not be read. Queued all the same: "
            f"if the Stars run out, sending pauses until more are added, and nobody is skipped ({paid})",
            file=sys.stderr,
        )
        return None
    if cost.short:
        return fail(
            f"not queued: it costs {costs} and the bot's balance is {_stars(cost.balance)}; "
            f"add Stars, or set BROADCAST_RATE to {FREE_RATE:g} or less"
        )
    print(f"cost: {costs}; balance {_stars(cost.balance)} ({paid})", file=sys.stderr)
    return None


def shown_time(at: dt.datetime, *, has_time: bool = True) -> str:
    """A time as the CLI shows it, in the zone it was read in: "Sat 2026-12-05 18:00"."""
    return at.strftime("%a %Y-%m-%d %H:%M" if has_time else "%a %Y-%m-%d")


def refused_time(reading: Reading, zone: str) -> str:
    """Why a --at will not do, and what would, in one line (after "--at '…' ")."""
    read = f"was read as {shown_time(reading.at, has_time=reading.has_time)} {zone}" if reading.at else ""
    examples = f"like 'tomorrow 18:00', 'in 2 hours', '15.12.2026 10:00' or '2026-12-31 18:00' ({zone})"
    if reading.verdict is Verdict.passed:
        return f"{read}, which has passed; give a time still to come, {examples}"
    if reading.verdict is Verdict.too_far:
        return f"{read}, more than {MAX_AHEAD.days} days ahead; give a time within the coming year"
    if reading.verdict is Verdict.no_time:
        return f"{read} but has no time of day; add one, {examples}"
    return f"is not a time rrbot can read; give one {examples}"


def read_message(text_file: Path, limit: int = MAX_MESSAGE) -> str | int:
    """The Telegram HTML in a file, checked as Telegram will check it; an exit status when it is not right."""
    try:
        text = text_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read {text_file}: {exc}")
    if not text:
        return fail(f"{text_file} is empty")
    try:
        plain, _ = parse_html(text)  # the same rules as Telegram: refuse here, not 100,000 times later
    except ParseError as exc:
        return fail(f"{text_file}: not valid Telegram HTML: {exc}")
    if len(plain) > limit:
        return fail(f"{text_file}: {len(plain)} characters; at most {limit} fit")
    return text


async def queue(
    settings: StoreSettings,
    text_file: Path,
    *,
    audience: str | None,
    case_id: str | None,
    language: str | None,
    at: str | None = None,
    urgent: bool = False,
) -> int:
    text = read_message(text_file)
    if isinstance(text, int):
        return text
    send_at = None
    if at is not None:
        reading = read_time(at, settings.default_timezone, utc_now())
        if reading.verdict is not Verdict.ok or reading.at is None:
            return fail(f"--at {at!r} {refused_time(reading, settings.default_timezone)}")
        send_at = reading.at
    kind = audience or ("case" if case_id else "all")
    if kind not in CHOSEN:
        return fail(f"--audience {kind!r} is not one of {', '.join(CHOSEN)}")
    if kind != "all":
        if not case_id:
            return fail(f"--audience {kind} needs --case ID")
        if Library.load(settings.content_dir).get(case_id) is None:
            return fail(f"no case {case_id!r} in {settings.content_dir}")
    target = chosen(kind, case_id if kind != "all" else None, language)
    async with open_redis(redis_url(settings), settings.data_dir) as redis:
        # A scheduled one too: its audience is counted again when it goes, but a short balance now is refused now.
        refused = cost_refusal(settings, await paid_cost(settings, redis, target))
        if refused is not None:
            return refused
        if send_at is not None:
            with planner(redis, settings) as scheduler:
                job_id = await scheduler.schedule_broadcast(
                    Payload(text, urgent=urgent).to_json(), target.to_json(), None, send_at
                )
            print(job_id)
            print(
                f"scheduled for {shown_time(send_at)} {settings.default_timezone} ({send_at.isoformat(' ', 'minutes')}); "
                "its audience is counted then. "
                f"`rrbot schedule list`, `rrbot schedule cancel {job_id}`",
                file=sys.stderr,
            )
            return 0
        broadcasts = Broadcasts(redis, Pseudonymizer(privacy_key(settings)))
        bc_id = await broadcasts.enqueue(Payload(text, urgent=urgent), target)
        progress = await broadcasts.progress(bc_id)
    print(bc_id)
    print(
        f"queued for {progress.total} recipients; running bots deliver it. `rrbot broadcast status {bc_id}`",
        file=sys.stderr,
    )
    return 0


async def status(settings: StoreSettings, bc_id: str | None, *, as_json: bool) -> int:
    async with open_redis(redis_url(settings), settings.data_dir) as redis:
        broadcasts = Broadcasts(redis, Pseudonymizer(b"status-needs-no-identities"))
        try:
            found = [await broadcasts.progress(bc_id)] if bc_id else await broadcasts.recent()
        except UnknownBroadcast:
            return fail(f"no broadcast {bc_id!r}")
    if as_json:
        print(json.dumps(found[0].as_dict() if bc_id else [p.as_dict() for p in found], indent=2))
    else:
        print("\n".join(describe(p) for p in found) or "no broadcasts yet")
    return 0


async def cancel(settings: StoreSettings, bc_id: str | None) -> int:
    if not bc_id:
        return fail("broadcast cancel needs an ID")
    async with open_redis(redis_url(settings), settings.data_dir) as redis:
        broadcasts = Broadcasts(redis, Pseudonymizer(b"cancel-needs-no-identities"))
        try:
            progress = await broadcasts.set_state(bc_id, State.cancelled)
        except UnknownBroadcast:
            return fail(f"no broadcast {bc_id!r}")
    print(describe(progress))
    return 0
