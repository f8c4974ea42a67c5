"""UI languages and gettext catalogues.

Catalogues are read straight from the .po files (compiled in memory), so the repository holds
no .mo files that could drift from their sources.
"""

from __future__ import annotations

import logging
import re
from io import BytesIO
from pathlib import Path
from typing import NamedTuple

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

logger = logging.getLogger(__name__)

UI_LANGUAGES: tuple[str, ...] = ("en", "ru")

# Names in the language itself: a speaker recognises their language whatever the UI shows.
# Letter languages beyond the UI languages are listed so language buttons never show a bare code.
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "ru": "Русский",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "it": "Italiano",
    "pt": "Português",
    "nl": "Nederlands",
    "pl": "Polski",
    "uk": "Українська",
    "be": "Беларуская",
    "kk": "Қазақ тілі",
    "tg": "Тоҷикӣ",
    "uz": "Oʻzbekcha",
    "ky": "Кыргызча",
    "tr": "Türkçe",
    "ar": "العربية",
    "fa": "فارسی",
    "zh": "中文",
    "ja": "日本語",
    "ko": "한국어",
}

DOMAIN = "messages"


# Wordings kept in tables (bot/content/actions.py) are marked, not translated: the table is built once, the
# reader's language is known only when a screen is drawn. content/locales/babel.cfg registers the markers as
# keywords, so pybabel extracts the msgids from the table itself.


class Plural(NamedTuple):
    """A msgid with its plural form, for ngettext."""

    singular: str
    plural: str


class InContext(NamedTuple):
    """A msgid with its msgctxt, for pgettext."""

    context: str
    message: str


# A wording that gettext (a plain msgid) or pgettext (one in context) translates.
Wording = str | InContext


def N_(message: str) -> str:
    """Mark a msgid for extraction; it is translated where it is shown."""
    return message


def N_plural(singular: str, plural: str) -> Plural:
    """Mark a msgid and its plural for extraction; ngettext picks the form where it is shown."""
    return Plural(singular, plural)


def N_context(context: str, message: str) -> InContext:
    """Mark a msgid in its context for extraction; pgettext translates it where it is shown."""
    return InContext(context, message)


def load_translations(locales_dir: Path) -> dict[str, Translations]:
    """Read every <lang>/LC_MESSAGES/messages.po under locales_dir; UI languages must be there."""
    result: dict[str, Translations] = {}
    for po_path in sorted(Path(locales_dir).glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po_path.parent.parent.name
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=lang, domain=DOMAIN)
        buffer = BytesIO()
        write_mo(buffer, catalog)  # fuzzy entries are left out, as msgfmt would
        buffer.seek(0)
        result[lang] = Translations(fp=buffer, domain=DOMAIN)
        logger.debug("loaded %d messages for %s from %s", len(catalog), lang, po_path)
    missing = [lang for lang in UI_LANGUAGES if lang not in result]
    if missing:
        raise FileNotFoundError(f"no catalogue for UI language(s) {missing} under {locales_dir}")
    return result


def negotiate(language_code: str | None, default: str = "en") -> str:
    """Map a Telegram language_code ("ru", "en-US", "pt-br") to a UI language."""
    if not language_code:
        return default
    primary = re.split(r"[-_]", language_code.strip().lower(), maxsplit=1)[0]
    return primary if primary in UI_LANGUAGES else default
