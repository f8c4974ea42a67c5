"""The printed letter (bot/render/pdf.py): read back with pypdf, as a reader's copy-paste would see it."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
import time_machine
from pypdf import PdfReader

from bot.render.pdf import PrintedLetter, letter_pdf, printable

RU_BODY = """Уважаемый господин Генеральный прокурор!

Обращаюсь к Вам как человек, которому небезразлично соблюдение прав человека.

Меня глубоко тревожит положение, в котором оказался Низомхон Джураев. Я опасаюсь за его безопасность.

Я настоятельно прошу Вас:
1. Незамедлительно принять меры, чтобы установить местонахождение Низомхона Джураева, и не допустить его незаконного вывоза из страны.
2. Соблюдать безусловное обязательство российских властей не высылать и не выдавать никого в страну, где человеку грозят пытки.

Благодарю Вас за внимание к этому срочному делу и надеюсь на Ваш ответ.

С уважением,"""

EN_BODY = """Dear Prosecutor General,

I am writing to you as someone who cares about human rights, about Nizomkhon Juraev.

I call on you:
1. Take immediate steps to clarify the whereabouts of Nizomkhon Juraev.
2. Uphold the absolute obligation not to extradite any person to a country where they are at risk of torture.

Yours sincerely,"""

ENVELOPE = ["Prosecutor General", "Yurii Ya. Chaika", "Bolshaia Dmitrovka 15 A", "Moscow 125993", "Russian Federation"]


RUSSIAN: dict[str, object] = dict(
    lang="ru",
    title="Письмо Ю. Я. Чайке — UA 84/11",
    sender=["[Ваше имя]", "[Ваш адрес]"],
    date="4 декабря 2026 г.",
    addressee=["Генеральному прокурору Российской Федерации", "Ю. Я. Чайке", "ул. Большая Дмитровка, 15а"],
    body=RU_BODY,
    signature=["[Ваше имя]"],
    envelope_label="Адрес на конверте (как в обращении)",
    envelope=ENVELOPE,
)
ENGLISH: dict[str, object] = dict(
    lang="en",
    title="Letter to Yurii Ya. Chaika — UA 84/11",
    sender=["Ana Pérez Muñoz", "12 rue de la Façade", "75011 Paris"],
    date="4 December 2026",
    addressee=["Prosecutor General of the Russian Federation", "Yurii Ya. Chaika", "Bolshaia Dmitrovka 15 A"],
    body=EN_BODY,
    signature=["Ana Pérez Muñoz"],
    envelope_label="Envelope address (as the appeal gives it)",
    envelope=ENVELOPE,
)


def russian(**changes: object) -> PrintedLetter:
    return PrintedLetter(**{**RUSSIAN, **changes})  # type: ignore[arg-type]


def english(**changes: object) -> PrintedLetter:
    return PrintedLetter(**{**ENGLISH, **changes})  # type: ignore[arg-type]


def read(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(data))


def flat(text: str) -> str:
    """Extracted text with its line breaks as spaces: a wrapped sentence is found whole."""
    return " ".join(text.split())


def lines_with_heights(page) -> list[tuple[str, float]]:  # type: ignore[no-untyped-def]
    """Each piece of text on the page with its height above the bottom edge, in points."""
    found: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            found.append((text.strip(), tm[5] * cm[3] + cm[5]))

    page.extract_text(visitor_text=visit)
    return found


def test_a_russian_letter_reads_back_whole() -> None:
    reader = read(letter_pdf(russian()))
    assert len(reader.pages) == 1
    text = flat(reader.pages[0].extract_text())
    for expected in (
        "Генеральному прокурору Российской Федерации",
        "Ю. Я. Чайке",
        "4 декабря 2026 г.",
        "[Ваш адрес]",
        "Меня глубоко тревожит положение, в котором оказался Низомхон Джураев.",
        "1. Незамедлительно принять меры",
        "2. Соблюдать безусловное обязательство",
        "С уважением,",
        "Адрес на конверте (как в обращении)",
        *ENVELOPE,
    ):
        assert expected in text, expected
    assert reader.metadata is not None
    assert reader.metadata.title == "Письмо Ю. Я. Чайке — UA 84/11"
    assert reader.metadata.creator == "rapid-response-bot"
    assert reader.trailer["/Root"]["/Lang"] == "ru"


def test_an_english_letter_reads_back_whole_with_accents() -> None:
    reader = read(letter_pdf(english()))
    text = flat(reader.pages[0].extract_text())
    for expected in (
        "Prosecutor General of the Russian Federation",
        "4 December 2026",
        "12 rue de la Façade",
        "I am writing to you as someone who cares about human rights, about Nizomkhon Juraev.",
        "1. Take immediate steps",
        "2. Uphold the absolute obligation",
        "Envelope address (as the appeal gives it)",
        "Ana Pérez Muñoz",
        *ENVELOPE,
    ):
        assert expected in text, expected
    assert reader.trailer["/Root"]["/Lang"] == "en"


def test_the_page_is_a4_portrait() -> None:
    box = read(letter_pdf(english())).pages[0].mediabox
    assert float(box.width) == pytest.approx(595, abs=1)
    assert float(box.height) == pytest.approx(842, abs=1)


def test_the_same_letter_gives_the_same_bytes() -> None:
    """Whenever it is rendered: the clock does not reach the file (its creation date is fixed)."""
    with time_machine.travel(dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC), tick=False):
        first = letter_pdf(russian())
    with time_machine.travel(dt.datetime(2027, 3, 1, 18, 30, tzinfo=dt.UTC), tick=False):
        second = letter_pdf(russian())
    assert first == second
    assert letter_pdf(russian(date="5 декабря 2026 г.")) != first


def test_a_long_letter_runs_over_pages_with_the_envelope_on_the_last() -> None:
    paragraph = " ".join(["Меня глубоко тревожит положение Низомхона Джураева, и я опасаюсь за его безопасность."] * 5)
    body = "\n\n".join(f"{n}: {paragraph}" for n in range(1, 19))  # about 3 pages
    reader = read(letter_pdf(russian(body=body)))
    assert len(reader.pages) >= 3
    pages = [flat(page.extract_text()) for page in reader.pages]
    assert "18: Меня глубоко тревожит" in " ".join(pages)
    assert f"2 / {len(pages)}" in pages[1] and "1 / " not in pages[0]
    assert all(line in pages[-1] for line in ENVELOPE)
    assert not any("Адрес на конверте" in page for page in pages[:-1])


def test_the_envelope_is_whole_below_the_letter() -> None:
    """However far the letter reaches down the page, the envelope block sits below it, all on one page.

    The lengths cover letters that leave room for the block and letters that push it onto a page of its own.
    """
    pages_used = set()
    for paragraphs in range(17, 24):
        body = "\n\n".join(f"Абзац {n}." for n in range(paragraphs))
        reader = read(letter_pdf(russian(body=body)))
        pages_used.add(len(reader.pages))
        placed = lines_with_heights(reader.pages[-1])
        in_block = [y for text, y in placed if text in ENVELOPE or text.startswith("Адрес на конверте")]
        above = [y for text, y in placed if not (text in ENVELOPE or text.startswith("Адрес на конверте"))]
        assert len(in_block) == len(ENVELOPE) + 1, paragraphs
        assert not above or min(above) > max(in_block), paragraphs
        for page in reader.pages[:-1]:
            assert "Адрес на конверте" not in page.extract_text()
    assert pages_used == {1, 2}  # both cases were met


def test_no_envelope_no_block() -> None:
    text = read(letter_pdf(russian(envelope=[]))).pages[0].extract_text()
    assert "Адрес на конверте" not in text
    assert "Bolshaia" not in text


def test_long_words_and_addresses_wrap_within_the_page() -> None:
    url = "https://www.amnesty.org/en/library/info/EUR46/020/2011/en/" + "x" * 150
    body = f"Dear Director,\n\nPlease see {url} or write to 3dsng@mid.ru" + "y" * 120
    reader = read(letter_pdf(english(body=body, sender=["z" * 200])))
    text = "".join(reader.pages[0].extract_text().split())
    assert url in text
    assert "3dsng@mid.ru" + "y" * 120 in text


def test_characters_the_font_lacks_are_left_out(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.render.pdf")
    body = "Dear Director 🙏🏽,\n\nRelease him now 🕊️ \U0001f1f7\U0001f1fa please.\x07\n\nYours,"
    reader = read(letter_pdf(english(body=body, title="Letter ✊")))
    text = reader.pages[0].extract_text()
    assert "Dear Director ," in text
    assert "Release him now please." in text
    assert "🙏" not in text and "\x07" not in text
    assert "left out" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # fpdf2 warns of missing glyphs


def test_printable_keeps_what_the_font_has() -> None:
    kept = "Ю. Я. Чайке, № 5, «ответ» — é ñ ç ü ß ł ę"
    assert printable(kept) == kept
    assert printable("a\tb\r\nc 🙂 d") == "a b\nc d"
