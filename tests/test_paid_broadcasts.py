"""Paid broadcasts end to end: above Telegram's free 30 messages a second every send carries
allow_paid_broadcast and costs 0.1 Star; the preview (chat and command line) says what it costs and
refuses a short balance; a balance that runs out mid-broadcast pauses it and loses nobody.

The real bot, the real aiogram client, the emulator over HTTP (its Star balance and paid cap) and Redis.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from bot.app.wiring import App, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind, Payload, State
from bot.delivery.paid import NO_STARS
from bot.ground.settings import Settings
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from emulator.world import Call
from tests.conftest import ADMIN_ID, TOKEN
from tests.test_cli import rrbot_output
from tests.test_delivery import finished

pytestmark = pytest.mark.timeout(120)

CASE = "ua-84-11"
TEXT = "Paid news of the case"
PAID_RATE = 100.0


def paid(call: Call) -> bool:
    return call.params.get("allow_paid_broadcast") in (True, "true")


def sends_to(emulator: BotAPIEmulator, chats: list[int]) -> list[Call]:
    wanted = set(chats)
    return [c for c in emulator.calls if c.method == "sendMessage" and c.params.get("chat_id") in wanted]


async def subscribers(app: App, emulator: BotAPIEmulator, count: int, start: int = 71_000) -> list[int]:
    chats = list(range(start, start + count))
    for chat in chats:
        emulator.add_user(chat, first_name=f"P{chat}", language_code="en")
        await app.store.start(chat)
        await app.store.subscribe(chat, CASE)
    return chats


@pytest.fixture
async def paid_app(settings: Settings, redis, library: Library, emulator: BotAPIEmulator) -> AsyncIterator[App]:
    """A bot configured past the free rate, against a Telegram whose free cap is 30/s and paid cap 400/s."""
    emulator.limits = FloodLimits(chat_burst=30, paid_per_second=400)
    async with running(settings.model_copy(update={"broadcast_rate": PAID_RATE}), redis, library) as app:
        yield app


async def coordinator(app: App, emulator: BotAPIEmulator) -> Activist:
    admin = Activist(emulator, ADMIN_ID, "Coord", "en")
    await app.store.set_language(ADMIN_ID, "en")
    return admin


async def preview(admin: Activist) -> dict:
    """/broadcast, a text, the case's followers: returns the confirmation under the preview."""
    await admin.send("/broadcast")
    await admin.send(TEXT)
    await admin.tap_data("bca:case")
    await admin.tap_data(f"bcc:case:{CASE}")
    return admin.last


# --- the flag -----------------------------------------------------------------------------------------


async def test_a_paid_rate_sends_every_message_as_a_paid_one(paid_app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(paid_app, emulator, 150)
    emulator.star_balance = 100
    emulator.reset_flood_stats()
    bc_id = await paid_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    progress = await finished(paid_app, bc_id)
    assert progress.state == State.done and progress.delivered == 150
    calls = sends_to(emulator, chats)
    assert len(calls) == 150 and all(paid(c) for c in calls)
    # At 100/s past a free cap of 30/s: only the flag kept Telegram from answering 429.
    assert emulator.flood_stats()["refused_429"] == 0
    assert emulator.star_balance == 85  # 150 x 0.1 Star, exactly


async def test_the_free_rate_sends_no_paid_message(app: App, emulator: BotAPIEmulator) -> None:
    chats = await subscribers(app, emulator, 5)
    balance = emulator.star_balance
    bc_id = await app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE))
    assert (await finished(app, bc_id)).delivered == 5
    calls = sends_to(emulator, chats)
    assert len(calls) == 5 and not any("allow_paid_broadcast" in c.params for c in calls)
    assert emulator.star_balance == balance


# --- the preview in chat ------------------------------------------------------------------------------


async def test_the_preview_of_a_paid_broadcast_shows_its_cost_and_the_balance(
    paid_app: App, emulator: BotAPIEmulator
) -> None:
    admin = await coordinator(paid_app, emulator)
    await subscribers(paid_app, emulator, 12)
    emulator.star_balance = 500
    confirm = await preview(admin)
    assert "Cost: 1.2 ⭐ (12 messages × 0.1 ⭐); balance 500 ⭐" in confirm["text"], confirm["text"]
    assert admin.button("Send") and admin.button("Send later")


async def test_a_short_balance_offers_no_send(paid_app: App, emulator: BotAPIEmulator) -> None:
    admin = await coordinator(paid_app, emulator)
    await subscribers(paid_app, emulator, 12)
    emulator.star_balance = 1
    confirm = await preview(admin)
    assert "balance 1 ⭐" in confirm["text"] and "0.2 ⭐ short" in confirm["text"], confirm["text"]
    labels = [b["text"] for b in admin.buttons(confirm)]
    # Send to me first stays: a test goes to the coordinator alone, at no price.
    assert not any("Send" in label and not label.startswith("🧪") for label in labels), labels
    assert admin.button("Change audience") and admin.button("Cancel")
    # Stars added: choosing the audience again reads the balance again, and Send is back.
    emulator.star_balance = 2
    await admin.tap_data("bca:menu", confirm)
    await admin.tap_data("bca:case")
    await admin.tap_data(f"bcc:case:{CASE}")
    assert "balance 2 ⭐" in admin.last["text"] and admin.button("Send")


async def test_a_forged_send_under_a_short_balance_sends_nothing(paid_app: App, emulator: BotAPIEmulator) -> None:
    """No Send was offered; one typed by hand from the Cancel button's token is refused all the same."""
    admin = await coordinator(paid_app, emulator)
    await subscribers(paid_app, emulator, 12)
    emulator.star_balance = 1
    confirm = await preview(admin)
    token = admin.button("Cancel", confirm)["callback_data"].rsplit(":", 1)[1]
    for forged in (f"bcd:send:{token}", f"bcw:{token}"):
        await admin.press(confirm["message_id"], forged)
    assert await paid_app.broadcasts.recent() == [], "nothing queued"


async def test_a_balance_that_cannot_be_read_is_said_and_sending_stays_possible(
    paid_app: App, emulator: BotAPIEmulator
) -> None:
    admin = await coordinator(paid_app, emulator)
    await subscribers(paid_app, emulator, 3)
    emulator.inject("getMyStarBalance", 502, "Bad Gateway")
    confirm = await preview(admin)
    assert "Cost: 0.3 ⭐ (3 messages × 0.1 ⭐)" in confirm["text"]
    assert "could not be read" in confirm["text"] and admin.button("Send")


async def test_at_the_free_rate_the_preview_has_no_cost_and_asks_for_no_balance(
    app: App, emulator: BotAPIEmulator
) -> None:
    admin = await coordinator(app, emulator)
    await subscribers(app, emulator, 3)
    confirm = await preview(admin)
    assert "3 recipients" in confirm["text"] and "⭐" not in confirm["text"]
    assert not [c for c in emulator.calls if c.method == "getMyStarBalance"]


# --- the balance runs out mid-broadcast -------------------------------------------------------------------


async def test_stars_running_out_pause_the_broadcast_and_nobody_is_lost(
    paid_app: App, emulator: BotAPIEmulator
) -> None:
    admin = await coordinator(paid_app, emulator)
    chats = await subscribers(paid_app, emulator, 40)
    emulator.star_balance = 2  # 20 of the 40 messages
    bc_id = await paid_app.broadcasts.enqueue(Payload(TEXT), Audience(AudienceKind.case, CASE), created_by=ADMIN_ID)
    live = await paid_app.bot.send_message(ADMIN_ID, "progress")  # the broadcast's live progress message
    await paid_app.broadcasts.set_progress_message(bc_id, ADMIN_ID, live.message_id)

    async def paused() -> None:
        while (await paid_app.broadcasts.progress(bc_id)).state != State.paused:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(paused(), 20)
    notice = await emulator.wait_for(
        lambda: next((m for m in emulator.messages(ADMIN_ID) if "cannot pay" in m.get("text", "")), None)
    )
    await emulator.wait_idle()
    progress = await paid_app.broadcasts.progress(bc_id)
    assert progress.paused_for == NO_STARS
    assert (progress.delivered, progress.failed, progress.left) == (20, 0, 20)
    assert "20 recipients have yet to receive it" in notice["text"] and admin.button("Resume", notice)

    emulator.star_balance = 10
    await admin.tap("Resume", notice)
    resumed = next(m for m in emulator.messages(ADMIN_ID) if m["message_id"] == notice["message_id"])
    assert "sending again" in resumed["text"] and not admin.buttons(resumed), "the live message above goes on"
    done = await finished(paid_app, bc_id)
    assert (done.state, done.delivered, done.failed) == (State.done, 40, 0)
    got = Counter(chat for chat in chats for m in emulator.messages(chat) if m.get("text") == TEXT)
    assert got == Counter({chat: 1 for chat in chats})


# --- the command line ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("balance", "code"), [(1, 2), (500, 0)])
async def test_the_command_line_shows_the_cost_and_refuses_a_short_balance(
    app: App, emulator: BotAPIEmulator, redis_url: str, tmp_path, balance: int, code: int
) -> None:
    await subscribers(app, emulator, 12)
    emulator.star_balance = balance
    text = tmp_path / "news.html"
    text.write_text(TEXT, encoding="utf-8")
    env = {
        "REDIS_URL": redis_url,
        "PRIVACY_KEY": "test-privacy-key-0123456789abcdef",
        "DATA_DIR": str(tmp_path),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "BROADCAST_RATE": str(PAID_RATE),
    }
    status, out, err = await rrbot_output("broadcast", "--text-file", str(text), "--case", CASE, "--yes", env=env)
    assert status == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    if code == 2:
        assert len(lines) == 1 and "not queued" in lines[0], err
        assert "1.2 Stars (12 messages x 0.1 Stars)" in lines[0] and "balance is 1 Star;" in lines[0]
        assert not out.strip() and not await app.broadcasts.recent()
    else:
        assert "cost: 1.2 Stars (12 messages x 0.1 Stars); balance 500 Stars" in err
        [queued] = await app.broadcasts.recent()
        assert queued.id == out.strip() and queued.total == 12
