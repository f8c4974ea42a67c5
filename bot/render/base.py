"""Renderer core: templates, translations, content picking and the generic texts."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations

from bot.content.models import Case, Text, pick
from bot.ground.i18n import UI_LANGUAGES, InContext, Plural, Wording
from bot.render.env import format_translation, gettext_context, make_environment
from bot.render.formatting import language_name
from bot.render.letters import LetterWriter
from bot.render.markup import MAX_MESSAGE, NEUTRAL_ROOM, fits, shorten
from bot.render.screen import Screen

logger = logging.getLogger(__name__)


class Translated(str):
    """A translation that remembers its English source.

    Formatting it (``_("…%(x)s") % {...}``) falls back to the English text, with a warning,
    when a broken catalogue entry (a misspelt or extra placeholder) makes the translation fail:
    the user reads English rather than getting an error.
    """

    source: str

    def __new__(cls, text: str, source: str) -> Translated:
        obj = super().__new__(cls, text)
        obj.source = source
        return obj

    def __mod__(self, values: Any) -> str:
        return format_translation(str(self), self.source, values)


SCREEN_CACHE_SIZE = 512


def _to_minute(value: Any) -> Any:
    return value.replace(second=0, microsecond=0) if isinstance(value, dt.datetime) else value


def cached_screen(method: Callable[..., Screen]) -> Callable[..., Screen]:
    """Cache a screen by everything it is drawn from: the case, the language, the minute, the rest.

    Every activist of a case sees the same action menu, card, tweet and share screen, and one
    activist moves back and forth between a letter and its email and fax screens; rendering them
    anew was a large part of a tap's cost. The case object itself is part of the key, so a
    reloaded case is rendered afresh.
    """

    @functools.wraps(method)
    def cached(self: RendererBase, case: Case, lang: str, *args: Any, **kwargs: Any) -> Screen:
        minute = tuple(_to_minute(a) for a in args)
        key = (
            method.__name__,
            case.id,
            id(case),
            lang,
            *minute,
            *sorted((k, _to_minute(v)) for k, v in kwargs.items()),
        )
        hit = self._screens.get(key)
        if hit is not None and hit[0] is case:
            return hit[1]
        screen = method(self, case, lang, *args, **kwargs)
        if len(self._screens) >= SCREEN_CACHE_SIZE:
            self._screens.clear()
        self._screens[key] = (case, screen)
        return screen

    return cached


class RendererBase:
    def __init__(
        self,
        templates_dir: Path,
        translations: dict[str, Translations],
        *,
        bot_username: str,
        default_language: str = "en",
        default_timezone: str = "UTC",
    ) -> None:
        self.templates_dir = Path(templates_dir)
        self.translations = translations
        self.bot_username = bot_username.lstrip("@")
        self.default_language = default_language
        self.default_timezone = default_timezone
        self.env = make_environment(self.templates_dir)
        self.letters = LetterWriter(self.env, self.templates_dir)
        self._null = NullTranslations()
        self._screens: dict[tuple[Any, ...], tuple[Case, Screen]] = {}

    # --- languages and content -------------------------------------------------------------

    def _tr(self, lang: str) -> NullTranslations:
        return self.translations.get(lang) or self.translations.get(self.default_language) or self._null

    def _gettext(self, lang: str) -> Callable[[str], str]:
        translations = self._tr(lang)

        def gettext(message: str) -> str:
            return Translated(translations.gettext(message), message)

        return gettext

    def _ngettext(self, lang: str) -> Callable[[str, str, int], str]:
        translations = self._tr(lang)

        def ngettext(singular: str, plural: str, n: int) -> str:
            return Translated(translations.ngettext(singular, plural, n), singular if n == 1 else plural)

        return ngettext

    def _pgettext(self, lang: str) -> Callable[[str, str], str]:
        translations = self._tr(lang)

        def pgettext(context: str, message: str) -> str:
            return Translated(translations.pgettext(context, message), message)

        return pgettext

    def _say(self, wording: Wording, lang: str) -> str:
        """A wording marked in a table (bot/content/actions.py) in the reader's language."""
        if isinstance(wording, InContext):
            return self._pgettext(lang)(wording.context, wording.message)
        return self._gettext(lang)(wording)

    def _say_n(self, wording: Plural, n: int, lang: str) -> str:
        """A plural wording marked in a table, in the form for n (still to be %-formatted)."""
        return self._ngettext(lang)(wording.singular, wording.plural, n)

    def _pick(self, text: Text | None, lang: str) -> str:
        """Case text in the reader's language, else the bot's default, else English, else any."""
        return pick(text, lang, (self.default_language, "en")) or ""

    def _title(self, case: Case, lang: str, limit: int = 200) -> str:
        return shorten(" ".join(self._pick(case.title, lang).split()), limit)

    def deep_link(self, case: Case) -> str:
        return f"https://t.me/{self.bot_username}?start={case.id}"

    # --- templates --------------------------------------------------------------------------

    def _render(self, template: str, lang: str, /, **ctx: Any) -> str:
        context = {
            "lang": lang,
            # "English", "русский": the UI language named as running text names it.
            "language_name": language_name(lang, lang),
            "bot_username": self.bot_username,
            **gettext_context(self._tr(lang)),
            **ctx,
        }
        return self.env.get_template(template).render(context).strip()

    def _fit(self, build: Callable[[int], str], start: int, minimum: int = 40) -> str:
        """Render with the largest content budget (<= start) whose message fits Telegram's limit."""
        limit = MAX_MESSAGE - NEUTRAL_ROOM
        text = build(start)
        if fits(text, limit):
            return text
        # Binary search: content shrinks monotonically with the budget, and renders are cheap.
        low, high, best = minimum, start - 1, None
        while low <= high:
            middle = (low + high) // 2
            candidate = build(middle)
            if fits(candidate, limit):
                best, low = candidate, middle + 1
            else:
                high = middle - 1
        if best is None:
            logger.error("screen still too long with the smallest budget (%d)", minimum)
            return build(minimum)
        return best

    @property
    def languages(self) -> tuple[str, ...]:
        """UI languages (the ones with complete catalogues)."""
        return UI_LANGUAGES
