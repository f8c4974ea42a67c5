"""The letters of the seed case as officials read them: the facts, the form of address, asks addressed to them."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.content import load_case
from bot.content.advice import INSTRUCTION
from bot.ground.i18n import load_translations
from bot.render.env import make_environment
from bot.render.letters import LetterWriter
from bot.render.renderer import Renderer
from tests.test_render import check_html

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "content" / "cases" / "ua-84-11.yaml"
TEMPLATES = ROOT / "content" / "templates"
USERS = [f"user-{i}".encode() for i in range(60)]  # enough users to meet every phrasing of every paragraph
TODAY = dt.date(2026, 12, 4)

# What a clerk needs to tell which case it is and why it is urgent, as the seed's facts say it.
FACTS = {
    "en": ["IZ/50-12", "29 March 2012", "24 November 2011", "Rule 39", "European Court of Human Rights"],
    "ru": ["ИЗ-50/12", "29 марта 2012 г.", "24 ноября 2011 г.", "правилу 39", "Европейский суд по правам человека"],
}


@pytest.fixture(scope="module")
def seed():
    return load_case(SEED)


@pytest.fixture(scope="module")
def writer() -> LetterWriter:
    return LetterWriter(make_environment(TEMPLATES), TEMPLATES)


def letters(writer: LetterWriter, case, lang: str, **kw) -> dict[tuple[int, bytes], str]:
    return {
        (index, user): writer.write(case, index, lang, variant_seed=user, signature=None, **kw)
        for index in range(len(case.targets))
        for user in USERS
    }


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("with_address", [True, False], ids=["post", "email"])
def test_every_letter_states_the_facts(writer, seed, lang, with_address):
    texts = letters(writer, seed, lang, today=TODAY, with_address=with_address)
    for key, text in texts.items():
        stated = [fact for fact in FACTS[lang] if fact in text]
        assert len(stated) >= 2, (key, text)
    # Many different letters, all with the facts: the variation is in the wording around them.
    assert len(set(texts.values())) >= 20


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_no_letter_tells_the_official_to_lobby(writer, seed, lang):
    for text in letters(writer, seed, lang, today=TODAY).values():
        for line in text.splitlines():
            assert not INSTRUCTION.match(line.strip()), line
        assert "и/или" not in text and "and/or" not in text
        assert "о человеке по имени" not in text


def test_the_russian_letter_is_headed_in_the_dative_and_in_cyrillic(writer, seed):
    text = writer.write(seed, 0, "ru", variant_seed=b"u", signature=None, today=TODAY)
    heading = text.split("\n\n")[0].splitlines()
    assert heading == [
        "Генеральному прокурору Российской Федерации",
        "Ю. Я. Чайке",
        "ул. Большая Дмитровка, д. 15а",
        "Москва, 125993",
    ]
    assert text.split("\n\n")[1] == "4 декабря 2026\u00a0г."  # no break between the year and «г.»
    assert text.split("\n\n")[2] == "Уважаемый господин Генеральный прокурор!"
    peshkov = writer.write(seed, 1, "ru", variant_seed=b"u", signature=None, today=TODAY).split("\n\n")[0]
    assert peshkov.splitlines()[:3] == [
        "Директору Третьего департамента стран СНГ",
        "Министерства иностранных дел Российской Федерации",
        "М. А. Пешкову",
    ]
    assert not re.search("[A-Za-z]", peshkov)


def test_the_subject_is_named_in_the_genitive(writer, seed):
    texts = letters(writer, seed, "ru").values()
    assert all("Низомхона Джураева" in text for text in texts)
    assert any("в связи с делом Низомхона Джураева" in text for text in texts)
    subjects = {writer.subject(seed, 1, "ru", variant_seed=user) for user in USERS}
    assert subjects == {
        "Срочное обращение по делу Низомхона Джураева",
        "О деле Низомхона Джураева: прошу срочно принять меры",
    }


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_an_email_subject_after_a_title_with_a_colon_has_no_second_colon(writer, seed, lang):
    """An imported case without a subject person is named by its title, "Honduras: Armed attack…"."""
    titled = seed.model_copy(update={"subject": None, "title": "Honduras: Armed attack against members of COPINH"})
    subjects = {writer.subject(titled, 0, lang, variant_seed=user) for user in USERS}
    assert len(subjects) == 2
    assert all(s.count(":") == 1 and s.endswith("Honduras: Armed attack against members of COPINH") for s in subjects)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_asks_are_requests_and_the_reminder_is_a_sentence(writer, seed, lang):
    text = writer.write(seed, 0, lang, variant_seed=b"u", signature=None, today=TODAY)
    request, reminder = (" ".join(ask.text[lang].split()) for ask in seed.asks)
    lead = {"en": r"(?:I respectfully urge you to|I therefore call on you to|I appeal to you to)",
            "ru": r"(?:Настоятельно прошу Вас|Прошу Вас|Убедительно прошу Вас)"}[lang]  # fmt: skip
    # One request runs on from the lead as one sentence ("Прошу Вас незамедлительно принять меры …").
    assert re.search(lead + " " + re.escape(request[0].lower() + request[1:]), text), text
    assert f"\n\n{reminder}\n\n" in text  # its own paragraph, not an item of the request list
    assert {"en": "I would remind you that", "ru": "Напоминаю, что по международному праву"}[lang] in reminder


@pytest.mark.parametrize(
    ("lang", "date", "placeholders", "copy_line"),
    [
        ("en", "4 December 2026", "[Your name]\n[Your postal address]",
         "Copy to: Dmitry A. Medvedev, President of the Russian Federation"),
        ("ru", "4 декабря 2026\u00a0г.", "[Ваше имя]\n[Ваш почтовый адрес]",
         "Копия: Президенту Российской Федерации Д. А. Медведеву"),
    ],
)  # fmt: skip
def test_date_signature_and_the_copy_for_the_president(writer, seed, lang, date, placeholders, copy_line):
    copy = writer.write(seed, 2, lang, variant_seed=b"u", signature=None, today=TODAY)
    main = writer.write(seed, 0, lang, variant_seed=b"u", signature=None, today=TODAY)
    # The President is a "copies to" official: the letter to the Prosecutor General, with a line for him.
    assert copy == main + "\n\n" + copy_line
    assert "Dear President" not in copy and "господин Президент" not in copy
    assert f"\n\n{date}\n\n" in main and main.endswith(placeholders)
    signed = writer.write(seed, 0, lang, variant_seed=b"u", signature="Anna Smith\n1 High St, Leeds", today=TODAY)
    assert signed.endswith("Anna Smith\n1 High St, Leeds") and "[" not in signed
    email = writer.write(seed, 1, lang, variant_seed=b"u", signature=None, with_address=False, today=TODAY)
    assert date not in email and email.splitlines()[0].startswith(("Dear", "Уважаемый"))  # an email has its own date


def test_missing_forms_fall_back_to_the_plain_ones(writer, seed):
    plain = seed.model_copy(deep=True)
    plain.targets[0].name = {"en": "Yurii Ya. Chaika", "ru": "Ю. Я. Чайка"}
    plain.subject.name = {"en": "Nizomkhon Juraev", "ru": "Низомхон Джураев"}
    assert writer.missing_forms(plain, "ru") == {"target.name:dat", "subject.name:gen"}
    assert writer.missing_forms(seed, "ru") == set() and writer.missing_forms(seed, "en") == set()
    texts = letters(writer, plain, "ru")
    # The plain name stands in the heading; no sentence needs a genitive the file does not give.
    assert texts[0, USERS[0]].startswith("Генеральному прокурору Российской Федерации\nЮ. Я. Чайка\n")
    assert not any("делом Низомхон" in text for text in texts.values())
    assert all("Низомхон Джураев нуждается в" in text for text in texts.values())


# --- the printed letter ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(
        TEMPLATES, load_translations(ROOT / "content" / "locales"), bot_username="rrbot", default_timezone="UTC"
    )


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


NOW = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ru", ["Генеральному прокурору Российской Федерации", "Ю. Я. Чайке", "ИЗ-50/12", "правилу 39",
                "незамедлительно принять меры", "Напоминаю, что по международному праву", "4 декабря 2026",
                "[Ваше имя]", "Адрес для конверта", "Bolshaia Dmitrovka 15 A"]),
        ("en", ["Yurii Ya. Chaika", "Prosecutor General of the Russian Federation", "IZ/50-12", "Rule 39",
                "take immediate steps to clarify", "I would remind you that", "4 December 2026",
                "[Your name]", "Envelope address, as the appeal gives it:", "Bolshaia Dmitrovka 15 A"]),
    ],
)  # fmt: skip
def test_the_printed_letter_has_the_addressee_the_facts_and_the_asks(renderer, seed, lang, expected):
    document = renderer.letter_pdf(seed, 0, lang, lang, variant_seed=b"u", signature=None, now=NOW)
    assert document.filename == f"letter-ua-84-11-chaika-{lang}.pdf"
    assert document.content.startswith(b"%PDF-")
    text = " ".join(pdf_text(document.content).split())
    for words in expected:
        assert " ".join(words.split()) in text, words
    assert PdfReader(io.BytesIO(document.content)).pages[0].mediabox.height == pytest.approx(842, abs=1)  # A4


def test_the_printed_copy_for_the_president_says_whose_letter_it_is(renderer, seed):
    document = renderer.letter_pdf(seed, 2, "en", "ru", variant_seed=b"u", signature="Anna Petrova", now=NOW)
    text = " ".join(pdf_text(document.content).split())
    assert "Генеральному прокурору Российской Федерации" in text  # the appeal's language, as on screen
    assert "Копия: Президенту Российской Федерации Д. А. Медведеву" in text
    assert "Ul.Ilyinka, 23" in text and "Bolshaia Dmitrovka" not in text  # his envelope, not the addressee's
    assert "Anna Petrova" in text and "[Ваше имя]" not in text
    check_html(document.caption)
    assert "Letter to Dmitry A. Medvedev, ready to print · copy" in document.caption


def test_the_readers_copy_says_what_the_letter_says(writer, seed):
    """The English copy under a Russian letter uses the same phrasing of every paragraph (the frames keep the k-th
    phrasing of a paragraph the same in every language)."""
    pairs = [
        ("grave concern", "глубокую тревогу"),
        ("one of many people", "многие люди"),
        ("about the case", "Обращаюсь"),
    ]
    pairs += [
        ("hear soon", "вскоре узнать"),
        ("I trust you", "Рассчитываю"),
        ("look forward to your reply", "надеюсь на Ваш ответ"),
    ]
    for user in USERS:
        en = writer.write(seed, 0, "en", variant_seed=user, signature=None)
        ru = writer.write(seed, 0, "ru", variant_seed=user, signature=None)
        for english, russian in pairs:
            assert (english in en) == (russian in ru), (user, english, en, ru)
