"""Callback data parsed once, strictly: a forged payload simply matches no handler."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery

from bot.callbacks import Callback, decode


class Cb(Filter):
    def __init__(self, *verbs: str) -> None:
        self.verbs = frozenset(verbs)

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Callback]:
        parsed = decode(query.data)
        if parsed is None or parsed.verb not in self.verbs:
            return False
        return {"cb": parsed}
