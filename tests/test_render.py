"""What a user of the bot would notice in the rendered screens, letters, tweets and catalogues."""

from __future__ import annotations

import datetime as dt
import html
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from bot.content.models import Case
from bot.delivery import Progress, Purpose, State
from bot.ground.i18n import LANGUAGE_NAMES, UI_LANGUAGES, load_translations, negotiate
from bot.render import Button, Renderer, Screen, fit_tweet, fits, weighted_length
from bot.render.callbacks import decode
from bot.render.markup import visible_text

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "content" / "templates"
LOCALES = ROOT / "content" / "locales"
SEED_YAML = ROOT / "content" / "cases" / "ua-84-11.yaml"
BOT = "rrtestbot"
UTC = dt.UTC
# Three days before the seed's deadline (15 May 2012, Moscow).
NOW = dt.datetime(2012, 5, 12, 10, 0, tzinfo=UTC)

MESSAGES = [
    "help", "mydata", "forget_confirm", "forgotten", "sign_prompt", "sign_saved", "sign_cleared",
    "unsubscribed", "stopped", "subscribed", "unknown_command", "free_text", "media", "unknown_case",
    "closed_case", "no_cases", "error", "stale_button", "language_set", "forget_kept", "sign_too_long",
]  # fmt: skip


# --- fixtures -------------------------------------------------------------------------------


def seed_data() -> dict:
    """The seed Urgent Action (UA 84/11, second update) as a case file would hold it."""
    return {
        "id": "ua-84-11",
        "ua": "UA 84/11",
        "update": 2,
        "deadline": "2012-05-15",
        "timezone": "Europe/Moscow",
        "letter_languages": ["ru"],
        "subject": {"name": "Nizomkhon Juraev", "gender": "m"},
        "title": {
            "en": "Tajik refused asylum-seeker disappeared",
            "ru": "Исчез гражданин Таджикистана, которому отказали в убежище",
        },
        "summary": {
            "en": "Nizomkhon Juraev was released from a Russian detention facility on 29 March. "
            "He has not been seen since.",
            "ru": "Низомхон Джураев был освобождён из-под стражи в России 29 марта. С тех пор его никто не видел.",
        },
        "background": {"en": "In 2007 a criminal case was opened in Tajikistan.", "ru": "В 2007 году было возбуждено дело."},
        "tweet": {
            "en": "Ensure that Nizomkhon Juraev, who disappeared after his release from detention, "
            "is not forcibly returned to Tajikistan.",
            "ru": "Не допустите принудительного возвращения в Таджикистан Низомхона Джураева.",
        },
        "asks": [
            {
                "en": "Take immediate steps to clarify the whereabouts of Nizomkhon Juraev;",
                "ru": "Незамедлительно принять меры, чтобы установить местонахождение Низомхона Джураева;",
            },
            {
                "en": "Uphold the absolute obligation not to deport or extradite any person to a country "
                "where they are at risk of torture.",
                "ru": "Соблюдать безусловное обязательство не высылать и не выдавать никого в страну, "
                "где человеку грозят пытки.",
            },
        ],
        "targets": [
            {
                "name": "Yurii Ya. Chaika",
                "title": {"en": "Prosecutor General of the Russian Federation", "ru": "Генеральный прокурор Российской Федерации"},
                "address": ["Bolshaia Dmitrovka 15 A", "Moscow", "125993", "Russian Federation"],
                "fax": "+7 495 987 58 41",
                "salutation": {"en": "Dear Prosecutor General", "ru": "Уважаемый господин Генеральный прокурор"},
            },
            {
                "name": "M. A. Peshkov",
                "title": {"en": "Director, Third department on CIS countries", "ru": "Директор Третьего департамента стран СНГ"},
                "organisation": {
                    "en": "Ministry of Foreign Affairs of the Russian Federation",
                    "ru": "Министерство иностранных дел Российской Федерации",
                },
                "address": ["Ul. Smolenskaya-Sennaia pl, 32/34", "119200 Moscow", "Russian Federation"],
                "fax": "+7 499 241 21 75",
                "email": "3dsng@mid.ru",
                "salutation": {"en": "Dear Director", "ru": "Уважаемый господин директор"},
            },
            {
                # "And copies to:" — the UA gives no salutation for him.
                "name": "Dmitry A. Medvedev",
                "title": {"en": "President of the Russian Federation", "ru": "Президент Российской Федерации"},
                "address": ["Ul.Ilyinka, 23", "103132 Moscow", "Russian Federation"],
                "fax": "+7 495 9100766 ext 2134",
                "twitter": "@MedvedevRussia",
                "copy": True,
            },
        ],
        "links": [
            {"title": {"en": "Further information", "ru": "Дополнительная информация"},
             "url": "http://www.amnesty.org/en/library/info/EUR46/020/2011/en"},
        ],
    }  # fmt: skip


def make_case(**changes: object) -> Case:
    return Case.model_validate({**seed_data(), **changes})


def huge_case() -> Case:
    """Everything too long at once: summary, background, asks, 40 officials, 30 links, tweet."""
    long_en = "The authorities must act now to protect this person and everyone like them. " * 120
    long_ru = "Власти должны немедленно защитить этого человека и всех, кто в таком же положении. " * 120
    targets = [
        {
            "name": f"Official number {i} with a rather long name and several titles",
            "title": {"en": "Minister of Very Long Titles " * 3, "ru": "Министр очень длинных должностей " * 3},
            "address": [f"Street {i}, building {i}", "Capital City", "Country"],
            "fax": f"+1 555 000 {i:04d}",
            "email": f"official{i}@example.org",
            "twitter": f"@official{i}",
            "salutation": {"en": "Dear Minister", "ru": "Уважаемый министр"},
        }
        for i in range(40)
    ]
    return make_case(
        id="huge-case",
        title={"en": "A title that goes on and on " * 20, "ru": "Заголовок, который всё не кончается " * 20},
        summary={"en": long_en, "ru": long_ru},
        background={"en": long_en * 3, "ru": long_ru * 3},
        tweet={"en": long_en, "ru": long_ru},
        asks=[{"en": f"Ask {i}: " + long_en[:900], "ru": f"Просьба {i}: " + long_ru[:900]} for i in range(6)],
        targets=targets,
        links=[{"title": f"Document {i} " * 10, "url": f"https://example.org/doc/{i}"} for i in range(30)],
    )


@pytest.fixture(scope="module")
def translations():
    return load_translations(LOCALES)


@pytest.fixture(scope="module")
def renderer(translations) -> Renderer:
    return Renderer(TEMPLATES, translations, bot_username=BOT, default_timezone="UTC")


@pytest.fixture(scope="module")
def seed() -> Case:
    return make_case()


def seed_cases() -> list[Case]:
    """The in-code seed, plus the real case file once it exists."""
    cases = [make_case()]
    if SEED_YAML.exists():
        from bot.content.loader import load_case

        cases.append(load_case(SEED_YAML))
    return cases


# --- a strict Telegram HTML checker ----------------------------------------------------------

ALLOWED_TAGS = {
    "b": set(), "i": set(), "u": set(), "s": set(), "a": {"href"}, "code": set(), "pre": set(),
    "blockquote": {"expandable"}, "tg-spoiler": set(),
}  # fmt: skip
_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<name>[a-z-]+)(?P<attrs>(?:\s+[a-z-]+(?:=\"[^\"<>]*\")?)*)\s*>"
    r"|&(?:lt|gt|amp|quot|#\d{1,7});"
    r"|[<>&]"
)
_ATTR = re.compile(r"([a-z-]+)(?:=\"([^\"]*)\")?")


def check_html(text: str) -> None:
    """Fail unless Telegram's HTML parser would accept text, tag by tag and entity by entity."""
    stack: list[str] = []
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        where = repr(text[max(0, m.start() - 40) : m.end() + 40])
        if token in "<>&":
            raise AssertionError(f"unescaped {token!r} near {where}")
        if token.startswith("&"):
            continue
        name, attrs = m.group("name"), m.group("attrs")
        assert name in ALLOWED_TAGS, f"tag <{name}> not allowed by Telegram, near {where}"
        if m.group("close"):
            assert not attrs.strip(), f"attributes on a closing tag near {where}"
            assert stack and stack[-1] == name, f"</{name}> does not close {stack} near {where}"
            stack.pop()
            continue
        found = dict(_ATTR.findall(attrs))
        assert set(found) <= ALLOWED_TAGS[name], f"attributes {found} not allowed on <{name}>"
        if name == "a":
            assert re.match(r"(https?|tg)://", html.unescape(found.get("href", ""))), f"bad href near {where}"
        if stack and stack[-1] in ("pre", "code"):
            assert stack[-1] == "pre" and name == "code", f"<{name}> inside <{stack[-1]}> near {where}"
        stack.append(name)
    assert not stack, f"unclosed tags {stack}"


def test_the_checker_itself_rejects_bad_html():
    for bad in (
        "<br>",
        "a & b",
        "<b>x",
        "<b><i>x</b></i>",
        "1 < 2",
        "<p>x</p>",
        "&nbsp;",
        '<a href="mailto:x@y.z">x</a>',
    ):
        with pytest.raises(AssertionError):
            check_html(bad)
    check_html(
        '<b>x</b> &lt;&amp;&gt; &#39; <blockquote expandable>q</blockquote> <a href="https://x.org/?a=1&amp;b=2">l</a>'
    )


def check_screen(screen: Screen) -> None:
    """Everything Telegram would reject or a user would trip over."""
    check_html(screen.text)
    assert fits(screen.text), f"{len(visible_text(screen.text))} characters"
    assert visible_text(screen.text), "empty message"
    for row in screen.buttons:
        assert row, "empty keyboard row"
        for button in row:
            check_button(button)
    if screen.document:
        doc = screen.document
        assert doc.filename.endswith(".txt") and "/" not in doc.filename
        doc.content.decode("utf-8")
        check_html(doc.caption)
        assert fits(doc.caption, 1024)


def check_button(button: Button) -> None:
    assert button.text.strip()
    kinds = [k for k in (button.callback, button.url, button.copy_text) if k is not None]
    assert len(kinds) == 1, button
    if button.callback is not None:
        assert decode(button.callback) is not None, f"callback {button.callback!r} does not decode"
        assert len(button.callback.encode()) <= 64
    if button.url is not None:
        assert re.match(r"(https?|tg)://", button.url), button.url
        assert "mailto:" not in button.url
    if button.copy_text is not None:
        assert 1 <= len(button.copy_text) <= 256, len(button.copy_text)


def all_screens(r: Renderer, case: Case, lang: str, now: dt.datetime = NOW) -> dict[str, Screen]:
    screens = {
        "picker": r.language_picker(lang, case.id),
        "welcome": r.welcome(lang, [case], now),
        "card": r.card(case, lang, now, subscribed=False, letters_sent=1234),
        "card-subscribed": r.card(case, lang, now, subscribed=True, letters_sent=0),
        "background": r.background(case, lang),
        "list": r.case_list([case], lang, now),
        "act": r.act_menu(case, lang, now),
        "tweet": r.tweet(case, lang),
        "share": r.share(case, lang),
        "forget": r.forget_confirm(lang),
        "sign": r.sign_prompt(lang, "Anna Smith, Leeds"),
    }
    for i in range(len(case.targets)):
        for letter_lang in ("ru", "en"):
            kw = {"variant_seed": b"seed", "signature": None}
            screens[f"letter-{i}-{letter_lang}"] = r.letter(case, i, lang, letter_lang, **kw)
            screens[f"email-{i}-{letter_lang}"] = r.email(case, i, lang, letter_lang, **kw)
            screens[f"fax-{i}-{letter_lang}"] = r.fax(case, i, lang, letter_lang, **kw)
    return screens


def buttons(screen: Screen) -> list[Button]:
    return [b for row in screen.buttons for b in row]


def callbacks(screen: Screen) -> list[str]:
    return [b.callback for b in buttons(screen) if b.callback]


def pre_text(screen: Screen) -> str:
    m = re.search(r"<pre>(.*?)</pre>", screen.text, re.S)
    assert m, "no <pre> block"
    return html.unescape(m.group(1))


# --- every screen, both languages -------------------------------------------------------------


@pytest.mark.parametrize("case", seed_cases(), ids=["code", "case-file"][: len(seed_cases())])
@pytest.mark.parametrize("lang", UI_LANGUAGES)
def test_every_screen_is_valid_telegram_html_within_limits(renderer, case, lang):
    for name, screen in all_screens(renderer, case, lang).items():
        try:
            check_screen(screen)
        except AssertionError as exc:
            raise AssertionError(f"{name} ({lang}): {exc}") from exc


def test_screens_below_the_top_have_a_back_button(renderer, seed):
    for name, screen in all_screens(renderer, seed, "en").items():
        if name in ("picker", "welcome", "card", "card-subscribed", "forget", "sign"):
            continue
        labels = [b.text for b in buttons(screen)]
        assert any("Back" in text for text in labels), f"{name}: {labels}"


def test_no_screen_text_is_left_untranslated_in_russian(renderer, seed):
    english = re.compile(r"\b(Back|Deadline|Letter|Email|Fax|Share|Subscribe|What can I do|Copy|Tap|Send)\b")
    for name, screen in all_screens(renderer, seed, "ru").items():
        if name.startswith(("letter", "email", "fax")) and name.endswith("-en"):
            screen_text = screen.text.split("<pre>")[0]  # the English letter itself is meant to be English
        else:
            screen_text = screen.text.split("<pre>")[0] if name == "tweet" else screen.text
        labels = " ".join(b.text for b in buttons(screen))
        assert not english.search(screen_text + " " + labels), f"{name}: {screen_text}\n{labels}"


# --- card, lists, menus ---------------------------------------------------------------------


def test_card_in_english(renderer, seed):
    screen = renderer.card(seed, "en", NOW, subscribed=False, letters_sent=1234)
    text = visible_text(screen.text)
    assert "Tajik refused asylum-seeker disappeared" in text
    assert "UA 84/11" in text and "update 2" in text
    assert "15 May 2012 — 3 days left" in text
    assert "1,234 letters" in text
    assert callbacks(screen) == ["act:ua-84-11", "bg:ua-84-11", "cases:0", "sub:ua-84-11"]
    assert [b.text for b in buttons(screen)][0] == "✍️ What can I do?"
    subscribed = renderer.card(seed, "en", NOW, subscribed=True, letters_sent=0)
    assert "unsub:ua-84-11" in callbacks(subscribed) and "🔕 Unsubscribe" in [b.text for b in buttons(subscribed)]
    assert "letters sent" not in subscribed.text


def test_card_in_russian(renderer, seed):
    text = visible_text(renderer.card(seed, "ru", NOW, subscribed=False, letters_sent=1234).text)
    assert "15 мая 2012 — осталось 3 дня" in text
    assert re.search(r"Уже отправлено 1\s234 письма", text)
    assert "обновление 2" in text


@pytest.mark.parametrize(
    "now, en, ru",
    [
        (dt.datetime(2012, 5, 10, 9, tzinfo=UTC), "5 days left", "осталось 5 дней"),
        (dt.datetime(2012, 5, 12, 9, tzinfo=UTC), "3 days left", "осталось 3 дня"),
        (dt.datetime(2012, 5, 14, 9, tzinfo=UTC), "1 day left", "остался 1 день"),
        (dt.datetime(2012, 4, 24, 9, tzinfo=UTC), "21 days left", "остался 21 день"),
        (dt.datetime(2012, 4, 23, 9, tzinfo=UTC), "22 days left", "осталось 22 дня"),
        (dt.datetime(2012, 4, 3, 9, tzinfo=UTC), "42 days left", "осталось 42 дня"),
        (dt.datetime(2012, 4, 4, 9, tzinfo=UTC), "41 days left", "остался 41 день"),
        (dt.datetime(2012, 4, 20, 9, tzinfo=UTC), "25 days left", "осталось 25 дней"),
        # 21:00 UTC on the 14th is already the 15th in Moscow: the last day.
        (dt.datetime(2012, 5, 14, 21, tzinfo=UTC), "last day today", "сегодня последний день"),
    ],
)
def test_days_left_with_plurals(renderer, seed, now, en, ru):
    assert en in visible_text(renderer.card(seed, "en", now, subscribed=False, letters_sent=0).text)
    assert ru in visible_text(renderer.card(seed, "ru", now, subscribed=False, letters_sent=0).text)


def test_passed_and_closed_cases(renderer, seed):
    late = dt.datetime(2012, 5, 20, tzinfo=UTC)
    text = visible_text(renderer.card(seed, "en", late, subscribed=False, letters_sent=0).text)
    assert "appeals may still help — check with your section office" in text
    assert "act:ua-84-11" in callbacks(renderer.card(seed, "en", late, subscribed=False, letters_sent=0))
    closed = make_case(status="closed")
    screen = renderer.card(closed, "en", NOW, subscribed=True, letters_sent=3)
    assert "closed" in visible_text(screen.text)
    assert "act:ua-84-11" not in callbacks(screen)
    assert "What can I do" not in " ".join(b.text for b in buttons(screen))
    assert "закрыто" in renderer.card(closed, "ru", NOW, subscribed=True, letters_sent=3).text
    act = renderer.act_menu(closed, "en", NOW)  # a stale "What can I do?" button
    assert "closed" in act.text and not any(c.startswith("tgt:") for c in callbacks(act))


def test_welcome_says_what_is_stored_and_lists_open_cases(renderer, seed):
    closed = make_case(id="old-case", status="closed", title="An old closed case")
    screen = renderer.welcome("en", [closed, seed], NOW)
    text = visible_text(screen.text)
    assert "/forget" in text and "store" in text
    assert "card:ua-84-11" in callbacks(screen) and "card:old-case" not in callbacks(screen)
    assert "lang:ru:" in callbacks(screen)
    ru = visible_text(renderer.welcome("ru", [seed], NOW).text)
    assert "/forget" in ru and "хранит" in ru
    empty = renderer.welcome("en", [], NOW)
    check_screen(empty)
    assert "no open cases" in empty.text


def test_language_picker(renderer):
    screen = renderer.language_picker("en", "ua-84-11")
    assert callbacks(screen) == ["lang:en:ua-84-11", "lang:ru:ua-84-11"]
    assert "Choose your language" in screen.text and "Выберите язык" in screen.text
    assert callbacks(renderer.language_picker("ru")) == ["lang:en:", "lang:ru:"]
    assert "Русский" in " ".join(b.text for b in buttons(screen))


def test_case_list_pages_open_first_closed_marked(renderer):
    cases = [
        make_case(
            id=f"case-{i:02d}",
            title=f"Case {i:02d}",
            deadline=f"2012-06-{i + 1:02d}",
            status="closed" if i < 3 else "open",
        )
        for i in range(20)
    ]
    first = renderer.case_list(cases, "en", NOW, page=0)
    check_screen(first)
    cards = [c for c in callbacks(first) if c.startswith("card:")]
    assert len(cards) == 8
    assert cards[0] == "card:case-03"  # open cases first, soonest deadline first
    assert "cases:1" in callbacks(first) and not any(c == "cases:0" for c in callbacks(first))
    last = renderer.case_list(cases, "en", NOW, page=2)
    check_screen(last)
    assert [c for c in callbacks(last) if c.startswith("card:")] == [
        "card:case-19",
        "card:case-00",
        "card:case-01",
        "card:case-02",
    ]
    last_cards = [b for b in buttons(last) if b.callback and b.callback.startswith("card:")]
    assert len(last_cards) == 4 and all("🔒" in b.text for b in last_cards[1:])
    assert "cases:1" in callbacks(last) and "cases:3" not in callbacks(last)
    assert "page 3 of 3" in last.text
    assert renderer.case_list(cases, "en", NOW, page=99).text == last.text  # stale page: nearest real one
    assert "страница 1 из 3" in renderer.case_list(cases, "ru", NOW).text


def test_act_menu_lists_officials_and_the_appeal_language(renderer, seed):
    screen = renderer.act_menu(seed, "en", NOW)
    text = visible_text(screen.text)
    assert "Take immediate steps to clarify the whereabouts of Nizomkhon Juraev." in text
    assert "letters in Russian or in your own language" in text
    labels = [b.text for b in buttons(screen)]
    assert "✉️ Yurii Ya. Chaika" in labels and "✉️ Dmitry A. Medvedev (copy)" in labels
    # The appeal asks for Russian and the case has Russian text: letters open in Russian.
    assert "tgt:ua-84-11:chaika:ru" in callbacks(screen)
    assert {"tw:ua-84-11", "sh:ua-84-11", "card:ua-84-11"} <= set(callbacks(screen))
    assert "🐦 Post on X" in labels and "🔗 Share" in labels
    ru = visible_text(renderer.act_menu(seed, "ru", NOW).text)
    assert "Авторы обращения просят писать по-русски или на Вашем языке." in ru
    assert "Незамедлительно принять меры" in ru


def test_act_menu_names_several_appeal_languages_gracefully(renderer):
    case = make_case(letter_languages=["ru", "en"])
    en = visible_text(renderer.act_menu(case, "en", NOW).text)
    assert "The appeal asks for letters in Russian or English. You may also write in your own language." in en
    assert " or English or " not in en
    ru = visible_text(renderer.act_menu(case, "ru", NOW).text)
    assert "Авторы обращения просят писать по-русски или по-английски. Можно писать и на своём языке." in ru
    three = visible_text(renderer.act_menu(make_case(letter_languages=["ru", "en", "tg"]), "ru", NOW).text)
    assert "по-русски, по-английски или по-таджикски." in three
    assert "Write in your own language." in visible_text(
        renderer.act_menu(make_case(letter_languages=[]), "en", NOW).text
    )


def test_background_in_expandable_blockquote_with_links(renderer, seed):
    screen = renderer.background(seed, "en")
    assert "<blockquote expandable>In 2007" in screen.text
    assert 'href="http://www.amnesty.org/en/library/info/EUR46/020/2011/en"' in screen.text
    assert callbacks(screen) == ["card:ua-84-11"]


# --- letters ----------------------------------------------------------------------------------

SALUTATIONS = {
    "en": ["Dear Prosecutor General,", "Dear Director,"],
    "ru": ["Уважаемый господин Генеральный прокурор!", "Уважаемый господин директор!"],
}
ENDINGS = {"en": "[Your name]\n[Your postal address]", "ru": "[Ваше имя]\n[Ваш почтовый адрес]"}
COPY_LINES = {
    "en": "Copy to: Dmitry A. Medvedev, President of the Russian Federation",
    # This case file gives no dative forms: the plain ones stand in (`rrbot check` warns).
    "ru": "Копия: Президент Российской Федерации Dmitry A. Medvedev",
}


@pytest.mark.parametrize("letter_lang", ["en", "ru"])
@pytest.mark.parametrize("index", [0, 1, 2])
def test_letter_has_salutation_address_and_asks(renderer, seed, letter_lang, index):
    screen = renderer.letter(seed, index, "en", letter_lang, variant_seed=b"user-1", signature=None)
    letter = pre_text(screen)
    target = seed.targets[index]
    # A "copies to" official gets the letter to the first addressee (the document gives him no salutation),
    # with a line saying whom it is a copy for.
    addressee = seed.targets[0] if target.copy_ else target
    first = addressee.name if letter_lang == "en" else addressee.title["ru"]  # a Russian heading opens with the title
    assert letter.startswith(first)
    assert SALUTATIONS[letter_lang][seed.targets.index(addressee)] in letter
    for line in addressee.address:
        assert f"\n{line}\n" in letter
    assert addressee.title[letter_lang] in letter
    for ask in seed.asks:
        assert ask.text[letter_lang].rstrip(";.") in letter
    ending = ENDINGS[letter_lang] + (f"\n\n{COPY_LINES[letter_lang]}" if target.copy_ else "")
    assert letter.rstrip().endswith(ending)
    assert "Dear President" not in letter and "Президент!" not in letter
    assert screen.document is None


def test_letter_screen_header_and_buttons(renderer, seed):
    screen = renderer.letter(seed, 1, "en", "ru", variant_seed=b"u", signature="Anna Smith, Leeds")
    text = visible_text(screen.text)
    assert "Letter to M. A. Peshkov" in text
    assert "by post, by fax, or by email" in text
    # A one-line signature is a name and town: a posted letter still asks for the address, for a reply.
    assert pre_text(screen).rstrip().endswith("Anna Smith, Leeds\n[Ваш почтовый адрес]")
    cbs = callbacks(screen)
    assert cbs == [
        "tgt:ua-84-11:peshkov:en",
        "prt:ua-84-11:peshkov:ru",
        "eml:ua-84-11:peshkov:ru",
        "fax:ua-84-11:peshkov:ru",
        "pl:ua-84-11:letter:peshkov",
        "later:ua-84-11:letter",
        "act:ua-84-11",
    ]
    assert [b.text for b in buttons(screen)][:5] == [
        "🌐 English",
        "🖨 Print (PDF)",
        "📧 Email",
        "📠 Fax",
        "✅ I sent the letter",
    ]
    ru = renderer.letter(seed, 1, "ru", "ru", variant_seed=b"u", signature=None)
    assert "✅ Я отправил(а) письмо" in [b.text for b in buttons(ru)]
    assert "✅ I posted it" in [b.text for b in buttons(renderer.tweet(seed, "en"))]  # X keeps its own words
    # Chaika has no email: no email button.
    assert not any(
        c.startswith("eml:") for c in callbacks(renderer.letter(seed, 0, "en", "ru", variant_seed=b"u", signature=None))
    )
    # A Russian speaker on a Russian appeal has nothing to switch to.
    assert not any(
        c.startswith("tgt:") for c in callbacks(renderer.letter(seed, 0, "ru", "ru", variant_seed=b"u", signature=None))
    )


def test_same_seed_same_letter_different_seeds_vary(renderer, seed):
    def letter(seed_bytes: bytes, lang: str = "en") -> str:
        return pre_text(renderer.letter(seed, 0, "en", lang, variant_seed=seed_bytes, signature=None))

    assert letter(b"alice") == letter(b"alice")
    assert letter(b"alice") != letter(b"bob")
    for lang in ("en", "ru"):
        texts = {letter(f"user-{i}".encode(), lang) for i in range(40)}
        assert len(texts) >= 15, f"only {len(texts)} different {lang} letters from 40 users"
        # Every paragraph between the salutation and the signature has at least two phrasings in use.
        paragraphs = [set() for _ in range(6)]
        for text in texts:
            parts = text.split("\n\n")
            for i, part in enumerate(parts[1:7]):
                paragraphs[i].add(part)
        # (The closing formula itself may be fixed: British usage allows only "Yours sincerely" after "Dear …".)
        assert all(len(p) >= 2 for p in paragraphs[1:5]), [len(p) for p in paragraphs]


def test_russian_letter_agrees_with_the_subjects_gender(renderer):
    def letters(gender: str | None, name: object = "Мария Иванова") -> str:
        subject = {"name": name, "gender": gender} if gender else {"name": name}
        case = make_case(subject=subject)
        return "\n".join(
            pre_text(renderer.letter(case, 0, "ru", "ru", variant_seed=f"s{i}".encode(), signature=None))
            for i in range(40)
        )

    female, male, unknown = letters("f"), letters("m"), letters(None)
    assert "за её судьбой" in female and "Она в опасности" in female and "её безопасность" in female
    assert "за его судьбой" not in female and "Он в опасности" not in female and "его безопасность" not in female
    assert "за его судьбой" in male and "Он в опасности" in male and "его безопасность" in male
    assert "её " not in male and "Она " not in male
    assert "Этот человек в опасности" in unknown and "безопасность этого человека" in unknown
    assert "Он " not in unknown and "Она " not in unknown
    # Without the genitive the name stays in the nominative, in a sentence built for it; with it, «в связи с делом».
    assert "в связи с делом" not in female and "Мария Иванова нуждается в" in female
    declined = letters("f", {"ru": {"nom": "Мария Иванова", "gen": "Марии Ивановой"}})
    assert "в связи с делом Марии Ивановой" in declined and "делом Мария" not in declined
    assert "о человеке по имени" not in female + male + unknown + declined


def test_english_letter_pronouns_and_no_subject(renderer):
    her = "\n".join(
        pre_text(renderer.letter(make_case(subject={"name": "Mary Smith", "gender": "f"}), 0, "en", "en",
                                 variant_seed=f"s{i}".encode(), signature=None))
        for i in range(30)
    )  # fmt: skip
    assert "Mary Smith" in her and " her " in her and " him" not in her and " his " not in her
    nobody = pre_text(renderer.letter(make_case(subject=None), 0, "en", "en", variant_seed=b"x", signature=None))
    assert "Juraev" in nobody  # only through the asks
    assert "None" not in nobody


def test_letter_language_fallback_note(renderer):
    case = make_case(asks=[{"en": "Release him now."}, "Protect his family."], tweet=None)
    en = renderer.letter(case, 0, "en", "ru", variant_seed=b"x", signature=None)
    assert "No Russian text for this appeal yet: letter shown in English." in visible_text(en.text)
    assert "Release him now." in pre_text(en) and "Dear Prosecutor General," in pre_text(en)
    ru = renderer.letter(case, 0, "ru", "ru", variant_seed=b"x", signature=None)
    assert "«русский» пока нет: письмо показано на языке «английский»" in visible_text(ru.text)
    # The menu opens letters in a language that has text, and never offers Russian.
    assert "tgt:ua-84-11:chaika:en" in callbacks(renderer.act_menu(case, "ru", NOW))
    assert not any(c.endswith(":ru") for c in callbacks(ru))
    assert "No Russian" not in renderer.letter(make_case(), 0, "en", "ru", variant_seed=b"x", signature=None).text


def test_email_screen(renderer, seed):
    screen = renderer.email(seed, 1, "en", "ru", variant_seed=b"x", signature=None)
    text = visible_text(screen.text)
    assert "3dsng@mid.ru" in text
    body = pre_text(screen)
    assert body.startswith("Уважаемый господин директор!")  # no postal block in an email
    copies = [b.copy_text for b in buttons(screen) if b.copy_text]
    assert copies[0] == "3dsng@mid.ru"
    assert copies[1] in text and "Nizomkhon Juraev" in copies[1]
    assert callbacks(screen) == ["pl:ua-84-11:email:peshkov", "later:ua-84-11:email", "tgt:ua-84-11:peshkov:ru"]
    # No email address: the letter screen instead of a broken email screen.
    assert "eml:" not in " ".join(callbacks(renderer.email(seed, 0, "en", "ru", variant_seed=b"x", signature=None)))


def test_fax_screen(renderer, seed):
    screen = renderer.fax(seed, 0, "ru", "ru", variant_seed=b"x", signature=None)
    assert [b.copy_text for b in buttons(screen) if b.copy_text] == ["+7 495 987 58 41"]
    assert "+7 495 987 58 41" in screen.text and "Уважаемый господин Генеральный прокурор!" in pre_text(screen)
    assert callbacks(screen) == ["pl:ua-84-11:fax:chaika", "later:ua-84-11:fax", "tgt:ua-84-11:chaika:ru"]
    assert "Я отправил(а) факс" in [b.text for b in buttons(screen)][1]


# --- tweets and sharing ------------------------------------------------------------------------


def test_weighted_length_follows_twitter_text():
    assert weighted_length("a" * 280) == 280
    assert weighted_length("Привет") == 6  # Cyrillic is in the light range
    assert weighted_length("你好") == 4  # CJK weighs 2
    assert weighted_length("https://example.org/" + "x" * 200) == 23
    assert weighted_length("see https://t.me/bot?start=ua-84-11 now") == 4 + 23 + 4
    assert weighted_length("😀") == 2 and weighted_length("👍🏽") == 2 and weighted_length("🇷🇺") == 2
    assert weighted_length("…") == 2  # outside the light ranges
    assert weighted_length("t.me/x") >= 23  # a bare domain may be linked: never count it shorter


def test_fit_tweet_trims_text_keeps_handles_and_link():
    url = "https://t.me/bot?start=ua-84-11"
    long_text = "Please protect Nizomkhon Juraev from forcible return to Tajikistan. " * 20
    tweet = fit_tweet(long_text, ["@MedvedevRussia", "@KremlinRussia_E"], url)
    assert weighted_length(tweet) <= 280
    assert tweet.endswith("… @MedvedevRussia @KremlinRussia_E " + url)
    assert weighted_length(tweet) >= 250  # trimmed, not gutted
    cjk = fit_tweet("人权" * 300, ["@a"], url)
    assert weighted_length(cjk) <= 280 and cjk.endswith("@a " + url)
    many = fit_tweet("Act now.", [f"@handle_{i:05d}" for i in range(40)], url)
    assert weighted_length(many) <= 280 and many.startswith("Act now.") and many.endswith(url)
    short = fit_tweet("Short text.", ["@x"], url)
    assert short == "Short text. @x " + url


@pytest.mark.parametrize("lang", UI_LANGUAGES)
def test_tweet_screen(renderer, seed, lang):
    screen = renderer.tweet(seed, lang)
    intent = next(b.url for b in buttons(screen) if b.url)
    assert intent.startswith("https://twitter.com/intent/tweet?")
    text = parse_qs(urlsplit(intent).query)["text"][0]
    assert weighted_length(text) <= 280
    assert "@MedvedevRussia" in text and text.endswith(f"https://t.me/{BOT}?start=ua-84-11")
    assert text.startswith(seed.tweet[lang][:30])
    assert html.unescape(re.search(r"<pre>(.*?)</pre>", screen.text, re.S).group(1)) == text
    copy = [b.copy_text for b in buttons(screen) if b.copy_text]
    assert copy == ([text] if len(text) <= 256 else [])
    assert callbacks(screen) == ["pl:ua-84-11:tweet", "later:ua-84-11:tweet", "act:ua-84-11"]


def test_long_tweet_has_no_copy_button_but_still_fits(renderer):
    screen = renderer.tweet(huge_case(), "en")
    text = parse_qs(urlsplit(next(b.url for b in buttons(screen) if b.url)).query)["text"][0]
    assert weighted_length(text) <= 280
    copy = [b for b in buttons(screen) if b.copy_text]
    assert all(len(b.copy_text) <= 256 for b in copy)
    assert bool(copy) == (len(text) <= 256)


def test_share_screen(renderer, seed):
    screen = renderer.share(seed, "en")
    link = f"https://t.me/{BOT}?start=ua-84-11"
    assert link in screen.text
    share = next(b.url for b in buttons(screen) if b.url)
    query = parse_qs(urlsplit(share).query)
    assert share.startswith("https://t.me/share/url?") and query["url"] == [link]
    assert "Tajik refused asylum-seeker disappeared" in query["text"][0]
    assert [b.copy_text for b in buttons(screen) if b.copy_text] == [link]
    assert callbacks(screen) == ["pl:ua-84-11:share", "later:ua-84-11:share", "act:ua-84-11"]


# --- pledges, messages, commands -----------------------------------------------------------------


def test_pledge_toasts_and_totals(renderer, seed):
    assert renderer.pledge_toast("letter", "en", counted=True).text == "Counted, thank you!"
    assert renderer.pledge_toast("fax", "ru", counted=True).text == "Учтено, спасибо!"
    assert renderer.pledge_total(seed, "letter", "en", 1235) == "Together with you, 1,235 people have written."
    assert renderer.pledge_total(seed, "letter", "en", 2) == "Together with you, 2 people have written."
    assert renderer.pledge_total(seed, "letter", "en", 1) == "You are the first to write!"
    assert renderer.pledge_total(seed, "email", "en", 3) == "Together with you, 3 people have sent an email."
    assert "posted on X" in renderer.pledge_total(seed, "tweet", "en", 5)
    assert "shared" in renderer.pledge_total(seed, "share", "en", 5)
    assert "fax" in renderer.pledge_total(seed, "fax", "en", 1)
    assert renderer.pledge_total(seed, "letter", "ru", 2) == "Вместе с Вами уже написали 2 человека."
    assert renderer.pledge_total(seed, "letter", "ru", 5) == "Вместе с Вами уже написали 5 человек."
    assert renderer.pledge_total(seed, "letter", "ru", 21) == "Вместе с Вами уже написал 21 человек."
    assert re.fullmatch(
        r"Вместе с Вами уже написали 1\s234 человека\.", renderer.pledge_total(seed, "letter", "ru", 1234)
    )


def test_pledge_toasts_read_well_and_thank_once(renderer, seed):
    def toast(action: str, lang: str, counted: bool, total: int | None) -> str:
        return renderer.pledge_toast(action, lang, counted=counted, total=total, case=seed).text

    assert toast("letter", "en", True, 1234) == "Counted, thank you! Together with you, 1,234 people have written."
    assert toast("letter", "en", True, 1) == "Counted — you are the first to write!"
    assert toast("fax", "en", True, 1) == "Counted — you are the first to send a fax!"
    assert (
        toast("letter", "en", False, 1234)
        == "You were already counted for this case. 1,234 people have written so far."
    )
    assert toast("fax", "en", False, 1) == "You were already counted for this case. 1 person has sent a fax so far."
    assert toast("letter", "en", False, None) == "You were already counted for this case."
    assert toast("letter", "ru", True, 1) == "Учтено — это первое письмо по этому делу!"
    assert re.fullmatch(
        r"Ваша отметка по этому делу уже учтена\. Уже написали 1\s234 человека\.", toast("letter", "ru", False, 1234)
    )
    for lang in UI_LANGUAGES:
        for action in ("letter", "email", "fax", "tweet", "share"):
            for counted in (True, False):
                for total in (None, 1, 2, 5, 21, 1234, 10**9):
                    text = toast(action, lang, counted, total)
                    assert 0 < len(text) <= 200, text
                    assert len(re.findall(r"thank you|спасибо", text, re.I)) <= 1, text
                    if not counted:
                        assert not re.search(r"first|thank|перв|спасибо", text, re.I), text
                    # A first-ever pledge is a different answer from a repeated one.
                    assert toast(action, lang, True, total) != toast(action, lang, False, total)


@pytest.mark.parametrize("lang", UI_LANGUAGES)
def test_generic_messages(renderer, seed, lang):
    for name in MESSAGES:
        text = renderer.message(name, lang, signature="<Anna & Co>", title="T", limit=200)
        check_html(text)
        assert fits(text) and visible_text(text), name
        if lang == "ru":
            assert text != renderer.message(name, "en", signature="<Anna & Co>", title="T", limit=200), name
        toast = renderer.toast(name, lang)
        assert 0 < len(toast.text) <= 200 and "<" not in toast.text
    assert "<Anna & Co>" in visible_text(renderer.message("sign_saved", lang, signature="<Anna & Co>"))
    assert "/forget" in renderer.message("help", lang) and "/sign" in renderer.message("help", lang)


def test_mydata_from_the_store_shape(renderer, seed):
    from types import SimpleNamespace

    data = {
        "prefs": SimpleNamespace(lang="en", signature="Anna <Smith>", reminders=True),
        "subscriptions": ["ua-84-11"],
        "pledges": {"ua-84-11": ["letter", "tweet"]},
    }
    text = renderer.message("mydata", "en", data=data, cases={"ua-84-11": seed})
    check_html(text)
    seen = visible_text(text)
    assert "Anna <Smith>" in seen and "Tajik refused asylum-seeker disappeared (UA 84/11)" in seen
    assert "letter, post on X" in seen and "Actions you marked as done: 2" in seen


def test_commands_and_descriptions(renderer):
    for lang in UI_LANGUAGES:
        commands = renderer.commands(lang)
        assert [c for c, _ in commands] == [
            "start",
            "cases",
            "act",
            "language",
            "sign",
            "reminders",
            "stop",
            "discreet",
            "settings",
            "mydata",
            "forget",
            "help",
        ]
        assert all(3 <= len(d) <= 256 for _, d in commands)
        description, short = renderer.descriptions(lang)
        assert 0 < len(description) <= 512 and 0 < len(short) <= 120
    assert renderer.commands("ru")[1][1] != renderer.commands("en")[1][1]


# --- untrusted content and huge cases -------------------------------------------------------------


def test_content_is_escaped_everywhere(renderer):
    nasty = '<b>Tom & "Jerry"</b> <a href="x">'
    case = make_case(
        title={"en": nasty, "ru": nasty},
        summary="1 < 2 && 3 > 2 &amp; <i>",
        background="<script>alert(1)</script> &copy;",
        asks=[{"en": "Stop <torture> & free them", "ru": "Прекратить <пытки> & освободить"}],
        subject={"name": "<Name>", "gender": "f"},
        targets=[{"name": "Mr <Official> & Sons", "address": ["1 < Street > & Co"], "email": "a&b@example.org",
                  "salutation": "Dear <Sir>", "fax": "+1 555 123 456"}],
        links=[{"title": "<link> & more", "url": 'https://example.org/?a=1&b="2"'}],
        tweet="Act <now> & share",
    )  # fmt: skip
    for lang in UI_LANGUAGES:
        screens = all_screens(renderer, case, lang) | {
            "signed": renderer.letter(case, 0, lang, "en", variant_seed=b"x", signature="<i>Me</i> & you")
        }
        for name, screen in screens.items():
            try:
                check_screen(screen)
            except AssertionError as exc:
                raise AssertionError(f"{name} ({lang}): {exc}") from exc
    card = visible_text(renderer.card(case, "en", NOW, subscribed=False, letters_sent=0).text)
    assert nasty in card and "1 < 2 && 3 > 2 &amp; <i>" in card
    letter = pre_text(renderer.letter(case, 0, "en", "en", variant_seed=b"x", signature="<i>Me</i> & you"))
    assert "Mr <Official> & Sons" in letter and "1 < Street > & Co" in letter and "Dear <Sir>," in letter
    assert "to stop <torture> & free them." in letter and letter.endswith("<i>Me</i> & you\n[Your postal address]")


def test_a_huge_case_still_fits(renderer):
    case = huge_case()
    for lang in UI_LANGUAGES:
        screens = all_screens(renderer, case, lang) | {"list": renderer.case_list([case] * 30, lang, NOW, 1)}
        for name, screen in screens.items():
            try:
                check_screen(screen)
            except AssertionError as exc:
                raise AssertionError(f"{name} ({lang}): {exc}") from exc
        card = visible_text(screens["card"].text)
        assert "…" in card  # the summary was shortened, visibly
        act = screens["act"]
        assert sum(1 for c in callbacks(act) if c.startswith("tgt:")) == 40
        assert "tgt:huge-case:titles-40:ru" in callbacks(act)
        for kind in ("letter", "email", "fax"):
            screen = screens[f"{kind}-39-en"]
            assert screen.document is None, kind  # the file comes only when asked for
            assert "doc:huge-case:titles-40:en" in callbacks(screen), kind
            assert "…" in pre_text(screen)
        full = renderer.letter_document(case, 39, lang, "en", variant_seed=b"seed", signature=None)
        text = full.content.decode("utf-8")
        assert all(ask.text["en"].split(":")[0] in text for ask in case.asks)
        assert text.rstrip().endswith("[Your name]\n[Your postal address]")
        assert "📄" in screens["letter-0-ru"].text


def long_case() -> Case:
    ask = "Release every person detained for peacefully exercising their rights, and guarantee their safety. " * 6
    return make_case(id="long-case", letter_languages=["en"], asks=[{"en": f"{i}. {ask}"} for i in range(12)])


@pytest.mark.parametrize("lang", UI_LANGUAGES)
def test_a_long_letter_screen_offers_the_file_instead_of_sending_it(renderer, lang):
    case = long_case()
    kw = {"variant_seed": b"seed", "signature": "Ann"}
    for make in (renderer.letter, renderer.email, renderer.fax):
        screen = make(case, 0 if make is not renderer.email else 0, lang, "en", **kw)
        check_screen(screen)
        assert screen.document is None, make.__name__  # never re-sent on Back, a switch or a double tap
    letter = renderer.letter(case, 0, lang, "en", **kw)
    file_buttons = [b for b in buttons(letter) if b.callback and b.callback.startswith("doc:")]
    assert [b.callback for b in file_buttons] == ["doc:long-case:chaika:en"]
    assert file_buttons[0].text == {"en": "📄 Whole letter as a file", "ru": "📄 Всё письмо файлом"}[lang]
    # The shortened screen says so, naming the button.
    assert file_buttons[0].text[2:] in visible_text(letter.text)
    assert {"en": "too long for one message", "ru": "не помещается в одно сообщение"}[lang] in letter.text
    fax = renderer.fax(case, 1, lang, "en", **kw)
    assert "doc:long-case:peshkov:en" in callbacks(fax)
    # A letter that fits has no file button.
    assert not any(c.startswith("doc:") for c in callbacks(renderer.letter(make_case(), 0, lang, "ru", **kw)))


def test_letter_document_is_the_whole_letter_as_text(renderer, seed):
    case = long_case()
    doc = renderer.letter_document(case, 0, "ru", "en", variant_seed=b"seed", signature="Ann")
    assert doc.filename == "letter-long-case-chaika-en.txt"
    body = doc.content.decode("utf-8")
    assert body.count("Release every person") == 12 * 6 and body.rstrip().endswith("Ann\n[Your postal address]")
    assert body.startswith("Yurii Ya. Chaika\n")  # the postal block, as on the letter screen
    check_html(doc.caption)
    assert fits(doc.caption, 1024) and "Полный текст письма адресату: Yurii Ya. Chaika" in doc.caption
    # The same letter the screen shows (same user, same language).
    short = renderer.letter_document(seed, 2, "en", "ru", variant_seed=b"u", signature=None)
    assert short.filename == "letter-ua-84-11-medvedev-ru.txt"
    assert short.content.decode("utf-8").strip() == pre_text(
        renderer.letter(seed, 2, "en", "ru", variant_seed=b"u", signature=None)
    )
    assert "Full letter to Dmitry A. Medvedev · copy" in visible_text(short.caption)
    cyrillic = make_case(targets=[{"name": "Юрий Чайка", "fax": "+7 495 987 58 41"}])
    name = renderer.letter_document(cyrillic, 0, "en", "ru", variant_seed=b"u", signature=None).filename
    assert name == "letter-ua-84-11-chayka-ru.txt" and name.isascii()
    nasty = make_case(targets=[{"name": "../../<etc>", "fax": "+7 495 987 58 41"}])
    name = renderer.letter_document(nasty, 0, "en", "ru", variant_seed=b"u", signature=None).filename
    assert "/" not in name and name.isascii() and name.endswith(".txt")
    with pytest.raises(IndexError):
        renderer.letter_document(seed, 7, "en", "ru", variant_seed=b"u", signature=None)


def test_case_list_leads_back_home(renderer, seed):
    for lang in UI_LANGUAGES:
        screen = renderer.case_list([seed], lang, NOW)
        back = buttons(screen)[-1]
        assert back.callback == "home" and back.text == {"en": "⬅️ Back", "ru": "⬅️ Назад"}[lang]
        assert callbacks(renderer.case_list([], lang, NOW)) == ["home"]


def test_passed_deadlines_are_marked_in_the_lists(renderer, seed):
    late = dt.datetime(2012, 5, 20, tzinfo=UTC)
    upcoming = make_case(id="upcoming", deadline="2012-06-30", title={"en": "Upcoming case", "ru": "Новое дело"})
    welcome = renderer.welcome("en", [seed, upcoming], late)
    text = visible_text(welcome.text)
    assert "Tajik refused asylum-seeker disappeared — ⌛ deadline passed (15 May 2012)" in text
    assert "Upcoming case — 30 June 2012" in text
    assert text.index("Upcoming case") < text.index("Tajik refused")  # the ones still running first
    labels = {b.callback: b.text for b in buttons(welcome) if b.callback}
    assert labels["card:ua-84-11"].startswith("⌛ ") and labels["card:upcoming"].startswith("📌 ")
    ru = visible_text(renderer.welcome("ru", [seed], late).text)
    assert "— ⌛ срок прошёл (15 мая 2012)" in ru
    listing = renderer.case_list([seed, upcoming], "en", late)
    assert "⌛ Deadline passed: 15 May 2012" in visible_text(listing.text)
    assert [b.text for b in buttons(listing)][:2] == [
        "1. Upcoming case",
        "2. ⌛ Tajik refused asylum-seeker disappeared",
    ]
    assert "⌛ Срок прошёл: 15 мая 2012" in visible_text(renderer.case_list([seed], "ru", late).text)
    # Before the deadline nothing is marked.
    assert (
        "⌛" not in renderer.welcome("en", [seed], NOW).text and "⌛" not in renderer.case_list([seed], "en", NOW).text
    )


def test_long_russian_titles_keep_their_meaning_on_buttons(renderer, seed):
    welcome = renderer.welcome("ru", [seed], NOW)
    assert "📌 Исчез гражданин Таджикистана, которому отказали в убежище" in [b.text for b in buttons(welcome)]
    assert "1. Исчез гражданин Таджикистана, которому отказали в убежище" in [
        b.text for b in buttons(renderer.case_list([seed], "ru", NOW))
    ]
    long = make_case(
        title={
            "en": "word " * 30,
            "ru": "Очень длинный заголовок дела о человеке, которого задержали без всяких оснований",
        }
    )
    label = next(b.text for b in buttons(renderer.welcome("ru", [long], NOW)) if b.callback == "card:ua-84-11")
    assert label == "📌 Очень длинный заголовок дела о человеке, которого задержали без…"
    assert len(label) <= 66


def test_closed_case_card_offers_no_subscription_and_shows_the_total(renderer):
    closed = make_case(status="closed")
    for lang in UI_LANGUAGES:
        screen = renderer.card(closed, lang, NOW, subscribed=False, letters_sent=1234)
        check_screen(screen)
        assert not any(c.startswith(("sub:", "act:")) for c in callbacks(screen))
        assert "cases:0" in callbacks(screen)
        # A follower can still stop following it.
        assert "unsub:ua-84-11" in callbacks(renderer.card(closed, lang, NOW, subscribed=True, letters_sent=0))
    en = visible_text(renderer.card(closed, "en", NOW, subscribed=False, letters_sent=1234).text)
    assert "This case is closed" in en and "In all, 1,234 letters were sent." in en and "so far" not in en
    ru = visible_text(renderer.card(closed, "ru", NOW, subscribed=False, letters_sent=1234).text)
    assert re.search(r"Всего отправлено 1\s234 письма\.", ru)


def test_mydata_says_plainly_what_is_stored(renderer, seed):
    from types import SimpleNamespace

    empty = {"prefs": SimpleNamespace(lang=None, signature=None, reminders=True), "subscriptions": [], "pledges": {}}
    for lang in UI_LANGUAGES:
        text = visible_text(renderer.message("mydata", lang, data=empty, cases={}))
        assert {"en": "The bot stores nothing about you.", "ru": "Бот ничего о Вас не хранит."}[lang] in text
        assert "Telegram ID" not in text and "⏰" not in text
    full = {
        "prefs": SimpleNamespace(lang="ru", signature=None, reminders=True),
        "subscriptions": ["ua-84-11"],
        "pledges": {},
    }
    ru = visible_text(renderer.message("mydata", "ru", data=full, cases={"ua-84-11": seed}))
    assert "Язык: русский" in ru and "Напомина" not in ru and "⏰" not in ru
    en = visible_text(
        renderer.message("mydata", "en", data={**full, "prefs": SimpleNamespace(lang="en", signature="A")}, cases={})
    )
    assert "Language: English" in en and "Reminders" not in en
    # The language is named the same way everywhere.
    assert "Язык: русский" in visible_text(renderer.message("language_set", "ru"))
    assert "Язык: русский" in visible_text(renderer.letter(seed, 0, "ru", "ru", variant_seed=b"u", signature=None).text)


def test_russian_headings_read_naturally(renderer, seed):
    kw = {"variant_seed": b"u", "signature": None}
    assert "Письмо адресату: Yurii Ya. Chaika" in visible_text(renderer.letter(seed, 0, "ru", "ru", **kw).text)
    assert "Факс адресату: Yurii Ya. Chaika" in visible_text(renderer.fax(seed, 0, "ru", "ru", **kw).text)
    email = visible_text(renderer.email(seed, 1, "ru", "ru", **kw).text)
    assert "Электронное письмо адресату: M. A. Peshkov" in email
    fax = visible_text(renderer.fax(seed, 0, "ru", "ru", **kw).text)
    assert "Онлайн-сервис отправки факсов отправит" not in fax and "онлайн-сервис" in fax
    screens = all_screens(renderer, seed, "ru")
    assert not any(re.search(r"\. Кому:", s.text) for s in screens.values())


def test_background_links_are_not_announced_twice(renderer, seed):
    for lang in UI_LANGUAGES:
        text = visible_text(renderer.background(seed, lang).text)
        title = seed.links[0].title[lang]
        assert text.count(title) == 1 and f"🔗 {title}" in text, text


def test_fax_copy_button_gives_a_dialable_number(renderer, seed):
    for lang in UI_LANGUAGES:
        screen = renderer.fax(seed, 2, lang, "ru", variant_seed=b"u", signature=None)
        assert [b.copy_text for b in buttons(screen) if b.copy_text] == ["+7 495 9100766"]
        text = visible_text(screen.text)
        assert {"en": "+7 495 9100766, extension 2134", "ru": "+7 495 9100766, добавочный 2134"}[lang] in text
        # An online fax service cannot dial the extension: the screen says so instead of suggesting one.
        assert {"en": "cannot dial an extension", "ru": "не наберёт добавочный"}[lang] in text
        assert {"en": "No fax machine?", "ru": "Нет факса?"}[lang] not in text
    plain = renderer.fax(
        make_case(targets=[{"name": "X", "fax": "+1 (555) 123-4567"}]), 0, "en", "en", variant_seed=b"u", signature=None
    )
    assert [b.copy_text for b in buttons(plain) if b.copy_text] == ["+1 555 123 4567"]
    assert "extension" not in plain.text
    assert "An online fax service can send this letter" in visible_text(plain.text)


def test_help_names_the_buttons_that_exist(renderer, seed):
    for lang in UI_LANGUAGES:
        help_text = visible_text(renderer.message("help", lang))
        labels = [
            b.text.split(" ", 1)[1]
            for b in buttons(renderer.letter(seed, 0, lang, "ru", variant_seed=b"u", signature=None))
        ]
        sent = next(t for t in labels if t in ("I sent the letter", "Я отправил(а) письмо"))
        assert f"“{sent}”" in help_text or f"«{sent}»" in help_text
        act = next(
            b.text.split(" ", 1)[1]
            for b in buttons(renderer.card(seed, lang, NOW, subscribed=False, letters_sent=0))
            if b.callback == "act:ua-84-11"
        )
        assert f"“{act}”" in help_text or f"«{act}»" in help_text
        assert "I posted it" not in help_text and "I sent it”" not in help_text


def test_signature_limit_is_said_as_it_is_checked(renderer):
    assert "at most 200 characters" in visible_text(renderer.message("sign_too_long", "en", limit=200))
    assert "under 200" not in renderer.message("sign_too_long", "en", limit=200)
    assert "не больше 200 символов" in visible_text(renderer.message("sign_too_long", "ru", limit=200))


def test_a_broken_translation_falls_back_to_english(seed, caplog):
    """A misspelt placeholder in a catalogue shows the English text (with a warning), never an error."""
    import io
    import logging

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po as parse_po
    from babel.support import Translations

    catalog = parse_po(io.BytesIO((LOCALES / "ru" / "LC_MESSAGES" / "messages.po").read_bytes()), locale="ru")
    catalog["Deadline: %(date)s — last day today"].string = "Срок: %(dat)s — сегодня последний день"
    catalog["Please act for this Urgent Action: %(title)s"].string = "Поддержите: %(titel)s"
    catalog["%(num)s letter sent so far"].string = ("%(n)s письмо", "%(n)s письма", "%(n)s писем")
    catalog["Letter to %(name)s"].string = "Письмо для %(name)d"
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    broken = Renderer(TEMPLATES, {"en": Translations(), "ru": Translations(fp=buffer)}, bot_username=BOT)
    last_day = dt.datetime(2012, 5, 15, 9, tzinfo=UTC)
    with caplog.at_level(logging.WARNING):
        card = visible_text(broken.card(seed, "ru", last_day, subscribed=False, letters_sent=5).text)
        share = broken.share(seed, "ru")
        letter = visible_text(broken.letter(seed, 0, "ru", "ru", variant_seed=b"u", signature=None).text)
    assert "Deadline: 15 мая 2012 — last day today" in card and "5 letters sent so far" in card
    query = parse_qs(urlsplit(next(b.url for b in buttons(share) if b.url)).query)
    assert query["text"][0].startswith("Please act for this Urgent Action: Исчез")
    assert "Letter to Yurii Ya. Chaika" in letter
    assert any("cannot be formatted" in r.getMessage() for r in caplog.records)
    # A good catalogue entry is untouched.
    assert "Поделиться в Telegram" in " ".join(b.text for b in buttons(share))


# --- i18n ----------------------------------------------------------------------------------------


def test_negotiate_and_names():
    assert negotiate("ru") == "ru" and negotiate("ru-RU") == "ru" and negotiate("en-US") == "en"
    assert negotiate("pt-br") == "en" and negotiate(None) == "en" and negotiate("") == "en"
    assert negotiate("de", default="ru") == "ru" and negotiate("RU") == "ru"
    assert LANGUAGE_NAMES["en"] == "English" and LANGUAGE_NAMES["ru"] == "Русский"


def read_catalog(path: Path, locale: str | None = None):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def _key(message) -> tuple[str | None, str]:
    return (message.context, message.id[0] if isinstance(message.id, (tuple, list)) else message.id)


def test_russian_catalogue_is_complete(translations):
    template = read_catalog(LOCALES / "messages.pot")
    ru = read_catalog(LOCALES / "ru" / "LC_MESSAGES" / "messages.po", "ru")
    assert ru.num_plurals == 3 and "nplurals=3" in ru.plural_forms
    untranslated = []
    for message in template:
        if not message.id:
            continue
        found = ru.get(message.id, context=message.context)
        if found is None or found.fuzzy:
            untranslated.append(_key(message))
            continue
        strings = found.string if message.pluralizable else (found.string,)
        if len(strings) != (3 if message.pluralizable else 1) or not all(strings):
            untranslated.append(_key(message))
    assert not untranslated, f"untranslated in ru: {untranslated}"
    errors = [(m.id, [str(e) for e in errs]) for m, errs in ru.check() if errs]
    assert not errors, errors
    assert translations["ru"].gettext("Back") == "Назад"
    assert (
        translations["ru"].ngettext("%(num)s letter sent so far", "%(num)s letters sent so far", 5) % {"num": 5}
        == "Уже отправлено 5 писем"
    )


def test_pot_is_up_to_date_with_the_sources():
    with (LOCALES / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    extracted = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(str(ROOT), method_map, options_map):
        msgid = message[0] if isinstance(message, (tuple, list)) else message
        if msgid:
            extracted.add((context, msgid))
    template = read_catalog(LOCALES / "messages.pot")
    in_pot = {_key(m) for m in template if m.id}
    assert extracted - in_pot == set(), "re-extract: pybabel extract -F content/locales/babel.cfg ..."
    assert in_pot - extracted == set(), "stale msgids in messages.pot"
    for lang in UI_LANGUAGES:
        po = read_catalog(LOCALES / lang / "LC_MESSAGES" / "messages.po", lang)
        assert {_key(m) for m in po if m.id} == in_pot, f"{lang} catalogue out of step with the .pot"


def test_render_core_does_not_import_aiogram():
    code = "import sys, bot.render, bot.ground.i18n; sys.exit(any(m.startswith('aiogram') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_a_broadcasts_progress_names_what_it_carries_in_either_language(renderer: Renderer) -> None:
    def title(purpose: Purpose | None, lang: str, state: State = State.done) -> str:
        progress = Progress(
            id="12", state=state, total=3, delivered=3, purpose=purpose, started_at=1.0, finished_at=2.0
        )
        return renderer.broadcast_report(progress, lang).splitlines()[0]

    alert, update = Purpose("alert", "UA 201/26"), Purpose("update", "UA 84/11", 3)
    assert title(None, "en") == "🏁 <b>Broadcast #12</b> · done"
    assert title(alert, "en") == "🏁 <b>Alert of UA 201/26</b> · done"
    assert title(update, "en") == "🏁 <b>Update 3 of UA 84/11</b> · done"
    assert title(Purpose("reminder", "UA 84/11"), "en") == "🏁 <b>Deadline reminder for UA 84/11</b> · done"
    # Russian: the state word ("завершена") agrees with "рассылка" in every title.
    assert title(alert, "ru") == "🏁 <b>Рассылка призыва по UA 201/26</b> · завершена"
    assert title(update, "ru", State.cancelled) == "🏁 <b>Рассылка обновления 3 к UA 84/11</b> · остановлена"


def test_remind_me_later_is_offered_only_before_the_deadline(renderer, seed):
    """Past the deadline there is nothing to be reminded of in time: the button goes, "I sent it" stays."""
    kw = {"variant_seed": b"u", "signature": None}
    before = dt.datetime(2012, 5, 10, 12, tzinfo=dt.UTC)
    after = dt.datetime(2012, 5, 16, 12, tzinfo=dt.UTC)
    for screen in (
        renderer.letter(seed, 0, "en", "ru", now=before, **kw),
        renderer.fax(seed, 0, "en", "ru", now=before, **kw),
        renderer.tweet(seed, "en", now=before),
    ):
        assert any(c.startswith("later:") for c in callbacks(screen))
    for screen in (
        renderer.letter(seed, 0, "en", "ru", now=after, **kw),
        renderer.email(seed, 1, "ru", "ru", now=after, **kw),
        renderer.share(seed, "ru", now=after),
    ):
        assert not any(c.startswith("later:") for c in callbacks(screen))
        assert any(c.startswith("pl:") for c in callbacks(screen))
    # The letter is dated the day it is shown.
    assert "10 May 2012" in pre_text(renderer.letter(seed, 0, "en", "en", now=before, **kw))
