"""Two coordinators end to end: an owner adds a coordinator, who sends; the owner finds the send in /broadcasts
and stops it; /audit names both; the coordinator's /forget leaves "former coordinator"; `rrbot audit` prints it.

The real bot, the emulator and a real Redis, in English and in Russian. Expected words come from the renderer,
so the Russian run reads the Russian catalogue as it stands.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import time
from itertools import count

import pytest

from bot.app.wiring import App
from bot.delivery import State
from bot.ground.audit import Action
from bot.ground.settings import Settings
from bot.render.markup import visible_text
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from tests.conftest import ADMIN_ID, CONTENT, ROOT

COORD = 62_001  # the coordinator the owner adds
PEOPLE = range(63_000, 63_030)  # at 2 messages a second, a send still going when the owner stops it
MESSAGE = "Vigil on Friday at the embassy\nBring candles."

_message_ids = count(70_000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A slow send: the owner has seconds to find it and stop it, and the bot is idle between its messages."""
    return settings.model_copy(update={"broadcast_rate": 2.0})


@pytest.fixture(autouse=True)
def quick_typist(emulator: BotAPIEmulator) -> None:
    emulator.limits = FloodLimits(chat_burst=30)


async def people(app: App, emulator: BotAPIEmulator, lang: str) -> tuple[Activist, Activist]:
    owner = Activist(emulator, ADMIN_ID, "Olga", lang)
    coord = Activist(emulator, COORD, "Boris", lang)
    for user in (ADMIN_ID, COORD):
        await app.store.set_language(user, lang)
    for user in PEOPLE:  # the coordinators are not in the audience: their chats hold only what they asked for
        emulator.add_user(user, first_name=f"A{user}", language_code=lang)
        await app.store.set_language(user, lang)
        await app.store.start(user)
    return owner, coord


def share(emulator: BotAPIEmulator, owner: Activist, user_id: int, first_name: str) -> None:
    """The owner picks a person with Telegram's user picker: the client sends users_shared."""
    emulator.queue_update(
        {
            "message": {
                "message_id": next(_message_ids),
                "from": {"id": owner.user_id, "is_bot": False, "first_name": owner.first_name},
                "chat": {"id": owner.user_id, "type": "private", "first_name": owner.first_name},
                "date": int(time.time()),
                "users_shared": {"request_id": 1, "users": [{"user_id": user_id, "first_name": first_name}]},
            }
        }
    )


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_owner_adds_a_coordinator_sees_and_stops_their_send_and_the_audit_names_both(
    app: App, emulator: BotAPIEmulator, settings: Settings, redis_url: str, lang: str
) -> None:
    renderer = app.renderer
    labels = {action: name for action, (_, name) in renderer.action_labels(lang).items()}
    owner, coord = await people(app, emulator, lang)
    unknown = (await Activist(emulator, 62_999, "Probe", lang).send("/no_such_command"))["text"]
    assert (await coord.send("/audit"))["text"] == unknown, "not a coordinator yet: the command does not exist"

    # The owner adds Boris: /coordinators, Add, then Telegram's user picker.
    listing = await owner.send("/coordinators")
    assert "Olga" in listing["text"]
    await owner.tap_data("crd:add")
    prompt = emulator.calls[-2] if emulator.calls[-1].method == "answerCallbackQuery" else emulator.calls[-1]
    keyboard = prompt.params["reply_markup"]
    keyboard = json.loads(keyboard) if isinstance(keyboard, str) else keyboard
    assert keyboard["keyboard"][0][0]["request_users"]["request_id"] == 1
    before = len(emulator.outbox(ADMIN_ID))
    share(emulator, owner, COORD, "Boris")
    await emulator.wait_for(lambda: len(emulator.outbox(ADMIN_ID)) > before)
    await emulator.wait_idle()
    added = [m["text"] for m in emulator.messages(ADMIN_ID)[-2:]]
    assert any("Boris" in text for text in added), added
    assert "Boris" in owner.last["text"] and owner.button("Boris"), "the list shows him, with a Remove button"
    assert renderer.message("crd_welcome", lang) == coord.last["text"], "Boris is told"
    assert COORD in await app.dispatcher["roles"].everyone()

    # Boris sends a message to everyone.
    await coord.send("/broadcast")
    await coord.send(MESSAGE)
    await coord.tap_data("bca:all")
    await coord.tap_data("bcd:send")
    bc_id = (await app.broadcasts.recent(1))[0].id

    # The owner finds it in /broadcasts: its first line, who, to whom; opens it and stops it.
    sends = await owner.send("/broadcasts")
    assert "Vigil on Friday at the embassy" in sends["text"] and "Broadcast #" not in sends["text"]
    assert "Boris" in sends["text"] and renderer.audience_name(lang, "all") in sends["text"]
    await owner.tap_data(f"bco:{bc_id}")
    view = owner.last
    await owner.tap_data(f"bcs:{bc_id}:cancel", view)
    confirm = next(m for m in owner.messages if m["message_id"] == view["message_id"])
    await owner.tap_data(f"bcs:{bc_id}:stop", confirm)
    stopped = await app.broadcasts.progress(bc_id)
    assert stopped.state == State.cancelled and stopped.delivered < len(PEOPLE), "stopped before the end"

    # /audit: the role change, the send and the stop, each with who did it.
    audit = visible_text((await owner.send("/audit"))["text"])
    for action in (Action.role_add, Action.send, Action.cancel):
        assert labels[action] in audit, (action, audit)
    blocks = audit.split("\n\n")
    sent = next(b for b in blocks if labels[Action.send] in b)
    cancelled = next(b for b in blocks if labels[Action.cancel] in b)
    role = next(b for b in blocks if labels[Action.role_add] in b)
    assert "Boris" in sent and "Vigil on Friday" in sent
    assert "Olga" in cancelled and "Vigil on Friday" in cancelled
    assert "Olga" in role and "Boris" in role
    # Boris, now a coordinator, reads the same log.
    assert labels[Action.send] in (await coord.send("/audit"))["text"]

    # Boris uses /forget: his name leaves the log, his entries stay; his role goes with it.
    await coord.send("/forget")
    await coord.tap_data("forget:yes")
    after = visible_text((await owner.send("/audit"))["text"])
    assert "Boris" not in after
    former = renderer.who(lang, "someone", None)
    assert after.count(former) == 2, after  # his send, and the role he was given
    assert labels[Action.send] in after and "Vigil on Friday" in after
    assert (await coord.send("/audit"))["text"] == unknown
    sends_after = (await owner.send("/broadcasts"))["text"]
    assert "Boris" not in sends_after and former in sends_after

    # `rrbot audit` prints the same log: a table, and JSON, with names and pseudonyms.
    table = await cli(settings, redis_url, "audit")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["when", "action", "who", "what"]
    assert any("cancel" in line and "Olga (" in line and "Vigil on Friday" in line for line in lines), lines
    assert any(" send " in f" {line} " and "former coordinator (" in line for line in lines), lines
    raw = await cli(settings, redis_url, "audit", "--json")
    entries = json.loads(raw.stdout)
    assert [e["action"] for e in entries[:3]] == ["cancel", "send", "role_add"]
    assert entries[0]["name"] == "Olga" and entries[1]["name"] is None and entries[1]["broadcast"] == bc_id
    assert entries[2]["whom_name"] is None and entries[2]["by"] == entries[0]["by"]


async def cli(settings: Settings, redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`rrbot` as an operator runs it, against the test's Redis."""
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "REDIS_URL", "PRIVACY_KEY", "CONTENT_DIR"}}
    env.update(
        PYTHONPATH=str(ROOT),
        REDIS_URL=redis_url,
        PRIVACY_KEY=settings.privacy_key.get_secret_value(),
        CONTENT_DIR=str(CONTENT),
        DATA_DIR=str(settings.data_dir),
        DEFAULT_TIMEZONE="UTC",
    )
    run = functools.partial(subprocess.run, capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)
    return await asyncio.to_thread(run, [sys.executable, "-m", "bot.cli", *args])
