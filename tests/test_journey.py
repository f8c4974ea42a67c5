"""An activist's journey end to end: the real bot, the real aiogram client, the emulator and a real Redis."""

from __future__ import annotations

import io
import logging

import pytest
from pypdf import PdfReader

from bot.app.wiring import App
from emulator import BotAPIEmulator
from emulator.journey import Activist

CASE = "ua-84-11"

# The officials of UA 84/11 as the document gives them (names as a Russian reader sees them, too). The
# President is a "copies to" official: the document gives him no salutation, so he gets the letter to
# the Prosecutor General with a line saying it is a copy for him.
SEED_TARGETS = [
    {
        "id": "chaika",
        "name": {"en": "Yurii Ya. Chaika", "ru": "Ю. Я. Чайка"},
        "fax": "+7 495 987 58 41",
        "email": None,
        "salutation": {"en": "Dear Prosecutor General", "ru": "Уважаемый господин Генеральный прокурор"},
    },
    {
        "id": "peshkov",
        "name": {"en": "M. A. Peshkov", "ru": "М. А. Пешков"},
        "fax": "+7 499 241 21 75",
        "email": "3dsng@mid.ru",
        "salutation": {"en": "Dear Director", "ru": "Уважаемый господин директор"},
    },
    {
        "id": "medvedev",
        "name": {"en": "Dmitry A. Medvedev", "ru": "Д. А. Медведев"},
        "fax": "+7 495 9100766 ext 2134",
        "email": None,
        "salutation": {"en": "Dear Prosecutor General", "ru": "Уважаемый господин Генеральный прокурор"},
        "copy": {
            "en": "Copy to: Dmitry A. Medvedev, President",
            "ru": "Копия: Президенту Российской Федерации Д. А. Медведеву",
        },
    },
]


async def arrive(emulator: BotAPIEmulator, user_id: int, lang: str) -> Activist:
    """A newcomer follows the case's deep link and picks a language."""
    who = Activist(emulator, user_id, f"User{user_id}", language_code=lang)
    picker = await who.send(f"/start {CASE}")
    codes = {b["callback_data"].split(":")[1] for b in who.buttons(picker)}
    assert {"en", "ru"} <= codes, "the first visit offers the UI languages"
    await who.tap_data(f"lang:{lang}:")
    return who


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_deep_link_subscribes_and_shows_the_card(app: App, emulator: BotAPIEmulator, lang: str) -> None:
    who = await arrive(emulator, 101, lang)
    card = who.last
    assert "Nizomkhon Juraev" in card["text"] or "Низомхон" in card["text"]
    assert "2012" in card["text"], "the card shows the deadline"
    assert {b["callback_data"].split(":")[0] for b in who.buttons() if "callback_data" in b} >= {
        "act",
        "bg",
        "cases",
        "unsub",
    }
    assert await app.store.is_subscribed(101, CASE)
    assert (await app.store.user(101)).lang == lang


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_letter_for_every_target_in_both_languages(app: App, emulator: BotAPIEmulator, lang: str) -> None:
    who = await arrive(emulator, 102, lang)
    for target in SEED_TARGETS:
        key = target["id"]
        await who.tap_data(f"act:{CASE}")
        await who.tap_data(f"tgt:{CASE}:{key}:")
        letter = who.last["text"]
        assert target["name"][lang] in letter, "the screen names the official in the reader's script"
        # The appeal asks for letters in Russian: that is the letter offered first, headed in the dative.
        assert target["salutation"]["ru"] in letter and "Российской Федерации" in letter
        if "copy" in target:
            assert target["copy"]["ru"] in letter and "Dear President" not in letter
        assert any(e["type"] == "pre" for e in who.last.get("entities", [])), "the letter is one tap to copy"
        if lang == "en":
            # An English reader gets what the Russian letter says, folded under it, from the case's own text ...
            assert any(e["type"] == "expandable_blockquote" for e in who.last.get("entities", []))
            assert "take immediate steps to clarify the whereabouts" in letter
            # ... and can switch the letter to their own language.
            await who.tap_data(f"tgt:{CASE}:{key}:en")
            assert target["salutation"]["en"] in who.last["text"]
            if "copy" in target:
                assert target["copy"]["en"] in who.last["text"]
        if target["fax"]:
            await who.tap_data(f"fax:{CASE}:{key}:")
            number, _, extension = target["fax"].partition(" ext ")
            assert number in who.last["text"] and extension in who.last["text"]
            copies = [b["copy_text"]["text"] for b in who.buttons() if "copy_text" in b]
            assert number in copies, "the dialable number is one tap to copy"
            await who.tap_data(f"tgt:{CASE}:{key}:")
        if target["email"]:
            await who.tap_data(f"eml:{CASE}:{key}:")
            assert target["email"] in who.last["text"]
            copies = [b["copy_text"]["text"] for b in who.buttons() if "copy_text" in b]
            assert target["email"] in copies, "the address is a copy button, not a mailto: link"
            await who.tap_data(f"tgt:{CASE}:{key}:")


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_print_sends_the_letter_as_an_a4_pdf(app: App, emulator: BotAPIEmulator, lang: str) -> None:
    who = await arrive(emulator, 108, lang)
    await who.tap_data("act:")
    await who.tap_data(f"tgt:{CASE}:peshkov:")
    letter = who.last
    await who.tap_data(f"prt:{CASE}:peshkov:ru", letter)
    documents = [e for e in emulator.outbox(108) if e["message"].get("document")]
    assert len(documents) == 1 and documents[0]["message"]["document"]["file_name"] == "letter-ua-84-11-peshkov-ru.pdf"
    pages = PdfReader(io.BytesIO(documents[0]["file_bytes"])).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Директору Третьего департамента стран СНГ" in text and "М. А. Пешкову" in text
    assert "Ul. Smolenskaya-Sennaia pl, 32/34" in text  # the envelope, as the document gives it
    caption = documents[0]["message"]["caption"]
    assert {"en": "ready to print", "ru": "Письмо для печати"}[lang] in caption


async def test_three_taps_from_the_link_to_a_letter(app: App, emulator: BotAPIEmulator) -> None:
    who = Activist(emulator, 103, "Vera", "en")
    await app.store.set_language(103, "en")  # a returning user: no language question
    await who.send(f"/start {CASE}")
    await who.tap_data("act:")
    await who.tap_data("tgt:")
    assert "Chaika" in who.last["text"]


async def test_tweet_and_share(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 104, "en")
    await who.tap_data("act:")
    await who.tap_data("tw:")
    urls = [b["url"] for b in who.buttons() if "url" in b]
    assert any(u.startswith("https://twitter.com/intent/tweet?text=") or "x.com/intent" in u for u in urls)
    assert "@MedvedevRussia" in who.last["text"]
    await who.tap_data("act:")
    await who.tap_data("sh:")
    assert f"t.me/rrbot_test_bot?start={CASE}" in who.last["text"] + " ".join(
        b.get("url", "") + b.get("copy_text", {}).get("text", "") for b in who.buttons()
    )


async def test_pledge_counts_once_and_shows_the_total(app: App, emulator: BotAPIEmulator) -> None:
    ann = await arrive(emulator, 105, "en")
    await ann.tap_data("act:")
    await ann.tap_data("tgt:")
    screen = ann.last
    first = await ann.tap_data(f"pl:{CASE}:letter", screen)
    second = await ann.tap_data(f"pl:{CASE}:letter", screen)
    assert first["text"] and second["text"] and first["text"] != second["text"]
    assert (await app.store.totals(CASE))["letter"] == 1

    bob = await arrive(emulator, 106, "en")
    await bob.tap_data("act:")
    await bob.tap_data("tgt:")
    answer = await bob.tap_data(f"pl:{CASE}:letter")
    assert "2" in answer["text"], "the second writer hears they are not alone"
    assert (await app.store.totals(CASE))["letter"] == 2


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_remind_me_later_after_the_deadline_says_it_has_passed(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    """The seed's deadline (15 May 2012) is long gone: no "Remind me later" is offered, and one on an older
    screen says so and plans nothing."""
    ann = await arrive(emulator, 107, lang)
    await ann.tap_data("act:")
    await ann.tap_data("tgt:")
    assert not [b for b in ann.buttons() if b.get("callback_data", "").startswith("later:")]
    answer = await ann.press(ann.last["message_id"], f"later:{CASE}:letter")
    assert {"en": "The deadline has passed", "ru": "Срок уже прошёл"}[lang] in answer["text"]
    assert answer.get("show_alert"), "a word that needs reading stays until dismissed"
    assert not [j for j in await app.store.redis.hkeys("rrb:{sched}:jobs") if j.startswith("later:")]


async def test_redelivered_update_counts_once(app: App, emulator: BotAPIEmulator) -> None:
    ann = await arrive(emulator, 107, "en")
    await ann.tap_data("act:")
    await ann.tap_data("tw:")
    update = emulator.user_presses(107, ann.last["message_id"], f"pl:{CASE}:tweet")
    await emulator.wait_answered(update)
    emulator.queue_update(dict(update))  # Telegram redelivers the same update_id
    await emulator.wait_idle()
    assert (await app.store.totals(CASE))["tweet"] == 1


@pytest.mark.parametrize(
    "data",
    [
        "",
        "x",
        "pl:ua-84-11:bribe",
        "tgt:ua-84-11:99:ru",
        "tgt:no-such-case:0:en",
        "pl:no-such-case:letter",
        "card:UA-84-11",
        "lang:xx:",
        "cases:abc",
        "a" * 64,
        "tgt:ua-84-11:0:en:extra",
        "forget:maybe",
    ],
)
async def test_forged_callback_data_gets_a_polite_answer(
    app: App, emulator: BotAPIEmulator, caplog: pytest.LogCaptureFixture, data: str
) -> None:
    who = await arrive(emulator, 108, "en")
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        answer = await who.press(who.last["message_id"], data)
    assert answer.get("text"), "every tap is answered with a word, never silence"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no exception"
    assert sum((await app.store.totals(CASE)).values()) == 0
    reply = await who.send("/help")
    assert "/cases" in reply["text"]


@pytest.mark.parametrize("kind", ["command", "text", "sticker", "photo"])
async def test_anything_unexpected_gets_a_helpful_reply(app: App, emulator: BotAPIEmulator, kind: str) -> None:
    who = await arrive(emulator, 109, "en")
    before = len(who.messages)
    if kind == "command":
        await who.send("/frobnicate")
    elif kind == "text":
        await who.send("hello, is anyone there?")
    elif kind == "sticker":
        await who.send_update(emulator.user_sends_sticker)
    else:
        await who.send_update(emulator.user_sends_photo)
    assert len(who.messages) == before + 1
    assert "/" in who.last["text"], "the reply points to a way forward"


async def test_unknown_case_in_a_deep_link(app: App, emulator: BotAPIEmulator) -> None:
    who = Activist(emulator, 110, "Ann", "en")
    await who.send("/start no-such-case")
    texts = [m["text"] for m in who.messages]
    assert len(texts) >= 1 and "/cases" in " ".join(texts)
    assert not await app.store.subscriptions(110)


async def test_signature_goes_under_the_letter(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 111, "en")
    await who.send("/sign Jane Doe, Leeds, UK")
    await who.send("/act")
    await who.tap_data("tgt:")
    assert "Jane Doe, Leeds, UK" in who.last["text"]


async def test_mydata_and_forget(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 112, "en")
    await who.tap_data("act:")
    await who.tap_data("tw:")
    await who.tap_data(f"pl:{CASE}:tweet")
    mydata = (await who.send("/mydata"))["text"]
    assert CASE in mydata or "UA 84/11" in mydata
    await who.send("/forget")
    await who.tap_data("forget:yes")
    assert not await app.store.subscriptions(112)
    assert (await app.store.user(112)).is_new
    assert await app.store.pledged_actions(112, CASE) == set()
    assert (await app.store.totals(CASE))["tweet"] == 1, "anonymous totals stay"


async def test_command_menu_in_every_ui_language(app: App, emulator: BotAPIEmulator) -> None:
    en = {c["command"]: c["description"] for c in emulator.commands(language_code="en")}
    ru = {c["command"]: c["description"] for c in emulator.commands(language_code="ru")}
    assert {"start", "cases", "act", "language", "sign", "stop", "mydata", "forget", "help"} <= set(en)
    assert set(ru) == set(en) and ru["help"] != en["help"]


async def test_stop_pauses_everything_and_start_restores_it(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 113, "ru")
    assert not await app.store.gets_alerts(113), "a case's link follows that case; alerts are a plain /start's"
    await who.send("/start")
    assert await app.store.gets_alerts(113), "/start asks for new-case alerts"
    stopped = await who.send("/stop")
    assert "/start" in stopped["text"] and "/forget" in stopped["text"], "how to come back, and what is kept"
    assert not await app.store.is_subscribed(113, CASE)
    assert not await app.store.gets_alerts(113)
    assert await app.store.subscriptions(113) == {CASE}, "remembered, to be restored"
    back = await who.send("/start")
    assert "С возвращением" in back["text"], "a word that they are back, on the welcome"
    assert await app.store.is_subscribed(113, CASE) and await app.store.gets_alerts(113)


async def test_sign_prompt_takes_the_next_text(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 114, "en")
    await who.send("/sign")
    await who.send("Ann K., Tromsø")
    assert (await app.store.user(114)).signature == "Ann K., Tromsø"


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_a_signature_with_a_postal_address_signs_the_letter(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    """A name and, on the next lines, an address for replies: kept as lines, and they replace the placeholders."""
    who = await arrive(emulator, 118, lang)
    prompt = await who.send("/sign")
    assert {"en": "12 High Street", "ru": "ул. Баумана"}[lang] in prompt["text"], "the prompt shows an address"
    await who.send("Anna Smith\n  12   High Street\n\nLeeds LS1 1AA")
    assert (await app.store.user(118)).signature == "Anna Smith\n12 High Street\nLeeds LS1 1AA"
    await who.send(f"/start {CASE}")
    await who.tap_data("act:")
    await who.tap_data(f"tgt:{CASE}:chaika:")
    letter = who.last["text"]
    assert "Anna Smith\n12 High Street\nLeeds LS1 1AA" in letter
    assert "[Ваш почтовый адрес]" not in letter and "[Ваше имя]" not in letter


async def test_another_command_cancels_the_sign_prompt(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 115, "en")
    await who.send("/sign")
    help_text = await who.send("/help")
    assert "/cases" in help_text["text"], "the other command runs"
    await who.send("I have a question about the case")
    assert (await app.store.user(115)).signature is None, "and the prompt is gone"
    await who.send("/sign")
    await who.press(who.last["message_id"], "cases:0")  # a tap elsewhere cancels it too
    await who.send("hello")
    assert (await app.store.user(115)).signature is None


async def test_commands_ignore_case(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 116, "en")
    assert "/cases" in (await who.send("/Help"))["text"]


async def test_a_reply_survives_a_flood_limit(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 117, "en")
    emulator.inject("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=1)
    reply = await who.send("/help", timeout=10)
    assert "/cases" in reply["text"], "the bot waits as told and sends again"


async def test_the_case_list_leads_back_home(app: App, emulator: BotAPIEmulator) -> None:
    who = await arrive(emulator, 118, "en")
    await who.send("/cases")
    listing = who.last
    answer = await who.tap_data("home", listing)
    assert "expired" not in (answer.get("text") or "")
    assert who.last["text"] != listing["text"] and who.buttons(), "the welcome screen, with its cases"


async def test_forget_reaches_pledges_of_a_case_no_longer_served(app: App, emulator: BotAPIEmulator) -> None:
    await app.store.pledge(119, "an-old-case", "letter")  # a case whose file has since been removed
    assert "an-old-case" in (await app.store.my_data(119, app.library.ids()))["pledges"]
    await app.store.forget(119, app.library.ids())
    assert await app.store.pledged_actions(119, "an-old-case") == set()
    assert (await app.store.totals("an-old-case"))["letter"] == 1
