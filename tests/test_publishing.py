"""A published case's alert reaches every user once, in their language, through the delivery engine."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from bot.app.wiring import App
from bot.delivery import Audience, AudienceKind, Payload, Progress, State
from bot.ground.clock import utc_now
from bot.publishing.announce import announce
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import ADMIN_ID

ROOT = Path(__file__).resolve().parent.parent
CASE = "ua-84-11"


async def finished(app: App, bc_id: str, timeout: float = 20) -> Progress:
    async def poll() -> Progress:
        while not (progress := await app.broadcasts.progress(bc_id)).state.finished:
            await asyncio.sleep(0.05)
        return progress

    return await asyncio.wait_for(poll(), timeout)


async def users(app: App, emulator: BotAPIEmulator) -> dict[str, Activist]:
    people = {"en": Activist(emulator, 801, "Ann"), "ru": Activist(emulator, 802, "Оля", "ru")}
    for lang, person in people.items():
        await app.store.set_language(person.user_id, lang)
        await app.store.start(person.user_id)  # /start: alerts of new cases
    # Someone who follows the case but never chose a language reads the default one.
    people["none"] = Activist(emulator, 803, "Bo")
    await app.store.start(803)  # through the case's link: /start, then the case
    await app.store.subscribe(803, CASE)
    return people


async def test_the_alert_of_a_new_case_reaches_everyone_once_in_their_language(
    app: App, emulator: BotAPIEmulator
) -> None:
    people = await users(app, emulator)
    case = app.library.get(CASE)
    bc_id = await announce(app.broadcasts, app.renderer, case, utc_now())
    assert bc_id is not None
    assert await announce(app.broadcasts, app.renderer, case, utc_now()) is None, "a second publish sends nothing"
    progress = await finished(app, bc_id)
    assert (progress.total, progress.delivered) == (3, 3)

    english, russian, default = (people[k].last for k in ("en", "ru", "none"))
    assert "Tajik" in english["text"] and "What can I do?" in str(english["reply_markup"])
    assert default["text"] == english["text"]
    assert "Что я могу сделать?" in str(russian["reply_markup"]), russian["reply_markup"]
    assert russian["text"] != english["text"]
    for person in people.values():
        assert len([m for m in person.messages if m.get("text", "").startswith("📢")]) == 1

    # The alert's button works like the card's: it opens the actions for this case.
    await people["en"].tap("What can I do?", english)
    assert "letter" in people["en"].last["text"].lower()


async def test_a_localized_broadcast_picks_each_recipients_language(app: App, emulator: BotAPIEmulator) -> None:
    people = await users(app, emulator)
    payload = Payload("Hello", variants={"ru": Payload("Привет")})
    bc_id = await app.broadcasts.enqueue(payload, Audience(AudienceKind.all))
    await finished(app, bc_id)
    assert [people[k].last["text"] for k in ("en", "ru", "none")] == ["Hello", "Привет", "Hello"]


async def test_rrbot_publish_queues_the_alert_and_refuses_a_second_time(
    app: App, emulator: BotAPIEmulator, redis_url: str, tmp_path: Path
) -> None:
    people = await users(app, emulator)
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "REDIS_URL"}},
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "DATA_DIR": str(tmp_path),
        "PRIVACY_KEY": "test-privacy-key-0123456789abcdef",
    }

    async def publish(case_id: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "publish",
            case_id,
            env=env,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode or 0, out.decode(), err.decode()

    code, out, err = await publish(CASE)
    assert code == 0, err
    progress = await finished(app, out.strip())
    assert progress.delivered == 3 and "Tajik" in people["en"].last["text"]
    code, _, err = await publish(CASE)
    assert code == 2 and "already went out" in err
    code, _, err = await publish("no-such-case")
    assert code == 2 and "no case 'no-such-case'" in err


async def test_a_cancelled_broadcast_gets_a_final_report(app: App, emulator: BotAPIEmulator) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coordinator")
    for chat in range(20_000, 20_040):
        emulator.add_user(chat, first_name="S")
        await app.store.subscribe(chat, CASE)
    bc_id = await app.broadcasts.enqueue(
        Payload("News"), Audience(AudienceKind.case, CASE), created_by=ADMIN_ID, send_at=utc_now().timestamp() + 600
    )
    await app.broadcasts.set_state(bc_id, State.cancelled)  # as `rrbot broadcast cancel` does
    report = await emulator.wait_for(
        lambda: next((m for m in admin.messages if m.get("text", "").startswith("🏁")), None), timeout=10
    )
    assert "Broadcast “News”" in report["text"] and "Not sent: 40" in report["text"]


async def test_a_broadcast_left_half_prepared_is_taken_over(app: App, emulator: BotAPIEmulator) -> None:
    chats = list(range(21_000, 21_030))
    for chat in chats:
        emulator.add_user(chat, first_name="S")
        await app.store.subscribe(chat, CASE)
    # The process that queued it died while copying the audience: a third copied, its lease gone.
    redis, key = app.broadcasts.redis, app.broadcasts.key
    bc_id = str(await redis.incr(key("bc", "seq")))
    await redis.hset(
        key("bc", bc_id),
        mapping={
            "state": "preparing",
            "payload": Payload("Half").to_json(),
            "audience": Audience(AudienceKind.case, CASE).to_json(),
            "created_at": utc_now().timestamp(),
            "total": 0,
        },
    )
    await redis.zadd(key("bc", "all"), {bc_id: utc_now().timestamp()})
    await redis.rpush(key("bc", bc_id, "q"), *chats[:10])
    progress = await finished(app, bc_id)
    assert (progress.total, progress.delivered) == (30, 30)
    assert all(sum(m.get("text") == "Half" for m in emulator.messages(chat)) == 1 for chat in chats)


async def test_a_copy_that_lost_its_lease_stops_instead_of_queueing_twice(app: App, emulator: BotAPIEmulator) -> None:
    for chat in range(22_000, 22_010):
        await app.store.subscribe(chat, CASE)
    bc_id = await app.broadcasts.enqueue(
        Payload("Later"), Audience(AudienceKind.case, CASE), send_at=utc_now().timestamp() + 600
    )
    redis, key = app.broadcasts.redis, app.broadcasts.key
    await redis.hset(key("bc", bc_id), "state", "preparing")
    await redis.set(key("bc", bc_id, "preparer"), "the-new-owner")
    await redis.ltrim(key("bc", bc_id, "q"), 0, 3)  # the new owner's copy so far
    assert await app.broadcasts.prepare(bc_id, "a-stale-owner") == 0
    assert await redis.llen(key("bc", bc_id, "q")) == 4, "the stale copy leaves the new one alone"
    assert (await app.broadcasts.progress(bc_id)).state == State.preparing, "the new owner finishes it"
    assert await app.broadcasts.prepare(bc_id, "the-new-owner") == 10
    assert await redis.llen(key("bc", bc_id, "q")) == 10
