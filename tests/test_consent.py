"""Consent end to end: /start, /stop, a block, alerts that make followers, discreet mode. Through the emulator.

docs/AUDIENCES.md is the table these check; tests/test_audiences.py checks it on random histories.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from pathlib import Path

import yaml

from bot.app.wiring import App, running
from bot.content import Library
from bot.content.states import UpdateKind
from bot.delivery import Payload
from bot.delivery.audiences import chosen
from bot.ground.clock import utc_now
from bot.ground.settings import Settings
from bot.publishing.announce import announce, publish_update
from emulator import BotAPIEmulator
from emulator.journey import Activist
from scheduler import jobs
from tests.conftest import CONTENT
from tests.test_publishing import finished

CASE = "ua-84-11"
OTHER = "ua-99-01"
PEOPLE = list(range(8101, 8109))  # eight activists; 8107 sends /stop, 8108 blocks the bot


async def newcomer(emulator: BotAPIEmulator, user_id: int, lang: str = "en", start: str = "/start") -> Activist:
    person = Activist(emulator, user_id, f"P{user_id}", lang)
    await person.send(start)
    await person.tap_data(f"lang:{lang}:")
    return person


def received(person: Activist, since: int, marker: str) -> bool:
    return any(marker in m.get("text", "") for m in person.messages[since:])


async def sent_to(app: App, emulator: BotAPIEmulator, people: dict[int, Activist], bc_id: str, marker: str) -> set[int]:
    """Who got the broadcast (by a word of it), once it is done."""
    await finished(app, bc_id)
    await emulator.wait_idle()
    return {chat for chat, person in people.items() if received(person, 0, marker)}


async def test_stop_and_a_block_keep_people_out_of_every_send_until_they_come_back(
    app: App, emulator: BotAPIEmulator
) -> None:
    people = {chat: await newcomer(emulator, chat, "ru" if chat % 2 else "en") for chat in PEOPLE}
    assert all([await app.store.gets_alerts(chat) for chat in PEOPLE]), "/start asks for alerts"
    stop = await people[8107].send("/stop")
    assert "/start" in stop["text"] and "/forget" in stop["text"]
    emulator.block(8108)
    await emulator.wait_idle()
    assert (await app.store.user(8108)).is_new, "a block forgets the person at once"

    everyone = await app.broadcasts.enqueue(Payload("Everyone-1"), chosen("all"))
    assert await sent_to(app, emulator, people, everyone, "Everyone-1") == set(PEOPLE[:6])

    case = app.library.get(CASE)
    alert = await announce(app.broadcasts, app.renderer, case, utc_now())
    assert alert is not None
    await finished(app, alert)
    await emulator.wait_idle()
    alerted = {chat for chat, person in people.items() if any("📢" in m.get("text", "") for m in person.messages)}
    assert alerted == set(PEOPLE[:6])
    card = people[8101].messages[-1]
    assert "Unsubscribe" in card["text"] or "Отписаться" in card["text"], "the card says they now follow it"
    # Whoever got the alert follows the case: stats, the CLI and the update preview count them.
    stats = await app.store.stats([CASE])
    assert stats["cases"][CASE]["subscribers"] == 6 == await app.broadcasts.count(chosen("case", CASE))

    _, update = await publish_update(
        app.broadcasts, app.renderer, app.cases, case, UpdateKind.news, "Update-1 text", utc_now()
    )
    assert await sent_to(app, emulator, people, update, "Update-1") == set(PEOPLE[:6])

    # Coming back: /stop is undone by /start; after a block, /start is a first visit.
    back = await people[8107].send("/start")
    assert "Welcome back" in back["text"] or "С возвращением" in back["text"], "a word that they are back"
    emulator.unblock(8108)
    await emulator.wait_idle()
    picker = await people[8108].send("/start")
    assert "lang:" in str(picker.get("reply_markup")), "a fresh start asks for the language again"
    await people[8108].tap_data("lang:en:")
    again = await app.broadcasts.enqueue(Payload("Everyone-2"), chosen("all"))
    assert await sent_to(app, emulator, people, again, "Everyone-2") == set(PEOPLE)
    # Neither got the alert, so neither follows its case: an update still reaches the six.
    _, second = await publish_update(
        app.broadcasts, app.renderer, app.cases, app.library.get(CASE), UpdateKind.news, "Update-2 text", utc_now()
    )
    assert await sent_to(app, emulator, people, second, "Update-2") == set(PEOPLE[:6])


async def test_choosing_a_language_or_reminders_subscribes_nobody(app: App, emulator: BotAPIEmulator) -> None:
    person = Activist(emulator, 8201, "Quiet", "en")
    await person.send("/language")
    await person.tap_data("lang:ru:")
    await person.send("/reminders off")
    await person.send("/help")
    await person.send("/cases")
    await person.tap_data(f"card:{CASE}")
    assert not await app.store.gets_alerts(8201)
    assert not await app.store.is_subscribed(8201, CASE)
    assert await app.broadcasts.count(chosen("all")) == 0


async def test_the_welcome_lets_people_browse_without_alerts(app: App, emulator: BotAPIEmulator) -> None:
    person = await newcomer(emulator, 8301)
    welcome = person.last
    assert "alert when a new case opens" in welcome["text"]
    await person.tap_data("alerts:off")
    assert not await app.store.gets_alerts(8301)
    assert "browsing without alerts" in person.last["text"]
    assert "alerts:on" in str(person.last["reply_markup"]), "and the way back is on the same screen"
    await person.tap_data("alerts:on")
    assert await app.store.gets_alerts(8301)


async def test_a_subscribe_tap_after_stop_restores_what_the_person_had(app: App, emulator: BotAPIEmulator) -> None:
    person = await newcomer(emulator, 8401, start=f"/start {CASE}")
    assert not await app.store.gets_alerts(8401), "a case's link follows the case, it asks for no alerts"
    await person.send("/start")
    await person.send("/stop")
    assert not await app.store.gets_alerts(8401) and not await app.store.is_subscribed(8401, CASE)
    await person.send("/cases")
    await person.tap_data(f"card:{CASE}")
    answer = await person.tap_data(f"sub:{CASE}")
    assert "Welcome back" in answer["text"] and "your case again" in answer["text"]
    assert await app.store.gets_alerts(8401) and await app.store.is_subscribed(8401, CASE)


async def test_start_respects_alerts_switched_off(app: App, emulator: BotAPIEmulator) -> None:
    person = await newcomer(emulator, 8402)
    await person.tap_data("alerts:off")
    await person.send("/start")
    assert not await app.store.gets_alerts(8402), "/start to get back to the menu keeps the choice"
    assert "alerts:on" in str(person.last["reply_markup"])
    await person.send("/stop")
    await person.send("/start")
    assert not await app.store.gets_alerts(8402), "and so does coming back from /stop"


async def test_discreet_mode_disguises_protects_and_deletes(app: App, emulator: BotAPIEmulator) -> None:
    person = await newcomer(emulator, 8501)
    menu = await person.send("/discreet")
    assert "Auto-Delete" in menu["text"], "it says how to set Telegram's own timer"
    await person.tap_data("disc:1h")
    assert "✅" in str(person.buttons()[1]["text"]), "the choice is ticked"

    cases = await person.send("/cases")  # an answer
    bc_id = await app.broadcasts.enqueue(Payload("<b>Secret</b> case news"), chosen("all"))  # a broadcast
    await finished(app, bc_id)
    await emulator.wait_idle()
    news = person.last
    for message in (cases, news):
        assert message["text"].startswith("📩 New message\n\n"), message["text"]
        assert message.get("has_protected_content"), "no forwarding, no saving"
    assert news["text"].endswith("Secret case news")

    # An hour later the bot deletes what it sent (its sweep runs every few seconds).
    app.discreet.clock = lambda: utc_now().timestamp() + 3601
    gone = {cases["message_id"], news["message_id"]}
    await emulator.wait_for(lambda: not gone & {m["message_id"] for m in person.messages}, timeout=10)

    await person.send("/discreet")
    await person.tap_data("disc:off")
    plain = await person.send("/cases")
    assert not plain["text"].startswith("📩") and not plain.get("has_protected_content")


async def test_forget_leaves_nothing_that_could_reach_the_person(app: App, emulator: BotAPIEmulator) -> None:
    person = await newcomer(emulator, 8601, start=f"/start {CASE}")
    await person.send("/discreet")
    await person.tap_data("disc:1d")
    listed = await person.send("/cases")
    await person.send("/forget")
    await person.tap_data("forget:yes")
    assert not await app.store.gets_alerts(8601) and not await app.store.is_subscribed(8601, CASE)
    assert app.discreet.mode(8601) is None
    assert await app.store.redis.zcard(app.store.key("{discreet}", "sweep")) == 0, "no deletion left naming them"
    assert listed["message_id"] not in {m["message_id"] for m in person.messages}, "what was to go went now"
    assert await app.broadcasts.count(chosen("all")) == 0
    picker = await person.send("/start")
    assert "lang:" in str(picker.get("reply_markup")), "a later /start starts from scratch"


# --- deadline reminders: to those who have not written, once a day ------------------------------------------


def two_cases(root: Path, first: dt.datetime, second: dt.datetime) -> Path:
    """The seed case and a copy of it, each with one reminder 48 h before its own deadline."""
    target = root / "content"
    shutil.copytree(CONTENT, target)
    data = yaml.safe_load((CONTENT / "cases" / f"{CASE}.yaml").read_text(encoding="utf-8"))
    for case_id, deadline in ((CASE, first), (OTHER, second)):
        changed = {**data, "id": case_id, "deadline": deadline.isoformat(), "timezone": "UTC", "reminders": ["48h"]}
        if case_id == OTHER:
            changed["title"] = {"en": "A second appeal", "ru": "Второй призыв"}
        path = target / "cases" / f"{case_id}.yaml"
        path.write_text(yaml.safe_dump(changed, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


async def test_one_reminder_a_day_lists_every_due_case_and_what_the_person_did(
    settings: Settings, redis, emulator: BotAPIEmulator, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    first, second = now + dt.timedelta(days=3), now + dt.timedelta(days=3, hours=5)
    content = two_cases(tmp_path, first, second)
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
        both, posted, wrote, off = (Activist(emulator, chat, f"R{chat}") for chat in (8701, 8702, 8703, 8704))
        for person in (both, posted, wrote, off):
            await app.store.set_language(person.user_id, "en")
            for case_id in (CASE, OTHER):
                await app.store.subscribe(person.user_id, case_id)
        await app.store.pledge(posted.user_id, CASE, "tweet")  # posted on X: not writing to an official
        await app.store.pledge(wrote.user_id, CASE, "email")  # wrote for the first case only
        await app.store.set_reminders(off.user_id, False)
        ctx = app.scheduler.ctx
        assert ctx is not None
        at = (first - dt.timedelta(hours=48)).timestamp()
        await jobs.deadline_reminder(ctx, CASE, "48h", at)
        await emulator.wait_for(lambda: all(p.messages for p in (both, posted, wrote)), timeout=15)
        await emulator.wait_idle()

        text = both.last["text"]
        assert "Tajik" in text and "A second appeal" in text, "both due cases in one message"
        assert {b["callback_data"] for b in both.buttons()} == {f"act:{CASE}", f"act:{OTHER}"}
        assert "Already done: post on X" in posted.last["text"], "it says what they did do"
        assert "not written to an official" in posted.last["text"]
        assert "A second appeal" in wrote.last["text"] and "Tajik" not in wrote.last["text"]
        assert not off.messages, "/reminders off is respected"

        # The second case's own reminder, five hours later, reaches nobody who got one today.
        await jobs.deadline_reminder(ctx, OTHER, "48h", (second - dt.timedelta(hours=48)).timestamp())
        await asyncio.sleep(1.5)
        await emulator.wait_idle()
        assert [len(p.messages) for p in (both, posted, wrote)] == [1, 1, 1]


def test_the_neutral_line_fits_long_texts_entities_and_edits() -> None:
    """Discreet mode's disguise never breaks a message: Telegram's limit, entity offsets, edits."""
    from aiogram.methods import EditMessageText, SendMessage
    from aiogram.types import MessageEntity

    from bot.ground.discreet import DiscreetChats, Discretion
    from bot.telegram.discreet import DiscreetRequests

    disguise = DiscreetRequests(DiscreetChats(None), lambda lang: "📩 New message")._disguised  # type: ignore[arg-type]
    found = Discretion("1h", "en")

    short = disguise(SendMessage(chat_id=1, text="<b>Case</b> news"), found)
    assert short.text == "<i>📩 New message</i>\n\n<b>Case</b> news" and short.protect_content

    full = "x" * 4085  # with the line (14 UTF-16 units: 📩 counts two) and two newlines it would pass 4096
    too_long = disguise(SendMessage(chat_id=1, text=full), found)
    assert too_long.text == full and too_long.protect_content, "then it goes without the line, still protected"

    plain = disguise(
        SendMessage(chat_id=1, text="Nizomkhon is safe", entities=[MessageEntity(type="bold", offset=0, length=9)]),
        found,
    )
    assert plain.text == "📩 New message\n\nNizomkhon is safe"
    start = plain.entities[0].offset
    assert plain.text.encode("utf-16-le")[2 * start : 2 * (start + 9)].decode("utf-16-le") == "Nizomkhon"

    edited = disguise(EditMessageText(chat_id=1, message_id=5, text="Letter"), found)
    assert edited.text.startswith("<i>📩 New message</i>") and not hasattr(edited, "protect_content")


async def test_the_alerts_switch_on_an_old_screen_does_not_undo_stop(app: App, emulator: BotAPIEmulator) -> None:
    person = await newcomer(emulator, 8403)
    welcome = person.last
    await person.tap_data(f"card:{CASE}", welcome)
    await person.tap_data(f"sub:{CASE}")
    await person.send("/stop")
    answer = await person.press(welcome["message_id"], "alerts:off")
    assert "/start" in answer["text"], "the toast says nothing is sent until /start"
    assert not await app.store.is_subscribed(8403, CASE) and (await app.store.user(8403)).stopped
    await person.send("/start")
    assert await app.store.is_subscribed(8403, CASE), "back: the follow is restored"
    assert not await app.store.gets_alerts(8403), "and the choice made meanwhile holds"
