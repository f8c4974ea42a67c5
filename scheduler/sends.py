"""Scheduled broadcasts as coordinators act on them: what each says, its fate, the case it was written for.

The job in APScheduler's store holds what goes out (payload, audience, who scheduled it). Beside it, one
small Redis hash per send keeps what the job cannot: the case as it was when the send was written (its
deadline and status, so a later change can be told to whoever scheduled it) and, once it is gone,
whether it went out or was cancelled, so an old button answers truthfully rather than "expired".

Keys share the hash tag {sched} (cluster-ready): `rrb:{sched}:send:<number>`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import WatchError

from bot.delivery import Audience, Payload
from bot.delivery.audiences import AudienceKind

if TYPE_CHECKING:
    from bot.content import Case

BROADCAST_PREFIX = "broadcast"
GONE_TTL = 30 * 86_400  # how long a sent or cancelled send still answers its old buttons


def send_job_id(number: int) -> str:
    return f"{BROADCAST_PREFIX}:{number}"


def number_of(job: str) -> int | None:
    kind, _, rest = job.partition(":")
    return int(rest) if kind == BROADCAST_PREFIX and rest.isdigit() else None


@dataclass(frozen=True)
class Send:
    """A scheduled broadcast still to go out: /schedule lists these, with buttons."""

    number: int
    run_at: dt.datetime | None  # None while held for its coordinator (its case closed)
    payload: Payload
    audience: Audience
    created_by: int | None
    planned_for: dt.datetime | None = None  # the time it had when it was held

    @property
    def id(self) -> str:
        return send_job_id(self.number)

    @property
    def held(self) -> bool:
        return self.run_at is None

    @property
    def case_id(self) -> str | None:
        # Only a case audience is the case's news: "everyone" does not change when one case does.
        return self.audience.case_id if self.audience.kind != AudienceKind.all else None


@dataclass(frozen=True)
class Fate:
    """What became of a send that is no longer scheduled."""

    outcome: str  # "sent" or "cancelled"
    broadcast: str = ""  # the broadcast it became, once sent


@dataclass(frozen=True)
class CaseChange:
    """A case changed under a send written for it: its coordinator is asked what to do."""

    send: Send
    case: Case
    kind: str  # "extended" (the deadline moved), "closed", "reopened"
    held: bool  # the send now waits for its coordinator


def case_state(case: Case | None, default_tz: str) -> dict[str, str]:
    """What of a case a send's text may depend on: its deadline and whether it is open."""
    if case is None:
        return {"deadline": "", "status": ""}
    deadline = case.deadline_at(default_tz)
    return {"deadline": deadline.isoformat() if deadline else "", "status": case.status.value}


class SendRecords:
    def __init__(self, redis: Redis, prefix: str = "rrb:") -> None:
        self.redis = redis
        self.prefix = prefix

    def key(self, number: int) -> str:
        return f"{self.prefix}{{sched}}:send:{number}"

    async def written(self, number: int, state: dict[str, str]) -> None:
        """The case as the send was written for it (or as its coordinator last accepted it)."""
        await self.redis.hset(self.key(number), mapping={f"case_{k}": v for k, v in state.items()})

    async def case_seen(self, number: int) -> dict[str, str] | None:
        data = await self.redis.hgetall(self.key(number))
        if "case_status" not in data:
            return None
        return {"deadline": data.get("case_deadline", ""), "status": data["case_status"]}

    async def take_change(self, number: int, seen: dict[str, str], now: dict[str, str]) -> bool:
        """Record the case's new state; True for the one caller that saw it change (two leaders tell once)."""
        fields = {f"case_{k}": v for k, v in now.items()}
        async with self.redis.pipeline(transaction=True) as pipe:
            await pipe.watch(self.key(number))
            current = await pipe.hgetall(self.key(number))
            if current.get("case_deadline", "") != seen["deadline"] or current.get("case_status") != seen["status"]:
                return False
            pipe.multi()
            pipe.hset(self.key(number), mapping=fields)
            try:
                await pipe.execute()
            except WatchError:  # another process recorded it first, and tells
                return False
        return True

    async def hold(self, number: int, planned_for: dt.datetime) -> None:
        await self.redis.hset(self.key(number), "held_from", str(planned_for.timestamp()))

    async def held_from(self, number: int) -> dt.datetime | None:
        raw = await self.redis.hget(self.key(number), "held_from")
        return dt.datetime.fromtimestamp(float(raw), dt.UTC) if raw else None

    async def released(self, number: int) -> None:
        await self.redis.hdel(self.key(number), "held_from")

    async def gone(self, number: int, outcome: str, broadcast: str = "") -> None:
        """A send went out or was cancelled: its record stays a while, for the buttons still showing it."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key(number), mapping={"fate": outcome, "broadcast": broadcast})
            pipe.hdel(self.key(number), "held_from")
            pipe.expire(self.key(number), GONE_TTL)
            await pipe.execute()

    async def fate(self, number: int) -> Fate | None:
        data = await self.redis.hmget(self.key(number), ["fate", "broadcast"])
        return Fate(data[0], data[1] or "") if data[0] else None
