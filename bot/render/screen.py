"""What a renderer hands to the Telegram edge: plain data, no aiogram types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    text: str
    callback: str | None = None  # callback data, already encoded (<= 64 bytes)
    url: str | None = None  # http(s) or tg:// only: Telegram rejects mailto: in buttons
    copy_text: str | None = None  # Bot API CopyTextButton, 1..256 characters


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes  # the file's bytes (Telegram tells the type by the file name: .txt, .pdf)
    caption: str = ""  # Telegram HTML


@dataclass(frozen=True)
class Screen:
    text: str  # Telegram HTML, at most 4096 characters after entity parsing
    buttons: list[list[Button]] = field(default_factory=list)  # rows
    # A file sent along with the screen. Letter screens never set it (it would be re-sent on every
    # visit): a long letter gets a "doc" button, answered with Renderer.letter_document.
    document: Document | None = None


@dataclass(frozen=True)
class Toast:
    """Answer to a callback query: plain text, at most 200 characters."""

    text: str
    alert: bool = False
