"""`rrbot demo`: the bot against the local emulator, with an activist's journey printed as a transcript."""

from __future__ import annotations

import logging
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from bot.app.keys import open_migrated
from bot.app.wiring import running
from bot.content import Library
from bot.ground.settings import Settings
from emulator import BotAPIEmulator
from emulator.journey import Activist

DEMO_TOKEN = "123456789:DEMO-token-for-the-offline-emulator"
WIDTH = 78


def _show_message(message: dict[str, Any]) -> None:
    text = message.get("text") or message.get("caption") or ""
    if message.get("document"):
        text = f"[document: {message['document'].get('file_name')}] {text}"
    for line in text.splitlines() or [""]:
        print(textwrap.indent(textwrap.fill(line, WIDTH - 6) if line else "", "  🤖  "))
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    for row in rows:
        print("      " + "  ".join(f"[ {b['text']} ]" for b in row))
    print()


def _user(name: str, action: str) -> None:
    print(f"  👤  {name}: {action}\n")


async def _step_send(who: Activist, text: str) -> None:
    _user(who.first_name, text)
    before = len(who.emu.outbox(who.user_id))
    await who.send(text)
    for entry in who.emu.outbox(who.user_id)[before:]:
        _show_message(entry["message"])


async def _step_tap(who: Activist, prefix: str, on: int | None = None) -> None:
    """Tap the first button whose data starts with prefix, on message `on` as it is now (default: the latest)."""
    message = next(m for m in reversed(who.messages) if m["message_id"] == on) if on else who.last
    label = next(b["text"] for b in who.buttons(message) if b.get("callback_data", "").startswith(prefix))
    _user(who.first_name, f"taps [ {label} ]")
    before = len(who.emu.outbox(who.user_id))
    answer = await who.tap_data(prefix, message)
    if answer.get("text"):
        print(f"      💬 {answer['text']}\n")
    for entry in who.emu.outbox(who.user_id)[before:]:
        _show_message(entry["message"])


async def main(language: str = "en") -> int:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="rrbot-demo-") as tmp:
        async with BotAPIEmulator(token=DEMO_TOKEN, bot_username="rapid_response_demo_bot") as emu:
            settings = Settings(
                bot_token=DEMO_TOKEN,
                telegram_api_url=emu.base_url,
                redis_url=None,
                data_dir=Path(tmp),
                privacy_key="demo-privacy-key-0123456789",
                user_burst=50,  # a script taps faster than a person would: no "slow down" in the transcript
            )
            library = Library.load(settings.content_dir)
            async with open_migrated(None, settings.data_dir) as redis, running(settings, redis, library):
                print(f"rapid-response-bot demo: a local Telegram emulator at {emu.base_url}, embedded Redis.\n")
                case = library.open_cases()[0] if library.open_cases() else library.all()[0]
                ann = Activist(emu, 1001, "Ann", language)
                await _step_send(ann, "/start")
                await _step_tap(ann, f"lang:{language}")
                await _step_tap(ann, "card:")
                await _step_tap(ann, "act:")
                await _step_tap(ann, "tgt:")
                screen = ann.last["message_id"]  # the PDF comes as a file below it: taps go on up here
                await _step_tap(ann, "prt:", screen)
                await _step_tap(ann, "pl:", screen)
                await _step_tap(ann, "act:", screen)
                if len(case.targets) > 1:  # a second official: the menu marks the first, the toast thanks again
                    await _step_tap(ann, f"tgt:{case.id}:{case.targets[1].id}:", screen)
                    await _step_tap(ann, "pl:", screen)
                    await _step_tap(ann, "act:", screen)
                await _step_tap(ann, "tw:", screen)
                await _step_tap(ann, "pl:", screen)
                other = "ru" if language == "en" else "en"
                boris = Activist(emu, 1002, "Boris", other)
                await _step_send(boris, f"/start {case.id}")
                await _step_tap(boris, f"lang:{other}")
                await _step_tap(boris, "act:")
                await _step_tap(boris, "tgt:")
                await _step_tap(boris, "pl:")
                print(
                    "That was the journey: alert, letters to two officials, a post on X, pledges. Run the real bot with BOT_TOKEN=... rrbot run"
                )
    return 0
