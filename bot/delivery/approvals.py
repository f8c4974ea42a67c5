"""A second coordinator's tap before a hand-written broadcast goes out: the owners' rule and the requests. No aiogram.

An owner (ADMIN_IDS) may require it for sends to everyone, for sends above a size, or both; it is off until one does.
A send that needs it waits here, outside the delivery engine: nothing of it is queued, so nothing can go out. Another
coordinator approves it (it is queued then, as its sender's) or declines it, and the first tap decides; its sender
may withdraw it meanwhile. A new case's alert, updates and reminders never come here: speed comes first there, and
they are queued directly (bot.publishing.announce, the scheduler).

Keys (prefix ``rrb:``), in one hash slot:
  {approval}:rule        hash  everyone ("1"), above (recipients; absent: no size), by, at
  {approval}:req:<id>    hash  state, payload, audience, count, sender, sender_name, decided_by, decider_name,
                               bc (the broadcast once approved), waiting (the sender's message: "chat:message"),
                               notices (JSON [[chat, message], ...]: the approvers' messages); kept REQUEST_TTL
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from redis.asyncio import Redis

from bot.delivery.audiences import Audience, AudienceKind
from bot.delivery.models import Payload

REQUEST_TTL = 7 * 24 * 3600  # a send nobody approved within a week is stale: its text is no longer news

# KEYS: the request   ARGV: who, their name, the verdict (approved, declined, withdrawn)
# The first tap decides. Its sender may only withdraw it; nobody else may.
_DECIDE = """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'gone' end
if state ~= 'waiting' then return state end
local sender = redis.call('HGET', KEYS[1], 'sender')
if ARGV[3] == 'withdrawn' then
  if sender ~= ARGV[1] then return 'not_sender' end
elseif sender == ARGV[1] then
  return 'own'
end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'decided_by', ARGV[1], 'decider_name', ARGV[2])
return 'ok'
"""


class Verdict(StrEnum):
    approved = "approved"
    declined = "declined"
    withdrawn = "withdrawn"


@dataclass(frozen=True)
class Rule:
    """When a hand-written broadcast needs a second coordinator: to everyone, above a size (recipients), or both."""

    everyone: bool = False
    above: int | None = None

    @property
    def off(self) -> bool:
        return not self.everyone and self.above is None

    def requires(self, audience: Audience, count: int) -> bool:
        """Everyone: whoever gets alerts (in one language too); a size: more recipients than it."""
        return (self.everyone and audience.kind == AudienceKind.all) or (self.above is not None and count > self.above)


@dataclass(frozen=True)
class Request:
    id: str
    state: str  # "waiting", or a Verdict
    payload: Payload
    audience: Audience
    count: int
    sender: int
    sender_name: str
    decided_by: int | None = None
    decider_name: str = ""
    waiting: tuple[int, int] | None = None  # the sender's message that shows it waits
    notices: list[tuple[int, int]] = field(default_factory=list)  # each approver's message with the buttons
    send_at: float | None = None  # "Send later": scheduled for then once approved (epoch seconds)


class Approvals:
    def __init__(self, redis: Redis, prefix: str = "rrb:", *, clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.prefix = prefix
        self.clock = clock
        self._decide = redis.register_script(_DECIDE)

    def key(self, *parts: object) -> str:
        return self.prefix + "{approval}:" + ":".join(map(str, parts))

    async def rule(self) -> Rule:
        everyone, above = await self.redis.hmget(self.key("rule"), ["everyone", "above"])
        return Rule(everyone == "1", int(above) if above else None)

    async def set_rule(self, rule: Rule, by: int) -> Rule:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key("rule"))
            if not rule.off:
                mapping: dict[str, str | int | float] = {"everyone": int(rule.everyone), "by": by, "at": self.clock()}
                if rule.above is not None:
                    mapping["above"] = rule.above
                pipe.hset(self.key("rule"), mapping=mapping)
            await pipe.execute()
        return rule

    async def request(
        self,
        payload: Payload,
        audience: Audience,
        count: int,
        sender: int,
        sender_name: str,
        *,
        send_at: float | None = None,
    ) -> Request:
        """Keep a send that waits for approval (one for later: `send_at`); nothing of it is queued or scheduled."""
        req_id = secrets.token_hex(4)
        key = self.key("req", req_id)
        mapping: dict[str, str | int | float] = {
            "state": "waiting",
            "payload": payload.to_json(),
            "audience": audience.to_json(),
            "count": count,
            "sender": sender,
            "sender_name": sender_name,
            "at": self.clock(),
        }
        if send_at is not None:
            mapping["send_at"] = send_at
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=mapping)
            pipe.expire(key, REQUEST_TTL)
            await pipe.execute()
        return await self.get(req_id)  # type: ignore[return-value]

    async def get(self, req_id: str) -> Request | None:
        data = await self.redis.hgetall(self.key("req", req_id))
        if not data:
            return None
        waiting = data.get("waiting", "")
        chat, _, message = waiting.partition(":")
        return Request(
            id=req_id,
            state=data["state"],
            payload=Payload.from_json(data["payload"]),
            audience=Audience.from_json(data["audience"]),
            count=int(data["count"]),
            sender=int(data["sender"]),
            sender_name=data.get("sender_name", ""),
            decided_by=int(data["decided_by"]) if data.get("decided_by") else None,
            decider_name=data.get("decider_name", ""),
            waiting=(int(chat), int(message)) if message else None,
            notices=[(int(c), int(m)) for c, m in json.loads(data.get("notices") or "[]")],
            send_at=float(data["send_at"]) if data.get("send_at") else None,
        )

    async def shown(self, req_id: str, *, waiting: tuple[int, int] | None, notices: list[tuple[int, int]]) -> None:
        """Where the request is shown: the sender's message, and each approver's (edited once it is decided)."""
        mapping = {"notices": json.dumps(notices)}
        if waiting is not None:
            mapping["waiting"] = f"{waiting[0]}:{waiting[1]}"
        await self.redis.hset(self.key("req", req_id), mapping=mapping)

    async def decide(self, req_id: str, by: int, name: str, verdict: Verdict) -> tuple[str, Request | None]:
        """("ok", the request) for the tap that decided it; else why not ("own": the sender cannot approve or
        decline their own send; "not_sender": only they may withdraw it; "gone": expired or unknown; or the
        verdict already given) and the request as it stands."""
        answer = await self._decide(keys=[self.key("req", req_id)], args=[by, name, verdict.value])
        return str(answer), await self.get(req_id)

    async def forget(self, chat_id: int) -> int:
        """/forget: a person's sends still waiting for approval are withdrawn, and their names leave every
        request (as sender or decider); the requests run out within REQUEST_TTL anyway."""
        changed = 0
        async for key in self.redis.scan_iter(match=self.key("req", "*"), count=500):
            sender, decided_by, state = await self.redis.hmget(key, ["sender", "decided_by", "state"])
            mapping: dict[str, str] = {}
            if sender == str(chat_id):
                mapping.update(sender="0", sender_name="")
                if state == "waiting":
                    mapping["state"] = Verdict.withdrawn.value
            if decided_by == str(chat_id):
                mapping.update(decided_by="0", decider_name="")
            if mapping:
                await self.redis.hset(key, mapping=mapping)
                changed += 1
        return changed

    async def queued(self, req_id: str, bc_id: str) -> None:
        """The approved send's broadcast."""
        await self.redis.hset(self.key("req", req_id), "bc", bc_id)
