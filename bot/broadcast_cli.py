"""`rrbot broadcast`: queue a broadcast in Redis for the running bot processes, see it, cancel it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bot.content import Library
from bot.delivery import Audience, AudienceKind, Broadcasts, Payload, Progress, State, UnknownBroadcast
from bot.emulator.errors import ParseError
from bot.emulator.html import parse_html
from bot.privacy import Pseudonymizer, privacy_key
from bot.render.markup import MAX_MESSAGE
from bot.settings import StoreSettings
from bot.storage import open_redis


def fail(message: str) -> int:
    print(f"rrbot: {message}", file=sys.stderr)
    return 2


def redis_url(settings: StoreSettings) -> str | None:
    return str(settings.redis_url) if settings.redis_url else None


def describe(progress: Progress) -> str:
    eta = f", about {progress.eta_seconds:.0f} s left" if progress.eta_seconds is not None else ""
    return (
        f"broadcast {progress.id}: {progress.state.value}; {progress.delivered} delivered, {progress.blocked} blocked, "
        f"{progress.not_found} not found, {progress.failed} failed, {progress.left} left of {progress.total}"
        f"{'; ' + format(progress.rate, '.1f') + ' msg/s' if progress.rate else ''}{eta}"
    )


async def queue(
    settings: StoreSettings, text_file: Path, *, audience: str | None, case_id: str | None, language: str | None
) -> int:
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
    if len(plain) > MAX_MESSAGE:
        return fail(f"{text_file}: {len(plain)} characters; Telegram takes at most {MAX_MESSAGE}")
    kind = AudienceKind(audience or ("case" if case_id else "all"))
    if kind != AudienceKind.all:
        if not case_id:
            return fail(f"--audience {kind.value} needs --case ID")
        if Library.load(settings.content_dir).get(case_id) is None:
            return fail(f"no case {case_id!r} in {settings.content_dir}")
    async with open_redis(redis_url(settings), settings.data_dir) as redis:
        broadcasts = Broadcasts(redis, Pseudonymizer(privacy_key(settings)))
        bc_id = await broadcasts.enqueue(Payload(text), Audience(kind, case_id if kind != AudienceKind.all else None, language))
        progress = await broadcasts.progress(bc_id)
    print(bc_id)
    print(f"queued for {progress.total} recipients; running bots deliver it. `rrbot broadcast status {bc_id}`", file=sys.stderr)
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
