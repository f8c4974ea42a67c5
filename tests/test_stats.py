"""/stats and /export end to end, in English and Russian: the open cases side by side with the one that needs a push
most first, a case's own chart from its button, broadcasts marked, and the figures as a zip of one CSV per table.

The real bot, the emulator and a real Redis, with three open cases (content copied and changed in tmp_path).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from PIL import Image

from bot.app.wiring import App, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Payload, Purpose, State
from bot.delivery.timeline import sends_by_case
from bot.ground.settings import Settings
from bot.render.charts import BROADCAST_COLOUR, DEADLINE_COLOUR, PHOTO_PX
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from tests.conftest import ADMIN_ID, CONTENT

CASE, NEAR, PAST = "ua-84-11", "ua-60-16", "ua-12-26"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = NOW.date()
PEOPLE = (62_001, 62_002, 62_003)


def three_cases(root: Path) -> Path:
    """The seed case (deadline in ten days), one whose deadline is nearer (three days) and one past its deadline."""
    target = root / "content"
    shutil.copytree(CONTENT, target)
    data = yaml.safe_load((CONTENT / "cases" / f"{CASE}.yaml").read_text(encoding="utf-8"))
    changes = {
        CASE: {"deadline": (NOW + dt.timedelta(days=10)).isoformat()},
        NEAR: {"ua": "UA 60/16", "deadline": (NOW + dt.timedelta(days=3)).isoformat()},
        PAST: {"ua": "UA 12/26", "deadline": (NOW - dt.timedelta(days=2)).isoformat()},
    }
    titles = {
        NEAR: ("A defender at risk of torture", "Правозащитнице грозят пытки"),
        PAST: ("A student sentenced", "Студенту вынесен приговор"),
    }
    for case_id, change in changes.items():
        case = {**data, "id": case_id, "timezone": "UTC", **change}
        if case_id in titles:
            case["title"] = dict(zip(("en", "ru"), titles[case_id]))
        path = target / "cases" / f"{case_id}.yaml"
        path.write_text(yaml.safe_dump(case, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


@pytest.fixture
async def app(settings: Settings, redis, emulator: BotAPIEmulator, tmp_path: Path) -> AsyncIterator[App]:
    content = three_cases(tmp_path)
    emulator.limits = FloodLimits(chat_burst=30)
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
        yield app


async def coordinator(app: App, emulator: BotAPIEmulator, lang: str) -> Activist:
    admin = Activist(emulator, ADMIN_ID, "Coord", lang)
    await app.store.set_language(ADMIN_ID, lang)
    await app.store.start(ADMIN_ID)
    return admin


async def activity(app: App, emulator: BotAPIEmulator) -> str:
    """Followers of the seed case who wrote yesterday and today, one pledge on the past case, and a broadcast to the
    seed case's followers that has gone out; returns its id."""
    for user in PEOPLE:
        emulator.add_user(user, first_name=f"P{user}")
        await app.store.start(user)
        await app.store.subscribe(user, CASE)
    yesterday = TODAY - dt.timedelta(days=1)
    await app.store.pledge(PEOPLE[0], CASE, "letter", today=yesterday, official="chaika")
    await app.store.pledge(PEOPLE[1], CASE, "letter", today=TODAY, official="chaika")
    await app.store.pledge(PEOPLE[1], CASE, "email", today=TODAY, official="peshkov")
    await app.store.pledge(PEOPLE[2], PAST, "tweet", today=TODAY - dt.timedelta(days=20))
    bc_id = await app.broadcasts.enqueue(
        Payload("News of the case"), Audience(AudienceKind.case, CASE), created_by=ADMIN_ID
    )
    await emulator.wait_for(lambda: all(emulator.messages(user) for user in PEOPLE), timeout=10)
    for _ in range(50):
        if (await app.broadcasts.progress(bc_id)).state == State.done:
            break
        await emulator.wait_idle()
    # Its final report to the coordinators, before they ask for figures.
    await emulator.wait_for(lambda: emulator.outbox(ADMIN_ID), timeout=10)
    await emulator.wait_idle()
    return bc_id


async def ask_after_activity(
    app: App, emulator: BotAPIEmulator, lang: str, command: str, method: str
) -> tuple[Activist, dict]:
    """A coordinator sends `command` once there is activity(); the answer, which must have come by `method`."""
    admin = await coordinator(app, emulator, lang)
    await activity(app, emulator)
    await admin.send(command)
    entry = emulator.outbox(ADMIN_ID)[-1]
    assert entry["method"] == method, entry["message"].get("text")
    return admin, entry


def pixels(png: bytes, colour: str) -> int:
    """How many pixels of the picture have exactly this colour: a mark a coordinator sees."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return sum(count for count, rgb in image.getcolors(maxcolors=1 << 20) or [] if rgb == wanted)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_stats_shows_the_open_cases_side_by_side_the_nearest_deadline_first(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    admin, entry = await ask_after_activity(app, emulator, lang, "/stats", "sendPhoto")
    image = Image.open(io.BytesIO(entry["file_bytes"]))
    assert image.width == PHOTO_PX and image.height <= PHOTO_PX, "drawn at the size Telegram shows"
    caption = entry["message"]["caption"]
    assert len(caption) <= 1024
    # The nearest deadline first (no pledges yet, but three days left), then the seed case, then the one past.
    assert caption.index("UA 60/16") < caption.index("UA 84/11") < caption.index("UA 12/26"), caption
    seed = caption[caption.index("UA 84/11") : caption.index("UA 12/26")]
    subscribers, pledges = ("Subscribers: 3", "Pledges: 3") if lang == "en" else ("Подписчиков: 3", "Отметок: 3")
    assert subscribers in seed and pledges in seed and "📣 broadcasts: 1" in seed or lang == "ru" and "📣" in seed, seed
    near = caption[caption.index("UA 60/16") : caption.index("UA 84/11")]
    assert ("days left" if lang == "en" else "Срок") in near and "📣" not in near, "no broadcast went to its followers"
    title = "Tajik refused asylum-seeker disappeared" if lang == "en" else "Исчез гражданин Таджикистана"
    assert title in caption
    # The chart marks the broadcast and the deadlines.
    png = entry["file_bytes"]
    assert pixels(png, BROADCAST_COLOUR) > 50 and pixels(png, DEADLINE_COLOUR) > 50
    # A button per case, the same order, each opening that case's own chart.
    assert [b["callback_data"] for b in admin.buttons(entry["message"])] == [
        f"sts:{NEAR}",
        f"sts:{CASE}",
        f"sts:{PAST}",
    ]

    answer = await admin.tap_data(f"sts:{CASE}", entry["message"])
    assert "text" not in answer or not answer["text"], "no toast: the chart is the answer"
    one = emulator.outbox(ADMIN_ID)[-1]
    assert one["method"] == "sendPhoto" and one["message"]["message_id"] != entry["message"]["message_id"]
    text = one["message"]["caption"]
    assert "UA 84/11" in text and "UA 60/16" not in text and "UA 12/26" not in text
    chaika = "Yurii Ya. Chaika: ✉️ 2" if lang == "en" else "Ю. Я. Чайка: ✉️ 2"
    assert chaika in text and pledges in text
    assert "Broadcasts to its followers: 1" in text or lang == "ru"  # the Russian words come with the catalogue
    assert pixels(one["file_bytes"], BROADCAST_COLOUR) > 50


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_case_without_broadcasts_has_no_marks_and_a_named_case_is_that_case(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    admin = await coordinator(app, emulator, lang)
    await app.store.pledge(PEOPLE[0], NEAR, "letter", today=TODAY)
    await admin.send(f"/stats {NEAR}")
    entry = emulator.outbox(ADMIN_ID)[-1]
    assert entry["method"] == "sendPhoto"
    caption = entry["message"]["caption"]
    assert "UA 60/16" in caption and "UA 84/11" not in caption and "📣" not in caption
    assert pixels(entry["file_bytes"], BROADCAST_COLOUR) == 0 and pixels(entry["file_bytes"], DEADLINE_COLOUR) > 50


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_export_is_a_zip_of_one_csv_per_table_with_a_semicolon_variant(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    admin, entry = await ask_after_activity(app, emulator, lang, "/export", "sendDocument")
    assert entry["message"]["document"]["file_name"] == f"rrbot-figures-{TODAY.isoformat()}.zip"
    tables = read_zip(entry["file_bytes"], ",")
    assert sorted(tables) == ["pledges-per-day.csv", "pledges-per-official.csv", "subscribers.csv"]
    per_day = tables["pledges-per-day.csv"]
    assert per_day[0] == ["case", "date", "action", "count"]
    assert sorted(per_day[1:]) == sorted(
        [
            [CASE, (TODAY - dt.timedelta(days=1)).isoformat(), "letter", "1"],
            [CASE, TODAY.isoformat(), "letter", "1"],
            [CASE, TODAY.isoformat(), "email", "1"],
            [PAST, (TODAY - dt.timedelta(days=20)).isoformat(), "tweet", "1"],
        ]
    )
    # One table under one header: no blank line, no second header a spreadsheet's filter would stop at.
    assert sorted(tables["subscribers.csv"]) == sorted(
        [["case", "subscribers", "pledges"], [CASE, "3", "3"], [NEAR, "0", "0"], [PAST, "0", "1"]]
    )
    officials = tables["pledges-per-official.csv"]
    chaika = "Yurii Ya. Chaika" if lang == "en" else "Ю. Я. Чайка"
    assert officials[0] == ["case", "official", "name", "action", "count"]
    assert [CASE, "chaika", chaika, "letter", "2"] in officials
    for table in tables.values():
        assert all(str(user) not in str(table) for user in (*PEOPLE, ADMIN_ID))

    await admin.tap_data("exp:semicolon", entry["message"])
    semicolon = emulator.outbox(ADMIN_ID)[-1]
    assert semicolon["method"] == "sendDocument"
    assert semicolon["message"]["document"]["file_name"] == f"rrbot-figures-{TODAY.isoformat()}-semicolon.zip"
    assert read_zip(semicolon["file_bytes"], ";") == tables, "the same tables, separated by semicolons"
    assert "semicolons" in semicolon["message"]["caption"] or lang == "ru"


def read_zip(data: bytes, delimiter: str) -> dict[str, list[list[str]]]:
    """Each file of the zip: UTF-8 with a byte order mark (Excel reads Cyrillic right), one table, CRLF."""
    tables = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            raw = archive.read(name)
            assert raw.startswith(b"\xef\xbb\xbf"), name
            text = raw.decode("utf-8-sig")
            assert "\r\n\r\n" not in text and text.endswith("\r\n"), name
            rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
            assert len({len(row) for row in rows}) == 1, f"{name}: every row as wide as the header"
            tables[name] = rows
    return tables


async def test_strangers_can_neither_open_a_chart_nor_export(app: App, emulator: BotAPIEmulator) -> None:
    stranger = Activist(emulator, PEOPLE[0], "Ann", "en")
    await stranger.send("/start")
    stale = app.renderer.toast("stale_button", "en").text
    for data in (f"sts:{CASE}", "exp:semicolon"):
        assert (await stranger.press(stranger.last["message_id"], data)).get("text") == stale, data
    assert not [e for e in emulator.outbox(PEOPLE[0]) if e["method"] in ("sendPhoto", "sendDocument")]


async def test_a_broadcast_is_marked_on_the_cases_whose_followers_it_reached(
    app: App, emulator: BotAPIEmulator
) -> None:
    for user in PEOPLE:
        emulator.add_user(user, first_name=f"P{user}")
        await app.store.start(user)
    plain = await app.broadcasts.enqueue(Payload("To everyone"), Audience(AudienceKind.all))
    alert = await app.broadcasts.enqueue(
        Payload("A new case"), Audience(AudienceKind.all, follow=NEAR), purpose=Purpose("alert", "UA 60/16")
    )
    later = await app.broadcasts.enqueue(
        Payload("Tomorrow"), Audience(AudienceKind.all), send_at=NOW.timestamp() + 86_400
    )
    # The alert's post in the organisation's channel (bot.publishing.channel): no follower gets it.
    post = await app.broadcasts.enqueue_chats(
        Payload("A new case, in the channel"), [PEOPLE[0]], purpose=Purpose("channel", "UA 60/16")
    )
    await emulator.wait_for(lambda: all(len(emulator.messages(user)) == 2 for user in PEOPLE[1:]), timeout=15)
    for _ in range(50):
        states = [(await app.broadcasts.progress(b)).state for b in (plain, alert, post)]
        if states == [State.done, State.done, State.done]:
            break
        await emulator.wait_idle()
    refs = {CASE: "UA 84/11", NEAR: "UA 60/16", PAST: "UA 12/26"}
    marks = await sends_by_case(app.broadcasts, refs)
    # A message to everyone reached every case's followers; a case's alert is that case's; one not sent yet, none's.
    assert {case: len(times) for case, times in marks.items()} == {CASE: 1, NEAR: 2, PAST: 1}
    assert (await app.broadcasts.progress(later)).state == State.queued
