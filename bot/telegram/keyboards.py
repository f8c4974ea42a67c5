"""Rendered button specs as aiogram keyboards: shared by handlers and the broadcast reporter."""

from __future__ import annotations

from aiogram.types import CopyTextButton, InlineKeyboardButton, InlineKeyboardMarkup

from bot.render import Button, Screen


def _button(spec: Button) -> InlineKeyboardButton:
    if spec.url:
        return InlineKeyboardButton(text=spec.text, url=spec.url)
    if spec.copy_text:
        return InlineKeyboardButton(text=spec.text, copy_text=CopyTextButton(text=spec.copy_text))
    return InlineKeyboardButton(text=spec.text, callback_data=spec.callback)


# Screens shared by every user of a case come from the renderer's cache as the same object:
# building their keyboard once saves validating a dozen pydantic models per tap.
_MARKUPS: dict[int, tuple[Screen, InlineKeyboardMarkup]] = {}
_MARKUPS_SIZE = 512


def markup(screen: Screen) -> InlineKeyboardMarkup | None:
    if not screen.buttons:
        return None
    hit = _MARKUPS.get(id(screen))
    if hit is not None and hit[0] is screen:
        return hit[1]
    built = InlineKeyboardMarkup(inline_keyboard=[[_button(b) for b in row] for row in screen.buttons])
    if len(_MARKUPS) >= _MARKUPS_SIZE:
        _MARKUPS.clear()
    _MARKUPS[id(screen)] = (screen, built)
    return built
