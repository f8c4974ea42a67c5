"""Flood control shaped after Telegram's broadcast limits, in two modes.

Only methods that put a new message into a chat (sendMessage, sendDocument,
sendPhoto, copyMessage, forwardMessage, ...) are limited: by a global cap, a per-chat
cap and, for groups (negative chat ids), a per-group cap per minute. Edits, callback
answers, deletions and chat actions are free. The point is that a bot which ignores
429 / retry_after fails in tests the way it would fail in production.

Telegram does not document how it enforces "about 30 messages per second", so there
are two models:

* "bucket" (the default): token buckets that allow a burst of a full second's worth of
  messages. Lenient; existing tests and benches use it.
* "window": the strictest plausible limiter. No interval of one second, anywhere (not
  aligned to clock seconds), holds more than `global_per_second` accepted sends; a chat
  takes one message per `1 / chat_per_second` seconds (no burst); a group takes
  `group_per_minute` per sliding minute. After any 429 the bot is refused until the
  retry_after it was given has passed (`penalty`), as bots in the wild observe. A
  sender that is correct here is correct under any gentler limiter.

Both modes can draw retry_after between two bounds and answer spurious 429s (Telegram
does both), from a seeded random generator so that a run can be reproduced.

Paid broadcasts: a send with `allow_paid_broadcast` is Telegram's way past the free cap (up to
1,000 messages a second, for Stars). With `paid_per_second` set, such sends pass a global limiter
of their own at that rate (same mode) instead of `global_per_second`; the per-chat and per-group
limits still apply, and the statistics count every send alike. Left at None, the flag changes
nothing here, as before it was modelled.
"""

from __future__ import annotations

import math
import random
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Literal

# Clock readings closer than this count as equal: float sums of evenly spaced send times
# (i * 1/30) must not fall a hair inside the previous window. A microsecond is far below
# any scheduling jitter, so the limiter is not measurably more lenient for it.
EPS = 1e-6


@dataclass
class FloodLimits:
    global_per_second: float = 30.0
    global_burst: int = 30  # bucket mode only: the window mode has no burst beyond its cap
    chat_per_second: float = 1.0
    chat_burst: int = 5  # bucket mode only
    group_per_minute: int = 20
    enabled: bool = True
    # Smallest retry_after ever reported, in seconds (unless retry_after_range is set).
    retry_after: int = 1
    mode: Literal["bucket", "window"] = "bucket"
    # retry_after drawn uniformly from [low, high] for each 429 instead of the fixed value.
    retry_after_range: tuple[int, int] | None = None
    # Probability that a send under the cap is answered 429 all the same.
    spurious_429: float = 0.0
    # Window mode only: after a 429 with retry_after R, every send during those R seconds is refused.
    penalty: bool = True
    # Seed of the generator behind retry_after_range and spurious_429 (None: unseeded).
    seed: int | None = None
    # The global cap of sends made with allow_paid_broadcast (None: they count against global_per_second).
    paid_per_second: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("bucket", "window"):
            raise ValueError(f"FloodLimits.mode must be 'bucket' or 'window', not {self.mode!r}")
        if self.retry_after_range is not None:
            low, high = self.retry_after_range
            if not 1 <= low <= high:
                raise ValueError(f"retry_after_range needs 1 <= low <= high, got {self.retry_after_range!r}")
        if not 0.0 <= self.spurious_429 <= 1.0:
            raise ValueError(f"spurious_429 is a probability, got {self.spurious_429!r}")
        if self.paid_per_second is not None and not self.paid_per_second > 0:
            raise ValueError(f"paid_per_second must be above 0, got {self.paid_per_second!r}")


def _whole_seconds(wait: float) -> int:
    """A wait as Telegram reports it: whole seconds, rounded up, at least 1."""
    if not math.isfinite(wait):
        return 3600
    return max(1, math.ceil(wait - EPS))


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

    def take(self, now: float) -> None:
        self.tokens -= 1


class SlidingWindow:
    """At most `limit` accepted events in any interval of `span` seconds.

    Keeps only the times of the events still inside the last span, so its memory is
    bounded by `limit`.
    """

    def __init__(self, limit: int, span: float):
        self.limit = limit
        self.span = span
        self.times: deque[float] = deque()

    def _expire(self, now: float) -> None:
        times = self.times
        while times and now - times[0] >= self.span - EPS:
            times.popleft()

    def wait_time(self, now: float) -> float:
        """Seconds until one more event fits (0 if it fits now)."""
        self._expire(now)
        if len(self.times) < self.limit:
            return 0.0
        if self.limit <= 0:
            return math.inf
        # The window accepts once the event `limit` places back has left it.
        return self.times[-self.limit] + self.span - now

    def take(self, now: float) -> None:
        self.times.append(now)

    def idle(self, now: float) -> bool:
        """Nothing of it remains in the window: forgetting it changes no answer."""
        return not self.times or now - self.times[-1] >= self.span - EPS


class _WindowTable:
    """A SlidingWindow per chat, forgetting the chats whose last send has left the window.

    Chats are kept in the order of their last accepted send (the clock never goes back),
    so the stale ones are at the front and pruning costs O(1) per send, however many
    distinct chats a broadcast reaches.
    """

    def __init__(self, limit: int, span: float):
        self.limit = limit
        self.span = span
        self._windows: OrderedDict[int | str, SlidingWindow] = OrderedDict()

    def get(self, chat_id: int | str) -> SlidingWindow:
        """The chat's window; a chat not tracked gets a fresh one, stored only by take()."""
        return self._windows.get(chat_id) or SlidingWindow(self.limit, self.span)

    def take(self, chat_id: int | str, window: SlidingWindow, now: float) -> None:
        window.take(now)
        self._windows[chat_id] = window
        self._windows.move_to_end(chat_id)
        self.prune(now)

    def prune(self, now: float) -> None:
        windows = self._windows
        while windows:
            chat_id, window = next(iter(windows.items()))
            if not window.idle(now):
                break
            del windows[chat_id]

    def __len__(self) -> int:
        return len(self._windows)


class FloodStats:
    """What a bench needs to judge a sender: sends accepted, 429s, and the fullest second.

    Streaming and bounded: a deque of the accepted sends within the last second (for the
    sliding maximum) and one counter per clock second (a 20-minute run keeps 1,200).
    A send answered 403 (blocked user) counts as accepted: Telegram received it, and the
    issue's rate counts every send request.
    """

    def __init__(self) -> None:
        self.accepted = 0
        self.refused_429 = 0  # every 429 the limiter answered, spurious and penalty ones included
        self.spurious_429 = 0
        self.penalty_429 = 0
        self.max_in_any_window = 0
        self.first_send: float | None = None
        self.last_send: float | None = None
        self.per_second: dict[int, int] = {}
        self.refused_per_second: dict[int, int] = {}
        self._recent: deque[float] = deque()

    def accept(self, now: float) -> None:
        self.accepted += 1
        if self.first_send is None:
            self.first_send = now
        self.last_send = now
        second = int(now)
        self.per_second[second] = self.per_second.get(second, 0) + 1
        recent = self._recent
        recent.append(now)
        # The same boundary as SlidingWindow: sends a full second apart share no window.
        while now - recent[0] >= 1.0 - EPS:
            recent.popleft()
        self.max_in_any_window = max(self.max_in_any_window, len(recent))

    def refuse(self, now: float, *, spurious: bool = False, penalty: bool = False) -> None:
        self.refused_429 += 1
        self.spurious_429 += int(spurious)
        self.penalty_429 += int(penalty)
        second = int(now)
        self.refused_per_second[second] = self.refused_per_second.get(second, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "refused_429": self.refused_429,
            "spurious_429": self.spurious_429,
            "penalty_429": self.penalty_429,
            "max_in_any_window": self.max_in_any_window,
            "first_send": self.first_send,
            "last_send": self.last_send,
            "per_second": dict(self.per_second),
            "refused_per_second": dict(self.refused_per_second),
        }


class FloodControl:
    def __init__(self, limits: FloodLimits, clock=time.monotonic):
        self.limits = limits
        self.clock = clock
        self.stats = FloodStats()
        self.reset()

    def reset(self) -> None:
        """Forget every send (full buckets, empty windows, no penalty); the statistics stay."""
        limits = self.limits
        self._random = random.Random(limits.seed)
        self._penalty_until: float | None = None
        # Bucket mode.
        self._global: TokenBucket | None = None
        self._paid: TokenBucket | None = None
        self._chats: dict[int | str, TokenBucket] = {}
        self._groups: dict[int | str, TokenBucket] = {}
        # Window mode.
        self._global_window = SlidingWindow(max(1, math.floor(limits.global_per_second + EPS)), 1.0)
        paid = limits.paid_per_second
        self._paid_window = SlidingWindow(max(1, math.floor(paid + EPS)), 1.0) if paid is not None else None
        chat_span = 1.0 / limits.chat_per_second if limits.chat_per_second > 0 else math.inf
        self._chat_windows = _WindowTable(1, chat_span)
        self._group_windows = _WindowTable(limits.group_per_minute, 60.0)

    def reset_stats(self) -> None:
        self.stats = FloodStats()

    @property
    def tracked_chats(self) -> int:
        """Chats (and groups) the limiter holds state for: bounded in window mode."""
        if self.limits.mode == "window":
            return len(self._chat_windows) + len(self._group_windows)
        return len(self._chats) + len(self._groups)

    @property
    def counts_forbidden_sends(self) -> bool:
        """Whether a send to a user who blocked the bot goes through the limiter.

        In window mode it does (Telegram received it, and the strictest limiter counts
        it); the bucket mode keeps its old leniency so existing benches do not change.
        """
        return self.limits.mode == "window"

    def note_forbidden_send(self) -> None:
        """A send answered 403 without passing the limiter: it still counts in the statistics."""
        self.stats.accept(self.clock())

    def acquire(self, chat_id: int | str, *, paid: bool = False) -> int | None:
        """Admit a message to chat_id, or return the retry_after (seconds) of a 429.

        `paid`: sent with allow_paid_broadcast, so the paid cap applies when there is one.
        A refused request spends nothing, as on Telegram.
        """
        now = self.clock()
        limits = self.limits
        if not limits.enabled:
            self.stats.accept(now)
            return None
        if limits.mode == "window" and limits.penalty and self._penalty_until is not None:
            if now < self._penalty_until - EPS:
                self.stats.refuse(now, penalty=True)
                return _whole_seconds(self._penalty_until - now)
            self._penalty_until = None
        if limits.spurious_429 > 0 and self._random.random() < limits.spurious_429:
            return self._refuse(now, 0.0, spurious=True)
        paid = paid and limits.paid_per_second is not None
        if limits.mode == "window":
            return self._acquire_window(chat_id, now, paid)
        return self._acquire_bucket(chat_id, now, paid)

    def _refuse(self, now: float, wait: float, *, spurious: bool = False) -> int:
        """Answer 429: at least the configured retry_after, and at least until the limit admits."""
        configured = self.limits.retry_after
        if self.limits.retry_after_range is not None:
            configured = self._random.randint(*self.limits.retry_after_range)
        retry_after = max(configured, _whole_seconds(wait)) if wait > 0 else configured
        self.stats.refuse(now, spurious=spurious)
        if self.limits.mode == "window" and self.limits.penalty:
            self._penalty_until = now + retry_after
        return retry_after

    def _global_bucket(self, now: float, paid: bool) -> TokenBucket:
        limits = self.limits
        if paid:
            if self._paid is None:
                rate = limits.paid_per_second or limits.global_per_second
                self._paid = TokenBucket(rate, max(1.0, rate), now)  # a second's burst, as global_burst's default
            return self._paid
        if self._global is None:
            self._global = TokenBucket(limits.global_per_second, limits.global_burst, now)
        return self._global

    def _acquire_bucket(self, chat_id: int | str, now: float, paid: bool = False) -> int | None:
        limits = self.limits
        buckets = [self._global_bucket(now, paid)]
        if chat_id not in self._chats:
            self._chats[chat_id] = TokenBucket(limits.chat_per_second, limits.chat_burst, now)
        buckets.append(self._chats[chat_id])
        if isinstance(chat_id, int) and chat_id < 0:
            if chat_id not in self._groups:
                self._groups[chat_id] = TokenBucket(limits.group_per_minute / 60.0, limits.group_per_minute, now)
            buckets.append(self._groups[chat_id])
        wait = max(bucket.wait_time(now) for bucket in buckets)
        if wait > 0:
            return self._refuse(now, wait)
        for bucket in buckets:
            bucket.take(now)
        self.stats.accept(now)
        return None

    def _acquire_window(self, chat_id: int | str, now: float, paid: bool = False) -> int | None:
        chat = self._chat_windows.get(chat_id)
        group = self._group_windows.get(chat_id) if isinstance(chat_id, int) and chat_id < 0 else None
        shared = self._paid_window if paid and self._paid_window is not None else self._global_window
        windows = [shared, chat] + ([group] if group is not None else [])
        wait = max(window.wait_time(now) for window in windows)
        if wait > 0:
            return self._refuse(now, wait)
        shared.take(now)
        self._chat_windows.take(chat_id, chat, now)
        if group is not None:
            self._group_windows.take(chat_id, group, now)
        self.stats.accept(now)
        return None
