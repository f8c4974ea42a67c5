"""Who did what, when: the coordinators' audit log, append-only in Redis. No aiogram here.

Every coordinator action (ACTIONS, the one table of them) is one entry of a Redis Stream: the action, who
(a pseudonym, never the Telegram id), when, and what (a broadcast, a case, a short title). Names live
beside the log, one per pseudonym: /forget deletes the name and the entries stay, read as "former
coordinator". Recorded where the action happens in the core (bot.delivery.engine, bot.publishing,
scheduler), so the chat and `rrbot` record alike.

Keys (prefix ``rrb:``; one hash tag, so a cluster keeps them on one node):
  {audit}:log      stream  action, by, case, bc, title, whom (a role change's subject)
  {audit}:names    hash    pseudonym -> the coordinator's display name, as Telegram last showed it
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

from bot.ground.privacy import Pseudonymizer

logger = logging.getLogger(__name__)

MAX_ENTRIES = 100_000  # about the last few years of a busy section; XADD trims the oldest (MAXLEN ~)
TITLE_LENGTH = 60
CLI = "cli"  # who: an operator at the command line (`rrbot`), who has no Telegram account there
BOT = "bot"  # who: the bot itself (nobody to name)


class Action(StrEnum):
    """Every kind of entry, in one table: chat, CLI and screens derive their names from it."""

    send = "send"  # a message to activists queued (now, or when a scheduled one goes out)
    schedule = "schedule"  # a message planned for later
    pause = "pause"
    resume = "resume"
    cancel = "cancel"  # a send stopped, or a scheduled one dropped
    publish = "publish"  # a new case and its alert
    update = "update"  # a case's news or a new deadline
    close = "close"  # a case closed (no more action needed)
    reload = "reload"  # the case files read again
    role_add = "role_add"  # someone made a coordinator
    role_remove = "role_remove"  # a coordinator's role taken away
    move = "move"  # a scheduled message given a new time
    approve = "approve"  # another coordinator's send approved
    decline = "decline"  # another coordinator's send declined
    approval_rule = "approval_rule"  # an owner's rule of which sends need approval changed


ACTIONS = tuple(Action)
Who = int | str  # a Telegram user id, or CLI / BOT


@dataclass(frozen=True)
class Entry:
    id: str  # the stream id: its time in ms, and a position
    action: Action
    by: str  # a pseudonym, CLI or BOT
    at: float
    name: str | None  # the display name; None once they used /forget (or for CLI and BOT)
    case: str = ""
    bc: str = ""  # a broadcast id
    title: str = ""
    whom: str = ""  # a role change's subject (pseudonym)
    whom_name: str | None = None

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "action": self.action.value,
            "at": self.at,
            "by": self.by,
            "name": self.name,
            "case": self.case or None,
            "broadcast": self.bc or None,
            "title": self.title or None,
            "whom": self.whom or None,
            "whom_name": self.whom_name,
        }


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    older: str | None  # the id to pass as `before` for the next page back; None: nothing older
    newer: bool  # there are newer entries than this page


_TAG = re.compile(r"<[^>]*>")


def title_of(text: str, limit: int = TITLE_LENGTH) -> str:
    """A message's first non-empty line as plain text, cut at `limit` characters: what people call it."""
    plain = html.unescape(_TAG.sub("", text or ""))
    line = next((line.strip() for line in plain.splitlines() if line.strip()), "")
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


class AuditLog:
    def __init__(
        self, redis: Redis, pseudonyms: Pseudonymizer, *, prefix: str = "rrb:", clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.pseudonyms = pseudonyms
        self.prefix = prefix
        self.clock = clock
        self._names: dict[str, str] = {}  # names this process already wrote: most actions write none

    def key(self, name: str) -> str:
        return f"{self.prefix}{{audit}}:{name}"

    def who(self, actor: Who | None) -> str:
        """The pseudonym for a user id; CLI and BOT stay as they are."""
        if isinstance(actor, int):
            return self.pseudonyms.user(actor)
        return actor or BOT

    async def remember(self, user_id: int, name: str) -> None:
        """Keep a coordinator's display name for the log (written only when it changed)."""
        who = self.pseudonyms.user(user_id)
        name = " ".join(name.split())[:64]
        if not name or self._names.get(who) == name:
            return
        await self.redis.hset(self.key("names"), who, name)
        self._names[who] = name

    async def record(
        self,
        action: Action,
        by: Who | None,
        *,
        case: str = "",
        bc: str = "",
        title: str = "",
        whom: int | None = None,
    ) -> None:
        """Append one entry. Never raises: a lost line of the log must not stop a send."""
        fields = {"action": action.value, "by": self.who(by), "at": f"{self.clock():.3f}"}
        extra = {"case": case, "bc": bc, "title": title_of(title), "whom": self.who(whom) if whom else ""}
        fields.update({k: v for k, v in extra.items() if v})
        try:
            await self.redis.xadd(self.key("log"), fields, maxlen=MAX_ENTRIES, approximate=True)
        except Exception as exc:
            logger.error("Could not record %r in the audit log: %r", action.value, exc)

    async def page(self, size: int = 10, *, before: str | None = None) -> Page:
        """Up to `size` entries, newest first, older than the entry `before` (None: the newest)."""
        top = f"({before}" if before else "+"
        raw = await self.redis.xrevrange(self.key("log"), max=top, min="-", count=size + 1)
        newer = bool(before) and bool(await self.redis.xrange(self.key("log"), min=f"({before}", max="+", count=1))
        shown = raw[:size]
        entries = await self._entries(shown)
        older = entries[-1].id if len(raw) > size and entries else None
        return Page(entries, older, newer)

    async def newer_start(self, after: str, size: int = 10) -> str | None:
        """The `before` that shows the page just newer than one whose newest entry is `after` (None: the newest)."""
        raw = await self.redis.xrange(self.key("log"), min=f"({after}", max="+", count=size + 1)
        return raw[size][0] if len(raw) > size else None

    async def entries(self, limit: int = 50) -> list[Entry]:
        return (await self.page(limit)).entries

    async def _entries(self, raw: list[tuple[str, dict[str, str]]]) -> list[Entry]:
        people = sorted({f.get("by", "") for _, f in raw} | {f.get("whom", "") for _, f in raw} - {"", CLI, BOT})
        names = dict(zip(people, await self.redis.hmget(self.key("names"), people))) if people else {}
        found = []
        for entry_id, f in raw:
            try:
                action = Action(f["action"])
            except (KeyError, ValueError):
                logger.warning("Skipped an audit entry this code cannot read: %r", entry_id)
                continue
            by = f.get("by", BOT)
            found.append(
                Entry(
                    entry_id,
                    action,
                    by,
                    float(f.get("at") or int(entry_id.split("-")[0]) / 1000),
                    names.get(by),
                    f.get("case", ""),
                    f.get("bc", ""),
                    f.get("title", ""),
                    f.get("whom", ""),
                    names.get(f.get("whom", "")),
                )
            )
        return found

    async def name_of(self, user_id: int) -> str | None:
        return await self.redis.hget(self.key("names"), self.pseudonyms.user(user_id))

    async def names(self, user_ids: list[int]) -> list[str | None]:
        if not user_ids:
            return []
        return await self.redis.hmget(self.key("names"), [self.pseudonyms.user(u) for u in user_ids])

    async def forget(self, user_id: int) -> None:
        """/forget: the name goes; their entries stay, as a former coordinator's."""
        who = self.pseudonyms.user(user_id)
        await self.redis.hdel(self.key("names"), who)
        self._names.pop(who, None)
