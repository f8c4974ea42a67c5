"""A send planned ahead takes its time as coordinators write it: "tomorrow 18:00", «через 2 часа», 15.12.2026 10:00.

The reading against a fixed clock in both languages and across a change of clocks; what a coordinator is told
about a time that has passed, one too far ahead, a day without a time and a text that is no time; the time step
in chat (English and Russian) and `rrbot broadcast --at`.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.app.wiring import App, running
from bot.cli.broadcast import refused_time
from bot.content import Library
from bot.ground.i18n import UI_LANGUAGES, load_translations
from bot.ground.settings import Settings
from bot.ground.when import MAX_AHEAD, Verdict, read_time
from bot.render import Renderer
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import ADMIN_ID, CONTENT, ROOT
from tests.test_lifecycle import cli_env, rrbot

pytestmark = pytest.mark.timeout(120)  # the command line's runs start Python afresh

UTC = dt.UTC
BERLIN, MOSCOW = "Europe/Berlin", "Europe/Moscow"
# Friday 4 December 2026, 21:30 in Berlin, 23:30 in Moscow.
NOW = dt.datetime(2026, 12, 4, 20, 30, tzinfo=UTC)


def local(zone: str, *parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(CONTENT / "templates", load_translations(CONTENT / "locales"), bot_username="b")


# --- the reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", UI_LANGUAGES)
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow 18:00", (2026, 12, 5, 18, 0)),
        ("tomorrow at 6pm", (2026, 12, 5, 18, 0)),
        ("in 2 hours", (2026, 12, 4, 23, 30)),
        ("15.12.2026 10:00", (2026, 12, 15, 10, 0)),
        ("Dec 15 10:00", (2026, 12, 15, 10, 0)),
        ("2026-12-31 18:00", (2026, 12, 31, 18, 0)),
        ("18:00", (2026, 12, 5, 18, 0)),  # late in the evening, 18:00 is tomorrow's
        ("завтра в 18:00", (2026, 12, 5, 18, 0)),
        ("завтра 18:00", (2026, 12, 5, 18, 0)),
        ("через 2 часа", (2026, 12, 4, 23, 30)),
        ("15 декабря 10:00", (2026, 12, 15, 10, 0)),
        ("15 декабря в 10:00", (2026, 12, 15, 10, 0)),
        ("послезавтра в 10:00", (2026, 12, 6, 10, 0)),
        ("  15.12.2026   10:00 ", (2026, 12, 15, 10, 0)),
    ],
)
def test_times_as_people_write_them_are_read_in_their_zone(text: str, expected: tuple[int, ...], lang: str) -> None:
    reading = read_time(text, BERLIN, NOW, lang)
    assert reading.verdict is Verdict.ok, reading
    assert reading.at == local(BERLIN, *expected)
    assert reading.at.tzinfo == ZoneInfo(BERLIN), "shown back in the coordinator's zone"


def test_a_time_with_its_own_zone_keeps_it() -> None:
    assert read_time("2026-12-31T18:00+00:00", BERLIN, NOW).at == dt.datetime(2026, 12, 31, 18, 0, tzinfo=UTC)
    assert read_time("tomorrow 18:00 UTC", BERLIN, NOW).at == dt.datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


ZONES = st.sampled_from([BERLIN, MOSCOW, "UTC", "America/New_York", "Asia/Tokyo", "Australia/Sydney"])
NOWS = st.datetimes(dt.datetime(2026, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(UTC))


@settings(max_examples=60, deadline=None)
@given(now=NOWS, zone=ZONES, lang=st.sampled_from(UI_LANGUAGES))
def test_tomorrow_is_the_next_day_on_the_coordinators_calendar(now: dt.datetime, zone: str, lang: str) -> None:
    today = now.astimezone(ZoneInfo(zone)).date()
    expected = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(18, 0), ZoneInfo(zone))
    for text in ("tomorrow 18:00", "завтра в 18:00"):
        reading = read_time(text, zone, now, lang)
        assert (reading.verdict, reading.at) == (Verdict.ok, expected), text


@settings(max_examples=60, deadline=None)
@given(now=NOWS, zone=ZONES, hours=st.integers(1, 30))
def test_in_n_hours_is_n_hours_of_real_time(now: dt.datetime, zone: str, hours: int) -> None:
    for text in (f"in {hours} hours", f"через {hours} часов"):
        reading = read_time(text, zone, now, "en")
        assert reading.verdict is Verdict.ok, text
        assert reading.at - now == dt.timedelta(hours=hours), text


@settings(max_examples=60, deadline=None)
@given(
    now=NOWS,
    zone=ZONES,
    lang=st.sampled_from(UI_LANGUAGES),
    ahead=st.integers(2, 360),
    hour=st.integers(9, 21),  # away from the night hours the clocks skip
    minute=st.integers(0, 59),
)
def test_a_day_written_out_is_that_day(
    now: dt.datetime, zone: str, lang: str, ahead: int, hour: int, minute: int
) -> None:
    day = now.astimezone(ZoneInfo(zone)).date() + dt.timedelta(days=ahead)
    expected = dt.datetime.combine(day, dt.time(hour, minute), ZoneInfo(zone))
    written = {
        f"{day:%d.%m.%Y} {hour}:{minute:02}",
        f"{day:%Y-%m-%d} {hour:02}:{minute:02}",
        f"{format_date(day, 'MMM d', locale='en')} {hour}:{minute:02}",
        f"{format_date(day, 'd MMMM', locale='ru')} {hour}:{minute:02}",
        f"{format_date(day, 'd MMMM', locale='ru')} в {hour}:{minute:02}",
    }
    for text in written:
        reading = read_time(text, zone, now, lang)
        assert (reading.verdict, reading.at) == (Verdict.ok, expected), text


def test_the_same_words_in_moscow_and_berlin_across_berlins_change_of_clocks() -> None:
    # Saturday 27 March 2027, 20:00 in Berlin (winter time); Berlin's clocks go forward that night, Moscow's never.
    now = dt.datetime(2027, 3, 27, 19, 0, tzinfo=UTC)
    berlin = read_time("tomorrow 18:00", BERLIN, now).at
    moscow = read_time("завтра в 18:00", MOSCOW, now, "ru").at
    assert berlin == local(BERLIN, 2027, 3, 28, 18, 0) and berlin.utcoffset() == dt.timedelta(hours=2)
    assert berlin.astimezone(UTC) == dt.datetime(2027, 3, 28, 16, 0, tzinfo=UTC), "summer time by then"
    assert moscow.astimezone(UTC) == dt.datetime(2027, 3, 28, 15, 0, tzinfo=UTC)


def test_hours_from_now_count_real_hours_on_the_nights_the_clocks_change() -> None:
    spring = dt.datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # 01:30 in Berlin, half an hour before the clocks jump
    assert read_time("in 2 hours", BERLIN, spring).at == local(BERLIN, 2027, 3, 28, 4, 30)
    autumn = dt.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 02:30 summer time, before the clocks go back
    assert read_time("через 2 часа", BERLIN, autumn, "ru").at.astimezone(UTC) == autumn + dt.timedelta(hours=2)


def test_a_time_the_clocks_skip_is_read_as_the_clocks_show_it() -> None:
    now = dt.datetime(2027, 3, 20, 12, 0, tzinfo=UTC)
    at = read_time("28.03.2027 02:30", BERLIN, now).at
    assert (at.hour, at.minute, at.utcoffset()) == (3, 30, dt.timedelta(hours=2))


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("yesterday 10:00", Verdict.passed),
        ("today 19:00", Verdict.passed),  # 21:30 already
        ("15.12.2025 10:00", Verdict.passed),
        ("вчера в 10:00", Verdict.passed),
        ("yesterday", Verdict.passed),
        ("2 hours ago", Verdict.passed),
        ("in 400 days 10:00", Verdict.too_far),
        ("2028-01-01 10:00", Verdict.too_far),
        ("через 2 года в 10:00", Verdict.too_far),
        ("tomorrow", Verdict.no_time),
        ("завтра", Verdict.no_time),
        ("Dec 15", Verdict.no_time),
        ("15 декабря", Verdict.no_time),
        ("next blursday", Verdict.unclear),
        ("вечером", Verdict.unclear),
        ("", Verdict.unclear),
        ("1700000000", Verdict.unclear),  # a stray number is no Unix time
        ("Vigil tonight at 19:00 by the embassy. " * 5, Verdict.unclear),  # a message, not a time
    ],
)
def test_what_will_not_do_says_why(text: str, verdict: Verdict) -> None:
    reading = read_time(text, BERLIN, NOW, "en")
    assert reading.verdict is verdict, reading
    assert (reading.at is None) == (verdict is Verdict.unclear)


def test_the_year_ahead_is_the_limit() -> None:
    assert read_time("in 365 days 21:00", BERLIN, NOW).verdict is Verdict.ok
    assert read_time("in 367 days 21:00", BERLIN, NOW).verdict is Verdict.too_far
    assert MAX_AHEAD == dt.timedelta(days=366)


def test_the_parser_is_imported_only_when_a_time_is_read() -> None:
    probe = "import sys, bot.cli.broadcast, handlers; print('dateparser' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


# --- what the coordinator is told ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", UI_LANGUAGES)
@pytest.mark.parametrize(
    "now", [NOW, dt.datetime(2027, 1, 31, 23, 50, tzinfo=UTC), dt.datetime(2027, 6, 15, 8, tzinfo=UTC)]
)
def test_every_example_shown_is_read(renderer: Renderer, lang: str, now: dt.datetime) -> None:
    for zone in (BERLIN, MOSCOW):
        examples = renderer.when_examples(lang, now, zone)
        assert len(examples) == 4
        for example in examples:
            assert read_time(example, zone, now, lang).verdict is Verdict.ok, example
            assert f"<code>{example}</code>" in renderer.when_prompt(lang, now, zone).text


def test_a_refusal_echoes_the_time_as_read_in_the_coordinators_zone(renderer: Renderer) -> None:
    def told(text: str, lang: str = "en") -> str:
        return renderer.when_refused(read_time(text, BERLIN, NOW, lang), lang, NOW, BERLIN)

    assert "has passed: Thursday, 3 December 2026, 10:00 (Europe/Berlin)" in told("yesterday 10:00")
    assert "Saturday, 8 January 2028, 10:00 (Europe/Berlin) is more than a year ahead" in told("in 400 days 10:00")
    assert "At what time on Saturday, 5 December 2026?" in told("tomorrow")
    unclear = told("next blursday")
    assert "could not read" in unclear and "<code>tomorrow 18:00</code>" in unclear
    assert "четверг, 3 декабря 2026, 10:00" in told("вчера в 10:00", "ru")
    assert "<code>15 января 10:00</code>" in told("непонятно", "ru"), "examples in the coordinator's language"


def test_the_confirmation_names_the_weekday_and_how_far_off(renderer: Renderer) -> None:
    at = read_time("tomorrow 18:00", BERLIN, NOW).at
    text = renderer.when_scheduled(at, "en", NOW, BERLIN)
    assert "Saturday, 5 December 2026, 18:00 (Europe/Berlin), in 20 hours" in text
    assert "суббота, 5 декабря 2026, 18:00 (Europe/Berlin), через 20 часов" in renderer.when_scheduled(
        at, "ru", NOW, BERLIN
    )


# --- in chat ------------------------------------------------------------------------------------------


@pytest.fixture
async def coordinated(settings: Settings, redis, request: pytest.FixtureRequest) -> AsyncIterator[App]:
    """The bot with the coordinators' timezone given by the test's parameter."""
    config = settings.model_copy(update={"default_timezone": request.param})
    async with running(config, redis, Library.load(CONTENT)) as app:
        yield app


def tomorrow_at(zone: str, hour: int) -> dt.datetime:
    """Tomorrow at that hour in the zone (a test takes it before and after, in case it crosses midnight)."""
    day = dt.datetime.now(UTC).astimezone(ZoneInfo(zone)).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour), ZoneInfo(zone))


@pytest.mark.parametrize(
    ("coordinated", "lang", "words"),
    [(BERLIN, "en", "tomorrow 18:00"), (MOSCOW, "ru", "завтра 18:00")],
    indirect=["coordinated"],
)
async def test_a_coordinator_schedules_a_send_for_tomorrow_in_their_words(
    coordinated: App, emulator: BotAPIEmulator, lang: str, words: str
) -> None:
    app, zone = coordinated, coordinated.settings.default_timezone
    admin = Activist(emulator, ADMIN_ID, "Coord", lang)
    await app.store.set_language(ADMIN_ID, lang)
    await app.store.start(7101)  # someone to send it to
    await admin.send("/broadcast")
    await admin.send("Vigil <b>tomorrow</b> at 19:00.")
    await admin.tap_data("bca:all")
    await admin.tap_data("bcw:")
    prompt = admin.last["text"]
    assert zone in prompt and "18:00" in prompt, "the prompt shows how to write a time, in which zone"

    refused = (await admin.send("вчера в 10:00" if lang == "ru" else "yesterday 10:00"))["text"]
    yesterday = dt.datetime.now(UTC).astimezone(ZoneInfo(zone)).date() - dt.timedelta(days=1)
    assert f"{format_date(yesterday, 'd MMMM y', locale=lang)}, 10:00 ({zone})" in refused, refused
    assert "⌛" in refused
    assert "🤔" in (await admin.send("когда-нибудь" if lang == "ru" else "some day"))["text"]

    before = tomorrow_at(zone, 18)
    confirmed = (await admin.send(words))["text"]
    [job] = [p for p in await app.scheduler.planned() if p.kind == "broadcast"]
    assert job.run_at in {before, tomorrow_at(zone, 18)}
    at = job.run_at.astimezone(ZoneInfo(zone))
    # The coordinator sees the day tomorrow turned out to be, weekday and all, in their zone.
    assert f"{format_date(at, 'EEEE, d MMMM y', locale=lang)}, 18:00 ({zone})" in confirmed, confirmed
    assert ("через" if lang == "ru" else " in ") in confirmed
    assert job.created_by == ADMIN_ID


# --- on the command line --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yesterday 10:00", "'yesterday 10:00' was read as Thu 2026-12-03 10:00 Europe/Berlin, which has passed;"),
        ("in 400 days 10:00", "was read as Sat 2028-01-08 10:00 Europe/Berlin, more than 366 days ahead;"),
        ("tomorrow", "'tomorrow' was read as Sat 2026-12-05 Europe/Berlin but has no time of day; add one, like"),
        ("some day soon", "'some day soon' is not a time rrbot can read; give one like 'tomorrow 18:00', 'in 2 hours'"),
    ],
)
def test_the_command_line_says_what_it_read_and_why_it_will_not_do(text: str, expected: str) -> None:
    said = f"--at {text!r} {refused_time(read_time(text, BERLIN, NOW), BERLIN)}"
    assert expected in said and "\n" not in said, said


async def test_rrbot_broadcast_at_reads_people_s_words_and_refuses_in_one_line(
    app: App, redis_url: str, tmp_path: Path
) -> None:
    env = {**cli_env(redis_url, tmp_path, CONTENT), "DEFAULT_TIMEZONE": MOSCOW}
    note = tmp_path / "note.html"
    note.write_text("Letters still <i>needed</i>.", encoding="utf-8")

    code, out, err = await rrbot(
        env, "broadcast", "--text-file", str(note), "--everyone", "--yes", "--at", "вчера в 10:00"
    )
    lines = err.strip().splitlines()
    yesterday = dt.datetime.now(UTC).astimezone(ZoneInfo(MOSCOW)).date() - dt.timedelta(days=1)
    assert code == 2 and len(lines) == 1 and f"{yesterday:%a %Y-%m-%d} 10:00 {MOSCOW}, which has passed" in err, err
    assert out == "" and f"({MOSCOW})" in lines[0] and "'tomorrow 18:00'" in lines[0], "what works, in its zone"
    assert [p for p in await app.scheduler.planned() if p.kind == "broadcast"] == []

    before = tomorrow_at(MOSCOW, 18)
    code, out, err = await rrbot(
        env, "broadcast", "--text-file", str(note), "--everyone", "--yes", "--at", "завтра в 18:00"
    )
    assert code == 0, err
    [job] = [p for p in await app.scheduler.planned() if p.kind == "broadcast"]
    assert job.id == out.strip() and job.run_at in {before, tomorrow_at(MOSCOW, 18)}
    assert f"scheduled for {job.run_at.astimezone(ZoneInfo(MOSCOW)):%a %Y-%m-%d} 18:00 {MOSCOW}" in err, err
