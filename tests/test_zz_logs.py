"""Last in the run: no log record of the whole run holds the token, a user's id or what a user typed.

tests/conftest.py keeps every record of the run (RunRecords, DEBUG, root logger) and every user the
emulator simulated. Alone, this file still checks something: its own journey first, with a
realistic ten-digit id, a signature, a failure (logged with its traceback), a reminder and /forget.
"""

from __future__ import annotations

import re

from bot.app.wiring import App
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import ADMIN_ID, RUN, TOKEN

CASE = "ua-84-11"
USER = 7_312_845_690
SIGNATURE = "Marfa Kuznetsova, Kazan, Tatarstan"
# Short ids (the tests' 101, ADMIN_ID's 9000) also appear in timestamps and counts: only next to a word
# that makes them an id.
WORD = re.compile(r"[^\W\d_]{3,}")
ID_CONTEXT = r"(?:chat|user|admin|coordinator|from|chat_id|user_id)\W{0,3}(?:id\W{0,3})?"


async def test_a_journey_that_logs_a_lot(app: App, emulator: BotAPIEmulator) -> None:
    who = Activist(emulator, USER, "Marfa", "en")
    await who.send(f"/start {CASE}")
    if "language" in who.last["text"].lower():
        await who.tap_data("lang:en")
    await who.send(f"/sign {SIGNATURE}")
    await who.send(f"/start {CASE}")
    await who.tap_data("act:")
    await who.tap_data("tgt:")
    # The seed's deadline has passed, so the screen offers no "Remind me later": one on an older screen is answered.
    await who.press(who.last["message_id"], f"later:{CASE}:letter")
    await who.tap_data(f"pl:{CASE}:letter")
    emulator.inject("sendMessage", 400, "Bad Request: something odd", times=1)
    emulator.user_sends(USER, "/help")  # fails: logged with the update and a traceback
    await emulator.wait_idle()
    await who.send("/forget")
    await who.tap_data("forget:yes")
    RUN.remember(emulator)
    assert USER in RUN.user_ids and SIGNATURE in " ".join(RUN.texts)


def test_no_log_record_holds_the_token_a_user_id_or_a_users_text() -> None:
    lines = RUN.lines
    assert any("failed" in line and "Traceback" in line for line in lines), "the run's records were kept"
    assert any(line.startswith(("INFO bot.", "INFO handlers.", "INFO scheduler.")) for line in lines)
    secret = TOKEN.split(":", 1)[1]
    assert not [line for line in lines if TOKEN in line or secret in line], "the bot token is logged"

    long_ids = {str(abs(i)) for i in RUN.user_ids if len(str(abs(i))) >= 5}
    assert str(USER) in long_ids
    whole = (
        re.compile(r"(?<![\w.-])(?<!\d:)(?<!port: )(" + "|".join(sorted(long_ids)) + r")(?!\w|\.\d)")
        if long_ids
        else None
    )  # not the whole part of a decimal (APScheduler's "in 21029.04 seconds"), nor a port ("127.0.0.1:34017",
    # redis-py's "local socket port: 34010"): test ids fall in the range of ephemeral ports
    short_ids = {str(abs(i)) for i in RUN.user_ids if len(str(abs(i))) < 5} | {str(ADMIN_ID)}
    named = re.compile(ID_CONTEXT + r"(" + "|".join(sorted(short_ids)) + r")\b", re.IGNORECASE)
    leaks = [line for line in lines if (whole and whole.search(line)) or named.search(line)]
    assert not leaks, f"user ids in {len(leaks)} log records, e.g. {leaks[:3]}"

    # What people typed: whole texts with words in them, commands aside (a case id or a time is no secret).
    typed = {t for t in RUN.texts if not t.startswith("/") and len(WORD.findall(t)) >= 2} | {SIGNATURE}
    everything = "\n".join(lines)
    told = sorted(t for t in typed if t in everything)
    assert not told, f"{len(told)} texts users sent are in the logs, e.g. {[t[:80] for t in told[:3]]}"
