"""A case's life after publication: updates, a moved deadline, closure. No aiogram here.

Case files stay as coordinators wrote them. What changes later is kept in Redis, where every
bot process (and replica) sees it, and laid over the file when cases are loaded. A file edited
to a newer update number than the last one recorded here wins again.

Keys (prefix ``rrb:``):
  {case:<id>}:state     hash  update, status, deadline (ISO) of the latest recorded update
  {case:<id>}:updates   list  JSON of every update: number, kind, text, deadline, at
  content:version       counter: raised by every update, publish and reload; processes reload on change
The two keys of a case share its hash tag (as its pledge keys): they are written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path

from redis.asyncio import Redis

from bot.content import Case, Library, Status
from bot.ground.keymoves import KeyMove
from bot.ground.keys import case_key

logger = logging.getLogger(__name__)

# Where a case's state lived before it shared the case's hash tag (bot.ground.keymoves runs these on start-up).
KEY_MOVES: tuple[KeyMove, ...] = (
    KeyMove("case:*", r"case:([^:{}]+)", r"{case:\1}:state"),
    KeyMove("case:*:updates", r"case:([^:{}]+):updates", r"{case:\1}:updates"),
)


# Characters of an update's own text: the rest of the message (title, status, totals) must fit too.
MAX_UPDATE = 3000


class UpdateKind(StrEnum):
    news = "news"  # still open, nothing else changes
    extended = "extended"  # the deadline moves
    closed = "closed"  # no further action needed


class ChangeRefused(ValueError):
    """An update that would say something untrue of the case. `reason` names the template's case:

    "closed" (news or an extension of a closed case, not reopened), "already_closed", "no_deadline",
    "not_later" (with `after`, the day the new deadline must follow).
    """

    def __init__(self, reason: str, after: dt.date | None = None) -> None:
        super().__init__(reason if after is None else f"{reason} (after {after.isoformat()})")
        self.reason = reason
        self.after = after


def check_change(
    case: Case, kind: UpdateKind, *, deadline: dt.date | None, today: dt.date, default_tz: str, reopen: bool = False
) -> None:
    """Refuse an update that cannot be true: the one rule for chat, CLI and importer. Raises ChangeRefused.

    A closed case takes no news and no extension unless the coordinator reopens it; closing it again
    says nothing. An extension moves the deadline later than both today and the current deadline.
    """
    if case.status == Status.closed:
        if kind == UpdateKind.closed:
            raise ChangeRefused("already_closed")
        if not reopen:
            raise ChangeRefused("closed")
    if kind != UpdateKind.extended:
        return
    if deadline is None:
        raise ChangeRefused("no_deadline")
    current = case.deadline_at(default_tz)
    earliest = max(today, current.date() if current else dt.date.min)
    if deadline <= earliest:
        raise ChangeRefused("not_later", after=earliest)


@dataclass(frozen=True)
class CaseUpdate:
    case_id: str
    number: int
    kind: UpdateKind
    text: str  # Telegram HTML, as the coordinator wrote it
    deadline: str | None = None  # ISO date or datetime, for extended
    at: float = 0.0


# The next update number, atomically: two coordinators updating at once get two numbers.
_NEXT_NUMBER = """
local current = tonumber(redis.call('HGET', KEYS[1], 'update') or '0')
local base = tonumber(ARGV[1])
if current < base then current = base end
redis.call('HSET', KEYS[1], 'update', current + 1)
return current + 1
"""


class CaseStates:
    def __init__(self, redis: Redis, prefix: str = "rrb:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._next_number = redis.register_script(_NEXT_NUMBER)

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(map(str, parts))

    async def record(
        self,
        case: Case,
        kind: UpdateKind,
        text: str,
        *,
        deadline: dt.date | dt.datetime | None = None,
        at: float,
        number: int | None = None,
        reopen: bool = False,
    ) -> CaseUpdate:
        """Record an update; its number follows the case's latest, in the file or here.

        `number`, the document's own ("the fourth update"), is kept when it is ahead of the latest,
        so that the same document imported again is recognised as already published.
        """
        if kind == UpdateKind.extended and deadline is None:
            raise ValueError("an extension needs the new deadline")
        floor = max(case.update or 0, (number or 0) - 1)
        number = int(await self._next_number(keys=[case_key(self.prefix, case.id, "state")], args=[floor]))
        update = CaseUpdate(case.id, number, kind, text, deadline.isoformat() if deadline else None, at)
        fields: dict[str, str | int] = {"update": number}
        if kind == UpdateKind.closed:
            fields["status"] = Status.closed.value
        elif kind == UpdateKind.extended or reopen:
            fields["status"] = Status.open.value  # a coordinator reopened a case closed too early
        if deadline is not None:
            fields["deadline"] = deadline.isoformat()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(case_key(self.prefix, case.id, "state"), mapping=fields)
            pipe.rpush(case_key(self.prefix, case.id, "updates"), json.dumps(asdict(update), ensure_ascii=False))
            await pipe.execute()
        # After the case's keys (its own hash slot): a process that sees the new version finds the update there.
        await self.changed()
        logger.info("Case %r: update %d (%s) recorded", case.id, number, kind.value)
        return update

    async def updates(self, case_id: str) -> list[CaseUpdate]:
        raw = await self.redis.lrange(case_key(self.prefix, case_id, "updates"), 0, -1)
        return [CaseUpdate(**{**json.loads(item), "kind": UpdateKind(json.loads(item)["kind"])}) for item in raw]

    async def overlays(self, case_ids: list[str]) -> dict[str, dict[str, str]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in case_ids:
                pipe.hgetall(case_key(self.prefix, case_id, "state"))
            found = await pipe.execute()
        return {case_id: data for case_id, data in zip(case_ids, found) if data}

    async def version(self) -> int:
        return int(await self.redis.get(self.key("content", "version")) or 0)

    async def changed(self) -> int:
        """Tell every process that content changed (a publish, a reload); returns the new version."""
        return int(await self.redis.incr(self.key("content", "version")))

    async def load(self, content_dir: Path) -> Library:
        """The case files with the recorded updates laid over them. Raises ContentError."""
        return await self.apply(Library.load(content_dir))

    async def apply(self, library: Library) -> Library:
        """The library with the recorded updates laid over its cases."""
        overlays = await self.overlays(library.ids())
        return Library({c.id: overlay(c, overlays.get(c.id)) for c in library.all()}, library.content_dir)


def overlay(case: Case, state: dict[str, str] | None) -> Case:
    """The case as its latest recorded update left it."""
    if not state or int(state.get("update", 0)) <= (case.update or 0):
        return case
    changes: dict[str, object] = {"update": int(state["update"])}
    if state.get("status"):
        changes["status"] = Status(state["status"])
    if state.get("deadline"):
        raw = state["deadline"]
        changes["deadline"] = dt.datetime.fromisoformat(raw) if "T" in raw else dt.date.fromisoformat(raw)
    return case.model_copy(update=changes)


def state_changes(kind: UpdateKind, deadline: dt.date | dt.datetime | None, reopen: bool = False) -> dict[str, str]:
    """What an update of this kind records over the case file, as `overlay` reads it."""
    changes = {}
    if kind != UpdateKind.news or reopen:
        changes["status"] = Status.closed.value if kind == UpdateKind.closed else Status.open.value
    if deadline is not None:
        changes["deadline"] = deadline.isoformat()
    return changes
