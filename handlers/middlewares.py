"""Per-update data: who is asking and in which language to answer."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n.middleware import I18nMiddleware
from babel.support import Translations
from redis.asyncio import Redis

from bot.ground.i18n import negotiate
from bot.ground.privacy import Pseudonymizer
from bot.pledges.store import Store
from bot.render import Renderer
from handlers.fsm import prefetched_record

logger = logging.getLogger(__name__)


async def skip_unreadable_updates(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject, data: dict[str, Any]
) -> Any:
    """Updates of a kind this aiogram does not know, or emptied by LenientUpdatesSession, are skipped quietly;
    so is a message with no sender (Telegram sends none such to a bot's private chats; a forged webhook could)."""
    if isinstance(event, Update):
        try:
            _ = event.event_type  # aiogram raises here for an update of no type it knows
        except UpdateTypeLookupError:
            logger.info("Skipped update %r of no known type", event.update_id)
            return UNHANDLED
        if isinstance(event.event, Message) and event.event.from_user is None:
            logger.info("Skipped update %r: a message with no sender", event.update_id)
            return UNHANDLED
    return await handler(event, data)


class CatalogueI18n(I18n):
    """aiogram's I18n fed straight from the .po catalogues, so there are no compiled files to keep in step."""

    def __init__(self, translations: dict[str, Translations], default_locale: str, locales_dir: Path) -> None:
        self._preloaded = translations
        super().__init__(path=locales_dir, default_locale=default_locale)

    def find_locales(self) -> dict[str, Any]:
        return dict(self._preloaded)


class UserLocaleMiddleware(I18nMiddleware):
    """Loads the user's saved preferences once per update and picks the answer language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("event_from_user")
        store: Store = data["store"]
        default = self.i18n.default_locale
        if user is None:
            data["lang"] = default
            return default
        prefs = await store.user(user.id, prefetched_record(user.id))
        lang = prefs.lang or negotiate(user.language_code, default)
        data["prefs"] = prefs
        data["lang"] = lang
        return lang


# --- abuse limits -----------------------------------------------------------------------------------

# Telegram never sends more than these; a forged webhook could, and every handler after this point
# (regexes, the import parser, lru_cache'd callback decoding) would pay for it.
MAX_TEXT = 4096
MAX_CAPTION = 4096  # Premium users' captions may be this long
MAX_CALLBACK_DATA = 64  # bytes, as bot/render/callbacks.py reads them
# Coordinators' messages get the handlers' own "too long" answers (the broadcast composer says by how
# much); this ceiling only keeps a forged giant out.
MAX_COORDINATOR_TEXT = 65_536

# A token bucket per user, one round trip: refill by elapsed time, take a token if there is one.
# Redis's own clock, so replicas with skewed clocks share one bucket fairly. Returns {allowed, notify}:
# notify is 1 for the first refusal of a window, so the user hears "slow down" once, not per tap.
# KEYS: bucket   ARGV: burst, tokens per second, notice window (ms), taps let through locally since
# the last call (charged first, so the shared count stays exact)
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'quiet')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
tokens = math.max(0, tokens - tonumber(ARGV[4]))
local allowed, notify = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
elseif now >= (tonumber(b[3]) or 0) then
  notify = 1
  redis.call('HSET', KEYS[1], 'quiet', now + window)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + window)
return {allowed, notify}
"""


def oversized(event: TelegramObject, coordinator: bool) -> bool:
    """Input no real Telegram update carries: a text, caption or callback data over Telegram's limits."""
    if isinstance(event, Message):
        text_limit, caption_limit = (MAX_COORDINATOR_TEXT,) * 2 if coordinator else (MAX_TEXT, MAX_CAPTION)
        # Characters, not UTF-16 units: a genuine message is never over in either count.
        return len(event.text or "") > text_limit or len(event.caption or "") > caption_limit
    if isinstance(event, CallbackQuery):
        data = event.data or ""
        return len(data) > MAX_CALLBACK_DATA or len(data.encode("utf-8", "replace")) > MAX_CALLBACK_DATA
    return False


class UserRateLimit(BaseMiddleware):
    """Per-user limits on taps and messages, shared by every replica through Redis.

    Over the limit the update is dropped before any handler runs: a flood cannot queue work, move
    counters or slow anyone else. The user hears about it once per window: a toast (which also
    stops the button's spinner) or one "slow down" message. Coordinators' taps are limited like
    anyone's, but their messages are not: a pasted Urgent Action arrives as dozens of messages at
    once, and cutting it would import half a document.
    """

    def __init__(
        self,
        redis: Redis,
        pseudonyms: Pseudonymizer,
        *,
        burst: int,
        rate: float,
        coordinators: frozenset[int],
        prefix: str = "rrb:",
    ) -> None:
        self.burst = burst
        self.rate = rate
        self.coordinators = coordinators
        self.pseudonyms = pseudonyms
        self.prefix = prefix
        # Long enough for the bucket to refill: one notice per stretch of flooding.
        self.window_ms = max(1000, int(burst / rate * 1000))
        self._take = redis.register_script(_TAKE)
        self.local = LocalBuckets(burst, rate)

    def key(self, user_id: int) -> str:
        """The bucket of a user: under the pseudonym, so even this short-lived key holds no chat id."""
        return bucket_key(self.prefix, self.pseudonyms, user_id)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user = data.get("event_from_user")
        coordinator = user is not None and user.id in self.coordinators
        if oversized(event, coordinator):
            logger.warning("Dropped an oversized %s", type(event).__name__)
            return UNHANDLED
        if user is None or (coordinator and isinstance(event, Message)):
            return await handler(event, data)
        if self.local.take(user.id):
            return await handler(event, data)  # far from the limit: no round trip to Redis
        unsynced = self.local.synced(user.id)
        allowed, notify = await self._take(
            keys=[self.key(user.id)], args=[self.burst, self.rate, self.window_ms, unsynced]
        )
        if allowed:
            return await handler(event, data)
        if notify:
            await self._tell(event, data)
        return UNHANDLED

    async def _tell(self, event: TelegramObject, data: dict[str, Any]) -> None:
        """The one notice of a window; a failure to send it changes nothing."""
        renderer: Renderer = data["renderer"]
        lang = data.get("lang") or renderer.default_language
        with suppress(TelegramAPIError):
            if isinstance(event, CallbackQuery):
                await event.answer(renderer.toast("slow_down", lang).text)
            elif isinstance(event, Message):
                await event.answer(renderer.message("slow_down", lang))


class LocalBuckets:
    """This process's view of each user's bucket, to spare the Redis call while a user is far from the limit.

    A tap is let through locally while the local bucket stays over half full; nearer the limit every
    tap asks Redis, which is charged for the local ones first. A flood therefore meets the shared
    limit after at most burst/2 taps per replica, and an activist tapping at a human pace costs
    nothing. Entries of users idle long enough to be full again are dropped, every so often and at
    once when there are many: memory follows the people tapping now, not all who ever did.
    """

    MAX_USERS = 50_000

    def __init__(self, burst: int, rate: float) -> None:
        self.burst = burst
        self.rate = rate
        self.users: dict[int, list[float]] = {}  # user -> [tokens, monotonic time, taps not yet charged]
        self._next_prune = 0.0

    def take(self, user_id: int) -> bool:
        now = time.monotonic()
        if now >= self._next_prune:
            self._prune(now)
        entry = self.users.get(user_id)
        if entry is None:
            if len(self.users) >= self.MAX_USERS:
                self._prune(now)
            entry = self.users[user_id] = [float(self.burst), now, 0.0]
        entry[0] = min(self.burst, entry[0] + (now - entry[1]) * self.rate)
        entry[1] = now
        if entry[0] - 1 < self.burst / 2:
            return False
        entry[0] -= 1
        entry[2] += 1
        return True

    def synced(self, user_id: int) -> int:
        """The taps let through locally since the last call to Redis, now to be charged there."""
        entry = self.users.get(user_id)
        if entry is None:
            return 0
        count, entry[2] = int(entry[2]), 0.0
        return count

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        self.users = {u: e for u, e in self.users.items() if now - e[1] < full_after}
        self._next_prune = now + max(full_after, 1.0)


def bucket_key(prefix: str, pseudonyms: Pseudonymizer, user_id: int) -> str:
    """Where a user's rate-limit bucket lives (also for /forget)."""
    return f"{prefix}rl:{pseudonyms.user(user_id)}"
