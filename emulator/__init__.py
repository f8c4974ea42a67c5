"""A Telegram Bot API emulator: a real HTTP server the real aiogram client can talk to.

It enforces Telegram's rules (HTML entities, keyboards, lengths, callback answers, flood
limits, blocked users, ...) with Telegram's error texts, so bot bugs surface in tests as
the errors production would give. Only the standard library and aiohttp are used.
"""

from .errors import ApiError
from .limits import FloodLimits
from .server import BotAPIEmulator
from .world import Call

__all__ = ["ApiError", "BotAPIEmulator", "Call", "FloodLimits"]
