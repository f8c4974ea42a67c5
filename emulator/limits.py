"""Flood control: token buckets shaped after Telegram's documented broadcast limits.

Only methods that put a new message into a chat (sendMessage, sendDocument,
sendPhoto, copyMessage, forwardMessage, ...) spend tokens: one from the global
bucket, one from the chat's bucket and, for groups (negative chat ids), one from the
group's per-minute bucket. Edits, callback answers, deletions and chat actions are
free. Telegram's real limits are fuzzier than this; the point is that a bot which
ignores 429 / retry_after fails in tests the way it would fail in production.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class FloodLimits:
    global_per_second: float = 30.0
    global_burst: int = 30
    chat_per_second: float = 1.0
    chat_burst: int = 5
    group_per_minute: int = 20
    enabled: bool = True
    # Smallest retry_after ever reported, in seconds.
    retry_after: int = 1


class TokenBucket:
    def __init__(self, rate: float, capacity: float, now: float):
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self, now: float) -> float:
        """Seconds until one token is available (0 if one is available now)."""
        self._refill(now)
        if self.tokens >= 1:
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class FloodControl:
    def __init__(self, limits: FloodLimits, clock=time.monotonic):
        self.limits = limits
        self.clock = clock
        self._global: TokenBucket | None = None
        self._chats: dict[int | str, TokenBucket] = {}
        self._groups: dict[int | str, TokenBucket] = {}

    def reset(self) -> None:
        self._global = None
        self._chats.clear()
        self._groups.clear()

    def _buckets(self, chat_id: int | str, now: float) -> list[TokenBucket]:
        limits = self.limits
        if self._global is None:
            self._global = TokenBucket(limits.global_per_second, limits.global_burst, now)
        buckets = [self._global]
        if chat_id not in self._chats:
            self._chats[chat_id] = TokenBucket(limits.chat_per_second, limits.chat_burst, now)
        buckets.append(self._chats[chat_id])
        if isinstance(chat_id, int) and chat_id < 0:
            if chat_id not in self._groups:
                self._groups[chat_id] = TokenBucket(limits.group_per_minute / 60.0, limits.group_per_minute, now)
            buckets.append(self._groups[chat_id])
        return buckets

    def acquire(self, chat_id: int | str) -> int | None:
        """Spend a token for a message to chat_id; return retry_after seconds if over the limit.

        A refused request spends nothing, as on Telegram.
        """
        if not self.limits.enabled:
            return None
        now = self.clock()
        buckets = self._buckets(chat_id, now)
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            return max(self.limits.retry_after, math.ceil(wait) if math.isfinite(wait) else 3600)
        for bucket in buckets:
            bucket.take()
        return None
