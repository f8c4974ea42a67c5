"""Rendering core: cases -> Telegram HTML screens, letters, tweets. Never imports aiogram."""

from bot.render.markup import fits, shorten, visible_length
from bot.render.renderer import Renderer
from bot.render.screen import Button, Document, Screen, Toast
from bot.render.tweet import fit_tweet, weighted_length

__all__ = [
    "Button",
    "Document",
    "Renderer",
    "Screen",
    "Toast",
    "fit_tweet",
    "fits",
    "shorten",
    "visible_length",
    "weighted_length",
]
