"""Case content: models, loading and validation. No aiogram here."""

from bot.content.library import Library
from bot.content.loader import ContentError, Problem, load_case, load_cases, parse_case
from bot.content.models import (
    ACTIONS,
    TARGET_KEYS,
    WRITING_ACTIONS,
    Case,
    Link,
    Status,
    Subject,
    Target,
    Text,
    has_lang,
    pick,
)

__all__ = [
    "ACTIONS",
    "TARGET_KEYS",
    "WRITING_ACTIONS",
    "Case",
    "ContentError",
    "Library",
    "Link",
    "Problem",
    "Status",
    "Subject",
    "Target",
    "Text",
    "has_lang",
    "load_case",
    "load_cases",
    "parse_case",
    "pick",
]
