"""/schedule as coordinators act on it, in English and Russian: each send with its text, audience, size, time and
author; Preview, Change time and Cancel; old and forged buttons; and the question asked when a send's case changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.wiring import App, running
from bot.content import Library, Status
from bot.ground.audit import Action
from bot.ground.settings import Settings
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import ADMIN_ID
from tests.test_lifecycle import follower, write_update
from tests.test_scheduler import CASE, planned_jobs, write_content

UTC = dt.UTC
SECOND_ID = 9001  # a second coordinator


@pytest.fixture
async def live(settings: Settings, redis, tmp_path: Path) -> AsyncIterator[App]:
    """The bot serving the seed case (deadline in ten days), with two coordinators."""
    deadline = (dt.datetime.now(UTC) + dt.timedelta(days=10)).date()
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="Europe/Moscow")
    config = settings.model_copy(update={"content_dir": content, "admin_ids": frozenset({ADMIN_ID, SECOND_ID})})
    async with running(config, redis, Library.load(content)) as app:
        yield app


async def coordinator(app: App, emulator: BotAPIEmulator, chat: int, name: str, lang: str = "en") -> Activist:
    person = Activist(emulator, chat, name, lang)
    await app.store.set_language(chat, lang)
    return person


def later(**delta: float) -> dt.datetime:
    return (dt.datetime.now(UTC) + dt.timedelta(**delta)).replace(second=0, microsecond=0)


async def schedule(admin: Activist, text: str, audience: list[str], at: dt.datetime) -> None:
    """Compose a broadcast and "Send later" it, as a coordinator does."""
    await admin.send("/broadcast")
    await admin.send(text)
    for data in audience:
        await admin.tap_data(data)
    await admin.emu.wait_for(lambda: "bcw:" in str(admin.last.get("reply_markup")), timeout=5)
    await admin.tap_data("bcw:")
    reply = await admin.send(at.strftime("%Y-%m-%d %H:%M:%S"))
    assert "🗓" in reply["text"], reply["text"]


def current(emulator: BotAPIEmulator, chat: int, message_id: int) -> dict:
    """A message as it reads now, edits applied."""
    return next(m for m in emulator.messages(chat) if m["message_id"] == message_id)


def numbers(message: dict) -> list[str]:
    """The sends a list's buttons act on, in order."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [
        b["callback_data"].split(":")[2] for row in rows for b in row if b["callback_data"].startswith("sch:preview")
    ]


async def test_schedule_lists_sends_that_can_be_previewed_moved_and_cancelled(
    live: App, emulator: BotAPIEmulator
) -> None:
    admin = await coordinator(live, emulator, ADMIN_ID, "Ann")
    second = await coordinator(live, emulator, SECOND_ID, "Boris")
    for chat in (6801, 6802, 6803):
        await follower(live, emulator, chat)
    await live.store.pledge(6803, CASE, "letter")  # acted: not in "who have not acted yet"
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)

    vigil_at, nudge_at = later(days=2), later(days=3)
    await schedule(admin, "Vigil tonight at 19:00.\nBring candles.", ["bca:all"], vigil_at)
    await schedule(second, "Deadline on Sunday: please write now!", ["bca:na", f"bcc:na:{CASE}"], nudge_at)

    listing = await admin.send("/schedule")
    text = listing["text"]
    assert "“Vigil tonight at 19:00.”" in text and "Bring candles" not in text, "the first line of each"
    assert "“Deadline on Sunday: please write now!”" in text
    assert "everyone · 3 people now" in text
    assert "who have not acted yet · 2 people now" in text
    assert "scheduled by you" in text and "scheduled by Boris" in text
    assert live.renderer.when(vigil_at, "en", "UTC") in text and live.renderer.when(nudge_at, "en", "UTC") in text
    assert text.index("Vigil") < text.index("Deadline on Sunday") < text.index("Deadline reminders"), "soonest first"
    vigil, nudge = numbers(listing)
    assert [b["text"] for b in admin.buttons(listing)][:3] == [
        f"👁 Preview #{vigil}",
        f"🕒 Time #{vigil}",
        f"✖️ Cancel #{vigil}",
    ]

    # Preview: the message itself, as its recipients get it.
    await admin.tap_data(f"sch:preview:{vigil}", listing)
    assert admin.last["text"] == "Vigil tonight at 19:00.\nBring candles."

    # Change time: asked, read as "Send later" reads it, refused when past, then moved.
    await admin.tap_data(f"sch:time:{vigil}", listing)
    assert f"New time for send #{vigil}" in current(emulator, ADMIN_ID, listing["message_id"])["text"]
    assert "That time has passed" in (await admin.send("2001-01-01 10:00"))["text"]
    moved_at = later(days=4)
    await admin.send(moved_at.strftime("%Y-%m-%d %H:%M"))
    moved = f"Send #{vigil} now goes out on {live.renderer.when(moved_at, 'en', 'UTC')}"
    # The answer, then the list as it is now (the per-chat flood limit may space the two out).
    await emulator.wait_for(lambda: len(admin.messages) > 1 and moved in admin.messages[-2]["text"], timeout=5)
    assert {s.number: s.run_at for s in await live.scheduler.sends()}[int(vigil)] == moved_at
    [move] = [e for e in (await live.broadcasts.audit.page(20)).entries if e.action == Action.move]
    assert move.name == "Ann" and move.title.startswith("Vigil"), move
    fresh = admin.last
    assert fresh["text"].index("Deadline on Sunday") < fresh["text"].index("Vigil"), "the list, in its new order"

    # Cancel: asked first (Boris's send: any coordinator may stop another's), then the list updates.
    await admin.tap_data(f"sch:cancel:{nudge}", fresh)
    assert f"Cancel send #{nudge}?" in admin.last["text"] and "scheduled by Boris" in admin.last["text"]
    answer = await admin.tap_data(f"sch:yes:{nudge}")
    assert f"Send #{nudge} is cancelled" in answer["text"]
    assert "Deadline on Sunday" not in admin.last["text"] and "Vigil" in admin.last["text"]
    assert [s.number for s in await live.scheduler.sends()] == [int(vigil)]

    # The first list still shows the cancelled send's buttons: they say what became of it, and the list updates.
    answer = await admin.tap_data(f"sch:time:{nudge}", listing)
    assert answer["text"] == f"✖️ Send #{nudge} is no longer scheduled: it was cancelled." and answer["show_alert"]
    edited = current(emulator, ADMIN_ID, listing["message_id"])
    assert numbers(edited) == [vigil]
    # A forged number is refused politely.
    answer = await admin.press(listing["message_id"], "sch:yes:424242")
    assert "expired" in answer["text"]
    assert [s.number for s in await live.scheduler.sends()] == [int(vigil)]


async def test_a_send_that_went_out_says_so_on_its_old_buttons(live: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(live, emulator, ADMIN_ID, "Ann")
    person = await follower(live, emulator, 6811)
    at = (dt.datetime.now(UTC) + dt.timedelta(seconds=4)).replace(microsecond=0)
    await schedule(admin, "Soon: the vigil.", ["bca:all"], at)
    listing = await admin.send("/schedule")
    [number] = numbers(listing)
    await emulator.wait_for(lambda: "Soon: the vigil." in (person.emu.last_message(6811) or {}).get("text", ""), 15)
    answer = await admin.tap_data(f"sch:cancel:{number}", listing)
    assert f"Send #{number} already went out, as broadcast #" in answer["text"]
    assert (
        "Nothing is scheduled" in current(emulator, ADMIN_ID, listing["message_id"])["text"]
        or "Deadline" in (current(emulator, ADMIN_ID, listing["message_id"])["text"])
    )


async def test_schedule_in_russian(live: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(live, emulator, ADMIN_ID, "Анна", "ru")
    await live.store.set_timezone(ADMIN_ID, "UTC")  # chosen in /settings (else Moscow, guessed from Russian)
    await follower(live, emulator, 6821, "ru")
    at = later(days=2)
    await schedule(admin, "Пикет сегодня в 19:00.", ["bca:all"], at)
    listing = await admin.send("/schedule")
    text = listing["text"]
    assert "“Пикет сегодня в 19:00.”" in text and "все" in text
    assert live.renderer.when(at, "ru", "UTC") in text
    assert "Часовой пояс: UTC." in text
    [number] = numbers(listing)
    await admin.tap_data(f"sch:preview:{number}", listing)
    assert admin.last["text"] == "Пикет сегодня в 19:00."
    await admin.tap_data(f"sch:cancel:{number}", listing)
    assert f"Отменить отправку №{number}?" in current(emulator, ADMIN_ID, listing["message_id"])["text"]
    answer = await admin.press(listing["message_id"], f"sch:yes:{number}")
    assert f"Отправка №{number} отменена" in answer["text"]
    assert await live.scheduler.sends() == []


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_extension_asks_whoever_scheduled_a_send_for_the_case(
    live: App, emulator: BotAPIEmulator, lang: str
) -> None:
    admin = await coordinator(live, emulator, ADMIN_ID, "Ann")
    second = await coordinator(live, emulator, SECOND_ID, "Boris", lang)
    await live.store.set_timezone(SECOND_ID, "UTC")  # chosen in /settings: times read and shown in UTC
    await follower(live, emulator, 6831)
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)
    await schedule(second, "Deadline on Sunday: please write now!", ["bca:case", f"bcc:case:{CASE}"], later(days=2))
    [send] = await live.scheduler.sends()

    new_deadline = (dt.datetime.now(UTC) + dt.timedelta(days=20)).date()
    await write_update(admin, "extended", "More time.", new_deadline.isoformat())
    await admin.tap_data("upd:send:")

    def questions(person: Activist) -> list[dict]:
        return [m for m in person.messages if f"sch:keep:{send.number}" in str(m.get("reply_markup"))]

    await emulator.wait_for(lambda: questions(second), timeout=10)
    [question] = questions(second)
    assert "Deadline on Sunday: please write now!" in question["text"]
    mark = f"#{send.number}" if lang == "en" else f"№{send.number}"
    assert mark in question["text"] and live.renderer.when(send.run_at, lang, "UTC") in question["text"]
    assert live.renderer.day(new_deadline, lang) in question["text"], "the new deadline, in the coordinator's language"
    if lang == "en":
        assert f"The deadline of UA 84/11 moved to {live.renderer.day(new_deadline, 'en')}." in question["text"]
        assert f"Your send #{send.number}, scheduled for" in question["text"]
    assert not questions(admin), "only whoever scheduled it is asked"
    # Asked once, though every process reloads.
    await live.content.reload()
    assert len(questions(second)) == 1

    await second.tap_data(f"sch:time:{send.number}", question)
    assert mark in current(emulator, SECOND_ID, question["message_id"])["text"]
    moved_at = later(days=15)
    await second.send(moved_at.strftime("%Y-%m-%d %H:%M"))
    assert [s.run_at for s in await live.scheduler.sends()] == [moved_at]
    # Keep, on a question still showing it (another chat, an older message): it stays as moved.
    answer = await second.press(question["message_id"], f"sch:keep:{send.number}")
    assert answer.get("text") is None
    assert live.renderer.when(moved_at, lang, "UTC") in current(emulator, SECOND_ID, question["message_id"])["text"]
    assert [s.run_at for s in await live.scheduler.sends()] == [moved_at]


async def test_closing_a_case_holds_its_sends_until_their_coordinator_decides(
    live: App, emulator: BotAPIEmulator
) -> None:
    admin = await coordinator(live, emulator, ADMIN_ID, "Ann")
    person = await follower(live, emulator, 6841)
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)
    at = later(days=2)
    await schedule(admin, "Deadline on Sunday: please write now!", ["bca:case", f"bcc:case:{CASE}"], at)
    await schedule(admin, "Film night for everyone.", ["bca:all"], later(days=3))
    await write_update(admin, "closed", "He is <b>free</b>.")
    await admin.tap_data("upd:send:")

    await emulator.wait_for(lambda: any("is closed." in m.get("text", "") for m in admin.messages), timeout=10)
    question = next(m for m in admin.messages if "is closed." in m.get("text", ""))
    assert "It is held: nothing goes out until you decide" in question["text"]
    sends = {s.payload.text: s for s in await live.scheduler.sends()}
    held = sends["Deadline on Sunday: please write now!"]
    assert held.held and held.planned_for == at
    assert not sends["Film night for everyone."].held, "a send to everyone is not the case's"
    assert "free" in (person.emu.last_message(6841) or {}).get("text", "")

    await admin.send("/schedule")
    await emulator.wait_for(lambda: "held (was due" in admin.last["text"], timeout=5)
    await admin.tap(" Send it as planned", question)
    assert "stays as it is" in current(emulator, ADMIN_ID, question["message_id"])["text"]
    assert {s.number: s.run_at for s in await live.scheduler.sends()}[held.number] == at


async def test_a_send_due_before_its_closed_case_was_rechecked_does_not_go_out(
    live: App, emulator: BotAPIEmulator
) -> None:
    """The case closes in this process's library just as the send is due, before the re-check held it."""
    admin = await coordinator(live, emulator, ADMIN_ID, "Ann")
    person = await follower(live, emulator, 6851)
    await schedule(admin, "Deadline on Sunday: please write now!", ["bca:case", f"bcc:case:{CASE}"], later(days=2))
    [send] = await live.scheduler.sends()
    closed = live.library.get(CASE).model_copy(update={"status": Status.closed})
    live.library.replace(Library({CASE: closed}))  # as a reload leaves it, before its listeners run
    await live.scheduler.move(send.number, dt.datetime.now(UTC) + dt.timedelta(seconds=1))
    report = await emulator.wait_for(
        lambda: next((m for m in admin.messages if m.get("text", "").startswith("⚠️ Failed")), None), timeout=15
    )
    assert "Nothing went out" in report["text"]
    assert not any("Deadline on Sunday" in m.get("text", "") for m in person.messages)
