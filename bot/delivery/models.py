"""What the delivery engine moves: audiences, payloads, outcomes, progress. No aiogram here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum

# Who receives a broadcast is bot.delivery.audiences' to say; its records are re-exported with the engine's.
from bot.delivery.audiences import Audience, AudienceKind  # noqa: F401


@dataclass(frozen=True)
class Purpose:
    """What a broadcast carries, so its progress says so ("Update 3 of UA 84/11"); a plain message has none."""

    kind: str  # "alert", "update", "reminder", or "channel" (an alert or update posted in the organisation's channel)
    ref: str  # the case as coordinators know it: "UA 84/11"
    number: int | None = None  # an update's number

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | None) -> Purpose | None:
        """None for a plain broadcast, and for a record this code cannot read (it then shows as one)."""
        try:
            data = json.loads(raw) if raw else None
            return cls(str(data["kind"]), str(data["ref"]), data.get("number")) if data else None
        except (ValueError, TypeError, KeyError):
            return None


@dataclass(frozen=True)
class Payload:
    """One message: Telegram HTML text, an optional photo (file_id or URL), URL/callback buttons.

    `more` holds the texts that follow it, in order: a message longer than Telegram takes in one goes
    as several, the photo on the first and the buttons under the last (`messages()`).

    `variants` holds the same message in other UI languages: each recipient gets the one of the
    language they chose, and this one when there is none for it. `lang` says which language this one
    is written in ('' when nobody said), so a report can say how many got each version.

    `urgent` (a new case's alert, or a coordinator's choice) goes at once to people in their night, without a
    sound; anything else waits for their morning (bot.ground.quiet). `silent` is set by the worker for one send.
    """

    text: str
    photo: str | None = None
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    variants: dict[str, Payload] = field(default_factory=dict)
    more: list[str] = field(default_factory=list)
    lang: str = ""
    urgent: bool = False
    silent: bool = False

    def for_language(self, lang: str | None) -> Payload:
        return self.variants.get(lang or "", self)

    def version(self, lang: str | None) -> str:
        """The language of the version a reader of `lang` gets ('' for the main one of unknown language)."""
        return lang if lang and lang in self.variants else self.lang

    def messages(self) -> list[Payload]:
        """The messages one recipient gets, in order: one unless the text comes in parts."""
        if not self.more:
            return [self]
        texts = [self.text, *self.more]
        last = len(texts) - 1
        return [
            Payload(text, self.photo if i == 0 else None, self.buttons if i == last else [], silent=self.silent)
            for i, text in enumerate(texts)
        ]

    @property
    def parts(self) -> int:
        """The most messages any recipient gets: what the worker reserves per recipient on the shared clock."""
        return max([1 + len(self.more), *(variant.parts for variant in self.variants.values())])

    def to_json(self) -> str:
        return json.dumps(self._as_dict(), ensure_ascii=False)

    def _as_dict(self) -> dict:
        data = asdict(self)
        data["variants"] = {lang: variant._as_dict() for lang, variant in self.variants.items()}
        return data

    @classmethod
    def from_json(cls, raw: str) -> Payload:
        return cls._from_dict(json.loads(raw))

    @classmethod
    def _from_dict(cls, data: dict) -> Payload:
        variants = {lang: cls._from_dict(v) for lang, v in (data.get("variants") or {}).items()}
        more = [str(text) for text in data.get("more") or []]
        return cls(
            data["text"],
            data.get("photo"),
            data.get("buttons") or [],
            variants,
            more,
            data.get("lang") or "",
            bool(data.get("urgent")),
            bool(data.get("silent")),
        )


class OutcomeKind(StrEnum):
    ok = "ok"
    retry_after = "retry_after"
    blocked = "blocked"
    not_found = "not_found"
    migrated = "migrated"
    transient = "transient"  # worth another try: 5xx, timeouts
    rejected = "rejected"  # Telegram refused this message for this chat: trying again changes nothing
    no_stars = "no_stars"  # a paid send the bot's Star balance cannot pay for: the broadcast waits for Stars


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    retry_after: float = 0.0
    new_chat_id: int | None = None
    maybe_sent: bool = False  # transient: Telegram answered too late, so it may have been delivered all the same

    @classmethod
    def ok(cls) -> Outcome:
        return cls(OutcomeKind.ok)


class State(StrEnum):
    preparing = "preparing"  # the audience is being copied into the queue
    queued = "queued"  # waiting for its send-at time or a worker
    running = "running"
    paused = "paused"
    cancelled = "cancelled"
    done = "done"

    @property
    def finished(self) -> bool:
        return self in (State.cancelled, State.done)


# uncertain: sends that may have arrived and go again (a duplicate beats a lost alert): answered too late,
# cut short by a stop, or leased by a process that died (or whose answer Redis never took); not in `handled`.
COUNTERS = ("delivered", "blocked", "not_found", "failed", "migrated", "uncertain")
# A broadcast in several language versions also counts "delivered@ru" and the like: how many got which.
VERSION = "delivered@"

# After a 429 every process sends a fifth slower (SLOW_KEEP), then climbs back to the full rate over RECOVER_MS
# without another (bot.delivery.scripts: SLOW_DOWN cuts, RESERVE applies the cut as it wears off).
SLOW_KEEP = 0.8
RECOVER_MS = 30_000


def pace(depth: float, left_ms: int) -> float:
    """The share of the configured rate in force, from the last cut's depth and what is left of its recovery."""
    if depth <= 0 or left_ms <= 0:
        return 1.0
    return 1 - depth * min(left_ms, RECOVER_MS) / RECOVER_MS


@dataclass(frozen=True)
class Progress:
    id: str
    state: State
    total: int
    delivered: int = 0
    blocked: int = 0
    not_found: int = 0
    failed: int = 0
    migrated: int = 0
    uncertain: int = 0
    limited: int = 0  # 429 answers to its sends: each made every sender wait, then go slower for a while
    pace: float = 1.0  # the share of the configured rate all senders are allowed now (below 1 after a 429)
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    send_at: float | None = None
    audience: Audience | None = None
    created_by: int | None = None
    now: float = 0.0
    purpose: Purpose | None = None
    paused_for: str | None = None  # why it paused on its own (bot.delivery.paid.NO_STARS); None: by a coordinator
    title: str = ""  # the first line of its text, plain: what coordinators call it
    former: bool = False  # its creator used /forget since: a former coordinator's
    waiting: int = 0  # recipients in their night, held until their morning (part of `left`)
    versions: dict[str, int] = field(default_factory=dict)  # delivered, by language version (several versions only)

    @property
    def handled(self) -> int:
        return self.delivered + self.blocked + self.not_found + self.failed

    @property
    def left(self) -> int:
        return max(self.total - self.handled, 0)

    @property
    def rate(self) -> float:
        """Messages handled per second since sending started."""
        if not self.started_at:
            return 0.0
        end = self.finished_at or self.now
        return self.handled / max(end - self.started_at, 1e-6)

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        return self.left / rate if rate > 0 and not self.state.finished else None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "state": self.state.value,
            "total": self.total,
            **{name: getattr(self, name) for name in COUNTERS},
            "left": self.left,
            "rate": round(self.rate, 2),
            "limited": self.limited,
            "pace": round(self.pace, 3),
            "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "send_at": self.send_at,
            "audience": json.loads(self.audience.to_json()) if self.audience else None,
            "purpose": asdict(self.purpose) if self.purpose else None,
            "paused_for": self.paused_for,
            "waiting": self.waiting,
            "versions": dict(self.versions),
        }
