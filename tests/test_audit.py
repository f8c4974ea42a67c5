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
from bot.render import Screen
from bot.render.markup import visible_text
from bot.telegram.reporter import Coordinators
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


def from_client(emulator: BotAPIEmulator, owner: Activist, **content: object) -> None:
    """A message as the owner's Telegram client sends it, with what it carries (a shared user, a forward)."""
    emulator.queue_update(
        {
            "message": {
                "message_id": next(_message_ids),
                "from": {"id": owner.user_id, "is_bot": False, "first_name": owner.first_name},
                "chat": {"id": owner.user_id, "type": "private", "first_name": owner.first_name},
                "date": int(time.time()),
                **content,
            }
        }
    )


def share(emulator: BotAPIEmulator, owner: Activist, user_id: int, first_name: str) -> None:
    """The owner picks a person with Telegram's user picker: the client sends users_shared."""
    from_client(
        emulator, owner, users_shared={"request_id": 1, "users": [{"user_id": user_id, "first_name": first_name}]}
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

    async def started() -> bool:
        return (await app.broadcasts.progress(bc_id)).started_at is not None

    await emulator.wait_for(started)
    await app.store.pledge(PEOPLE[0], "ua-84-11", "letter")  # someone acted on it

    # The owner finds it in /broadcasts: its first line, who, to whom; opens it and stops it.
    sends = await owner.send("/broadcasts")
    assert "Vigil on Friday at the embassy" in sends["text"] and "Broadcast #" not in sends["text"]
    assert "Boris" in sends["text"] and renderer.audience_name(lang, "all") in sends["text"]
    assert "✍️" in sends["text"] and visible_text(sends["text"]).split("✍️")[1].split("\n")[0].strip().endswith("1")
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


def forward(emulator: BotAPIEmulator, owner: Activist, origin: dict) -> None:
    """The owner forwards a message someone wrote: Telegram says who, unless their privacy settings hide it."""
    from_client(emulator, owner, forward_origin={**origin, "date": int(time.time()) - 60}, text="see you at the vigil")


async def answer_to(emulator: BotAPIEmulator, owner: Activist, act: object) -> str:
    before = len(emulator.outbox(owner.user_id))
    act()  # type: ignore[operator]
    await emulator.wait_for(lambda: len(emulator.outbox(owner.user_id)) > before)
    await emulator.wait_idle()
    return emulator.messages(owner.user_id)[before - len(emulator.outbox(owner.user_id))]["text"]


async def test_owner_adds_by_a_forwarded_message_or_an_id_and_removes_and_a_coordinator_cannot(
    app: App, emulator: BotAPIEmulator
) -> None:
    renderer, roles = app.renderer, app.dispatcher["roles"]
    owner = Activist(emulator, ADMIN_ID, "Olga", "en")
    vera = Activist(emulator, 62_010, "Vera", "en")
    await owner.send("/coordinators")
    await owner.tap_data("crd:add")

    hidden = await answer_to(
        emulator, owner, lambda: forward(emulator, owner, {"type": "hidden_user", "sender_user_name": "V"})
    )
    assert hidden == renderer.message("crd_hidden", "en")
    user = {"id": vera.user_id, "is_bot": False, "first_name": "Vera", "last_name": "K."}  # as Olga's client shows her
    await answer_to(emulator, owner, lambda: forward(emulator, owner, {"type": "user", "sender_user": user}))
    assert await roles.is_coordinator(vera.user_id)
    assert "Vera K." in owner.last["text"] and owner.button("Remove Vera K.")

    await owner.tap_data("crd:add")
    assert (await owner.send("my friend")).get("text") == renderer.message("crd_not_a_person", "en")
    await owner.send("62011")
    assert await roles.is_coordinator(62_011) and "id 62011" in owner.last["text"]

    # A coordinator sees who coordinates, and cannot add or remove anyone, even with a forged tap.
    listing = await vera.send("/coordinators")
    assert "Olga" in listing["text"] and not vera.buttons(listing)
    for data in ("crd:add:", "crd:rm:62011"):
        answer = await vera.press(listing["message_id"], data)
        assert answer.get("text") == renderer.stale_toast("en").text, data
    assert await roles.is_coordinator(62_011)

    # The owner removes Vera (named as Telegram showed her when she last wrote): her commands are gone at once.
    listing = await owner.send("/coordinators")
    answer = await owner.tap("Remove Vera", listing)
    assert answer["text"] == "Vera is no longer a coordinator."
    assert not await roles.is_coordinator(vera.user_id)
    assert "Vera" not in owner.last["text"]
    assert (await vera.send("/coordinators"))["text"] != listing["text"], "the command no longer exists for her"
    audit = visible_text((await owner.send("/audit"))["text"])
    labels = {action: name for action, (_, name) in renderer.action_labels("en").items()}
    removed = next(b for b in audit.split("\n\n") if labels[Action.role_remove] in b)
    assert "Vera" in removed and "Olga" in removed
    assert audit.count(labels[Action.role_add]) == 2


async def test_a_draft_survives_another_command_and_is_resumed_and_sent(app: App, emulator: BotAPIEmulator) -> None:
    owner = Activist(emulator, ADMIN_ID, "Olga", "en")
    for user in PEOPLE[:3]:
        emulator.add_user(user, first_name=f"A{user}")
        await app.store.start(user)
    await owner.send("/broadcast")
    await owner.send("Letters needed by Friday\nDetails inside.")
    await owner.send("/audit")  # another command: the composer lets the message go, the draft stays
    listing = await owner.send("/drafts")
    assert "Letters needed by Friday" in listing["text"]
    await owner.tap_data("drf:open:", listing)
    assert owner.button("Everyone"), "back where the composer asks for the audience"
    await owner.tap_data("bca:all")
    await owner.tap_data("bcd:send")
    sent = (await app.broadcasts.recent(1))[0]
    assert (await app.broadcasts.payload(sent.id)).text == "Letters needed by Friday\nDetails inside."
    assert "Letters needed by Friday" not in (await owner.send("/drafts"))["text"], "sent: no longer a draft"
    await emulator.wait_for(lambda: owner.last["text"].startswith("🏁"), timeout=15)  # its report, out of the way

    # Cancel drops a draft; /broadcasts offers the drafts there are.
    await owner.send("/broadcast")
    await owner.send("Second thoughts")
    assert "Second thoughts" in (await owner.send("/drafts"))["text"]
    await owner.send("/broadcast")
    await owner.send("Kept for later")
    await owner.tap_data("bcd:cancel")
    drafts = (await owner.send("/drafts"))["text"]
    assert "Kept for later" not in drafts and "Second thoughts" in drafts
    sends = await owner.send("/broadcasts")
    assert "Letters needed by Friday" in sends["text"]
    await owner.tap_data("drf:list", sends)
    assert "Second thoughts" in owner.last["text"]
    await owner.tap_data("drf:drop:")
    assert "Second thoughts" not in owner.last["text"]


async def test_audit_pages_older_and_newer(app: App, emulator: BotAPIEmulator) -> None:
    owner = Activist(emulator, ADMIN_ID, "Olga", "en")
    for n in range(1, 24):
        await app.broadcasts.audit.record(Action.reload, "cli", title=f"entry {n:02d}")
    first = visible_text((await owner.send("/audit"))["text"])
    assert "entry 23" in first and "entry 14" in first and "entry 13" not in first
    assert [b["text"] for b in owner.buttons()] == ["➡️ Older"]
    await owner.tap("Older")
    second = visible_text(owner.last["text"])
    assert "entry 13" in second and "entry 04" in second and "entry 14" not in second and "entry 03" not in second
    assert [b["text"] for b in owner.buttons()] == ["⬅️ Newer", "➡️ Older"]
    await owner.tap("Older")
    third = visible_text(owner.last["text"])
    assert "entry 03" in third and "entry 01" in third and [b["text"] for b in owner.buttons()] == ["⬅️ Newer"]
    await owner.tap("Newer")
    assert visible_text(owner.last["text"]) == second
    await owner.tap("Newer")
    assert visible_text(owner.last["text"]) == first and "command line" in first


async def test_a_coordinator_added_in_chat_hears_the_coordinators_notices(app: App, emulator: BotAPIEmulator) -> None:
    """A skipped job, a failed channel post, a question about a send: every coordinator, not only ADMIN_IDS."""
    roles = app.dispatcher["roles"]
    vera = Activist(emulator, 62_020, "Vera", "en")
    await vera.send("/start")
    notifier = Coordinators(app.bot, app.store, app.renderer, roles)
    await notifier.send(lambda lang: "A notice for every coordinator")
    assert not [m for m in vera.messages if m.get("text") == "A notice for every coordinator"]
    await roles.add(vera.user_id, ADMIN_ID)
    await notifier.send(lambda lang: "A notice for every coordinator")
    await notifier.tell(vera.user_id, lambda lang: Screen("Your send changed"))
    await emulator.wait_idle()
    texts = [m.get("text") for m in vera.messages]
    assert "A notice for every coordinator" in texts and "Your send changed" in texts
