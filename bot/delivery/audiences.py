"""Who receives each kind of message: the one table of consent, read by every send path. No aiogram here.

docs/AUDIENCES.md is this table in words; `tests/test_audiences.py` checks the two against random
histories of people and coordinators. Nothing else reads the subscriber sets to decide who gets a
message: the delivery engine snapshots `Audience` records through `Audiences`, the scheduler asks
`may_remind_later`, coordinators' notices go through `coordinators`.

Consent lives in two sets that hold exactly the people who may be sent to now:
  users          set   chats that asked for new-case alerts and everyone-broadcasts (/start); the
                       name is historical: it once held every chat that used the bot
  subs:{case}    set   chats following a case: its updates, closure, extension and reminders
/stop takes a person out of both and remembers what they had (`user:{chat}` fields `stopped`,
`alerts`; their follows stay in `user:{chat}:subs`), so /start or a Follow tap restores it. A
block (403) and /forget remove everything. Filters then narrow a set by what a person did or chose.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from redis.asyncio import Redis

from bot.content import ACTIONS, WRITING_ACTIONS
from bot.delivery import keys
from bot.ground.keys import case_key
from bot.ground.privacy import Pseudonymizer

SNAPSHOT_BATCH = 1000
# A person gets at most one deadline reminder a day, across all cases: none within this long of the last.
REMINDED_TTL = 20 * 3600

# KEYS: a person's reminded mark   ARGV: now (s), ttl (s). 1 when they may be reminded now, and marks them.
# The time is in the value, not only the TTL, so that tests can move the clock.
_CLAIM_REMINDER = """
local last = tonumber(redis.call('GET', KEYS[1]) or '')
if last and tonumber(ARGV[1]) - last < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""


class AudienceKind(StrEnum):
    """Where an audience starts: which consent set, and which filter narrows it."""

    all = "all"  # alert subscribers
    case = "case"  # a case's followers
    not_acted = "not-acted"  # followers who marked nothing as done for the case
    not_written = "not-written"  # followers who did no writing action (bot/content/actions.py) for the case


@dataclass(frozen=True)
class Audience:
    """The stored form of a send's recipients (in broadcast records and scheduled jobs)."""

    kind: AudienceKind = AudienceKind.all
    case_id: str | None = None
    language: str | None = None  # narrows any kind to users of one UI language
    reminders: bool = False  # narrows it to users who have not turned reminders off
    follow: str | None = None  # whoever receives it follows this case (a new case's alert)

    def __post_init__(self) -> None:
        if self.kind != AudienceKind.all and not self.case_id:
            raise ValueError(f"audience {self.kind.value!r} needs a case")

    @property
    def filtered(self) -> bool:
        """Whether each chat must be looked at, rather than the whole set taken as it is."""
        return self.kind in (AudienceKind.not_acted, AudienceKind.not_written) or bool(self.language) or self.reminders

    def to_json(self) -> str:
        data = {
            "kind": self.kind.value,
            "case_id": self.case_id,
            "language": self.language,
            "reminders": self.reminders,
        }
        if self.follow:
            data["follow"] = self.follow
        return json.dumps(data)

    @classmethod
    def from_json(cls, raw: str) -> Audience:
        data = json.loads(raw)
        return cls(
            AudienceKind(data["kind"]),
            data.get("case_id"),
            data.get("language"),
            bool(data.get("reminders")),
            data.get("follow"),
        )


class MessageKind(StrEnum):
    """Every kind of message the bot sends on its own initiative (a direct answer is not one)."""

    alert = "alert"
    everyone = "everyone"
    language = "language"
    followers = "followers"
    not_acted = "not-acted"
    update = "update"
    closure = "closure"
    extension = "extension"
    reminder = "reminder"


@dataclass(frozen=True)
class Rule:
    kind: AudienceKind
    needs_case: bool = False
    needs_language: bool = False
    reminders: bool = False  # only people who did not turn deadline reminders off
    follows: bool = False  # recipients become followers of the case


# The table (docs/AUDIENCES.md says the same in words). Stopped, blocked and forgotten people are in
# no consent set, so no row can reach them.
RULES: dict[MessageKind, Rule] = {
    MessageKind.alert: Rule(AudienceKind.all, needs_case=True, follows=True),
    MessageKind.everyone: Rule(AudienceKind.all),
    MessageKind.language: Rule(AudienceKind.all, needs_language=True),
    MessageKind.followers: Rule(AudienceKind.case, needs_case=True),
    MessageKind.not_acted: Rule(AudienceKind.not_acted, needs_case=True),
    MessageKind.update: Rule(AudienceKind.case, needs_case=True),
    MessageKind.closure: Rule(AudienceKind.case, needs_case=True),
    MessageKind.extension: Rule(AudienceKind.case, needs_case=True),
    MessageKind.reminder: Rule(AudienceKind.not_written, needs_case=True, reminders=True),
}


# A coordinator's broadcast, by the audience they picked (in chat, or `rrbot broadcast --audience`).
CHOSEN: dict[str, MessageKind] = {
    "all": MessageKind.everyone,
    "case": MessageKind.followers,
    "not-acted": MessageKind.not_acted,
}


def chosen(choice: str, case_id: str | None = None, language: str | None = None) -> Audience:
    """The audience of a broadcast a coordinator composed: everyone (or one language), a case's followers..."""
    message = CHOSEN[choice]
    if message == MessageKind.everyone and language:
        message = MessageKind.language
    return audience(message, case_id, language)


def audience(message: MessageKind, case_id: str | None = None, language: str | None = None) -> Audience:
    """The audience of a message of this kind, by the table."""
    rule = RULES[message]
    if rule.needs_case and not case_id:
        raise ValueError(f"a {message.value} message needs a case")
    if rule.needs_language and not language:
        raise ValueError(f"a {message.value} message needs a language")
    return Audience(
        rule.kind,
        case_id if rule.kind != AudienceKind.all else None,
        language=language,
        reminders=rule.reminders,
        follow=case_id if rule.follows else None,
    )


@dataclass(frozen=True)
class Reminder:
    """One person's deadline reminder: every due case they follow and have not written for yet."""

    chat: int
    lang: str | None
    cases: tuple[tuple[str, tuple[str, ...]], ...]  # (case id, what they did for it: posts, shares)

    @property
    def variant(self) -> str:
        """Who gets the same text: "ru|ua-84-11:tweet;ua-60-16:"."""
        return (self.lang or "") + "|" + ";".join(f"{case}:{','.join(done)}" for case, done in self.cases)

    @staticmethod
    def parse(variant: str) -> tuple[str | None, list[tuple[str, tuple[str, ...]]]]:
        lang, _, items = variant.partition("|")
        cases = []
        for item in filter(None, items.split(";")):
            case, _, done = item.partition(":")
            cases.append((case, tuple(filter(None, done.split(",")))))
        return lang or None, cases


class Audiences:
    """The table applied to Redis: who an audience is, streamed in batches; who may get a personal message."""

    def __init__(
        self, redis: Redis, pseudonyms: Pseudonymizer, prefix: str = "rrb:", *, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.pseudonyms = pseudonyms
        self.prefix = prefix
        self.clock = clock

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(map(str, parts))

    def source(self, audience: Audience) -> str:
        """The consent set an audience starts from."""
        return self.key("users") if audience.kind == AudienceKind.all else self.key("subs", audience.case_id)

    async def recipients(self, audience: Audience, source: str | None = None) -> AsyncIterator[list[int]]:
        """Chat ids of an audience, streamed in batches with SSCAN (from a still copy of the set, if given)."""
        async for chats in self._scan(source or self.source(audience)):
            yield await self.narrow(audience, chats)

    async def count(self, audience: Audience) -> int:
        if not audience.filtered:
            return int(await self.redis.scard(self.source(audience)))
        total = 0
        async for batch in self.recipients(audience):
            total += len(batch)
        return total

    async def narrow(self, audience: Audience, chats: list[int]) -> list[int]:
        """The chats of a batch that the audience's filters keep, in one round trip."""
        if not audience.filtered:
            return chats
        done = self._done_keys(audience)
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat in chats:
                pipe.hmget(self.key("user", chat), ["lang", "reminders"])
                who = self.pseudonyms.user(chat) if done else ""
                for key in done:
                    pipe.sismember(key, who)
            replies = await pipe.execute()
        step = 1 + len(done)
        kept = []
        for i, chat in enumerate(chats):
            lang, reminders = replies[i * step]
            if any(replies[i * step + 1 : (i + 1) * step]):
                continue
            if audience.language and lang != audience.language:
                continue
            if audience.reminders and reminders == "0":
                continue
            kept.append(chat)
        return kept

    def _done_keys(self, audience: Audience) -> list[str]:
        """The pledge sets whose members an audience leaves out."""
        if audience.kind == AudienceKind.not_acted:
            return [case_key(self.prefix, audience.case_id, "acted")]
        if audience.kind == AudienceKind.not_written:
            return [case_key(self.prefix, audience.case_id, "pledged", action) for action in WRITING_ACTIONS]
        return []

    async def reminders(self, case_ids: list[str]) -> AsyncIterator[list[Reminder]]:
        """The deadline reminders due for these cases, one per person, streamed in batches (some empty).

        The table's reminder row for each case (followers who have written to no official and did
        not turn reminders off), gathered per person: several cases due at once make one message.
        Each person taken is marked for REMINDED_TTL, and a person marked already is left out: at
        most one reminder a day.
        """
        if not case_ids:
            return
        # A still copy of each case's followers, in that set's hash slot (a cluster keeps the cases apart): a
        # person following several is taken from the first copy that holds them, and left out of the later ones.
        token = secrets.token_hex(8)
        copies = [self.prefix + keys.beside(self.key("subs", case), "remind", token) for case in case_ids]
        try:
            for i, (case, copy) in enumerate(zip(case_ids, copies)):
                await self.redis.sunionstore(copy, [self.key("subs", case)])
                await self.redis.expire(copy, 3600)  # should this process die, its copy goes too
                async for chats in self._scan(copy):
                    if i:
                        async with self.redis.pipeline(transaction=False) as pipe:
                            for earlier in copies[:i]:
                                pipe.smismember(earlier, chats)
                            seen = await pipe.execute()
                        chats = [chat for j, chat in enumerate(chats) if not any(row[j] for row in seen)]
                    # Empty batches too: whoever builds the send renews its lease with each one.
                    yield await self._reminders(case_ids, chats)
        finally:
            await self.redis.delete(*copies)

    async def _scan(self, key: str) -> AsyncIterator[list[int]]:
        cursor = 0
        while True:
            cursor, chunk = await self.redis.sscan(key, cursor, count=SNAPSHOT_BATCH)
            if chunk:
                yield [int(c) for c in chunk]
            if cursor == 0:
                return

    async def _reminders(self, case_ids: list[str], chats: list[int]) -> list[Reminder]:
        pseudonyms = {chat: self.pseudonyms.user(chat) for chat in chats}
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat, who in pseudonyms.items():
                pipe.hmget(self.key("user", chat), ["lang", "reminders"])
                for case in case_ids:
                    pipe.sismember(self.key("subs", case), chat)
                    for action in ACTIONS:
                        pipe.sismember(case_key(self.prefix, case, "pledged", action), who)
            replies = await pipe.execute()
        step = 1 + len(case_ids) * (1 + len(ACTIONS))
        candidates = []
        for i, chat in enumerate(chats):
            row = replies[i * step : (i + 1) * step]
            lang, reminders = row[0]
            if reminders == "0":
                continue
            due = []
            for j, case in enumerate(case_ids):
                follows, *flags = row[1 + j * (1 + len(ACTIONS)) : 1 + (j + 1) * (1 + len(ACTIONS))]
                done = tuple(action for action, flag in zip(ACTIONS, flags) if flag)
                if follows and not set(done) & set(WRITING_ACTIONS):
                    due.append((case, done))
            if due:
                candidates.append(Reminder(chat, lang, tuple(due)))
        if not candidates:
            return []
        now = int(self.clock())
        async with self.redis.pipeline(transaction=False) as pipe:
            for reminder in candidates:
                # EVAL, not a registered script's SHA: a cluster's pipeline does not load scripts on its nodes.
                pipe.eval(_CLAIM_REMINDER, 1, self.key("reminded", pseudonyms[reminder.chat]), now, REMINDED_TTL)
            claimed = await pipe.execute()
        return [reminder for reminder, fresh in zip(candidates, claimed) if fresh]

    async def follow(self, case_id: str, chats: list[int]) -> list[int]:
        """Who received a new case's alert follows the case (the table's `follows`), if they still get alerts
        now: someone who sent /stop, turned alerts off, blocked the bot or /forgot since is in no consent set and
        follows nothing. Returns the chats that follow it now.

        The consent sets and a person's follows live in different hash slots on a cluster, so this is not one
        atomic step; its order stands in for one against /stop, which takes people out of the alerts first and
        then reads their follows: the follow is written first (theirs, then the case's), the alerts read again
        after, and what this wrote taken back from those who left them meanwhile. Someone who followed the case
        already is left as they were (a /stop under way takes care of their follow). Each step may run twice
        (after a crash): the same follows come out.
        """
        if not chats:
            return []
        alerts = self.key("users")
        present = await self.redis.smismember(alerts, chats)
        keen = [chat for chat, yes in zip(chats, present) if yes]
        # A run cut short (a crash, a failover) may have written a follow for someone who then sent /stop and
        # read their follows too early to see it; run again, that person is no longer among the keen. Whoever
        # stopped (or is gone: blocked, forgotten) follows nothing, so this case's follow is taken back from them.
        await self._unfollow_stopped(case_id, [chat for chat, yes in zip(chats, present) if not yes])
        if not keen:
            return []
        # Round trips one after another: a cluster's pipeline runs its nodes' parts side by side, in no order.
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat in keen:
                pipe.sadd(self.key("user", chat, "subs"), case_id)
            new = [chat for chat, added in zip(keen, await pipe.execute()) if added]
        # Every keen chat, not only the new ones: a run cut short after the person's own follow and before the
        # case's would otherwise leave the case without them when run again (their SADD answers 0 then).
        await self.redis.sadd(self.key("subs", case_id), *keen)
        still = await self.redis.smismember(alerts, keen)
        left = [chat for chat, yes in zip(keen, still) if not yes]
        fresh = set(new)
        await self._unfollow(case_id, [chat for chat in left if chat in fresh])
        await self._unfollow_stopped(case_id, [chat for chat in left if chat not in fresh])
        gone = set(left)
        return [chat for chat in keen if chat not in gone]

    async def _unfollow_stopped(self, case_id: str, chats: list[int]) -> None:
        """Out of this case's followers, those of the chats who stopped everything, as /stop itself does (their
        own list stays: /start gives it back); a chat with no record left (forgotten, blocked) loses both."""
        if not chats:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat in chats:
                pipe.hget(self.key("user", chat), "stopped")
                pipe.exists(self.key("user", chat))
            answers = await pipe.execute()
        stopped = [chat for chat, flag, known in zip(chats, answers[::2], answers[1::2]) if flag == "1" and known]
        gone = [chat for chat, known in zip(chats, answers[1::2]) if not known]
        if stopped:
            await self.redis.srem(self.key("subs", case_id), *stopped)
        await self._unfollow(case_id, gone)

    async def _unfollow(self, case_id: str, chats: list[int]) -> None:
        if not chats:
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.srem(self.key("subs", case_id), *chats)
            for chat in chats:
                pipe.srem(self.key("user", chat, "subs"), case_id)
            await pipe.execute()

    async def may_remind_later(self, chat_id: int, case_id: str, action: str) -> bool:
        """ "Remind me later": the person who asked, unless they stopped everything or did it meanwhile."""
        who = self.pseudonyms.user(chat_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(self.key("user", chat_id), "stopped")
            pipe.sismember(case_key(self.prefix, case_id, "pledged", action), who)
            stopped, done = await pipe.execute()
        return stopped != "1" and not done

    async def coordinators(self, admin_ids: Iterable[int]) -> list[int]:
        """Coordinators who get the bot's notices (a skipped or failed job): all but those who sent /stop."""
        ids = sorted(admin_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for admin in ids:
                pipe.hget(self.key("user", admin), "stopped")
            stopped = await pipe.execute()
        return [admin for admin, flag in zip(ids, stopped) if flag != "1"]
