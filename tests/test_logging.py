"""Errors are logged with context, and never with the token."""

from __future__ import annotations

import io
import logging

from bot.app.wiring import App
from bot.ground.logs import scrub_ids, setup_logging
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import TOKEN


async def test_telegram_errors_are_logged_without_the_token(app: App, emulator: BotAPIEmulator) -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = setup_logging("DEBUG", [TOKEN], stream=stream)
    try:
        who = Activist(emulator, 301, "Ann", "en")
        emulator.inject("sendMessage", 400, "Bad Request: something odd", times=1)
        emulator.user_sends(301, "/help")
        await emulator.wait_idle()
        await who.send("/help")
        # Libraries put request URLs, which carry the token, into their messages and tracebacks.
        logging.getLogger("aiohttp.client").error("GET %s failed", f"{emulator.base_url}/bot{TOKEN}/getMe")
    finally:
        root.removeHandler(handler)
        root.handlers[:], level = saved
        root.setLevel(level)
    log = stream.getvalue()
    assert "something odd" in log, "the failure is logged with Telegram's answer"
    assert "failed" in log and "message" in log, "with the update's context"
    assert "/bot[redacted]/getMe" in log
    assert TOKEN not in log and TOKEN.split(":")[1] not in log
    assert "/help" in who.last["text"], "and the bot goes on answering"


def test_chat_ids_in_error_texts_are_blanked_but_not_other_numbers() -> None:
    flood = "Telegram server says - Flood control exceeded in chat 7312845690. Retry in 5 seconds."
    assert scrub_ids(flood) == "Telegram server says - Flood control exceeded in chat [id]. Retry in 5 seconds."
    assert scrub_ids("migrated to -1001234567890, took 0.123456 s") == "migrated to [id], took 0.123456 s"
    assert scrub_ids('File "handlers/act.py", line 120') == 'File "handlers/act.py", line 120'
