"""Dates, numbers and language names in the reader's language (Babel)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date as babel_format_date
from babel.lists import format_list as babel_format_list
from babel.numbers import format_decimal

from bot.content.models import Case
from bot.ground.i18n import LANGUAGE_NAMES

logger = logging.getLogger(__name__)

# Babel's "long" dates add "г." in Russian and put the month first in US English;
# UX notes ask for "15 May 2012" / "15 мая 2012". Other languages get their "long" format.
DATE_PATTERNS = {"en": "d MMMM y", "ru": "d MMMM y"}


def format_date(value: dt.date, lang: str) -> str:
    return babel_format_date(value, DATE_PATTERNS.get(lang, "long"), locale=_locale(lang))


def format_letter_date(value: dt.date, lang: str) -> str:
    """The date line of a letter: "4 December 2026", «4 декабря 2026 г.» (Babel's long form, British order)."""
    locale = "en_GB" if lang == "en" else _locale(lang)
    # Babel puts a narrow no-break space before «г.»; fax and mail software often lacks that character.
    return babel_format_date(value, "long", locale=locale).replace("\u202f", "\u00a0")


def format_number(value: int, lang: str) -> str:
    return format_decimal(value, locale=_locale(lang))


def format_list(items: list[str], lang: str, style: str = "standard") -> str:
    return babel_format_list(items, style=style, locale=_locale(lang)) if items else ""


def language_name(code: str, in_lang: str) -> str:
    """The name of language `code` as written in `in_lang` ("Russian", "русский")."""
    try:
        name = Locale.parse(in_lang).languages.get(code)
    except (UnknownLocaleError, ValueError):
        name = None
    return name or own_language_name(code)


# Russian says "писать по-русски", not "на языке: русский". Adverbs for the letter languages we
# name anywhere (see LANGUAGE_NAMES); any other language falls back to "на языке «…»".
_RU_ADVERBS = {
    "en": "по-английски", "ru": "по-русски", "es": "по-испански", "fr": "по-французски",
    "de": "по-немецки", "it": "по-итальянски", "pt": "по-португальски", "nl": "по-нидерландски",
    "pl": "по-польски", "uk": "по-украински", "be": "по-белорусски", "kk": "по-казахски",
    "tg": "по-таджикски", "uz": "по-узбекски", "ky": "по-киргизски", "tr": "по-турецки",
    "ar": "по-арабски", "fa": "на фарси", "zh": "по-китайски", "ja": "по-японски", "ko": "по-корейски",
}  # fmt: skip


def languages_phrase(codes: list[str], lang: str) -> str:
    """The appeal's letter languages as they fit "write …": "Russian or English" / "по-русски или по-английски"."""
    if lang == "ru":
        items = [_RU_ADVERBS.get(code) or f"на языке «{language_name(code, lang)}»" for code in codes]
    else:
        items = [language_name(code, lang) for code in codes]
    return format_list(items, lang, "or")


def own_language_name(code: str) -> str:
    """The name of a language in that language ("Русский"), for language buttons."""
    if code in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[code]
    try:
        name = Locale.parse(code).get_display_name(code)
    except (UnknownLocaleError, ValueError):
        name = None
    return (name[:1].upper() + name[1:]) if name else code


@lru_cache(maxsize=64)
def _locale(lang: str) -> Locale:
    # Parsing a locale costs more than formatting with it, and it happens on every screen.
    try:
        return Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        logger.warning("no Babel locale for %r, formatting in English", lang)
        return Locale.parse("en")


@dataclass(frozen=True)
class Deadline:
    date: str  # formatted in the reader's language
    days_left: int  # whole calendar days in the deadline's time zone; 0 = last day today
    days: str  # days_left formatted as a number in the reader's language
    passed: bool


def deadline(case: Case, now: dt.datetime, lang: str, default_tz: str = "UTC") -> Deadline | None:
    """Where the deadline stands, counted in calendar days of the place that set it."""
    at = case.deadline_at(default_tz)
    if at is None:
        return None
    if now.tzinfo is None:  # a naive clock is taken as UTC rather than the server's zone
        now = now.replace(tzinfo=dt.UTC)
    days_left = (at.date() - now.astimezone(at.tzinfo).date()).days
    return Deadline(
        date=format_date(at.date(), lang),
        days_left=max(days_left, 0),
        days=format_number(max(days_left, 0), lang),
        passed=now > at,
    )


_EXTENSION = re.compile(
    r"[\s,;/]*\(?\b(?:ext(?:ension)?|x|доб(?:авочный)?)\.?\s*:?\s*(\d[\d\s-]*)\)?\s*$", re.IGNORECASE
)


def split_phone(number: str) -> tuple[str, str | None]:
    """("+7 495 9100766", "2134") from "+7 495 9100766 ext 2134": what to dial, and the extension.

    The dialable part keeps "+", digits and single spaces; brackets, dots and dashes become spaces.
    """
    extension = None
    match = _EXTENSION.search(number)
    if match:
        extension = re.sub(r"\D", "", match.group(1)) or None
        number = number[: match.start()]
    dial = re.sub(r"[^\d+]+", " ", number).strip()
    dial = ("+" if dial.startswith("+") else "") + " ".join(dial.replace("+", " ").split())
    return dial, extension


def ua_reference(case: Case) -> str:
    """ "UA 84/11" whether the case file says "84/11" or "UA 84/11"."""
    ua = case.ua.strip()
    return ua if ua.upper().startswith("UA") else f"UA {ua}"
