"""What Telegram does to a text after parsing: explicit entity checks, cleanup, trimming,
automatic entities (links, @mentions, /commands, #hashtags), and ordering.

Modelled on TDLib's fix_formatted_text / find_entities; offsets are UTF-16 code units.
"""

from __future__ import annotations

import re
from typing import Any

from bot.render.telegram_html import ParseError, utf16_len
from bot.render.telegram_urls import check_link

from .errors import bad_request

USER_TYPES = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "blockquote",
        "expandable_blockquote",
        "date_time",
    }
)
# Telegram finds these itself; values a bot passes for them are recomputed.
AUTO_TYPES = frozenset({"mention", "hashtag", "cashtag", "bot_command", "url", "email", "phone_number", "bank_card"})
_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
# Automatic entities never start inside these.
_OPAQUE = frozenset({"pre", "code", "text_link", "text_mention", "custom_emoji", "date_time"})
_REMOVED_CHARS = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u0333\u033f\u030a\r")
# What makes finalize() move offsets: a removed or replaced character, or one of two UTF-16 units.
_MOVES_OFFSETS = re.compile(
    "[" + re.escape("".join(sorted(_REMOVED_CHARS))) + "\x00-\x09\x0b-\x1f\U00010000-\U0010ffff]"
)
_SPACE_LIKE = " \n"


def sort_key(entity: dict[str, Any]) -> tuple[int, int, int]:
    return entity["offset"], -entity["length"], _PRIORITY.get(entity["type"], 50)


def _parse_error(message: str) -> Exception:
    return bad_request(f"can't parse MessageEntity: {message}")


def validate_entities(text: str, raw: Any, known_user_ids: set[int]) -> list[dict[str, Any]]:
    """Check an explicit `entities` / `caption_entities` array like the Bot API does."""
    if not isinstance(raw, list):
        raise bad_request("can't parse entities JSON object")
    total = utf16_len(text)
    result = []
    for item in raw:
        if not isinstance(item, dict):
            raise _parse_error("expected an Object")
        for key in ("type", "offset", "length"):
            if key not in item:
                raise _parse_error(f'Can\'t find field "{key}"')
        kind, offset, length = item["type"], item["offset"], item["length"]
        if not isinstance(kind, str) or (kind not in USER_TYPES and kind not in AUTO_TYPES):
            raise _parse_error("Unsupported type specified")
        for key, value in (("offset", offset), ("length", length)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise _parse_error(f'Field "{key}" must be of type Number')
        if offset < 0:
            raise bad_request(f"receive an entity with incorrect offset {offset}")
        if length < 0:
            raise bad_request(f"receive an entity with incorrect length {length}")
        if offset > total:
            raise bad_request(f"entity begins after the end of the text at UTF-16 offset {offset}")
        if offset + length > total:
            raise bad_request(
                f"entity beginning at UTF-16 offset {offset} ends after the end of the text "
                f"at UTF-16 offset {offset + length}"
            )
        if length == 0 or kind in AUTO_TYPES:
            continue
        result.append(_entity_fields(item, kind, offset, length, known_user_ids))
    return result


def _entity_fields(item: dict, kind: str, offset: int, length: int, known_user_ids: set[int]) -> dict:
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        if "url" not in item:
            raise _parse_error('Can\'t find field "url"')
        normalized, reason = check_link(str(item["url"]))
        if reason:
            raise bad_request(f"entity URL '{item['url']}' is invalid: {reason}")
        entity["url"] = normalized
    elif kind == "text_mention":
        user = item.get("user")
        if not isinstance(user, dict):
            raise _parse_error('Can\'t find field "user"')
        if user.get("id") not in known_user_ids:
            raise bad_request("user not found")
        entity["user"] = {"id": user["id"]}
    elif kind == "custom_emoji":
        if "custom_emoji_id" not in item:
            raise _parse_error('Can\'t find field "custom_emoji_id"')
        value = str(item["custom_emoji_id"])
        if not (value.isdigit() and 0 < int(value) < 2**63):
            raise _parse_error('Field "custom_emoji_id" must be a valid Number')
        entity["custom_emoji_id"] = value
    elif kind == "pre" and item.get("language"):
        entity["language"] = str(item["language"])
    elif kind == "date_time":
        if "unix_time" not in item:
            raise _parse_error('Can\'t find field "unix_time"')
        entity["unix_time"] = item["unix_time"]
        if item.get("date_time_format"):
            entity["date_time_format"] = item["date_time_format"]
    return entity


def finalize(text: str, entities: list[dict[str, Any]], *, allow_empty: bool) -> tuple[str, list[dict]]:
    """Clean, trim and complete a parsed text the way Telegram stores it.

    Control characters become spaces, "\\r" and a few invisible direction marks are
    dropped, entities covering only whitespace vanish, trailing whitespace and leading
    spaces/newlines (before the first entity) are trimmed, and automatic entities are
    added. An empty result raises ParseError("Message must be non-empty") unless allowed.
    """
    if _MOVES_OFFSETS.search(text) is None:
        # Most texts: nothing to drop or replace, and characters are UTF-16 units (a letter is 4 KB).
        cleaned, size = text, len(text)

        def position(offset: int) -> int | None:
            return offset if 0 <= offset <= size else None

    else:
        cleaned, boundary = _clean(text)
        position = boundary.get

    kept = []
    for entity in sorted(entities, key=sort_key):
        start, end = position(entity["offset"]), position(entity["offset"] + entity["length"])
        if start is None or end is None:
            raise ParseError("Entity begins or ends in a middle of a UTF-16 symbol")
        if end > start and _slice16(cleaned, start, end).strip(_SPACE_LIKE):
            kept.append({**entity, "offset": start, "length": end - start})

    stripped = cleaned.rstrip(_SPACE_LIKE)
    if not stripped.strip(_SPACE_LIKE):
        if allow_empty:
            return "", []
        raise ParseError("Message must be non-empty")
    end16 = utf16_len(stripped)
    for entity in kept:
        entity["length"] = min(entity["offset"] + entity["length"], end16) - entity["offset"]
    first_entity = min((e["offset"] for e in kept), default=end16)
    lead = len(stripped) - len(stripped.lstrip(_SPACE_LIKE))
    lead = min(lead, first_entity)  # leading whitespace is ASCII, so chars == UTF-16 units
    result = stripped[lead:]
    for entity in kept:
        entity["offset"] -= lead
    kept = _drop_nested_in_code(kept)
    kept += find_entities(result, kept)
    kept.sort(key=sort_key)
    return result, kept


def _clean(text: str) -> tuple[str, dict[int, int]]:
    """The text without removed characters, control characters as spaces; old UTF-16 offset -> new one."""
    chars: list[str] = []
    boundary: dict[int, int] = {}  # at character boundaries
    old = new = 0
    for ch in text:
        boundary[old] = new
        width = 2 if ord(ch) > 0xFFFF else 1
        old += width
        if ch in _REMOVED_CHARS:
            continue
        chars.append(" " if ord(ch) < 32 and ch != "\n" else ch)
        new += width
    boundary[old] = new
    return "".join(chars), boundary


def _slice16(text: str, start: int, end: int) -> str:
    data = text.encode("utf-16-le", "surrogatepass")
    return data[start * 2 : end * 2].decode("utf-16-le", "surrogatepass")


def _drop_nested_in_code(entities: list[dict]) -> list[dict]:
    # Formatting inside code and pre blocks is not shown, and Telegram drops it.
    blocks = [e for e in entities if e["type"] in ("code", "pre")]
    return [
        e
        for e in entities
        if e["type"] in ("code", "pre", "blockquote", "expandable_blockquote")
        or not any(
            b["offset"] <= e["offset"] and e["offset"] + e["length"] <= b["offset"] + b["length"] for b in blocks
        )
    ]


_AUTO_PATTERNS = [
    ("email", re.compile(r"(?<![\w.+\-])[A-Za-z0-9._+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}(?![\w@])")),
    (
        "url",
        re.compile(
            r"(?<![\w@/.])(?:https?://[^\s<>\"]+|(?:www\.)?[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
            r"\.(?:com|org|net|io|me|dev|app|info|edu|gov|ru|uk|de|fr|eu)(?:/[^\s<>\"]*)?)(?![\w@])",
            re.IGNORECASE,
        ),
    ),
    ("bot_command", re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{4,32}(?![\w@])")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
    ("cashtag", re.compile(r"(?<![\w$])\$[A-Z]{3,8}(?![\w])")),
]


def find_entities(text: str, existing: list[dict]) -> list[dict]:
    """Automatic entities Telegram adds to any message text or caption."""
    taken = [(e["offset"], e["offset"] + e["length"]) for e in existing if e["type"] in _OPAQUE]
    found: list[dict] = []
    for kind, pattern in _AUTO_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(0)
            if kind == "url":
                value = _trim_url(value)
            start = utf16_len(text[: match.start()])
            span = (start, start + utf16_len(value))
            if any(a < span[1] and span[0] < b for a, b in taken):
                continue
            taken.append(span)
            found.append({"type": kind, "offset": span[0], "length": span[1] - span[0]})
    return found


def _trim_url(url: str) -> str:
    url = url.rstrip(".,:;!?'\"")
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(".,:;!?'\"")
    return url
