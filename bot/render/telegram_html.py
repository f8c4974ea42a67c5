"""Telegram's HTML parse mode: turns marked-up text into plain text + MessageEntity list.

This follows TDLib's parser (td/telegram/MessageEntity.cpp, do_parse_html) closely,
including its error texts and byte offsets, so a bot that sends broken HTML gets the
same "can't parse entities: ..." description it would get from Telegram.

By default it is exactly as lenient as Telegram: a bare ``&`` that starts no entity
("Q&A", "Nizomkhon & his family"), an unknown entity such as ``&nbsp;`` and a bare
``>`` are literal text. ``strict=True`` is the Bot API emulator's strict mode: it
refuses them, because unescaped user input breaks as soon as it contains ``<``, so a
missing ``html.escape`` shows up in tests before a user types a ``<``. A hand-written
message (``rrbot broadcast``) is checked by Telegram's rules, then has what Telegram
keeps literally escaped (``escape_literals``): the same text for Telegram, valid for both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.render.telegram_urls import check_link, link_user_id


class ParseError(Exception):
    """Raised by the HTML / entity parsers; becomes "can't parse entities: ..."."""


SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
SPACES = " \t\r\n\v\f"
DATE_TIME_FORMAT_CHARS = "rwdDtT"
_PLAIN_RUN = re.compile(r"[^&<>]+")
_ENTITY_LIKE = re.compile(r"&#?[0-9A-Za-z]+;")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _char_width(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


@dataclass
class _OpenTag:
    name: str
    argument: str
    offset: int  # UTF-16 offset in the produced text
    begin: int  # index into the produced text, for <a> without href
    extra: dict[str, str] = field(default_factory=dict)


class _HtmlParser:
    def __init__(self, text: str, strict: bool):
        self.text = text
        self.n = len(text)
        self.strict = strict
        self.out: list[str] = []
        self.u16 = 0
        self.entities: list[dict[str, Any]] = []
        self.stack: list[_OpenTag] = []
        self.literals: list[int] = []  # where a bare "&" or ">" was kept as text (lenient)

    def at(self, i: int) -> str:
        # TDLib reads a NUL terminator past the end; mirror that so the checks line up.
        return self.text[i] if i < self.n else "\0"

    def byte_offset(self, i: int) -> int:
        return len(self.text[:i].encode("utf-8", "surrogatepass"))

    def emit(self, ch: str) -> None:
        self.out.append(ch)
        self.u16 += _char_width(ch)

    def decode_entity(self, pos: int) -> tuple[str | None, int]:
        text, end = self.text, pos + 1
        if self.at(pos + 1) == "#":
            end += 1
            hexadecimal = self.at(pos + 2) == "x"
            digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            end += hexadecimal
            code = 0
            while end < self.n and text[end] in digits:
                code = code * (16 if hexadecimal else 10) + int(text[end], 16)
                end += 1
                if code >= 0x10FFFF:
                    return None, pos
            if code == 0 or end - pos >= 10:
                return None, pos
            char = chr(code)
        else:
            while end < self.n and text[end].isascii() and text[end].isalpha():
                end += 1
            char = NAMED_ENTITIES.get(text[pos + 1 : end])
            if char is None:
                return None, pos
        if self.at(end) == ";":
            end += 1
        return char, end

    def strict_error(self, i: int, what: str, escape: str) -> ParseError:
        return ParseError(
            f"{what} at byte offset {self.byte_offset(i)}; escape it as {escape} "
            "(emulator strict mode: Telegram would keep it as literal text)"
        )

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        while i < self.n:
            c = self.text[i]
            if c == "&":
                char, end = self.decode_entity(i)
                if char is not None:
                    self.emit(char)
                    i = end
                    continue
                if self.strict:
                    j = i + 1
                    while j < self.n and self.text[j].isascii() and self.text[j].isalnum():
                        j += 1
                    name = self.text[i + 1 : j]
                    if name and self.at(j) == ";":
                        raise self.strict_error(i, f'Unsupported HTML entity "&{name};"', "&amp;")
                    raise self.strict_error(i, 'Unescaped "&"', "&amp;")
            if c == ">" and self.strict:
                raise self.strict_error(i, 'Unescaped ">"', "&gt;")
            if c != "<":
                if c in "&>":  # a literal one (not strict)
                    self.literals.append(i)
                    self.emit(c)
                    i += 1
                    continue
                # A run of plain text at once: per character, a 4 KB letter was 4,000 calls.
                end = _PLAIN_RUN.match(self.text, i).end()
                run = self.text[i:end]
                self.out.append(run)
                self.u16 += utf16_len(run)
                i = end
                continue
            i = self.end_tag(i) if self.at(i + 1) == "/" else self.start_tag(i)
        if self.stack:
            raise ParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"')
        result = "".join(self.out)
        if any("\ud800" <= ch <= "\udfff" for ch in result):
            raise ParseError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        return result, self.entities

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        while self.at(i) not in SPACES + "\0>":
            i += 1
        if i >= self.n:
            raise ParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
        name = self.text[begin + 1 : i].lower()
        if name not in SUPPORTED_TAGS:
            raise ParseError(f'Unsupported start tag "{name}" at byte offset {self.byte_offset(begin)}')
        argument = ""
        extra: dict[str, str] = {}
        while self.at(i) != ">":
            while i < self.n and self.text[i] in SPACES:
                i += 1
            if self.at(i) == ">":
                break
            attr_begin = i
            while self.at(i) not in SPACES + "\0=>":
                i += 1
            attr = self.text[attr_begin:i]
            if not attr:
                raise ParseError(f'Empty attribute name in the tag "{name}" at byte offset {self.byte_offset(begin)}')
            while i < self.n and self.text[i] in SPACES:
                i += 1
            if self.at(i) != "=":
                if name == "blockquote" and attr == "expandable":
                    argument = "1"
                    continue
                raise ParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {self.byte_offset(begin)}"
                )
            i += 1
            while i < self.n and self.text[i] in SPACES:
                i += 1
            if i >= self.n:
                raise ParseError(f'Unclosed start tag "{name}" at byte offset {self.byte_offset(begin)}')
            value, i = self.attribute_value(i)
            if i >= self.n:
                raise ParseError(f"Unclosed start tag at byte offset {self.byte_offset(begin)}")
            if name == "a" and attr == "href":
                argument = value
            elif name == "code" and attr == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif name == "span" and attr == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif name == "tg-emoji" and attr == "emoji-id":
                argument = value
            elif name == "tg-time" and attr in ("unix", "format"):
                extra[attr] = value
        if name == "span" and argument != "spoiler":
            raise ParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset(begin)}')
        self.stack.append(_OpenTag(name, argument, self.u16, len(self.out), extra))
        return i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in "'\"":
            # An unquoted name token: letters, digits, periods, hyphens; case-insensitive.
            token_begin = i
            while self.at(i).isascii() and (self.at(i).isalnum() or self.at(i) in ".-"):
                i += 1
            if self.at(i) not in SPACES + "\0>":
                raise ParseError(f"Unexpected end of name token at byte offset {self.byte_offset(token_begin)}")
            return self.text[token_begin:i].lower(), i
        i += 1
        value: list[str] = []
        while i < self.n and self.text[i] != quote:
            if self.text[i] == "&":
                char, end = self.decode_entity(i)
                if char is not None:
                    value.append(char)
                    i = end
                    continue
            value.append(self.text[i])
            i += 1
        if i < self.n:
            i += 1
        return "".join(value), i

    def end_tag(self, begin: int) -> int:
        if not self.stack:
            raise ParseError(f"Unexpected end tag at byte offset {self.byte_offset(begin)}")
        i = begin + 1
        while self.at(i) not in SPACES + "\0>":
            i += 1
        end_name = self.text[begin + 2 : i]
        while i < self.n and self.text[i] in SPACES:
            i += 1
        if self.at(i) != ">":
            raise ParseError(f"Unclosed end tag at byte offset {self.byte_offset(begin)}")
        tag = self.stack[-1]
        # Like TDLib, the end tag name is compared case-sensitively with the lowered start tag.
        if end_name and end_name != tag.name:
            raise ParseError(
                f"Unmatched end tag at byte offset {self.byte_offset(begin)}, "
                f'expected "</{tag.name}>", found "</{end_name}>"'
            )
        if self.u16 > tag.offset:
            self.close_entity(tag)
        self.stack.pop()
        return i + 1

    def close_entity(self, tag: _OpenTag) -> None:
        offset, length = tag.offset, self.u16 - tag.offset
        base: dict[str, Any] = {"offset": offset, "length": length}
        last = self.entities[-1] if self.entities else None
        same_range = last is not None and last["offset"] == offset and last["length"] == length
        if tag.name in SIMPLE_TAGS:
            self.entities.append({"type": SIMPLE_TAGS[tag.name], **base})
        elif tag.name == "tg-emoji":
            if not _is_positive_int64(tag.argument):
                raise ParseError("Invalid custom emoji identifier specified")
            self.entities.append({"type": "custom_emoji", **base, "custom_emoji_id": str(int(tag.argument))})
        elif tag.name == "tg-time":
            self.entities.append(_date_time_entity(base, tag.extra))
        elif tag.name == "a":
            url = tag.argument or "".join(self.out[tag.begin :])
            user_id = link_user_id(url)
            if user_id is not None:
                self.entities.append({"type": "text_mention", **base, "user": {"id": user_id}})
            else:
                normalized, error = check_link(url)
                if error is None:
                    self.entities.append({"type": "text_link", **base, "url": normalized})
        elif tag.name == "pre":
            if same_range and last["type"] == "code" and last.get("language"):
                last["type"] = "pre"
            else:
                self.entities.append({"type": "pre", **base})
        elif tag.name == "code":
            if same_range and last["type"] == "pre" and tag.argument:
                last["language"] = tag.argument
            else:
                entity = {"type": "code", **base}
                if tag.argument:
                    entity["language"] = tag.argument
                self.entities.append(entity)
        elif tag.name == "blockquote":
            kind = "expandable_blockquote" if tag.argument == "1" else "blockquote"
            self.entities.append({"type": kind, **base})


def _is_positive_int64(value: str) -> bool:
    return value.isascii() and value.isdigit() and 0 < int(value) < 2**63


def _date_time_entity(base: dict[str, Any], extra: dict[str, str]) -> dict[str, Any]:
    unix = extra.get("unix", "")
    if not (unix.isascii() and unix.lstrip("-").isdigit()):
        raise ParseError("Invalid Unix time specified")
    entity = {"type": "date_time", **base, "unix_time": int(unix)}
    fmt = extra.get("format", "")
    if fmt:
        if any(ch not in DATE_TIME_FORMAT_CHARS for ch in fmt):
            raise ParseError(f'Invalid date-time format "{fmt}" specified')
        entity["date_time_format"] = fmt
    return entity


def parse_html(text: str, *, strict: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """Return (plain_text, entities). Raises ParseError with Telegram's wording."""
    return _HtmlParser(text, strict).parse()


def unknown_entities(text: str) -> list[str]:
    """Entities Telegram does not know and shows as written ("&nbsp;", "&hellip;"), in order of appearance.

    Raises ParseError when Telegram would refuse the text.
    """
    parser = _HtmlParser(text, strict=False)
    parser.parse()
    return [m.group(0) for i in parser.literals if (m := _ENTITY_LIKE.match(text, i))]


def escape_literals(text: str) -> str:
    """The same message with the characters Telegram keeps literally escaped ("Q&A" -> "Q&amp;A").

    Telegram shows both the same; the escaped one also passes a strict check (the emulator's), and
    stays right when the text is later joined with more markup. Raises ParseError as parse_html does.
    """
    parser = _HtmlParser(text, strict=False)
    parser.parse()
    parts, last = [], 0
    for i in parser.literals:
        parts += [text[last:i], "&amp;" if text[i] == "&" else "&gt;"]
        last = i + 1
    parts.append(text[last:])
    return "".join(parts)
