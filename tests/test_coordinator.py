"""Coordinators end to end: /broadcast, its progress, /stats, /export and the command menu.

The real bot, the real aiogram client, the emulator and a real Redis; activists and coordinators
are simulated users. Everyone else must not be able to tell that these commands exist.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import subprocess
import sys
import time
import zipfile
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.app.wiring import App, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Payload, State
from bot.ground.settings import Settings
from bot.pledges.aggregates import CaseFigures, Figures, parse_daily
from bot.render.charts import pledges_chart
from bot.render.markup import visible_text
from bot.telegram.reporter import ChatReporter
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from handlers.start import publish_coordinator_commands
from tests.conftest import ADMIN_ID

CASE = "ua-84-11"
ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"

# Ids that cannot be mistaken for anything else in a message or a file (not a year, not a count).
U1, U2, U3, U4, STRANGER = 61_001, 61_002, 61_003, 61_004, 61_999
# Activists: (id, UI language, follows the case, pledged actions)
PEOPLE = [
    (U1, "en", True, ["letter", "email"]),
    (U2, "en", True, []),
    (U3, "ru", True, []),
    (U4, "en", False, []),
]
# With the coordinator (who sent /start, so gets alerts): who gets what.
EXPECTED = {
    "everyone": {ADMIN_ID, U1, U2, U3, U4},
    "case": {U1, U2, U3},
    "not-acted": {U2, U3},
    "ru": {U3},
}

_message_ids = count(50_000)


@pytest.fixture(autouse=True)
def quick_typist(emulator: BotAPIEmulator) -> None:
    """These tests type faster than any coordinator: a larger per-chat burst, the same limits otherwise."""
    emulator.limits = FloodLimits(chat_burst=30)


async def coordinator(app: App, emulator: BotAPIEmulator) -> Activist:
    admin = Activist(emulator, ADMIN_ID, "Coord", "en")
    await app.store.set_language(ADMIN_ID, "en")
    await app.store.start(ADMIN_ID)  # as /start does: alerts and everyone-broadcasts
    return admin


async def activists(app: App, emulator: BotAPIEmulator) -> None:
    """Real chats in the emulator, so a broadcast to them is delivered."""
    for user_id, lang, follows, actions in PEOPLE:
        emulator.add_user(user_id, first_name=f"U{user_id}", language_code=lang)
        await app.store.set_language(user_id, lang)
        await app.store.start(user_id)  # /start: alerts and everyone-broadcasts
        if follows:
            await app.store.subscribe(user_id, CASE)
        for action in actions:
            await app.store.pledge(user_id, CASE, action)


async def send_formatted(emulator: BotAPIEmulator, who: Activist, text: str, entities: list[dict[str, Any]]) -> dict:
    """A message with formatting (bold, links) as a Telegram client sends it: text plus entities."""
    before = len(emulator.outbox(who.user_id))
    emulator.queue_update(
        {
            "message": {
                "message_id": next(_message_ids),
                "from": {"id": who.user_id, "is_bot": False, "first_name": who.first_name, "language_code": "en"},
                "chat": {"id": who.user_id, "type": "private", "first_name": who.first_name},
                "date": int(time.time()),
                "text": text,
                "entities": entities,
            }
        }
    )
    await emulator.wait_for(lambda: len(emulator.outbox(who.user_id)) > before)
    await emulator.wait_idle()
    return who.last


async def unknown_command_reply(emulator: BotAPIEmulator, user_id: int) -> str:
    stranger = Activist(emulator, user_id, "Probe", "en")
    return (await stranger.send("/no_such_command"))["text"]


def stale_toast(app: App) -> str:
    return app.renderer.toast("stale_button", "en").text


async def compose(admin: Activist, text: str = "Good news from the case") -> dict:
    """/broadcast, then the text: returns the audience picker."""
    await admin.send("/broadcast")
    return await admin.send(text)


# --- who may ----------------------------------------------------------------------------------------


FORGED = [
    "bca:all", "bca:case", "bca:na", "bca:lang", "bca:menu",
    f"bcc:case:{CASE}", f"bcc:na:{CASE}", "bcl:en",
    "bcd:send:0123abcd", "bcd:cancel:0123abcd", "bcw:0123abcd",
    f"sts:{CASE}", "exp:semicolon",
    f"upc:{CASE}", "upk:news", "upk:extended", "upk:closed", "upd:send:0123abcd", "upd:cancel:0123abcd",
    "sch:preview:1", "sch:time:1", "sch:cancel:1", "sch:yes:1", "sch:keep:1", "sch:list:0",
]  # fmt: skip


async def test_strangers_see_no_coordinator_commands_and_buttons(app: App, emulator: BotAPIEmulator) -> None:
    unknown = await unknown_command_reply(emulator, STRANGER)
    await activists(app, emulator)
    stranger = Activist(emulator, U1, "Ann", "en")
    commands = (
        "/broadcast",
        "/stats",
        "/export",
        "/cancel",
        "/stats ua-84-11",
        "/BROADCAST",
        "/update",
        "/schedule",
        "/schedule ua-84-11",
        "/reload",
        "/import",
    )
    for command in commands:
        reply = await stranger.send(command)
        assert reply["text"] == unknown, command
        assert "reply_markup" not in reply
    assert not [e for e in emulator.outbox(U1) if e["method"] in ("sendPhoto", "sendDocument")]
    assert await app.store.redis.keys("fsm:*") == []
    assert "/broadcast" not in (await stranger.send("/help"))["text"]

    # A real broadcast waiting for its time: a forged tap must not touch it.
    bc_id = await app.broadcasts.enqueue(
        Payload("Later"), Audience(AudienceKind.case, CASE), created_by=ADMIN_ID, send_at=time.time() + 3600
    )
    # And a scheduled one (number 1, the first in this database): forged taps neither cancel nor move it.
    job = await app.scheduler.schedule_broadcast(
        Payload("Later").to_json(), Audience().to_json(), ADMIN_ID, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    )
    planned = await app.scheduler.sends()
    assert [s.id for s in planned] == [job] == ["broadcast:1"]
    message_id = stranger.last["message_id"]
    for data in [*FORGED, f"bcs:{bc_id}:pause", f"bcs:{bc_id}:stop", f"bcs:{bc_id}:cancel", f"bcs:{bc_id}:refresh"]:
        answer = await stranger.press(message_id, data)
        assert answer.get("text") == stale_toast(app), data
    assert (await app.broadcasts.progress(bc_id)).state == State.queued
    assert await app.scheduler.sends() == planned
    assert [p.id for p in await app.broadcasts.recent()] == [bc_id], "a stranger enqueued nothing"
    assert app.library.get(CASE).update == 2 and await app.cases.updates(CASE) == [], "nor updated a case"


async def test_a_coordinator_in_a_group_gets_no_answer(app: App, emulator: BotAPIEmulator) -> None:
    await coordinator(app, emulator)
    group = emulator.add_group(-100_123)
    before = len(emulator.calls)
    emulator.queue_update(
        {
            "message": {
                "message_id": next(_message_ids),
                "from": {"id": ADMIN_ID, "is_bot": False, "first_name": "Coord"},
                "chat": group,
                "date": int(time.time()),
                "text": "/stats",
            }
        }
    )
    await emulator.wait_idle()
    assert not [c for c in emulator.calls[before:] if c.method.startswith("send")]


# --- composing and sending ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, expected",
    [
        (["bca:all"], "everyone"),
        (["bca:case", f"bcc:case:{CASE}"], "case"),
        (["bca:na", f"bcc:na:{CASE}"], "not-acted"),
        (["bca:lang", "bcl:ru"], "ru"),
    ],
)
async def test_coordinator_composes_previews_and_sends(
    app: App, emulator: BotAPIEmulator, path: list[str], expected: str
) -> None:
    admin = await coordinator(app, emulator)
    await activists(app, emulator)
    prompt = await admin.send("/broadcast")
    assert "/cancel" in prompt["text"]

    text = "Good news: Nizomkhon Juraev is safe. Read more"
    entities = [
        {"type": "bold", "offset": 0, "length": 10},
        {"type": "text_link", "offset": 37, "length": 9, "url": "https://www.amnesty.org/en/"},
    ]
    picker = await send_formatted(emulator, admin, text, entities)
    assert {
        b["callback_data"].split(":")[1] for b in admin.buttons(picker) if b["callback_data"].startswith("bca:")
    } == {"all", "case", "na", "lang"}
    for step in path:
        await admin.tap_data(step)

    # The preview is the message exactly as activists will get it, formatting and all.
    sent = emulator.outbox(ADMIN_ID)
    preview = next(
        e["message"] for e in reversed(sent) if e["method"] == "sendMessage" and e["message"]["text"] == text
    )
    assert {(e["type"], e.get("url")) for e in preview["entities"]} == {
        ("bold", None),
        ("text_link", "https://www.amnesty.org/en/"),
    }
    confirm = admin.last
    size = len(EXPECTED[expected])
    assert f"{size} recipient" in confirm["text"], confirm["text"]
    if expected in ("case", "not-acted"):
        assert "Tajik refused asylum-seeker disappeared" in confirm["text"]
    assert admin.button("Send") and admin.button("Cancel")

    answer = await admin.tap_data("bcd:send:")
    assert "Queued" in answer["text"]
    [record] = await app.broadcasts.recent()
    assert record.created_by == ADMIN_ID and record.total == size
    assert (
        record.audience
        == {
            "everyone": Audience(AudienceKind.all),
            "case": Audience(AudienceKind.case, CASE),
            "not-acted": Audience(AudienceKind.not_acted, CASE),
            "ru": Audience(AudienceKind.all, language="ru"),
        }[expected]
    )
    assert await app.broadcasts.payload(record.id) == Payload(
        '<b>Good news:</b> Nizomkhon Juraev is safe. <a href="https://www.amnesty.org/en/">Read more</a>', lang="en"
    )
    # The confirmation became the progress message, registered for the reporter.
    assert await app.broadcasts.progress_message(record.id) == (ADMIN_ID, confirm["message_id"])
    # (By id: when the coordinator is in the audience, the broadcast itself may already follow it.)
    progress_text = next(m["text"] for m in emulator.messages(ADMIN_ID) if m["message_id"] == confirm["message_id"])
    # Named by its first line, as coordinators know it (not "Broadcast #1").
    assert "Broadcast “Good news: Nizomkhon Juraev is safe. Read more”" in progress_text
    assert "Delivered:" in progress_text

    # The running worker delivers it to exactly that audience (the coordinator also has the preview).
    def delivered(chat: int) -> int:
        return sum(m.get("text") == text for m in emulator.messages(chat)) - (chat == ADMIN_ID)

    everyone = {ADMIN_ID, U1, U2, U3, U4}
    await emulator.wait_for(lambda: all(delivered(chat) == 1 for chat in EXPECTED[expected]), timeout=10)
    await emulator.wait_idle()
    assert {chat: delivered(chat) for chat in everyone} == {chat: int(chat in EXPECTED[expected]) for chat in everyone}
    # The worker that finishes the broadcast tells the coordinator, by itself.
    report = await emulator.wait_for(
        lambda: next((m for m in emulator.messages(ADMIN_ID) if m.get("text", "").startswith("🏁")), None), timeout=10
    )
    assert f"Delivered: {size} of {size}" in report["text"]


async def test_a_photo_with_a_caption_is_previewed_as_a_photo(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    await admin.send("/broadcast")
    update = emulator.user_sends_photo(ADMIN_ID, caption="Released today!")
    largest = max(update["message"]["photo"], key=lambda size: size["width"] * size["height"])
    await emulator.wait_for(lambda: admin.buttons() and admin.last.get("text", "").startswith("👥"))
    await admin.tap_data("bca:all")
    photo = next(e for e in reversed(emulator.outbox(ADMIN_ID)) if e["method"] == "sendPhoto")
    assert photo["message"]["caption"] == "Released today!"
    assert "1 recipient" in admin.last["text"]
    await admin.tap_data("bcd:send:")
    [record] = await app.broadcasts.recent()
    payload = await app.broadcasts.payload(record.id)
    assert payload == Payload("Released today!", largest["file_id"], lang="en")


async def test_a_preview_telegram_refuses_is_said_and_can_be_tried_again(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    picker = await compose(admin)
    emulator.inject("sendMessage", 400, "Bad Request: can't parse entities: unsupported start tag")
    await admin.tap_data("bca:all", picker)
    assert admin.last["text"] == visible_text(app.renderer.message("bc_preview_failed", "en"))
    assert admin.button("Everyone", emulator.messages(ADMIN_ID)[-2]), "the picker keeps its buttons"
    await admin.tap_data("bca:all", emulator.messages(ADMIN_ID)[-2])
    assert "1 recipient" in admin.last["text"] and admin.button("Send")


async def test_send_twice_quickly_sends_once(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    await activists(app, emulator)
    await compose(admin)
    await admin.tap_data("bca:all")
    button = next(b for b in admin.buttons() if b.get("callback_data", "").startswith("bcd:send:"))
    first = emulator.user_presses(ADMIN_ID, admin.last["message_id"], button["callback_data"])
    second = emulator.user_presses(ADMIN_ID, admin.last["message_id"], button["callback_data"])
    answers = [await emulator.wait_answered(first), await emulator.wait_answered(second)]
    await emulator.wait_idle()
    assert len(await app.broadcasts.recent()) == 1
    assert sorted("Queued" in a["text"] for a in answers) == [False, True]


async def test_cancel_leaves_composing_at_any_step(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    assert "nothing to cancel" in (await admin.send("/cancel"))["text"]

    await admin.send("/broadcast")
    assert "discarded" in (await admin.send("/cancel"))["text"]
    free = await admin.send("Just chatting")
    assert free["text"] == app.renderer.message("free_text", "en"), "the text is no longer taken as a broadcast"

    picker = await compose(admin)
    await admin.send("/cancel")
    answer = await admin.tap_data("bca:all", picker)
    assert answer.get("text") == stale_toast(app)

    await compose(admin)
    await admin.tap_data("bca:all")
    confirm = admin.last
    await admin.send("/cancel")
    answer = await admin.tap_data("bcd:send:", confirm)
    assert answer.get("text") == stale_toast(app)

    await compose(admin)
    await admin.tap_data("bcd:cancel:")
    assert "discarded" in admin.last["text"] and not admin.buttons()
    assert await app.broadcasts.recent() == []


async def test_other_commands_leave_composing_and_still_work(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    await admin.send("/broadcast")
    help_text = (await admin.send("/help"))["text"]
    assert help_text == visible_text(
        app.renderer.message("help", "en", commands=app.renderer.coordinator_commands("en"))
    )
    assert "/import" in help_text and "/broadcast" in help_text  # a coordinator's help names their commands
    assert (await admin.send("Hello"))["text"] == app.renderer.message("free_text", "en")


async def test_too_long_text_is_refused_clearly(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    await admin.send("/broadcast")
    reply = await admin.send("x" * 4097)
    assert "too long" in reply["text"] and "4,097" in reply["text"] and "4,096" in reply["text"]
    assert not admin.buttons(reply)

    emulator.user_sends_photo(ADMIN_ID, caption="y" * 1025)
    await emulator.wait_for(lambda: "1,025" in admin.last.get("text", ""))
    assert "caption" in admin.last["text"] and "1,024" in admin.last["text"]

    picker = await admin.send("x" * 4096)  # still composing: a text that fits is taken
    assert admin.button("Everyone", picker)
    assert await app.broadcasts.recent() == []


async def test_an_empty_audience_offers_no_send_button(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    await compose(admin)
    await admin.tap_data("bca:case")
    await admin.tap_data(f"bcc:case:{CASE}")
    assert "Nobody" in admin.last["text"]
    assert not [b for b in admin.buttons() if b.get("callback_data", "").startswith("bcd:send")]
    # Back to the choice, on the same message; then everyone (the coordinator at least).
    confirm_id = admin.last["message_id"]
    await admin.tap_data("bca:menu")
    assert admin.last["message_id"] == confirm_id and admin.button("Everyone")
    previews = len([e for e in emulator.outbox(ADMIN_ID) if e["message"].get("text") == "Good news from the case"])
    await admin.tap_data("bca:all")
    assert "1 recipient" in admin.last["text"] and admin.last["message_id"] == confirm_id
    after = len([e for e in emulator.outbox(ADMIN_ID) if e["message"].get("text") == "Good news from the case"])
    assert after == previews, "the preview is shown once per draft"


async def test_pause_resume_and_cancel_a_broadcast(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    await activists(app, emulator)
    bc_id = await app.broadcasts.enqueue(
        Payload("Later"), Audience(AudienceKind.case, CASE), created_by=ADMIN_ID, send_at=time.time() + 3600
    )
    screen = await admin.send("/help")  # any message of the bot's to press on
    answer = await admin.press(screen["message_id"], f"bcs:{bc_id}:refresh")
    assert "Broadcast “Later”" in admin.last["text"] and "Delivered: 0 of 3" in admin.last["text"]

    answer = await admin.tap_data(f"bcs:{bc_id}:pause")
    assert answer["text"].startswith("⏸") and (await app.broadcasts.progress(bc_id)).state == State.paused
    assert admin.button("Resume")
    answer = await admin.tap_data(f"bcs:{bc_id}:resume")
    assert (await app.broadcasts.progress(bc_id)).state == State.queued and admin.button("Pause")

    await admin.tap_data(f"bcs:{bc_id}:cancel")
    assert "Stop sending?" in admin.last["text"]
    assert (await app.broadcasts.progress(bc_id)).state == State.queued, "cancel asks first"
    await admin.tap_data(f"bcs:{bc_id}:refresh")
    assert "Stop sending?" not in admin.last["text"]
    await admin.tap_data(f"bcs:{bc_id}:cancel")
    answer = await admin.tap_data(f"bcs:{bc_id}:stop")
    assert (await app.broadcasts.progress(bc_id)).state == State.cancelled
    assert "Stopped" in answer["text"] and not admin.buttons()

    answer = await admin.press(screen["message_id"], f"bcs:{bc_id}:pause")
    assert "over" in answer["text"]
    answer = await admin.press(screen["message_id"], "bcs:999:pause")
    assert answer.get("text") == stale_toast(app)


# --- progress reports ---------------------------------------------------------------------------------


async def test_chat_reporter_edits_the_progress_message_and_reports_the_end(
    app: App, emulator: BotAPIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await coordinator(app, emulator)
    await activists(app, emulator)
    reporter = ChatReporter(app.bot, app.broadcasts, app.renderer, "en")
    bc_id = await app.broadcasts.enqueue(
        Payload("Later"), Audience(AudienceKind.case, CASE), created_by=ADMIN_ID, send_at=time.time() + 3600
    )
    message = await admin.send("/help")
    await app.broadcasts.set_progress_message(bc_id, ADMIN_ID, message["message_id"])
    progress = await app.broadcasts.progress(bc_id)
    with caplog.at_level(logging.WARNING):
        await reporter.progress(progress)
        await reporter.progress(progress)  # unchanged: "message is not modified" is not a problem
    edited = emulator.messages(ADMIN_ID)[-1]
    assert edited["message_id"] == message["message_id"] and "Broadcast “Later”" in edited["text"]
    assert admin.button("Pause", edited)
    assert not [r for r in caplog.records if r.name == "bot.telegram.reporter"]

    done = await app.broadcasts.set_state(bc_id, State.cancelled)
    await reporter.finished(done)
    report = emulator.messages(ADMIN_ID)[-1]
    assert report["message_id"] != message["message_id"] and "🏁" in report["text"]
    assert "Not sent: 3" in report["text"]
    assert not admin.buttons(emulator.messages(ADMIN_ID)[-2])

    # A progress message that is gone: logged, never raised into the delivery loop.
    await app.broadcasts.set_progress_message(bc_id, ADMIN_ID, 987_654)
    with caplog.at_level(logging.WARNING):
        await reporter.progress(progress)
    assert [r for r in caplog.records if r.name == "bot.telegram.reporter"]


async def test_reporter_speaks_the_coordinators_language(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    await app.store.set_language(ADMIN_ID, "ru")
    bc_id = await app.broadcasts.enqueue(
        Payload("x"), Audience(AudienceKind.all), created_by=ADMIN_ID, send_at=time.time() + 3600
    )
    message = await admin.send("/help")
    await app.broadcasts.set_progress_message(bc_id, ADMIN_ID, message["message_id"])
    await ChatReporter(app.bot, app.broadcasts, app.renderer, "en").progress(await app.broadcasts.progress(bc_id))
    assert "Рассылка" in emulator.messages(ADMIN_ID)[-1]["text"]


# --- figures ----------------------------------------------------------------------------------------------


async def pledges_over_days(app: App) -> None:
    days = [dt.date(2012, 5, 10), dt.date(2012, 5, 10), dt.date(2012, 5, 12)]
    for user_id, day in zip((U1, U2, U3), days):
        await app.store.pledge(user_id, CASE, "letter", today=day, official="chaika")
    await app.store.pledge(U1, CASE, "email", today=dt.date(2012, 5, 12), official="peshkov")


async def test_stats_sends_a_chart_with_the_figures(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    for user_id in (U1, U2, U3):
        await app.store.subscribe(user_id, CASE)
    await pledges_over_days(app)
    await admin.send("/stats")
    entry = emulator.outbox(ADMIN_ID)[-1]
    assert entry["method"] == "sendPhoto" and entry["file_bytes"].startswith(PNG)
    caption = entry["message"]["caption"]
    # Only the coordinator sent /start; the three followed a case, which asks for no alerts.
    assert "Getting alerts of new cases: 1" in caption
    assert "Subscribers: 3" in caption and "Pledges: 4" in caption
    assert "letter 3" in caption and "email 1" in caption and "fax" not in caption
    assert "10 May: 2" in caption and "12 May: 2" in caption
    assert (
        "People who wrote to each official:" in caption
        and "Yurii Ya. Chaika: ✉️ 3" in caption
        and "M. A. Peshkov: 📧 1" in caption
    )
    assert len(caption) <= 1024


async def test_stats_for_a_named_case_and_an_unknown_one(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    await admin.send(f"/stats {CASE}")
    entry = emulator.outbox(ADMIN_ID)[-1]
    assert entry["method"] == "sendPhoto" and "Pledges: 0" in entry["message"]["caption"]
    reply = await admin.send("/stats no-such-case")
    assert reply["text"] == app.renderer.message("unknown_case", "en")


async def test_export_is_a_csv_of_aggregates_without_personal_data(app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(app, emulator)
    for user_id in (U1, U2, U3):
        await app.store.subscribe(user_id, CASE)
    await pledges_over_days(app)
    await admin.send("/export")
    entry = emulator.outbox(ADMIN_ID)[-1]
    assert entry["method"] == "sendDocument"
    assert entry["message"]["document"]["file_name"].endswith(".zip")
    with zipfile.ZipFile(io.BytesIO(entry["file_bytes"])) as archive:
        files = {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}
    pledges, subscribers, officials = (
        files[f"{name}.csv"] for name in ("pledges-per-day", "subscribers", "pledges-per-official")
    )
    content = "".join(files.values())
    assert list(csv.reader(io.StringIO(pledges))) == [
        ["case", "date", "action", "count"],
        [CASE, "2012-05-10", "letter", "2"],
        [CASE, "2012-05-12", "letter", "1"],
        [CASE, "2012-05-12", "email", "1"],
    ]
    assert list(csv.reader(io.StringIO(subscribers))) == [["case", "subscribers", "pledges"], [CASE, "3", "4"]]
    assert list(csv.reader(io.StringIO(officials))) == [
        ["case", "official", "name", "action", "count"],
        [CASE, "chaika", "Yurii Ya. Chaika", "letter", "3"],
        [CASE, "peshkov", "M. A. Peshkov", "email", "1"],
    ]
    for user_id in (ADMIN_ID, U1, U2, U3):
        assert str(user_id) not in content
        assert app.store.pseudonyms.user(user_id) not in content


# --- the command menu -----------------------------------------------------------------------------------


async def test_coordinators_get_their_commands_in_the_menu(app: App, emulator: BotAPIEmulator) -> None:
    await coordinator(app, emulator)
    # 9001 never opened the bot: skipped, not fatal.
    await publish_coordinator_commands(app.bot, app.renderer, {ADMIN_ID, 9001})
    activist_commands = [c for c, _ in app.renderer.commands("en")]
    for language in ("", "en", "ru"):
        menu = [c["command"] for c in emulator.commands(scope_type="chat", chat_id=ADMIN_ID, language_code=language)]
        assert menu == [
            *activist_commands,
            "import",
            "broadcast",
            "approval",
            "stats",
            "export",
            "update",
            "schedule",
            "broadcasts",
            "drafts",
            "audit",
            "coordinators",
            "reload",
            "cancel",
        ], language
    ru = {c["command"]: c["description"] for c in emulator.commands("chat", "ru", chat_id=ADMIN_ID)}
    assert ru["broadcast"] == "Отправить сообщение активистам"
    assert "broadcast" not in [c["command"] for c in emulator.commands()], "activists never see them"


async def test_a_coordinator_who_opens_the_bot_later_gets_the_menu_then(
    settings: Settings, redis, emulator: BotAPIEmulator, library: Library
) -> None:
    newcomer = 9002
    async with running(settings.model_copy(update={"admin_ids": frozenset({ADMIN_ID, newcomer})}), redis, library):
        assert not emulator.commands(scope_type="chat", chat_id=newcomer), "no chat yet at start-up"
        admin = Activist(emulator, newcomer, "Late", "en")
        await admin.send("/start")
        menu = [c["command"] for c in emulator.commands(scope_type="chat", chat_id=newcomer)]
        assert "broadcast" in menu and "import" in menu
        assert any(b.get("callback_data", "").startswith("lang:") for b in admin.buttons()), "and /start answers"
        calls = sum(c.method == "setMyCommands" for c in emulator.calls)
        await admin.send("/start ua-84-11")
        assert sum(c.method == "setMyCommands" for c in emulator.calls) == calls, "set once: not on every /start"


# --- the pieces without Telegram ---------------------------------------------------------------------


def test_chart_is_a_png_with_and_without_pledges() -> None:
    daily = parse_daily({"2012-05-10:letter": "2", "2012-05-12:email": "1", "garbage": "x", "2012-05-11:dance": "3"})
    assert daily == {"2012-05-10": {"letter": 2}, "2012-05-12": {"email": 1}}
    for data, deadline in ((daily, dt.date(2012, 5, 15)), (daily, dt.date(2030, 1, 1)), ({}, None)):
        png = pledges_chart(data, deadline, "UA 84/11", deadline_label="Deadline: 15 May 2012")
        assert png.startswith(PNG) and len(png) > 5_000


def test_stats_caption_of_many_cases_still_fits(app: App) -> None:
    figures = Figures(
        users=12_345,
        cases=[
            CaseFigures(f"case-{i:02}", 100 + i, {"letter": i, "email": 2}, {"2012-05-10": {"letter": i, "email": 2}})
            for i in range(40)
        ],
    )
    for lang in ("en", "ru"):
        caption = app.renderer.coordinator_stats(figures, {}, lang, dt.date(2012, 5, 12))
        assert len(visible_text(caption)) <= 1024 and "/export" in caption and "case-00" in caption
        full = app.renderer.coordinator_stats(figures, {}, lang, dt.date(2012, 5, 12), limit=4096)
        assert len(full) > len(caption)


def test_charts_and_aggregates_do_not_import_aiogram() -> None:
    code = "import sys, bot.render.charts, bot.pledges.aggregates; sys.exit(any(m.startswith('aiogram') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


async def test_a_send_cut_off_by_redis_is_said_not_retried_unseen(
    app: App, emulator: BotAPIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await coordinator(app, emulator)
    picker = await compose(admin)
    await admin.tap_data("bca:all", picker)

    async def away(*args: Any, **kwargs: Any) -> str:
        raise RedisConnectionError("Redis went away")

    monkeypatch.setattr(app.broadcasts, "enqueue", away)
    # The draft is taken before it is queued: handled again, the tap would find it taken and send nothing,
    # while the coordinator believed it sent. The error is said instead.
    await admin.tap_data("bcd:send:")
    said = await emulator.wait_for(lambda: admin.last if admin.last.get("text") != picker.get("text") else None)
    assert said["text"] == app.renderer.message("error", "en").strip()
    assert await app.broadcasts.recent() == []
