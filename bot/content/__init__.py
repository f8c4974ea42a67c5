"""Case content: models, the action table, loading and validation. No aiogram here."""

from bot.content.actions import ACTION_TABLE, ACTIONS, WRITING_ACTIONS, Action
from bot.content.library import Library
from bot.content.loader import ContentError, Problem, load_case, load_cases, parse_case
from bot.content.models import TARGET_KEYS, Case, Link, Status, Subject, Target, Text, has_lang, pick

__all__ = [
    "ACTIONS",
    "ACTION_TABLE",
    "TARGET_KEYS",
    "WRITING_ACTIONS",
    "Action",
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
