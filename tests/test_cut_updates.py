"""A stop that cuts a handler short in long polling: the update is handled by the next start, not lost."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from bot.app.wiring import running
from bot.content import Library
from bot.ground.settings import Settings
from bot.telegram.replay import CutUpdates
from emulator import BotAPIEmulator
from tests.conftest import ADMIN_ID
from tests.test_scheduler import write_content
from tests.ua_texts import new_case

GRACE = 0.5


@pytest.fixture
def content(tmp_path: Path) -> Path:
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).date().isoformat()
    return write_content(tmp_path, deadline=deadline)


def previews(emulator: BotAPIEmulator) -> list[str]:
    return [str(m) for m in emulator.outbox(ADMIN_ID) if "Imported draft" in str(m)]


async def test_a_document_cut_short_by_a_stop_is_imported_after_the_restart(
    settings: Settings, redis, emulator: BotAPIEmulator, content: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings.model_copy(update={"content_dir": content})
    caplog.set_level(logging.INFO)
    document = new_case(dt.date.today() + dt.timedelta(days=10)).encode()
    async with running(settings, redis, Library.load(content), grace=GRACE) as app:
        await app.store.set_language(ADMIN_ID, "en")
        emulator.delay("getFile", 30)  # Telegram hangs on the file: the handler is still waiting at the stop
        emulator.user_sends_document(ADMIN_ID, "ua-201-26.txt", document)
        await emulator.wait_for(lambda: any(c.method == "getFile" for c in emulator.calls), timeout=10)
    assert not previews(emulator), "the stop came before the import"
    assert not emulator.updates.entries, "Telegram counts the document as taken: it would never send it again"
    assert "cut short, kept for the next start" in caplog.text

    async with running(settings, redis, Library.load(content)):
        await emulator.wait_for(lambda: previews(emulator), timeout=15)
        await emulator.wait_idle(timeout=10)
    assert len(previews(emulator)) == 1, "imported once, after the restart"
    assert "201/26" in previews(emulator)[0]
    assert await redis.llen("rrb:intake:cut") == 0, "taken off the list"


async def test_an_update_cut_short_twice_is_dropped_with_a_warning(
    settings: Settings, redis, emulator: BotAPIEmulator, content: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    settings = settings.model_copy(update={"content_dir": content})
    emulator.delay("getFile", 30, times=2)  # this document hangs its handler every time
    async with running(settings, redis, Library.load(content), grace=GRACE) as app:
        await app.store.set_language(ADMIN_ID, "en")
        emulator.user_sends_document(ADMIN_ID, "ua-201-26.txt", new_case(dt.date.today()).encode())
        await emulator.wait_for(lambda: files_asked(emulator) == 1, timeout=10)
    assert await redis.llen("rrb:intake:cut") == 1
    async with running(settings, redis, Library.load(content), grace=GRACE):
        await emulator.wait_for(lambda: files_asked(emulator) == 2, timeout=10)
    assert "was cut short 2 times: dropped" in caplog.text
    assert await redis.llen("rrb:intake:cut") == 0, "not handed on for ever"
    assert not previews(emulator)


def files_asked(emulator: BotAPIEmulator) -> int:
    return sum(c.method == "getFile" for c in emulator.calls)


async def test_unreadable_entries_are_skipped(redis, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    good = {"update_id": 7, "message": {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}}
    await redis.rpush("rrb:intake:cut", "not json", '{"cuts": 1}', '{"cuts": 1, "update": {"update_id": "x"}}')
    await redis.rpush("rrb:intake:cut", json.dumps({"cuts": 1, "update": good}))
    taken = await CutUpdates(redis).take(bot=None)  # type: ignore[arg-type]
    assert taken is not None and taken.update_id == 7 and taken.message is not None and taken.message.text == "hi"
    assert caplog.text.count("unreadable entry") == 3
    assert await CutUpdates(redis).take(bot=None) is None  # type: ignore[arg-type]


async def test_an_update_both_kept_and_sent_again_by_telegram_is_handled_once(
    settings: Settings, redis, emulator: BotAPIEmulator, library: Library
) -> None:
    # A stop whose confirmation failed: Telegram sends the update again, and the list has it too.
    # The running process also picks up what another one kept after it started (a rolling restart).
    emulator.add_user(7301, first_name="Ann", language_code="en")
    async with running(settings, redis, library) as app:
        await app.store.set_language(7301, "en")
        update = emulator.user_sends(7301, "/help")
        await redis.rpush("rrb:intake:cut", json.dumps({"cuts": 1, "update": update}))
        await emulator.wait_for(lambda: emulator.outbox(7301), timeout=10)
        deadline = asyncio.get_running_loop().time() + 10
        while await redis.llen("rrb:intake:cut") and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.2)
        assert await redis.llen("rrb:intake:cut") == 0, "the kept copy was taken"
        await emulator.wait_idle(timeout=5)
    assert len(emulator.outbox(7301)) == 1, "answered once"


async def test_a_tap_handled_after_a_restart_shows_its_screen_without_an_error(
    settings: Settings, redis, emulator: BotAPIEmulator, library: Library, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    emulator.add_user(7302, first_name="Bob", language_code="en")
    person = {"id": 7302, "is_bot": False, "first_name": "Bob", "language_code": "en"}
    old = {"message_id": 41, "date": 1, "chat": {"id": 7302, "type": "private"}, "text": "the card"}
    tap = {"id": "long-gone", "from": person, "message": old, "chat_instance": "1", "data": "act:ua-84-11"}
    await redis.rpush("rrb:intake:cut", json.dumps({"cuts": 1, "update": {"update_id": 900, "callback_query": tap}}))
    async with running(settings, redis, library) as app:
        await app.store.set_language(7302, "en")
        await emulator.wait_for(lambda: emulator.outbox(7302), timeout=10)
        await emulator.wait_idle(timeout=5)
    shown = emulator.outbox(7302)
    assert len(shown) == 1, "the action menu, as a new message: the old one is gone"
    assert "tgt:" in str(shown[0]["message"].get("reply_markup")), "with a button per official"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no failure logged"
    assert "handled too late to be answered" in caplog.text
