"""A case's life in chat and on the command line: /update (news, extension, closure), /schedule,
/reload, "remind me later", /reminders, and broadcasts sent later."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.wiring import App, running
from bot.content import Library, Status
from bot.ground.settings import Settings
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import ADMIN_ID, ROOT
from tests.test_scheduler import CASE, planned_jobs, write_content

UTC = dt.UTC


@pytest.fixture
async def live(settings: Settings, redis, tmp_path: Path) -> AsyncIterator[App]:
    """The bot serving the seed case with a deadline ten days away."""
    deadline = (dt.datetime.now(UTC) + dt.timedelta(days=10)).date()
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="Europe/Moscow")
    config = settings.model_copy(update={"content_dir": content, "remind_later": dt.timedelta(seconds=2)})
    async with running(config, redis, Library.load(content)) as app:
        yield app


async def follower(app: App, emulator: BotAPIEmulator, chat: int, lang: str = "en") -> Activist:
    person = Activist(emulator, chat, f"F{chat}", lang)
    await app.store.set_language(chat, lang)
    await app.store.start(chat)  # the case's link: /start, then the case
    await app.store.subscribe(chat, CASE)
    return person


def last_text(person: Activist) -> str:
    """The latest message to the person, or "" before the first (safe inside wait_for)."""
    return (person.emu.last_message(person.user_id) or {}).get("text", "")


async def write_update(admin: Activist, kind: str, text: str, deadline: str | None = None) -> dict:
    await admin.send("/update")
    await admin.tap_data(f"upc:{CASE}")
    await admin.tap_data(f"upk:{kind}")
    if deadline:
        await admin.send(deadline)
    await admin.send(text)
    # The preview and the confirmation are two messages; the per-chat flood limit may space them out.
    await admin.emu.wait_for(lambda: "upd:send:" in str(admin.last.get("reply_markup")), timeout=5)
    return admin.last


async def test_an_extension_reaches_followers_and_moves_the_reminders(live: App, emulator: BotAPIEmulator) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coord")
    await live.store.set_language(ADMIN_ID, "en")
    people = [await follower(live, emulator, 6101), await follower(live, emulator, 6102, "ru")]
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)
    before = {p.run_at for p in await live.scheduler.planned(CASE)}

    new_deadline = (dt.datetime.now(UTC) + dt.timedelta(days=20)).date()
    confirm = await write_update(
        admin, "extended", "The authorities <b>asked for more time</b>.", new_deadline.isoformat()
    )
    assert "2 followers" in confirm["text"]
    preview = admin.messages[-2]
    assert "update 3" in preview["text"] and "asked for more time" in preview["text"]
    assert "extended" in preview["text"]
    await admin.tap_data("upd:send:")

    for person in people:
        await emulator.wait_for(lambda p=person: "asked for more time" in last_text(p), timeout=10)
    assert "продлён" in people[1].last["text"] or "продлен" in people[1].last["text"], people[1].last["text"]
    # The coordinator's progress and report name what went out, not a bare broadcast number.
    await emulator.wait_for(lambda: "🏁 Update 3 of UA 84/11" in str(admin.messages), timeout=10)

    async def moved() -> bool:
        return {p.run_at for p in await live.scheduler.planned(CASE)} not in (before, set())

    # Every process reloads the case; the leader plans the reminders for the new deadline.
    await emulator.wait_for(moved, timeout=10)
    assert all(p.run_at.date() > max(before).date() for p in await live.scheduler.planned(CASE))
    assert live.library.get(CASE).update == 3 and live.library.get(CASE).deadline == new_deadline


async def test_closing_a_case_stops_its_reminders_and_its_card_thanks_everyone(
    live: App, emulator: BotAPIEmulator
) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coord")
    await live.store.set_language(ADMIN_ID, "en")
    person = await follower(live, emulator, 6201)
    await live.store.pledge(6202, CASE, "letter")
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)
    await write_update(admin, "closed", "Nizomkhon Juraev is <b>safe</b>.")
    await admin.tap_data("upd:send:")
    await emulator.wait_for(lambda: "safe" in last_text(person), timeout=10)
    assert "No further action is needed" in person.last["text"] and "1 letter was sent" in person.last["text"]
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 0), timeout=10)
    assert live.library.get(CASE).status == Status.closed

    await person.send("/cases")
    await person.tap_data(f"card:{CASE}")
    assert "This case is closed" in person.last["text"] and "What can I do?" not in str(person.last["reply_markup"])


async def test_schedule_lists_the_plan_in_the_coordinators_time(live: App, emulator: BotAPIEmulator) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coord")
    await live.store.set_language(ADMIN_ID, "en")
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)
    text = (await admin.send(f"/schedule {CASE}"))["text"]
    assert text.count("deadline reminder") == 3 and "Times in UTC" in text
    assert "1 week before" in text and "2 days before" in text and "on the last day" in text
    assert text.count("07:00") == 3, text  # 10:00 in Moscow
    # Someone else gets the unknown-command answer, as for every coordinator command.
    outsider = Activist(emulator, 6301, "Out")
    assert "schedule" not in (await outsider.send("/schedule"))["text"].lower()


async def test_remind_me_later_comes_unless_the_user_did_it_meanwhile(live: App, emulator: BotAPIEmulator) -> None:
    busy, done = await follower(live, emulator, 6401), await follower(live, emulator, 6402)
    for person in (busy, done):
        await person.send("/act")
        await person.tap_data("tw:")
        answer = await person.tap("Remind me later")
        assert "remind you in 2 seconds" in answer["text"]
    await done.tap("I posted it")
    await emulator.wait_for(lambda: last_text(busy).startswith("⏰ You asked me"), timeout=10)
    assert "post on X" in busy.last["text"] and "Post on X" in str(busy.last["reply_markup"])
    await asyncio.sleep(2)
    assert not any(m.get("text", "").startswith("⏰ You asked me") for m in done.messages), "a pledge cancels it"
    assert (await done.tap("Remind me later", done.messages[-1]))["text"].startswith("✅"), "nothing left to remind"

    # Asking again after the first reminder came gives another one.
    await busy.send("/act")
    await busy.tap_data("tw:")
    await busy.tap("Remind me later")
    await emulator.wait_for(
        lambda: sum(m.get("text", "").startswith("⏰ You asked me") for m in busy.messages) == 2, timeout=10
    )


async def test_forget_and_stop_drop_personal_reminders(live: App, emulator: BotAPIEmulator) -> None:
    person = await follower(live, emulator, 6451)
    await live.scheduler.remind_later(6451, CASE, "letter", dt.datetime.now(UTC) + dt.timedelta(hours=3))

    async def personal() -> list[str]:
        return [j for j in await live.store.redis.hkeys("rrb:{sched}:jobs") if j.startswith("later:")]

    [job_id] = await personal()
    assert "6451" not in job_id, "a job id shows no chat id"
    await person.send("/stop")
    assert await personal() == []
    await live.scheduler.remind_later(6451, CASE, "email", dt.datetime.now(UTC) + dt.timedelta(hours=3))
    assert len(await personal()) == 1
    await person.send("/forget")
    await person.tap_data("forget:yes")
    assert await personal() == []


async def test_reminders_can_be_turned_off_and_on(live: App, emulator: BotAPIEmulator) -> None:
    person = await follower(live, emulator, 6501)
    assert "Reminders are off" in (await person.send("/reminders off"))["text"]
    assert not (await live.store.user(6501)).reminders
    assert "/reminders on" in (await person.send("/reminders"))["text"]
    assert "Reminders are on" in (await person.send("/reminders on"))["text"]
    assert (await live.store.user(6501)).reminders


async def test_a_broadcast_can_be_sent_later(live: App, emulator: BotAPIEmulator) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coord")
    await live.store.set_language(ADMIN_ID, "en")
    person = await follower(live, emulator, 6601)
    await admin.send("/broadcast")
    await admin.send("Vigil <b>tonight</b> at 19:00.")
    await admin.tap_data("bca:all")
    await admin.tap_data("bcw:")
    assert "When should it go out?" in admin.last["text"]
    assert "That time has passed" in (await admin.send("yesterday 10:00"))["text"]
    at = (dt.datetime.now(UTC) + dt.timedelta(seconds=3)).strftime("%Y-%m-%d %H:%M:%S")
    assert "Scheduled for" in (await admin.send(at))["text"]
    assert [p.kind for p in await live.scheduler.planned()].count("broadcast") == 1
    await emulator.wait_for(lambda: "Vigil" in last_text(person), timeout=15)


async def test_reload_reports_broken_files_and_keeps_serving(live: App, emulator: BotAPIEmulator) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coord")
    await live.store.set_language(ADMIN_ID, "en")
    assert "Reloaded: 1 case" in (await admin.send("/reload"))["text"]
    broken = live.library.content_dir / "cases" / "broken.yaml"
    broken.write_text("id: broken\nua: [unclosed\n", encoding="utf-8")
    text = (await admin.send("/reload"))["text"]
    assert "Not reloaded" in text and "broken.yaml" in text
    assert live.library.get(CASE) is not None


# --- the command line -------------------------------------------------------------------------------


def cli_env(redis_url: str, tmp_path: Path, content: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "REDIS_URL", "PRIVACY_KEY"}}
    return {
        **base,
        "PYTHONPATH": str(ROOT),
        "REDIS_URL": redis_url,
        "DATA_DIR": str(tmp_path / "data"),
        "CONTENT_DIR": str(content),
        "PRIVACY_KEY": "test-privacy-key-0123456789abcdef",
    }


async def rrbot(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_update_schedule_and_send_later_from_the_command_line(
    live: App, emulator: BotAPIEmulator, redis_url: str, tmp_path: Path
) -> None:
    env = cli_env(redis_url, tmp_path, live.library.content_dir)
    person = await follower(live, emulator, 6701)
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)

    code, out, err = await rrbot(env, "schedule", "list", CASE, "--json")
    assert code == 0, err
    assert sorted(job["detail"] for job in json.loads(out)) == ["0d", "2d", "7d"]

    note = tmp_path / "later.html"
    note.write_text("Letters still <i>needed</i>.", encoding="utf-8")
    at = (dt.datetime.now(UTC) + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M+00:00")
    code, out, err = await rrbot(env, "broadcast", "--text-file", str(note), "--everyone", "--at", at, "--yes")
    assert code == 0, err
    job_id = out.strip()
    assert job_id in [p.id for p in await live.scheduler.planned()]
    assert (await rrbot(env, "schedule", "cancel", job_id))[0] == 0
    assert job_id not in [p.id for p in await live.scheduler.planned()]
    assert (await rrbot(env, "schedule", "cancel", job_id))[0] == 2

    news = tmp_path / "closed.html"
    news.write_text("He is <b>free</b>.", encoding="utf-8")
    # An "extension" to an earlier date would tell followers something untrue: refused, as in chat.
    current = live.library.get(CASE).deadline
    code, _, err = await rrbot(env, "update", CASE, "--text-file", str(news), "--deadline", "2001-01-01")
    assert code == 2 and f"must be after {current.day} {current:%B} {current.year}" in err, err
    assert len(err.strip().splitlines()) == 1
    code, out, err = await rrbot(env, "update", CASE, "--text-file", str(news), "--close")
    assert code == 0, err
    await emulator.wait_for(lambda: "free" in last_text(person), timeout=10)
    await emulator.wait_for(lambda: live.library.get(CASE).status == Status.closed, timeout=10)
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 0), timeout=10)
    # A closed case takes no news and no extension unless reopened.
    for change in ([], ["--deadline", "2099-01-01"]):
        code, _, err = await rrbot(env, "update", CASE, "--text-file", str(news), *change)
        assert code == 2 and "is closed" in err and "--reopen" in err, err
        assert len(err.strip().splitlines()) == 1
    code, _, err = await rrbot(env, "update", CASE, "--text-file", str(news), "--reopen")
    assert code == 0, err
    await emulator.wait_for(lambda: live.library.get(CASE).status == Status.open, timeout=10)
    code, _, err = await rrbot(env, "reload")
    assert code == 0, err


async def test_an_update_in_progress_gives_way_to_a_command_and_checks_its_dates(
    live: App, emulator: BotAPIEmulator
) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coord")
    await live.store.set_language(ADMIN_ID, "en")
    await admin.send("/update")
    await admin.tap_data(f"upc:{CASE}")
    await admin.tap_data("upk:news")
    assert "Scheduled" in (await admin.send("/schedule"))["text"], "the command runs; the draft is dropped"
    assert "Nothing to" not in admin.last["text"]

    await admin.send("/update")
    await admin.tap_data(f"upc:{CASE}")
    await admin.tap_data("upk:extended")
    current = live.library.get(CASE).deadline
    for wrong in ("tomorrow", "2026-02-30"):
        assert "Send a date after" in (await admin.send(wrong))["text"], wrong
    assert "must be after" in (await admin.send(current.isoformat()))["text"], "not later than the deadline"


async def test_a_closed_case_takes_news_only_when_reopened(live: App, emulator: BotAPIEmulator) -> None:
    admin = Activist(emulator, ADMIN_ID, "Coord")
    await live.store.set_language(ADMIN_ID, "en")
    person = await follower(live, emulator, 6801)
    await write_update(admin, "closed", "He is safe.")
    await admin.tap_data("upd:send:")
    await emulator.wait_for(lambda: live.library.get(CASE).status == Status.closed, timeout=10)
    # The library changes before the worker has delivered the news: wait for the message and for the
    # coordinator's report, which would otherwise land after the /update below and hide its buttons.
    await emulator.wait_for(lambda: "No further action is needed" in last_text(person), timeout=10)
    await emulator.wait_for(lambda: "🏁 Update 3 of UA 84/11" in str(admin.messages), timeout=10)
    assert "No further action is needed" in person.last["text"]
    assert "What can I do?" not in str(person.last.get("reply_markup"))
    # "Remind me later" left on an old screen says why it does nothing now.
    answer = await person.press(person.last["message_id"], f"later:{CASE}:letter")
    assert "is closed" in answer["text"]
    # News of a closed case goes out only if the coordinator reopens it: the picker offers nothing else,
    # and a forged "news" tap is refused with the reason.
    await admin.send("/update")
    await admin.tap_data(f"upc:{CASE}")
    assert {b["callback_data"] for b in admin.buttons()} == {"upk:news:r", "upk:extended:r"}
    refused = await admin.press(admin.last["message_id"], "upk:news:")
    assert "is closed" in refused["text"] and "reopen" in refused["text"]
    await write_update(admin, "news:r", "He thanks everyone who wrote.")
    await admin.tap_data("upd:send:")
    await emulator.wait_for(lambda: "thanks everyone" in last_text(person), timeout=10)
    await emulator.wait_for(lambda: live.library.get(CASE).status == Status.open, timeout=10)
    assert "What can I do?" in str(person.last.get("reply_markup")), "reopened: there is something to do again"
