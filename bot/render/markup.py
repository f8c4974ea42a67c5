"""Telegram HTML helpers: length after entity parsing, and shortening text to fit."""

from __future__ import annotations

import html
import re

MAX_MESSAGE = 4096  # Bot API: message text, after entities parsing
MAX_CAPTION = 1024
MAX_TOAST = 200
MAX_COPY_TEXT = 256
# Room every screen leaves for discreet mode's neutral first line (bot/telegram/discreet.py), so that it
# never has to be left out of a long screen.
NEUTRAL_ROOM = 40

_TAG = re.compile(r"<[^>]*>")


def visible_text(markup: str) -> str:
    """The text a user sees: tags removed, entities decoded, outer whitespace trimmed (Telegram does)."""
    return html.unescape(_TAG.sub("", markup)).strip()


def visible_length(markup: str) -> int:
    # Telegram measures entity offsets in UTF-16 code units; counting the same way is never
    # shorter than counting code points, so a text that passes here passes there.
    return len(visible_text(markup).encode("utf-16-le")) // 2


def fits(markup: str, limit: int = MAX_MESSAGE) -> bool:
    """True when the HTML, once Telegram has parsed it, is within the message limit."""
    return visible_length(markup) <= limit


def shorten(text: str, limit: int, ellipsis: str = "…") -> str:
    """Cut text to at most `limit` characters, at a word boundary when one is near, ending in "…"."""
    text = text.strip()
    if len(text) <= limit:
        return text
    if limit <= len(ellipsis):
        return ellipsis[:limit]
    cut = text[: limit - len(ellipsis)]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    # A word boundary is worth keeping only if it does not throw away most of the room.
    if space >= len(cut) * 0.6:
        cut = cut[:space]
    return cut.rstrip(" \n\t,;:-—") + ellipsis


def cut_at_word(text: str, limit: int, ellipsis: str = "…") -> str:
    """Like shorten, but never cuts inside a word (unless the first word alone is too long)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ellipsis) + 1]  # one more: a space right after the room is a clean cut
    space = cut.rfind(" ")
    cut = cut[:space] if space > 0 else cut[: limit - len(ellipsis)]
    return cut.rstrip(" ,;:-—–") + ellipsis
