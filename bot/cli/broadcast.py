"""`rrbot broadcast`: queue a broadcast in Redis for the running bot processes, see it, cancel it."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.app.keys import open_migrated
from bot.content import Library
from bot.content.models import pick
from bot.delivery import Audience, AudienceKind, Broadcasts, Payload, Progress, State, UnknownBroadcast
from bot.delivery.audiences import CHOSEN, chosen
from bot.delivery.paid import FREE_RATE, NO_STARS, PRICE, Cost, is_paid, stars
from bot.ground.audit import CLI
from bot.ground.clock import utc_now
from bot.ground.i18n import UI_LANGUAGES
from bot.ground.privacy import Pseudonymizer, privacy_key
from bot.ground.settings import Settings, SettingsError, StoreSettings, load_settings
from bot.ground.when import MAX_AHEAD, Reading, Verdict, read_time
from bot.render.formatting import language_name, ua_reference
from bot.render.markup import MAX_MESSAGE, shorten
from bot.render.telegram_html import ParseError, escape_literals, parse_html, unknown_entities
from scheduler import Scheduler


def fail(message: str) -> int:
    print(f"rrbot: {message}", file=sys.stderr)
    return 2


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


async def paid_cost(settings: StoreSettings, count: int) -> Cost | None:
    """Above the free rate, what a broadcast to `count` people costs and the bot's balance (read with
    BOT_TOKEN, as `rrbot run` reads it); None at the free rate, when Telegram is not asked."""
    if not is_paid(settings.broadcast_rate):
        return None
    # Here, not at the top: aiogram takes seconds to import, and only a paid broadcast asks Telegram anything.
    from bot.app.wiring import create_bot
    from bot.telegram.stars import broadcast_cost

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
            f"rrbot: warning: cost {costs}; the bot's Star balance could not be read. It goes all the same: "
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
    """The Telegram HTML in a file, checked by Telegram's rules; an exit status when Telegram would refuse it.

    What Telegram accepts is accepted: a bare "&" that starts no entity ("Q&A") is text there, so it is here.
    It comes back escaped ("Q&amp;A"): the same message for Telegram, and safe inside any other markup.
    """
    try:
        text = text_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        return fail(f"cannot read {text_file}: {exc}")
    if not text:
        return fail(f"{text_file} is empty")
    try:
        plain, _ = parse_html(text)  # Telegram's own rules: refuse here, not 100,000 times later
    except ParseError as exc:
        return fail(f"{text_file}: Telegram would refuse this HTML: {exc}")
    if len(plain) > limit:
        return fail(f"{text_file}: {len(plain):,} characters; at most {limit:,} fit in one message")
    for name in dict.fromkeys(unknown_entities(text)):
        print(
            f'note: Telegram shows "{name}" as written: it knows &lt; &gt; &amp; &quot; and numbered ones like &#160;',
            file=sys.stderr,
        )
    return escape_literals(text)


# --- what a coordinator sees before anything is queued ---------------------------------------------


def case_words(case_id: str | None, library: Library, *, title: bool = False) -> str:
    """A case as coordinators name it: "UA 84/11", with its title when there is room."""
    case = library.get(case_id)
    if case is None:
        return case_id or "?"
    name = ua_reference(case)
    return f"{name} ({shorten(' '.join((pick(case.title, 'en') or '').split()), 60)})" if title else name


def audience_words(target: Audience, library: Library, *, title: bool = False) -> str:
    """Who an audience is, in words: "followers of UA 84/11 who have marked nothing as done"."""
    case = case_words(target.case_id, library, title=title)
    words = {
        AudienceKind.all: "everyone who gets alerts",
        AudienceKind.case: f"followers of {case}",
        AudienceKind.not_acted: f"followers of {case} who have marked nothing as done",
        AudienceKind.not_written: f"followers of {case} who have not written yet",  # to an official
    }[target.kind]
    if target.reminders:
        words += ", reminders on"
    if target.language:
        words += f", bot language {language_name(target.language, 'en')}"
    return words


def readable(html: str) -> str:
    """A message as Telegram shows it, for a terminal: the plain text, each link's address after its words."""
    plain, entities = parse_html(html)
    units = plain.encode("utf-16-le", "surrogatepass")  # entity offsets count UTF-16 code units

    def between(start: int, end: int) -> str:
        return units[start * 2 : end * 2].decode("utf-16-le", "surrogatepass")

    parts, last = [], 0
    for entity in sorted((e for e in entities if e["type"] == "text_link"), key=lambda e: e["offset"]):
        end = entity["offset"] + entity["length"]
        parts.append(between(last, end))
        if between(entity["offset"], end).strip() != entity["url"]:
            parts.append(f" <{entity['url']}>")
        last = end
    parts.append(between(last, len(units) // 2))
    return "".join(parts)


def local_time(at: dt.datetime, zone: str) -> str:
    """ "31 Dec 2026, 18:00 (Europe/Moscow)": as the coordinator reads a clock."""
    here = at.astimezone(ZoneInfo(zone))
    return f"{here.day} {here:%b %Y, %H:%M} ({zone})"


def show(text: str, words: str, count: int, send_at: dt.datetime | None, zone: str) -> None:
    """The preview, on stderr (stdout carries only the id of what was queued, for scripts)."""
    people = f"{count:,} recipient" + ("" if count == 1 else "s")
    when = "now" if send_at is None else f"{local_time(send_at, zone)}; the audience is counted again then"
    plain = readable(text)
    length = len(parse_html(text)[0])  # as Telegram counts it: the links' addresses are not in the text
    rule = "─" * 60
    lines = [
        f"To:    {words}",
        f"       {people}" + (" as of now" if send_at is not None else ""),
        f"When:  {when}",
        f"── the message as Telegram will show it ({length:,} characters) ".ljust(60, "─"),
        plain,
        rule,
    ]
    print("\n".join(lines), file=sys.stderr)


def at_terminal() -> bool:
    """Whether someone can answer a question: stdin is a terminal (not a pipe, a file or cron's nothing)."""
    return sys.stdin is not None and sys.stdin.isatty()


def confirm(question: str) -> bool:
    """Ask on the terminal; only "y" or "yes" is a yes (Enter, end of input and Ctrl-C are a no)."""
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        answer = ""
    if not answer.endswith("\n"):
        print(file=sys.stderr)
    return answer.strip().lower() in ("y", "yes")


def nothing_queued(message: str) -> int:
    """Nothing went wrong and nothing was queued (nobody to send to, or the answer was no): exit 1."""
    print(f"rrbot: {message}", file=sys.stderr)
    return 1


def choose_audience(
    settings: StoreSettings, audience: str | None, case_id: str | None, language: str | None
) -> tuple[Audience, Library] | int:
    """The audience asked for on the command line; an exit status when it is missing, unknown or unclear.

    Nobody is picked by default: a message meant for one case's followers must not go to everyone
    because --case was forgotten.
    """
    if language is not None and language.lower() not in UI_LANGUAGES:
        return fail(f"--language {language!r} is not a language of the bot; it speaks {', '.join(UI_LANGUAGES)}")
    kind = audience or ("case" if case_id else None)
    if kind is None:
        return fail(
            "say who receives it: --case ID (the case's followers), --case ID --audience not-acted, "
            "or --everyone (everyone who gets alerts); --language xx narrows any of them"
        )
    if kind not in CHOSEN:
        return fail(f"--audience {kind!r} is not one of {', '.join(CHOSEN)}")
    if kind == "all" and case_id:
        return fail(
            f"--everyone reaches everyone who gets alerts, not only the followers of {case_id}: "
            "leave out --case, or --everyone"
        )
    library = Library.load(settings.content_dir)
    if kind != "all":
        if not case_id:
            return fail(f"--audience {kind} needs --case ID")
        if library.get(case_id) is None:
            return fail(f"no case {case_id!r} in {settings.content_dir}/cases")
    return chosen(kind, case_id if kind != "all" else None, language.lower() if language else None), library


async def queue(
    settings: StoreSettings,
    text_file: Path,
    *,
    audience: str | None,
    case_id: str | None,
    language: str | None,
    at: str | None = None,
    urgent: bool = False,
    yes: bool = False,
    dry_run: bool = False,
) -> int:
    """Show a broadcast, ask, and queue it (or schedule it --at a time).

    Exit 0: queued (or, with dry_run, it would be); 1: nothing to do, nothing queued (nobody in the
    audience, or the answer was no); 2: refused (the message, the audience or the time is not right,
    no terminal to ask on and no `yes`, the Star balance is short).
    """
    text = read_message(text_file)
    if isinstance(text, int):
        return text
    send_at = None
    if at is not None:
        reading = read_time(at, settings.default_timezone, utc_now())
        if reading.verdict is not Verdict.ok or reading.at is None:
            return fail(f"--at {at!r} {refused_time(reading, settings.default_timezone)}")
        send_at = reading.at
    picked = choose_audience(settings, audience, case_id, language)
    if isinstance(picked, int):
        return picked
    target, library = picked
    if not (yes or dry_run or at_terminal()):
        return fail(
            "not queued: there is no terminal to ask for confirmation on; "
            "add --yes to send without asking (scripts), or --dry-run to only see it"
        )
    words = audience_words(target, library, title=True)
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        broadcasts = Broadcasts(redis, Pseudonymizer(privacy_key(settings)))
        count = await broadcasts.count(target)
        if not count and send_at is None:
            return nothing_queued(f"nothing queued: nobody is in the audience ({words}): 0 recipients")
        # A scheduled one too: its audience is counted again when it goes, but a short balance now is refused now.
        refused = cost_refusal(settings, await paid_cost(settings, count))
        if refused is not None:
            return refused
        show(text, words, count, send_at, settings.default_timezone)
        if dry_run:
            print("rrbot: dry run: nothing queued", file=sys.stderr)
            return 0
        people = f"{count:,} recipient" + ("" if count == 1 else "s")
        question = (
            f"Send to {people}?"
            if send_at is None
            else f"Schedule for {local_time(send_at, settings.default_timezone)}, {people} as of now?"
        )
        if not yes and not confirm(question):
            return nothing_queued("not queued: the answer was not yes")
        if send_at is not None:
            with planner(redis, settings) as scheduler:
                job_id = await scheduler.schedule_broadcast(
                    Payload(text, urgent=urgent).to_json(), target.to_json(), None, send_at, by=CLI
                )
            print(job_id)
            print(
                f"scheduled for {shown_time(send_at)} {settings.default_timezone} ({send_at.isoformat(' ', 'minutes')}); "
                "its audience is counted then. "
                f"`rrbot schedule list`, `rrbot schedule cancel {job_id}`",
                file=sys.stderr,
            )
            return 0
        bc_id = await broadcasts.enqueue(Payload(text, urgent=urgent), target, by=CLI)
        progress = await broadcasts.progress(bc_id)
    print(bc_id)
    print(
        f"queued for {progress.total:,} recipients; running bots deliver it. `rrbot broadcast status {bc_id}`",
        file=sys.stderr,
    )
    return 0


async def status(settings: StoreSettings, bc_id: str | None, *, as_json: bool) -> int:
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
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
    async with open_migrated(settings.redis_target, settings.data_dir) as redis:
        broadcasts = Broadcasts(redis, Pseudonymizer(b"cancel-needs-no-identities"))
        try:
            progress = await broadcasts.set_state(bc_id, State.cancelled, by=CLI)
        except UnknownBroadcast:
            return fail(f"no broadcast {bc_id!r}")
    print(describe(progress))
    return 0
