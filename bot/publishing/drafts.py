"""Drafts between the import and the Publish tap, in Redis so that any bot process can finish them; and the
coordinators' messages written in /broadcast and not sent (MessageDrafts).

A draft is the YAML text and what the importer reported about it. Pasted Urgent Actions arrive
in parts (Telegram splits long messages), which collect under the draft's token until read.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import asdict, dataclass, field

from redis.asyncio import Redis

from bot.ground.privacy import Pseudonymizer
from bot.importer.notes import from_data, to_data

logger = logging.getLogger(__name__)

DRAFT_TTL = 2 * 24 * 3600  # a draft left for two days is stale: the document should be imported again
MAX_PASTED = 200_000  # characters of pasted text, as for an uploaded document


@dataclass
class Draft:
    yaml: str
    source: str  # the file name, or "" for pasted text
    closes: bool = False  # the document says no further action is needed
    missing: list[str] = field(default_factory=list)  # Notes (bot/importer/notes.py), or plain text
    uncertain: list[str] = field(default_factory=list)
    country: str | None = None  # the officials' country (ISO code): its time zones are the choices
    skipped: list[str] = field(default_factory=list)  # questions the coordinator chose not to answer
    asking: bool = False  # the chat is going through the questions (a complete draft is asked only on request)
    answered: list[str] = field(default_factory=list)  # topics answered since the preview was last shown whole


class Drafts:
    def __init__(self, redis: Redis, prefix: str = "rrb:") -> None:
        self.redis = redis
        self.prefix = prefix

    def key(self, *parts: object) -> str:
        return self.prefix + "import:" + ":".join(map(str, parts))

    @staticmethod
    def new_token() -> str:
        return secrets.token_hex(4)

    async def save(self, token: str, draft: Draft) -> None:
        data = asdict(draft)
        # The notes' parts, so the report can translate them; as plain text they would stay English.
        data["missing"] = [to_data(n) for n in draft.missing]
        data["uncertain"] = [to_data(n) for n in draft.uncertain]
        await self.redis.set(self.key("draft", token), json.dumps(data, ensure_ascii=False), ex=DRAFT_TTL)

    async def get(self, token: str | None) -> Draft | None:
        raw = await self.redis.get(self.key("draft", token)) if token else None
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            data["missing"] = [from_data(n) for n in data.get("missing", [])]
            data["uncertain"] = [from_data(n) for n in data.get("uncertain", [])]
            return Draft(**data)
        except (TypeError, ValueError, AttributeError):
            logger.warning("Unreadable import draft %r dropped", token)
            await self.drop(token)
            return None

    async def drop(self, token: str) -> None:
        await self.redis.delete(self.key("draft", token), self.key("parts", token))

    async def add_part(self, token: str, text: str) -> int | None:
        """Keep one part of a pasted text; the length so far, or None when it is too long to be a UA."""
        key = self.key("parts", token)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.append(key, text + "\n")
            pipe.expire(key, DRAFT_TTL)
            length, _ = await pipe.execute()
        if length > MAX_PASTED:
            await self.redis.delete(key)
            return None
        return int(length)

    async def peek_parts(self, token: str) -> str:
        return await self.redis.get(self.key("parts", token)) or ""

    async def take_parts(self, token: str) -> str:
        """The pasted text so far, removed: a second Preview tap finds nothing to read again."""
        return await self.redis.getdel(self.key("parts", token)) or ""

    async def claim(self, token: str, what: str) -> bool:
        """True for the first Publish or Discard of a draft only: a double tap finds it taken."""
        return bool(await self.redis.set(self.key("done", token), what, nx=True, ex=DRAFT_TTL))

    async def claimed(self, token: str) -> str | None:
        return await self.redis.get(self.key("done", token))

    async def release(self, token: str) -> None:
        """A publish that failed before anything went out may be tried again."""
        await self.redis.delete(self.key("done", token))


def make_draft(text: str, source: str) -> Draft:
    """Import a UA text into a draft; NotAnUrgentAction for an empty or unrelated text. CPU-bound."""
    # Imported here: the importer's patterns take a noticeable part of the bot's start-up, for a tap that may never come.
    from bot.importer.case_yaml import case_data, render, validation_problems
    from bot.importer.parse import parse_ua

    parsed = parse_ua(text)
    invalid = validation_problems(case_data(parsed))
    return Draft(
        yaml=render(parsed, source or "pasted text", invalid),
        source=source,
        closes=parsed.closes,
        missing=list(parsed.missing),
        uncertain=[*parsed.uncertain, *invalid],
        country=parsed.country,
    )


class MessageDrafts:
    """A coordinator's messages written in /broadcast and not sent yet: kept a week, listed by /drafts, resumed there.

    Saved as the composer holds them (its conversation data), under the draft's token: whatever the composer
    keeps, it gets back. Keyed by the coordinator's pseudonym; /forget drops them.
    """

    TTL = 7 * 24 * 3600
    MAX = 20  # drafts kept per coordinator: the oldest go

    def __init__(self, redis: Redis, pseudonyms: Pseudonymizer, prefix: str = "rrb:") -> None:
        self.redis = redis
        self.pseudonyms = pseudonyms
        self.prefix = prefix

    def key(self, user_id: int) -> str:
        return f"{self.prefix}bcdrafts:{self.pseudonyms.user(user_id)}"

    async def save(self, user_id: int, token: str, data: dict, *, at: float) -> None:
        key = self.key(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, token, json.dumps({"data": data, "at": at}, ensure_ascii=False))
            pipe.expire(key, self.TTL)
            pipe.hlen(key)
            *_, size = await pipe.execute()
        if size > self.MAX:
            for old in await self.all(user_id):
                if size <= self.MAX:
                    break
                if old.token != token:
                    await self.drop(user_id, old.token)
                    size -= 1

    async def get(self, user_id: int, token: str) -> dict | None:
        raw = await self.redis.hget(self.key(user_id), token)
        return json.loads(raw)["data"] if raw else None

    async def all(self, user_id: int) -> list[SavedMessage]:
        """Oldest first."""
        found = []
        for token, raw in (await self.redis.hgetall(self.key(user_id))).items():
            try:
                saved = json.loads(raw)
                found.append(SavedMessage(token, saved["data"], float(saved["at"])))
            except (ValueError, KeyError, TypeError):
                logger.warning("Unreadable message draft %r dropped", token)
                await self.redis.hdel(self.key(user_id), token)
        return sorted(found, key=lambda s: s.at)

    async def drop(self, user_id: int, token: str | None) -> None:
        if token:
            await self.redis.hdel(self.key(user_id), token)

    async def forget(self, user_id: int) -> None:
        await self.redis.delete(self.key(user_id))


@dataclass(frozen=True)
class SavedMessage:
    token: str
    data: dict  # the composer's conversation data: its text (first), photo, parts, languages...
    at: float

    @property
    def text(self) -> str:
        """Its first part (bot.publishing.composer.Draft keeps the message in parts)."""
        parts = (self.data.get("draft") or {}).get("parts") or [self.data.get("text") or ""]
        return str(parts[0])
