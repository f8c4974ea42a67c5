"""UI languages and gettext catalogues.

Catalogues are read straight from the .po files (compiled in memory), so the repository holds
no .mo files that could drift from their sources.
"""

from __future__ import annotations

import logging
import re
from io import BytesIO
from pathlib import Path

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
