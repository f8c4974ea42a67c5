"""Composing a broadcast or an update end to end: a long paste in parts, versions per language, Send to me first.

The real bot, aiogram, the emulator and Redis, as in tests/test_coordinator.py; the coordinator works in
English or in Russian.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot.app.wiring import App
from bot.delivery import Payload
from bot.publishing.composer import GATHER_SECONDS, Draft, by_version, missing_versions
from bot.render.markup import visible_text
from emulator import BotAPIEmulator, FloodLimits
from emulator.journey import Activist
from tests.conftest import ADMIN_ID
from tests.test_coordinator import CASE, U1, U2, U3, U4, activists, coordinator

EVERYONE = (ADMIN_ID, U1, U2, U3, U4)
RUSSIAN = {U3}  # activists() gives U3 a Russian UI; the others and the coordinator read English


@pytest.fixture(autouse=True)
def quick_typist(emulator: BotAPIEmulator) -> None:
    """These tests type faster than any coordinator: a larger per-chat burst, the same limits otherwise."""
    emulator.limits = FloodLimits(chat_burst=30)


def long_paste() -> tuple[str, str]:
    """6,366 characters as Telegram splits them: 4,096, then the rest, cut mid-word."""
    words = " ".join(f"word{i}" for i in range(2000))
    text = ("Nizomkhon Juraev was returned to Tajikistan. " + words)[:6366]
    assert len(text) == 6366
    return text[:4096], text[4096:]


async def as_coordinator(app: App, emulator: BotAPIEmulator, lang: str) -> Activist:
    admin = await coordinator(app, emulator)
    await app.store.set_language(ADMIN_ID, lang)
    return admin


async def broadcast_long_paste(app: App, emulator: BotAPIEmulator, lang: str) -> tuple[Activist, tuple[str, str]]:
    """/broadcast, then a long paste as Telegram delivers it: its parts one right after the other, before the
    bot answers any. Returns the coordinator and the parts."""
    admin = await as_coordinator(app, emulator, lang)
    await activists(app, emulator)
    parts = long_paste()
    await admin.send("/broadcast")
    before = len(emulator.outbox(ADMIN_ID))
    for part in parts:
        emulator.user_sends(ADMIN_ID, part)
    await emulator.wait_for(lambda: len(emulator.outbox(ADMIN_ID)) > before)
    await emulator.wait_idle()
    return admin, parts


def pickers(emulator: BotAPIEmulator) -> list[dict]:
    """The audience pickers still in the coordinator's chat (the bot deletes one it replaces)."""
    return [m for m in emulator.messages(ADMIN_ID) if "bca:all" in str(m.get("reply_markup"))]


def received(emulator: BotAPIEmulator, chat: int, texts: set[str]) -> list[str]:
    return [m["text"] for m in emulator.messages(chat) if m.get("text") in texts]


async def report(emulator: BotAPIEmulator) -> str:
    message = await emulator.wait_for(
        lambda: next((m for m in emulator.messages(ADMIN_ID) if m.get("text", "").startswith("🏁")), None), timeout=15
    )
    return message["text"]


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_long_paste_in_two_parts_is_one_broadcast_previewed_and_delivered_whole(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    admin, (first, second) = await broadcast_long_paste(app, emulator, lang)

    # One picker, below the second part, saying the message came in two parts.
    [picker] = pickers(emulator)
    assert picker["message_id"] == admin.last["message_id"]
    size = {"en": "6,366", "ru": "6\xa0366"}[lang]
    assert re.search(rf"\b2\b.*{size}", picker["text"]), picker["text"]

    await admin.tap_data("bca:all")
    # The preview is both parts, in order, then the confirmation.
    shown = [m.get("text") for m in emulator.messages(ADMIN_ID)]
    assert shown[-3:-1] == [first, second]
    assert re.search(rf"\b2\b.*{size}", admin.last["text"]), admin.last["text"]
    await admin.tap_data("bcd:send:")

    # Every recipient gets both parts, in order, once.
    await emulator.wait_for(
        lambda: all(len(received(emulator, c, {second})) == 1 + (c == ADMIN_ID) for c in EVERYONE), timeout=20
    )
    for chat in (U1, U2, U3, U4):
        assert received(emulator, chat, {first, second}) == [first, second]
    assert received(emulator, ADMIN_ID, {first, second}) == [first, second] * 2, "the preview, then the broadcast"
    text = await report(emulator)
    assert "5" in text and ("Delivered: 5 of 5" in text or "5 из 5" in text), text


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_one_broadcast_in_two_languages_each_reader_gets_theirs(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    admin = await as_coordinator(app, emulator, lang)
    await activists(app, emulator)
    other = "ru" if lang == "en" else "en"
    texts = {"en": "He is safe: thank you for writing.", "ru": "Он в безопасности: спасибо, что написали."}
    # The coordinator reads the bot in `lang` and writes in it; the version in the other language follows.
    await admin.send("/broadcast")
    await admin.send(texts[lang])
    await admin.tap_data("bca:all")
    assert admin.button(
        app.renderer._gettext(lang)("Add a version in %(language)s")
        % {"language": {"en": {"ru": "Russian"}, "ru": {"en": "английский"}}[lang][other]}
    )
    await admin.tap_data(f"bcv:add:{other}:")
    assert admin.buttons() and admin.buttons()[0]["callback_data"].startswith(f"bcv:drop:{other}:")
    status = await admin.send(texts[other])
    assert "1" in status["text"] and admin.button("👁")
    await admin.tap_data(f"bcv:done:{other}:")

    # The preview shows each version under its label, with how many get it; the confirmation counts them too.
    # Three activists read English, one Russian; the coordinator reads `lang`.
    readers = {"en": 4, "ru": 1} if lang == "en" else {"en": 3, "ru": 2}
    confirm = admin.last["text"]
    names = {"en": {"en": "English", "ru": "Russian"}, "ru": {"en": "английский", "ru": "русский"}}[lang]
    for code in ("en", "ru"):
        assert re.search(rf"{names[code]}\W+{readers[code]}\b", confirm), confirm
    labels = [m["text"] for m in emulator.messages(ADMIN_ID) if m.get("text", "").startswith("🌐")]
    assert len(labels) == 2 and names[lang] in labels[0] and names[other] in labels[1], labels
    assert not any(b["callback_data"].startswith("bcv:add:") for b in admin.buttons()), "nothing left to add"

    await admin.tap_data("bcd:send:")
    for chat in (U1, U2, U4, U3):
        want = texts["ru" if chat in RUSSIAN else "en"]
        await emulator.wait_for(lambda chat=chat, want=want: received(emulator, chat, {want}) == [want], timeout=15)
        assert received(emulator, chat, set(texts.values())) == [want]
    text = await report(emulator)
    assert re.search(rf"{names['en']} {readers['en']}", text), text
    assert re.search(rf"{names['ru']} {readers['ru']}", text), text


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_send_to_me_first_sends_the_coordinator_what_a_recipient_gets_and_nothing_else(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    admin, (first, second) = await broadcast_long_paste(app, emulator, lang)
    await admin.tap_data("bca:all")
    answer = await admin.tap_data("bct:")
    assert answer["text"].startswith("🧪")
    # Both parts again, then the confirmation, brought down below them with its buttons.
    assert received(emulator, ADMIN_ID, {first, second}) == [first, second] * 2
    assert [m.get("text") for m in emulator.messages(ADMIN_ID)][-3:-1] == [first, second]
    assert admin.button("📣") and admin.button("🧪")
    # Nobody else got anything, and nothing was recorded as a broadcast.
    assert await app.broadcasts.recent() == []
    for chat in (U1, U2, U3, U4):
        assert received(emulator, chat, {first, second}) == []
    # The preview still works: Send goes to everyone.
    await admin.tap_data("bcd:send:")
    [record] = await app.broadcasts.recent()
    assert record.total == 5
    await emulator.wait_for(lambda: received(emulator, U1, {first, second}) == [first, second], timeout=20)


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_an_update_in_two_languages_tried_on_myself_first(app: App, emulator: BotAPIEmulator, lang: str) -> None:
    admin = await as_coordinator(app, emulator, lang)
    await activists(app, emulator)  # U1, U2 (English) and U3 (Russian) follow the case
    other = "ru" if lang == "en" else "en"
    texts = {"en": "He was released this morning.", "ru": "Сегодня утром его освободили."}
    await admin.send("/update")
    await admin.tap_data(f"upc:{CASE}")
    await admin.tap_data("upk:news")
    await admin.send(texts[lang])
    await admin.tap_data(f"upv:add:{other}:")
    await admin.send(texts[other])
    # The version's preview under its label, then the confirmation with who gets which.
    confirm = admin.last["text"]
    readers = {"en": 2, "ru": 1}
    names = {"en": {"en": "English", "ru": "Russian"}, "ru": {"en": "английский", "ru": "русский"}}[lang]
    for code in ("en", "ru"):
        assert re.search(rf"{names[code]}\W+{readers[code]}\b", confirm), confirm
    version = emulator.messages(ADMIN_ID)[-2]
    assert texts[other] in version["text"]

    before = len(emulator.messages(ADMIN_ID))
    answer = await admin.tap_data("upt:")
    assert answer["text"].startswith("🧪")
    mine = emulator.messages(ADMIN_ID)[-2]
    assert texts[lang] in mine["text"] and len(emulator.messages(ADMIN_ID)) == before + 1
    assert await app.broadcasts.recent() == []

    await admin.tap_data("upd:send:")
    for chat in (U1, U2, U3):
        want = texts["ru" if chat in RUSSIAN else "en"]
        await emulator.wait_for(lambda chat=chat, want=want: want in str(emulator.messages(chat)), timeout=15)
        got = visible_text(emulator.messages(chat)[-1]["text"])
        assert want in got and texts["en" if chat in RUSSIAN else "ru"] not in got
    assert texts["en"] not in str(emulator.messages(U4)) and texts["ru"] not in str(emulator.messages(U4))
    text = await report(emulator)
    assert re.search(rf"{names['en']} 2", text) and re.search(rf"{names['ru']} 1", text), text


async def test_more_text_before_the_audience_adds_a_part_and_after_the_preview_starts_again(
    app: App, emulator: BotAPIEmulator
) -> None:
    admin = await as_coordinator(app, emulator, "en")
    await admin.send("/broadcast")
    await admin.send("First part.")
    picker = await admin.send("Second part, typed later.")
    assert "2 parts" in picker["text"] and len(pickers(emulator)) == 1
    await admin.tap_data("bca:all")
    assert [m.get("text") for m in emulator.messages(ADMIN_ID)][-3:-1] == ["First part.", "Second part, typed later."]
    # Once previewed, a new text (not seconds after the last part) is a new message: one part again.
    draft = Draft.from_data(await app_state(app), "en")
    draft.last_at -= GATHER_SECONDS  # as if the coordinator took a moment before typing on
    await set_app_state(app, draft)
    picker = await admin.send("Something else entirely.")
    assert "parts" not in picker["text"] and admin.button("Everyone")
    await admin.tap_data("bca:all")
    await admin.tap_data("bcd:send:")
    [record] = await app.broadcasts.recent()
    assert await app.broadcasts.payload(record.id) == Payload("Something else entirely.", lang="en")


async def app_state(app: App) -> dict:
    return await app.dispatcher.storage.get_data(storage_key(app))


async def set_app_state(app: App, draft: Draft) -> None:
    await app.dispatcher.storage.update_data(storage_key(app), draft.to_data())


def storage_key(app: App) -> StorageKey:
    return StorageKey(bot_id=app.bot.id, chat_id=ADMIN_ID, user_id=ADMIN_ID)


def test_a_draft_makes_one_payload_with_its_parts_and_versions() -> None:
    draft = Draft("en")
    draft.add("one", 100.0)
    assert draft.gathering(101.0) and not draft.gathering(100.0 + GATHER_SECONDS)
    draft.add("two", 101.0)
    draft.add("раз", 150.0, version="ru")
    payload = Payload.from_json(draft.payload().to_json())
    assert [m.text for m in payload.messages()] == ["one", "two"]
    assert [m.text for m in payload.for_language("ru").messages()] == ["раз"]
    assert payload.parts == 2 and payload.version("ru") == "ru" and payload.version("de") == "en"
    readers: Counter[str | None] = Counter({"en": 3, "ru": 2, None: 1})
    assert by_version(draft.languages(), readers) == {"en": 4, "ru": 2}
    assert missing_versions(["en"], readers, ["en", "ru", "uk"]) == ["ru"]
