"""Quiet hours: who waits for their morning and until when, across zones and DST; a night in the emulator, in
English and Russian: a message that can wait arrives at the person's morning, an urgent one at once without a
sound; /settings sets the zone."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.app.wiring import App, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Payload, Progress, State
from bot.ground.privacy import Pseudonymizer, privacy_key
from bot.ground.quiet import QuietHours, find_zone, zone_of
from bot.ground.settings import Settings
from bot.pledges.store import Store
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from tests.conftest import ADMIN_ID
from tests.test_scheduler import CASE, write_content

NIGHT = QuietHours()  # 21:00 to 08:00


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


# --- who waits, and until when ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "zone", "morning"),
    [
        # 23:30 in Moscow (UTC+3): tomorrow's 08:00 there, 05:00 UTC
        (utc(2026, 12, 4, 20, 30), "Europe/Moscow", utc(2026, 12, 5, 5)),
        # 03:00 in Moscow: this morning's 08:00
        (utc(2026, 12, 4, 0, 0), "Europe/Moscow", utc(2026, 12, 4, 5)),
        # 21:00 sharp in Berlin (UTC+1 in winter): the night has begun
        (utc(2026, 12, 4, 20, 0), "Europe/Berlin", utc(2026, 12, 5, 7)),
        # 07:59 in New York (UTC-5): a minute to go
        (utc(2026, 12, 4, 12, 59), "America/New_York", utc(2026, 12, 4, 13, 0)),
        # Kathmandu is UTC+5:45: 22:45 there, 08:00 is 02:15 UTC
        (utc(2026, 12, 4, 17, 0), "Asia/Kathmandu", utc(2026, 12, 5, 2, 15)),
    ],
)
def test_a_person_in_their_night_waits_for_their_0800(now: dt.datetime, zone: str, morning: dt.datetime) -> None:
    assert NIGHT.is_night(now, ZoneInfo(zone))
    assert NIGHT.morning(now, ZoneInfo(zone)) == morning


@pytest.mark.parametrize(
    ("now", "zone"),
    [
        (utc(2026, 12, 4, 5, 0), "Europe/Moscow"),  # 08:00 sharp: morning
        (utc(2026, 12, 4, 17, 59), "Europe/Moscow"),  # 20:59
        (utc(2026, 12, 4, 20, 30), "America/New_York"),  # 15:30
    ],
)
def test_a_person_in_their_day_does_not_wait(now: dt.datetime, zone: str) -> None:
    assert not NIGHT.is_night(now, ZoneInfo(zone))
    assert NIGHT.morning(now, ZoneInfo(zone)) is None


def test_the_night_before_a_clock_change_ends_at_0800_by_the_new_clock() -> None:
    # Berlin, 28 to 29 March 2026: clocks go forward at 02:00, the night is an hour shorter.
    evening = utc(2026, 3, 28, 21, 30)  # 22:30 CET
    morning = NIGHT.morning(evening, ZoneInfo("Europe/Berlin"))
    assert morning == utc(2026, 3, 29, 6, 0)  # 08:00 CEST
    assert morning - evening == dt.timedelta(hours=8, minutes=30)
    # New York, 31 October to 1 November 2026: clocks go back, the night is an hour longer.
    evening = utc(2026, 11, 1, 1, 0)  # 21:00 EDT on 31 October
    morning = NIGHT.morning(evening, ZoneInfo("America/New_York"))
    assert morning == utc(2026, 11, 1, 13, 0)  # 08:00 EST
    assert morning - evening == dt.timedelta(hours=12)


def test_the_zone_is_the_chosen_one_else_a_guess_from_the_language_else_unknown() -> None:
    with time_machine.travel(utc(2026, 12, 4, 20, 30), tick=False):  # 23:30 in Moscow, 20:30 in London
        now = dt.datetime.now(dt.UTC)
        assert NIGHT.wait_until(now, None, "ru") == utc(2026, 12, 5, 5).timestamp(), "Russian: Moscow's night"
        assert NIGHT.wait_until(now, "Europe/London", "ru") is None, "their own choice comes first"
        assert NIGHT.wait_until(now, None, "en") is None, "English gives no guess: no quiet hours"
        assert NIGHT.wait_until(now, "Atlantis/Nowhere", "en") is None, "a zone gone from the system: none"
        assert NIGHT.quiet_now(now, "Asia/Tokyo", "en"), "05:30 in Tokyo"
    assert zone_of(None, "ru") == ZoneInfo("Europe/Moscow")
    assert zone_of(None, None) is None


def test_a_window_that_does_not_cross_midnight_and_none_at_all() -> None:
    afternoon = QuietHours(dt.time(13), dt.time(15))
    assert afternoon.is_night(utc(2026, 12, 4, 14), ZoneInfo("UTC"))
    assert afternoon.morning(utc(2026, 12, 4, 14), ZoneInfo("UTC")) == utc(2026, 12, 4, 15)
    assert not afternoon.is_night(utc(2026, 12, 4, 16), ZoneInfo("UTC"))
    assert not QuietHours.parse("00:00-00:00").is_night(utc(2026, 12, 4, 3), ZoneInfo("UTC"))
    assert QuietHours.parse("21:00-08:00") == NIGHT


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Moscow", "Europe/Moscow"),
        ("москва", "Europe/Moscow"),
        ("new york", "America/New_York"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("asia/tokyo", "Asia/Tokyo"),
        ("UTC+3", "Etc/GMT-3"),
        ("gmt-5", "Etc/GMT+5"),
        ("Новосибирск", "Asia/Novosibirsk"),
        ("Gotham", None),
        ("", None),
    ],
)
def test_a_typed_city_or_zone_is_found(typed: str, zone: str | None) -> None:
    assert find_zone(typed) == zone


# --- through the emulator ----------------------------------------------------------------------------------


def window_around_now(zone: str, before: dt.timedelta, after: dt.timedelta) -> str:
    """Quiet hours that began `before` and end `after` from now in that zone (seconds kept): a night of a few
    seconds, so that its morning comes within the test."""
    local = dt.datetime.now(ZoneInfo(zone))
    start, end = (local - before).time(), (local + after).time()
    return f"{start:%H:%M:%S}-{end:%H:%M:%S}"


@pytest.fixture
async def night_app(settings: Settings, redis, library: Library) -> AsyncIterator[App]:
    # Tokyo's night ends four seconds from now (a new App per test: the window is read at start-up).
    quiet = window_around_now("Asia/Tokyo", dt.timedelta(hours=1), dt.timedelta(seconds=4))
    async with running(settings.model_copy(update={"quiet_hours": quiet}), redis, library) as app:
        yield app


async def until(app: App, bc_id: str, check: Callable[[Progress], bool], timeout: float = 15) -> Progress:
    async def poll() -> Progress:
        while True:
            progress = await app.broadcasts.progress(bc_id)
            if check(progress):
                return progress
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(poll(), timeout)


def sends_to(emulator: BotAPIEmulator, chat: int, text: str) -> list[dict]:
    return [
        c.params
        for c in emulator.calls
        if c.method == "sendMessage"
        and str(c.params.get("chat_id")) == str(chat)
        and text in str(c.params.get("text", ""))
    ]


async def test_a_message_that_can_wait_reaches_a_person_in_their_night_at_their_morning(
    night_app: App, emulator: BotAPIEmulator
) -> None:
    night = Activist(emulator, 7001, "Aiko")
    day = Activist(emulator, 7002, "Bob")
    await night.send("/start")
    await day.send("/start")
    screen = await night.send("/settings")
    assert "not set" in screen["text"], "English gives no guess"
    answer = await night.send("Tokyo")
    assert "Timezone: Tokyo (UTC+9)" in answer["text"]
    assert await night_app.store.redis.hget(night_app.store.key("user", 7001), "tz") == "Asia/Tokyo"

    bc_id = await night_app.broadcasts.enqueue(
        Payload("🗞 Weekly news: the trial is on Monday."), Audience(AudienceKind.all), created_by=None
    )
    progress = await until(night_app, bc_id, lambda p: p.delivered == 1 and p.waiting == 1, timeout=3)
    assert progress.left == 1 and not progress.state.finished, "one waits: the broadcast is not over"
    assert sends_to(emulator, day.user_id, "Weekly news"), "the person whose zone is unknown got it at once"
    assert not sends_to(emulator, night.user_id, "Weekly news"), "the person in their night did not"

    progress = await until(night_app, bc_id, lambda p: p.state.finished)
    assert (progress.delivered, progress.waiting, progress.left) == (2, 0, 0)
    sent = sends_to(emulator, night.user_id, "Weekly news")
    assert len(sent) == 1, "once, at their morning"
    assert not sent[0].get("disable_notification"), "in the morning, with a sound"
    assert len(sends_to(emulator, day.user_id, "Weekly news")) == 1


async def test_an_urgent_message_goes_at_once_without_a_sound_in_russian(
    settings: Settings, redis, library: Library, emulator: BotAPIEmulator
) -> None:
    # Moscow's night: an hour ago to an hour from now. A Russian speaker who chose no zone is guessed in Moscow.
    quiet = window_around_now("Europe/Moscow", dt.timedelta(hours=1), dt.timedelta(hours=1))
    async with running(settings.model_copy(update={"quiet_hours": quiet}), redis, library) as app:
        olga = Activist(emulator, 7101, "Ольга", language_code="ru")
        await olga.send("/start")
        await olga.tap_data("lang:ru")
        screen = await olga.send("/settings")
        assert "(UTC+3)" in screen["text"] and "✅" in olga.button("UTC+3")["text"], "Moscow, guessed"

        urgent = await app.broadcasts.enqueue(
            Payload("🚨 Срочно: суд завтра.", urgent=True), Audience(AudienceKind.all)
        )
        await until(app, urgent, lambda p: p.state.finished, timeout=5)
        sent = sends_to(emulator, olga.user_id, "Срочно")
        assert len(sent) == 1 and sent[0].get("disable_notification") in (True, "true"), "at once, silently"

        later = await app.broadcasts.enqueue(Payload("🗞 Новости недели."), Audience(AudienceKind.all))
        progress = await until(app, later, lambda p: p.waiting == 1, timeout=5)
        assert progress.delivered == 0 and not sends_to(emulator, olga.user_id, "Новости")
        await asyncio.sleep(0.5)
        assert (await app.broadcasts.progress(later)).waiting == 1, "still waiting: her morning is an hour away"

        # She is in fact in Tokyo, where it is day now (the night is Moscow's hour): the next one comes at once.
        await olga.send("/settings")
        await olga.send("Токио")
        assert await app.store.redis.hget(app.store.key("user", 7101), "tz") == "Asia/Tokyo"
        again = await app.broadcasts.enqueue(Payload("🗞 Ещё новости."), Audience(AudienceKind.all))
        await until(app, again, lambda p: p.state.finished, timeout=5)
        assert len(sends_to(emulator, olga.user_id, "Ещё новости")) == 1
        cancelled = await app.broadcasts.set_state(later, State.cancelled)
        assert cancelled.waiting == 0 and not sends_to(emulator, olga.user_id, "Новости"), "cancelled: nobody waits"


async def test_a_zone_tapped_in_settings_is_kept_and_shown_in_mydata(app: App, emulator: BotAPIEmulator) -> None:
    ann = Activist(emulator, 7201, "Ann")
    await ann.send("/start")
    await ann.send("/settings")
    await ann.tap("Berlin")
    assert "✅ Berlin" in ann.button("Berlin")["text"]
    assert await app.store.redis.hget(app.store.key("user", 7201), "tz") == "Europe/Berlin"
    # The screen still offers to type a place: typed after the tap, it counts; an offset reads as people write it.
    set_to = await ann.send("UTC+5")
    assert "Timezone: UTC+5 (UTC+5)" in set_to["text"], set_to["text"]
    assert await app.store.redis.hget(app.store.key("user", 7201), "tz") == "Etc/GMT-5"
    await ann.send("/settings")
    await ann.tap("Berlin")
    mydata = await ann.send("/mydata")
    assert "Timezone: Berlin" in mydata["text"]
    await ann.send("/settings")
    await ann.tap("As my language suggests")
    assert await app.store.redis.hget(app.store.key("user", 7201), "tz") is None
    assert "not set" in ann.last["text"]


async def test_a_coordinator_marks_a_send_urgent_and_sees_who_waits_for_morning(
    settings: Settings, redis, library: Library, emulator: BotAPIEmulator
) -> None:
    emulator.limits = FloodLimits(chat_burst=30)  # a coordinator typing faster than any
    quiet = window_around_now("Europe/Moscow", dt.timedelta(hours=1), dt.timedelta(hours=1))
    async with running(settings.model_copy(update={"quiet_hours": quiet}), redis, library) as app:
        olga = Activist(emulator, 7301, "Ольга", language_code="ru")
        await app.store.set_language(olga.user_id, "ru")  # no zone chosen: Moscow, guessed
        await app.store.start(olga.user_id)
        admin = Activist(emulator, ADMIN_ID, "Coord", "en")
        await app.store.set_language(ADMIN_ID, "en")

        await admin.send("/broadcast")
        await admin.send("Court hearing moved to tomorrow")
        await admin.tap_data("bca:all")
        confirm = admin.last
        assert "Not urgent" in admin.button("urgent", confirm)["text"]
        toast = await admin.tap("urgent", confirm)
        assert "at once, without a sound" in toast["text"]
        assert "Urgent: now" in admin.button("urgent", admin.emu.messages(ADMIN_ID)[-1])["text"]
        await admin.tap_data("bcd:send:")
        [record] = await app.broadcasts.recent()
        await until(app, record.id, lambda p: p.state.finished, timeout=5)
        sent = sends_to(emulator, olga.user_id, "Court hearing")
        assert len(sent) == 1 and sent[0].get("disable_notification") in (True, "true")

        # Not urgent (the default): it waits for her morning, and the coordinator's progress message says so.
        await admin.send("/broadcast")
        await admin.send("Weekly digest")
        await admin.tap_data("bca:all")
        await admin.tap_data("bcd:send:")
        record = (await app.broadcasts.recent())[0]
        await until(app, record.id, lambda p: p.waiting == 1, timeout=5)
        await emulator.wait_for(
            lambda: any("waits for their morning" in m.get("text", "") for m in emulator.messages(ADMIN_ID)),
            timeout=5,
        )
        assert not sends_to(emulator, olga.user_id, "Weekly digest")
        # /broadcasts says the same of it, not "sending".
        await until(app, record.id, lambda p: p.left == p.waiting, timeout=5)
        listing = await admin.send("/broadcasts")
        assert "Weekly digest" in listing["text"] and "waiting for morning" in listing["text"], listing["text"]
        await app.broadcasts.set_state(record.id, State.cancelled)


async def test_stop_takes_a_sleeper_out_of_the_night(night_app: App, emulator: BotAPIEmulator) -> None:
    aiko = Activist(emulator, 7401, "Aiko")
    await aiko.send("/start")
    await night_app.store.set_timezone(aiko.user_id, "Asia/Tokyo")
    bc_id = await night_app.broadcasts.enqueue(Payload("🗞 Digest."), Audience(AudienceKind.all))
    await until(night_app, bc_id, lambda p: p.waiting == 1, timeout=3)
    await aiko.send("/stop")
    assert (await night_app.broadcasts.progress(bc_id)).waiting == 0
    await until(night_app, bc_id, lambda p: p.state.finished, timeout=15)  # due again at her morning: nobody left
    assert not sends_to(emulator, aiko.user_id, "Digest")


async def test_the_rest_of_a_text_in_parts_is_not_cut_for_the_night(night_app: App, emulator: BotAPIEmulator) -> None:
    """Her first part went before her night began: the second follows at once, silently, not at her morning."""
    aiko = Activist(emulator, 7402, "Aiko")
    await aiko.send("/start")
    await night_app.store.set_timezone(aiko.user_id, "Asia/Tokyo")
    bc_id = await night_app.broadcasts.enqueue(
        Payload("🗞 Part one.", more=["🗞 Part two."]), Audience(AudienceKind.all), send_at=time.time() + 1.0
    )
    await night_app.broadcasts.part_sent(bc_id, aiko.user_id, 1)  # as if part one had gone in her evening
    queued = time.time()
    await until(night_app, bc_id, lambda p: p.state.finished, timeout=15)
    [second] = [c for c in emulator.calls if c.method == "sendMessage" and "Part two" in str(c.params.get("text"))]
    assert second.at - queued < 2.5, "at once, not at her morning (4 s away)"
    assert second.params.get("disable_notification") in (True, "true"), "silently: it is her night"
    assert not sends_to(emulator, aiko.user_id, "Part one")


@pytest.mark.parametrize("hours_left", [48, 1])
async def test_a_deadline_reminder_waits_for_morning_unless_the_deadline_is_near(
    settings: Settings, redis, emulator: BotAPIEmulator, tmp_path: Path, hours_left: int
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    deadline = now + dt.timedelta(hours=hours_left)
    # Fires eight seconds from now, an exact instant before the deadline.
    offset = f"{int((deadline - now).total_seconds()) - 8}s"
    content = write_content(tmp_path, deadline=deadline.isoformat(), timezone="UTC", reminders=[offset])
    store = Store(redis, Pseudonymizer(privacy_key(settings)))
    ivan = Activist(emulator, 7501, "Иван", language_code="ru")
    await store.set_language(ivan.user_id, "ru")  # Moscow, guessed
    await store.subscribe(ivan.user_id, CASE)
    quiet = window_around_now("Europe/Moscow", dt.timedelta(hours=1), dt.timedelta(hours=1))
    config = settings.model_copy(update={"content_dir": content, "quiet_hours": quiet})
    async with running(config, redis, Library.load(content)) as app:

        async def reminder() -> Progress | None:
            return next((p for p in await app.broadcasts.recent() if p.purpose and p.purpose.kind == "reminder"), None)

        async def seen() -> bool:
            return (progress := await reminder()) is not None and (progress.waiting or progress.state.finished)

        await emulator.wait_for(seen, timeout=20)
        progress = await reminder()
        assert progress is not None
        sent = [
            c.params for c in emulator.calls if c.method == "sendMessage" and c.params.get("chat_id") in (7501, "7501")
        ]
        if hours_left == 48:
            assert progress.waiting == 1 and not sent, "two days left: it waits for his morning"
            await app.broadcasts.set_state(progress.id, State.cancelled)
        else:
            assert progress.delivered == 1 and len(sent) == 1, "an hour left: at once"
            assert sent[0].get("disable_notification") in (True, "true"), "and without a sound"
