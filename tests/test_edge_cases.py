"""Content at the edges: a letter too long for one message, a closed case behind a deep link."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.app.wiring import App, running
from bot.content import Library
from bot.ground.settings import Settings
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import CONTENT

LONG_ASK = "Release every person detained for peacefully exercising their rights, and guarantee their safety. " * 6


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    seed = yaml.safe_load((root / "cases" / "ua-84-11.yaml").read_text(encoding="utf-8"))
    long_case = {
        **seed,
        "id": "long-case",
        "ua": "UA 1/26",
        "letter_languages": ["en"],
        "asks": [{"en": f"{i}. {LONG_ASK}"} for i in range(12)],
    }
    closed = {**seed, "id": "closed-case", "ua": "UA 2/26", "status": "closed"}
    for case in (long_case, closed):
        (root / "cases" / f"{case['id']}.yaml").write_text(yaml.safe_dump(case, allow_unicode=True), encoding="utf-8")
    return root


@pytest.fixture
async def edge_app(settings: Settings, redis, content: Path) -> AsyncIterator[App]:
    settings = settings.model_copy(update={"content_dir": content})
    async with running(settings, redis, Library.load(content)) as app:
        yield app


async def test_a_long_letter_also_comes_as_a_text_file(edge_app: App, emulator: BotAPIEmulator) -> None:
    who = Activist(emulator, 501, "Ann", "en")
    await edge_app.store.set_language(501, "en")
    await who.send("/start long-case")
    await who.tap_data("act:")
    await who.tap_data("tgt:long-case:chaika:")
    letter = who.last
    await who.tap_data("doc:long-case:chaika:en", letter)
    await who.tap_data("act:", letter)
    menu = next(m for m in who.messages if m["message_id"] == letter["message_id"])
    await who.tap_data("tgt:long-case:chaika:", menu)  # coming back to the letter sends no second file
    documents = [e for e in emulator.outbox(501) if e["message"].get("document")]
    assert len(documents) == 1, "the full letter is sent as a document, once, when asked"
    body = documents[-1]["file_bytes"].decode("utf-8")
    assert body.count("Release every person") == 12 * 6, "with every ask in it, whole"
    assert documents[-1]["message"]["document"]["file_name"].endswith(".txt")
    assert all(len(m.get("text", "")) <= 4096 for m in who.messages)


async def test_a_closed_case_link_points_to_open_ones(edge_app: App, emulator: BotAPIEmulator) -> None:
    who = Activist(emulator, 502, "Ann", "en")
    await edge_app.store.set_language(502, "en")
    welcome = await who.send("/start closed-case")
    reply = who.messages[-2]  # then the welcome, as a plain /start: there is nothing to follow
    assert "closed" in reply["text"].lower() and "/cases" in reply["text"]
    assert "Open cases" in welcome["text"] or "no open cases" in welcome["text"]
    assert not await edge_app.store.subscriptions(502)


async def test_a_tap_on_the_bots_message_in_a_group_shows_nothing_there(
    edge_app: App, emulator: BotAPIEmulator
) -> None:
    group = emulator.add_group(-100_777)
    person = {"id": 503, "is_bot": False, "first_name": "Ann"}
    before = len(emulator.calls)
    for data in ("act:ua-84-11", "tgt:ua-84-11:chaika:ru", "card:ua-84-11", "sub:ua-84-11"):
        message = {"message_id": 9, "date": 1, "chat": group, "from": {"id": 1, "is_bot": True, "first_name": "B"}}
        emulator.queue_update(
            {
                "callback_query": {
                    "id": f"g{data}",
                    "from": person,
                    "message": message,
                    "chat_instance": "1",
                    "data": data,
                }
            }
        )
    await emulator.wait_idle()
    shown = [c.method for c in emulator.calls[before:] if c.method.startswith(("send", "edit"))]
    assert shown == [], "no letter, card or menu in the group"
    assert not await edge_app.store.is_subscribed(503, "ua-84-11")


async def test_a_message_without_a_sender_is_handled(edge_app: App, emulator: BotAPIEmulator) -> None:
    emulator.add_user(504, first_name="Ann")
    emulator.queue_update(
        {"message": {"message_id": 1, "date": 1, "chat": {"id": 504, "type": "private"}, "text": "/start"}}
    )
    await emulator.wait_idle()
    errors = [c for c in emulator.calls if c.method == "sendMessage" and "went wrong" in str(c.params)]
    assert not errors
