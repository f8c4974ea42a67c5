"""Answers to the import questions in chat: old buttons, ticks, typed cities, bullets, final notices."""

from __future__ import annotations

import datetime as dt

from bot.app.wiring import App
from bot.ground.settings import StoreSettings
from bot.publishing.announce import make_renderer
from bot.publishing.questions import TOPIC, Question, answer, next_question
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests import test_import_chat as chat
from tests.conftest import CONTENT
from tests.test_import_chat import days_ahead, incomplete_case, paste, tapped
from tests.test_lifecycle import last_text

# The chat tests' fixtures: the bot with a writable content directory, and its coordinator.
live, admin = chat.live, chat.admin

TODAY = dt.date(2026, 12, 4)


def test_asks_of_bullets_only_are_refused_as_empty_not_taken_as_none() -> None:
    # "-" alone used to be accepted as an answer: the asks written as [] (and the required note dropped),
    # the tick showing them as skipped, and the same question again.
    data = {"targets": [{"name": "A"}]}
    outcome = answer(data, Question(TOPIC["asks"]), "-\n•\n1.", TODAY)
    assert outcome.error == "empty" and "asks" not in data


def test_a_zone_is_taken_by_the_city_its_button_shows() -> None:
    # The question says "tap the officials' city": typing it re-asked the same question without a word
    # ("Mexico City" reads as the country Mexico), or refused it as an unknown place ("Tijuana").
    data = {"deadline": dt.date(2027, 1, 1), "title": "T", "summary": "S", "asks": ["x"], "targets": [{"name": "A"}]}
    question = next_question(data, set(), "MX")
    assert question is not None and question.key == "timezone"
    assert answer(dict(data), question, "Mexico City", TODAY).value == "America/Mexico_City"
    assert answer(dict(data), question, "tijuana", TODAY).value == "America/Tijuana"
    assert answer(dict(data), question, "Мехико", TODAY).value == "America/Mexico_City"


def test_the_tick_names_the_official_the_answer_was_written_for() -> None:
    # The tick above the next question named the next question's official: "Salutation (Petrov): Dear Minister"
    # for a salutation written into Ivanov's letter.
    renderer = make_renderer(StoreSettings(content_dir=CONTENT, _env_file=None))
    officials = [{"name": "Ivanov"}, {"name": "Petrov"}]
    screen = renderer.import_question(
        Question(TOPIC["salutation"], 1, "Petrov"),
        "en",
        "abcdef12",
        answered=("targets[0].salutation", "Dear Minister"),
        officials=officials,
    )
    assert "Salutation (Ivanov)</b>: Dear Minister" in screen.text


def test_every_zone_a_country_offers_fits_in_a_button() -> None:
    from babel.core import get_global

    from bot.render.callbacks import decode, encode

    for zones in get_global("territory_zones").values():
        for zone in zones:
            assert decode(encode("impz", "abcdef12", "timezone", zone)).args[2] == zone


async def zone_question(admin: Activist, emulator: BotAPIEmulator) -> dict:
    """A draft of UA 201/26 imported and asked about until the question of its deadline's zone in Mexico."""
    await paste(admin, incomplete_case(), report=False)
    await emulator.wait_for(lambda: "What should the letters ask" in last_text(admin), timeout=15)
    await admin.send("Release Ana Lucía Torres immediately")
    return await admin.send(days_ahead(20).strftime("%d.%m.%Y"))


async def test_an_older_questions_zone_button_writes_the_zone_it_shows(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    # The buttons named a zone by its place in the list: after the coordinator typed another country, Mexico's
    # "Tijuana" tapped on the older question wrote the Russian zone in its place.
    mexico = await zone_question(admin, emulator)
    assert "In which time zone of Mexico" in mexico["text"]
    russia = await admin.send("Russia")
    assert "In which time zone of Russia" in russia["text"]
    answer = await tapped(admin, "Tijuana", mexico, "✅")
    assert "✅ Time zone of the deadline: Tijuana (America/Tijuana)" in answer["text"]


async def test_an_old_zone_button_leaves_the_question_the_chat_is_answering(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    # A stale zone tap cleared the chat's state: the answer then typed to the question on screen was ignored.
    zones = await zone_question(admin, emulator)
    salutation = await tapped(admin, "Mexico City", zones, "How should the letter")
    await admin.tap("Tijuana", zones)  # the answered question's button, tapped again
    await emulator.wait_idle(timeout=5)
    assert admin.last["message_id"] == salutation["message_id"]
    await admin.send("Estimado Señor Fiscal")
    await emulator.wait_for(lambda: "Imported draft" in last_text(admin), timeout=15)
    assert any("Estimado Señor Fiscal" in (m.get("text") or "") for m in admin.messages[-8:])  # in the letter


def test_a_final_notice_naming_no_ua_says_so_not_none() -> None:
    # "This is the final update of None … The bot does not have None".
    from bot.content import Library
    from bot.importer.review import review
    from bot.publishing.drafts import make_draft

    renderer = make_renderer(StoreSettings(content_dir=CONTENT, _env_file=None))
    text = (
        "URGENT ACTION\nFurther information\nNizomkhon Juraev was released on 3 December.\n"
        "No further action is requested from the UA network. Many thanks to all who sent appeals.\n"
    )
    draft = make_draft(text, "")
    found = review(draft.yaml, Library.load(CONTENT), renderer.letters, TODAY, closes=draft.closes)
    report = renderer.import_report(found, "en", "abcdef12", source="", missing=[], uncertain=[], audience=0)
    assert "None" not in report.text and "names no UA number" in report.text
