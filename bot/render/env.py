"""The Jinja2 environment: autoescaped Telegram HTML, plain-text letters, gettext per render.

Translations are passed in each render's context (not installed globally), so one
environment serves every language and a render never sees another user's language.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from bot.render.formatting import format_date, format_number

logger = logging.getLogger(__name__)

_FORMAT_ERRORS = (KeyError, ValueError, TypeError, IndexError)


def format_translation(translated: str, source: str, values: Any) -> str:
    """translated % values, or the English source % values when the translation cannot be formatted."""
    try:
        return translated % values
    except _FORMAT_ERRORS as exc:
        if translated == source:
            raise  # our own msgid is broken: a bug the tests must see
        logger.warning("translation of %r cannot be formatted (%r): showing the English text", source, exc)
        return source % values


def make_environment(templates_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        # UI is Telegram HTML; letters (*.txt.j2) are copied as they are, so never escaped.
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,  # a typo in a template fails the tests instead of showing ""
        extensions=["jinja2.ext.i18n"],
        auto_reload=False,
    )
    # Newstyle gettext: variables are escaped by the call itself, "%" always means a format.
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    # Multi-line {% trans %} blocks become one-line msgids (babel.cfg says the same).
    env.policies["ext.i18n.trimmed"] = True
    env.filters["number"] = _number
    env.filters["date"] = _date
    env.filters["ending"] = ending
    return env


@pass_context
def _number(context: Context, value: int) -> str:
    return format_number(value, context["lang"])


@pass_context
def _date(context: Context, value: Any) -> str:
    return format_date(value, context["lang"])


def ending(text: str, mark: str) -> str:
    """Add closing punctuation to a salutation unless it already has some."""
    text = text.rstrip()
    return text if not text or text[-1] in ",.!:;?" else text + mark


def gettext_context(translations: NullTranslations) -> dict[str, Callable[..., str]]:
    """gettext callables for one render, behaving like Jinja's newstyle ones."""

    def format(context: Context, translated: str, source: str, variables: dict[str, Any]) -> str:
        if not context.eval_ctx.autoescape:
            return format_translation(translated, source, variables)
        # The catalogue is trusted; the variables are escaped by Markup's %.
        try:
            return Markup(translated) % variables
        except _FORMAT_ERRORS as exc:
            if translated == source:
                raise
            logger.warning("translation of %r cannot be formatted (%r): showing the English text", source, exc)
            return Markup(source) % variables

    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        return format(__context, translations.gettext(__string), __string, variables)

    @pass_context
    def ngettext(__context: Context, __singular: str, __plural: str, __num: int, **variables: Any) -> str:
        variables.setdefault("num", __num)
        source = __singular if __num == 1 else __plural
        return format(__context, translations.ngettext(__singular, __plural, __num), source, variables)

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext}
