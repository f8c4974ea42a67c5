"""The Jinja2 environment: autoescaped Telegram HTML, plain-text letters, gettext per render.

Translations are passed in each render's context (not installed globally), so one
environment serves every language and a render never sees another user's language.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from bot.render.formatting import format_date, format_number

logger = logging.getLogger(__name__)


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

    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        rv = translations.gettext(__string)
        if __context.eval_ctx.autoescape:
            rv = Markup(rv)  # the catalogue is trusted; the variables are escaped by %
        return rv % variables

    @pass_context
    def ngettext(__context: Context, __singular: str, __plural: str, __num: int, **variables: Any) -> str:
        variables.setdefault("num", __num)
        rv = translations.ngettext(__singular, __plural, __num)
        if __context.eval_ctx.autoescape:
            rv = Markup(rv)
        return rv % variables

    return {"gettext": gettext, "_": gettext, "ngettext": ngettext}
