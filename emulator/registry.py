"""The table of Bot API methods the emulator answers (names are case-insensitive, as on Telegram)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApiMethod:
    name: str
    func: Callable[..., Any]


@dataclass
class Described:
    """A result that carries a "description" next to it, like setWebhook's "Webhook was set"."""

    result: Any
    description: str


REGISTRY: dict[str, ApiMethod] = {}


def api_method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name.lower()] = ApiMethod(name, func)
        return func

    return register
