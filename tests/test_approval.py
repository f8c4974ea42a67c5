"""Another coordinator's approval (issue 17, item 5): an owner requires it for sends to everyone or above a size;
such a send waits, unsent, until another coordinator approves it; the first tap decides; the sender is told who.

Two coordinators, the real bot, the emulator and a real Redis; activists as in tests/test_coordinator.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app.wiring import App, running
from bot.content import Library
from bot.delivery import Audience, AudienceKind
from bot.delivery.approvals import Approvals, Rule
from bot.ground.audit import Action
from bot.ground.clock import utc_now
from bot.ground.settings import Settings
from bot.publishing.announce import announce
from bot.render.markup import visible_text
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from tests.conftest import ADMIN_ID
from tests.test_compose import long_paste
from tests.test_coordinator import CASE, EXPECTED, U1, activists, compose
from tests.test_publishing import finished

SECOND = 9001  # the other coordinator
TEXT = "Good news from the case"


@pytest.fixture(autouse=True)
def quick_typist(emulator: BotAPIEmulator) -> None:
    emulator.limits = FloodLimits(chat_burst=30)


@pytest.fixture
async def two(settings: Settings, redis, library: Library) -> AsyncIterator[App]:
    """The bot with two coordinators (both owners: ADMIN_IDS)."""
    config = settings.model_copy(update={"admin_ids": frozenset({ADMIN_ID, SECOND})})
    async with running(config, redis, library) as app:
        yield app


async def coordinators(app: App, emulator: BotAPIEmulator, lang: str) -> tuple[Activist, Activist]:
    first = Activist(emulator, ADMIN_ID, "Anna", lang)
    second = Activist(emulator, SECOND, "Boris", lang)
    for who in (ADMIN_ID, SECOND):
        await app.store.set_language(who, lang)
    await app.store.start(ADMIN_ID)  # the first also gets alerts and everyone-broadcasts
    return first, second


def got(emulator: BotAPIEmulator, chat: int) -> int:
    """How many copies of TEXT reached a chat (a coordinator's preview is one of them)."""
    return sum(m.get("text") == TEXT for m in emulator.messages(chat))


async def send_to_everyone(admin: Activist) -> tuple[dict[str, Any], int]:
    """Compose TEXT to everyone and tap Send: the answer to the tap, and the confirmation's message id."""
    await compose(admin, TEXT)
    await admin.tap_data("bca:all")
    confirmation = admin.last["message_id"]
    return await admin.tap_data("bcd:send:"), confirmation


def message(who: Activist, message_id: int) -> dict[str, Any]:
    return next(m for m in who.messages if m["message_id"] == message_id)


def said(app: App, lang: str, verdict: str, name: str) -> str:
    return visible_text(app.renderer.approval_decided(lang, verdict, name).text)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_above_the_size_an_owner_set_a_send_waits_until_another_coordinator_approves(
    two: App, emulator: BotAPIEmulator, lang: str
) -> None:
    first, second = await coordinators(two, emulator, lang)
    await activists(two, emulator)
    # The owner sets it in chat: above 3 recipients.
    screen = await first.send("/approval 3")
    assert screen["text"] == visible_text(two.renderer.approval_rule(lang, everyone=False, above=3).text)
    assert await Approvals(two.broadcasts.redis).rule() == Rule(False, 3)

    # The case's 3 followers: not above the size, so it goes at once.
    await compose(first, "Only for the case")
    await first.tap_data("bca:case")
    await first.tap_data(f"bcc:case:{CASE}")
    await first.tap_data("bcd:send:")
    [small] = await two.broadcasts.recent()
    assert small.total == 3 and not [m for m in second.messages if "Only for the case" in m.get("text", "")]
    await finished(two, small.id)
    await emulator.wait_for(lambda: first.last["text"].startswith("🏁"), timeout=10)  # its report

    # Everyone (5): it waits. Nothing is queued, nothing delivered; the other coordinator gets it to approve.
    answer, confirmation = await send_to_everyone(first)
    assert not answer.get("text"), "not 'Queued': its message says it waits"
    waiting = message(first, confirmation)
    assert first.button("↩️", waiting)
    assert "5" in waiting["text"]
    ask = await emulator.wait_for(lambda: next((m for m in second.messages if m.get("reply_markup")), None))
    assert "Anna" in ask["text"] and "5" in ask["text"]
    assert got(emulator, SECOND) == 1, "the preview, as recipients will get it, above the question"
    assert [b["callback_data"][:6] for b in second.buttons(ask)] == ["apv:ye", "apv:no"]
    assert len(await two.broadcasts.recent()) == 1 and got(emulator, U1) == 0

    # The sender cannot approve their own (a forged tap): it still waits.
    approve = next(b["callback_data"] for b in second.buttons(ask) if b["callback_data"].startswith("apv:yes"))
    answer = await first.press(waiting["message_id"], approve)
    assert answer["text"] == two.renderer.toast("apv_toast", lang, op="own").text
    assert len(await two.broadcasts.recent()) == 1 and got(emulator, U1) == 0

    # The other coordinator approves: the sender is told who, and it goes out as the sender's.
    answer = await second.tap_data("apv:yes:", ask)
    assert answer["text"] == two.renderer.toast("apv_toast", lang, op="approved").text
    assert second.last["text"] == said(two, lang, "approved", "Boris") and not second.buttons()
    told = await emulator.wait_for(
        lambda: next((m for m in first.messages if m.get("text") == said(two, lang, "approved", "Boris")), None)
    )
    assert told
    record = (await two.broadcasts.recent())[0]
    assert record.created_by == ADMIN_ID and record.audience == Audience(AudienceKind.all)
    # The audit log names the owner's rule and the approver; /audit shows them.
    logged = [(e.action, e.name, e.title) for e in (await two.broadcasts.audit.page(20)).entries]
    assert (Action.approve, "Boris", TEXT) in logged and (Action.approval_rule, "Anna", "> 3") in logged, logged
    audit = (await second.send("/audit"))["text"]
    assert two.renderer.action_labels(lang)[Action.approve][1] in audit
    # The sender's waiting message became the progress message.
    assert await two.broadcasts.progress_message(record.id) == (ADMIN_ID, waiting["message_id"])
    await finished(two, record.id)
    await emulator.wait_for(lambda: all(got(emulator, chat) >= 1 for chat in EXPECTED["everyone"]), timeout=10)
    assert {chat: got(emulator, chat) for chat in EXPECTED["everyone"] - {ADMIN_ID}} == dict.fromkeys(
        EXPECTED["everyone"] - {ADMIN_ID}, 1
    )
    # A late tap on the decided request changes nothing.
    answer = await second.press(ask["message_id"], approve.replace("yes", "no"))
    assert answer["text"] == said(two, lang, "approved", "Boris")


async def test_a_declined_or_withdrawn_send_never_goes_out(two: App, emulator: BotAPIEmulator) -> None:
    first, second = await coordinators(two, emulator, "en")
    await activists(two, emulator)
    # The owner's buttons: sends to everyone need approval.
    await first.send("/approval")
    await first.tap_data("apr:all")
    assert await Approvals(two.broadcasts.redis).rule() == Rule(True, None)
    assert "to everyone" in first.last["text"]

    await send_to_everyone(first)
    ask = await emulator.wait_for(lambda: next((m for m in second.messages if m.get("reply_markup")), None))
    answer = await second.tap_data("apv:no:", ask)
    assert answer["text"].startswith("❌")
    assert first.last["text"] == said(two, "en", "declined", "Boris")
    assert "Declined by Boris" in first.last["text"]

    # Withdrawn by its sender before anyone answered: the approver's buttons go too.
    _, confirmation = await send_to_everyone(first)
    waiting = message(first, confirmation)
    ask = await emulator.wait_for(lambda: next((m for m in reversed(second.messages) if m.get("reply_markup")), None))
    await first.tap_data("apv:drop:", waiting)
    assert first.messages[-1]["text"] == said(two, "en", "withdrawn", "Anna")
    assert not second.buttons(next(m for m in second.messages if m["message_id"] == ask["message_id"]))
    # A tap that comes too late (an old message, a slow client) is told what happened.
    answer = await second.tap_data("apv:yes:", ask)
    assert answer["text"] == said(two, "en", "withdrawn", "Anna")

    await emulator.wait_idle()
    assert await two.broadcasts.recent() == [] and got(emulator, U1) == 0

    # Off again: a send goes at once.
    await first.send("/approval off")
    assert await Approvals(two.broadcasts.redis).rule() == Rule()
    answer, _ = await send_to_everyone(first)
    assert "Queued" in answer["text"] and len(await two.broadcasts.recent()) == 1


async def test_off_by_default_and_never_for_an_alert(two: App, emulator: BotAPIEmulator) -> None:
    first, second = await coordinators(two, emulator, "en")
    await activists(two, emulator)
    answer, _ = await send_to_everyone(first)
    assert "Queued" in answer["text"] and not [m for m in second.messages if m.get("reply_markup")]
    [record] = await two.broadcasts.recent()
    await finished(two, record.id)
    await emulator.wait_for(lambda: first.last["text"].startswith("🏁"), timeout=10)  # its report, last
    assert "Off" in (await first.send("/approval"))["text"]

    # Required for everything now, yet a new case's alert goes out at once: speed comes first there.
    await Approvals(two.broadcasts.redis).set_rule(Rule(True, 0), ADMIN_ID)
    bc_id = await announce(two.broadcasts, two.renderer, two.library.get(CASE), utc_now())
    assert (await finished(two, bc_id)).delivered == 5
    assert not [m for m in second.messages if m.get("reply_markup")]


async def test_with_nobody_else_to_ask_nothing_is_sent(app: App, emulator: BotAPIEmulator) -> None:
    admin = Activist(emulator, ADMIN_ID, "Anna")
    await app.store.set_language(ADMIN_ID, "en")
    await app.store.start(ADMIN_ID)
    await activists(app, emulator)
    await admin.send("/approval everyone")
    answer, _ = await send_to_everyone(admin)
    assert answer["text"] == app.renderer.toast("apv_nobody", "en", alert=True).text and answer["show_alert"]
    assert await app.broadcasts.recent() == []
    # The draft is kept: to the case's followers (no approval needed for them), it goes.
    await admin.tap_data("bca:menu")
    await admin.tap_data("bca:case")
    await admin.tap_data(f"bcc:case:{CASE}")
    answer = await admin.tap_data("bcd:send:")
    assert "Queued" in answer["text"] and len(await app.broadcasts.recent()) == 1


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_send_for_later_is_approved_before_it_is_scheduled(
    two: App, emulator: BotAPIEmulator, lang: str
) -> None:
    """Send later cannot go round the rule: the time is asked for, then the send waits; approved, it is scheduled."""
    first, second = await coordinators(two, emulator, lang)
    await activists(two, emulator)
    await Approvals(two.broadcasts.redis).set_rule(Rule(True, None), ADMIN_ID)
    await compose(first, TEXT)
    await first.tap_data("bca:all")
    await first.tap_data("bcw:")
    waiting = await first.send("tomorrow 18:00" if lang == "en" else "завтра 18:00")
    assert first.button("↩️", waiting), "it waits, and can be withdrawn"
    assert "🕒" in waiting["text"], "the time it is planned for"
    assert await two.scheduler.sends() == [], "nothing scheduled before approval"
    ask = await emulator.wait_for(lambda: next((m for m in second.messages if m.get("reply_markup")), None))
    assert "🕒" in ask["text"] and (lang == "ru" or "Planned for" in ask["text"]), "the approver sees when it goes"
    answer = await second.tap_data("apv:yes:", ask)
    assert lang == "ru" or answer["text"] == "✅ Approved: it goes out at the time planned.", answer["text"]
    [scheduled] = await two.scheduler.sends()
    assert scheduled.created_by == ADMIN_ID
    assert scheduled.audience.kind == AudienceKind.all
    await emulator.wait_idle()
    assert await two.broadcasts.recent() == [] and got(emulator, U1) == 0, "scheduled, not sent now"
    shown = next(m for m in first.messages if m["message_id"] == waiting["message_id"])
    assert scheduled.run_at is not None
    zone = "Europe/Moscow" if lang == "ru" else two.settings.default_timezone  # as /settings guesses it
    assert two.renderer.when_words(scheduled.run_at, lang, zone) in shown["text"]


async def test_the_approver_reads_every_part_of_every_version(two: App, emulator: BotAPIEmulator) -> None:
    """A long paste in two parts with a Russian version: the approver gets all three texts before the question."""
    first, second = await coordinators(two, emulator, "en")
    await activists(two, emulator)
    await Approvals(two.broadcasts.redis).set_rule(Rule(True, None), ADMIN_ID)
    parts = long_paste()
    await first.send("/broadcast")
    for part in parts:
        emulator.user_sends(ADMIN_ID, part)
    await emulator.wait_idle()
    await first.tap_data("bca:all")
    await first.tap_data("bcv:add:ru:")
    russian = "Он в безопасности: спасибо, что написали."
    await first.send(russian)
    await first.tap_data("bcv:done:ru:")
    await first.tap_data("bcd:send:")
    ask = await emulator.wait_for(lambda: next((m for m in second.messages if m.get("reply_markup")), None))
    shown = [m.get("text", "") for m in second.messages if m["message_id"] < ask["message_id"]]
    assert parts[0] in shown and parts[1].strip() in [t.strip() for t in shown] and russian in shown, shown
    assert "Version in English" in "\n".join(shown) and "Version in Russian" in "\n".join(shown)
    assert shown.index(parts[0]) < [t.strip() for t in shown].index(parts[1].strip()), "the parts in order"


async def test_forget_withdraws_a_send_waiting_for_approval_and_unnames_a_scheduled_one(
    two: App, emulator: BotAPIEmulator
) -> None:
    """After /forget nothing names the person: their waiting send is withdrawn, their scheduled one goes unnamed."""
    first, second = await coordinators(two, emulator, "en")
    await activists(two, emulator)
    await compose(first, "Later, to the case")
    await first.tap_data("bca:case")
    await first.tap_data(f"bcc:case:{CASE}")
    await first.tap_data("bcw:")
    await first.send("tomorrow 18:00")
    [scheduled] = await two.scheduler.sends()
    assert scheduled.created_by == ADMIN_ID
    await Approvals(two.broadcasts.redis).set_rule(Rule(True, None), SECOND)
    await send_to_everyone(first)
    ask = await emulator.wait_for(lambda: next((m for m in second.messages if m.get("reply_markup")), None))

    await first.send("/forget")
    await first.tap_data("forget:yes")
    [scheduled] = await two.scheduler.sends()
    assert scheduled.created_by is None
    answer = await second.tap_data("apv:yes:", ask)
    assert answer["text"] == "↩️ Withdrawn: nothing was sent.", answer["text"]
    await emulator.wait_idle()
    assert await two.broadcasts.recent() == [] and got(emulator, U1) == 0
    assert not [
        k
        async for k in two.broadcasts.redis.scan_iter(match="*approval*req*")
        if "Anna" in str(await two.broadcasts.redis.hget(k, "sender_name"))
    ]
