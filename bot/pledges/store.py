"""Subscriptions, user preferences and pledges in Redis. No aiogram here.

Keys (prefix ``rrb:``):
  user:{chat_id}            hash  lang, sign, reminders, tz (a zone's name, for quiet hours); stopped, alerts while /stop holds  (deleted by /forget)
  user:{chat_id}:subs       set   case ids the chat follows (kept through /stop, to restore them)
  users                     set   chats that get new-case alerts and everyone-broadcasts (bot.delivery.audiences)
  subs:{case}               set   chat ids following a case, unless stopped

Pledges, cluster-ready: the keys of one case share the hash tag {case:<id>} (one pledge script touches them all):
  {case:<id>}:pledged:<action>              set   pseudonyms (HMAC) that pledged: membership without identity
  {case:<id>}:acted                         set   pseudonyms that pledged anything for the case
  {case:<id>}:count                         hash  action -> total, never decremented (anonymous aggregates)
  {case:<id>}:daily                         hash  "YYYY-MM-DD:action" -> total
  {case:<id>}:hourly                        hash  hour (unix seconds // 3600) -> pledges of any action: what a broadcast moved
Per official (letter, email, fax):
  {case:<id>}:pledged:<action>:<official>   set   pseudonyms that pledged this action to this official
  {case:<id>}:wrote:<official>              set   pseudonyms that wrote to this official by any means
  {case:<id>}:officials                     hash  "<action>:<official>" -> total, never decremented; its
                                                  fields also name every per-official set that exists
The per-case keys above go on counting "people who did this for the case" (for writing: wrote to at least
one official), and pledges made before officials were counted stay there.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from bot.content import ACTION_TABLE, ACTIONS, WRITING_ACTIONS
from bot.ground.discreet import TAG as DISCREET
from bot.ground.keymoves import KeyMove
from bot.ground.keys import case_key, case_of
from bot.ground.privacy import Pseudonymizer
from bot.ground.redis_client import replicated

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

logger = logging.getLogger(__name__)

# Where the pledge keys lived before they shared the case's hash tag (bot.ground.keymoves runs these on start-up).
KEY_MOVES: tuple[KeyMove, ...] = (
    KeyMove("pledged:*", r"pledged:([^:{}]+):([^:{}]+)", r"{case:\1}:pledged:\2"),
    *(
        KeyMove(f"{kind}:*", rf"{kind}:([^:{{}}]+)", rf"{{case:\1}}:{kind}")
        for kind in ("acted", "count", "daily", "hourly")
    ),
)

# One round trip, atomic: a double tap or a redelivered update finds the pseudonym already there.
_PLEDGE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  local total = redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('HINCRBY', KEYS[3], ARGV[3] .. ':' .. ARGV[2], 1)
  redis.call('SADD', KEYS[4], ARGV[1])
  redis.call('HINCRBY', KEYS[5], ARGV[4], 1)
  return {1, total}
end
return {0, tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')}
"""

# The same for one official: KEYS[1] its pledge set for the action, KEYS[2] the case's officials hash, KEYS[3]
# everyone who wrote to the official by any means; ARGV[2] the hash field. Returns {counted, total, people}.
_PLEDGE_OFFICIAL = """
redis.call('SADD', KEYS[3], ARGV[1])
local people = redis.call('SCARD', KEYS[3])
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  return {1, redis.call('HINCRBY', KEYS[2], ARGV[2], 1), people}
end
return {0, tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0'), people}
"""


def official_pairs(fields: Iterable[str]) -> list[tuple[str, str]]:
    """(action, official) of each field ("<action>:<official>") of a case's officials hash."""
    return [(action, official) for action, _, official in (f.partition(":") for f in fields) if official]


def _officials_by_id(raw: dict[str, str]) -> dict[str, dict[str, int]]:
    """A case's officials hash as official id -> action -> total."""
    totals: dict[str, dict[str, int]] = {}
    for field, count in raw.items():
        action, _, official = field.partition(":")
        if action in ACTIONS and official:
            totals.setdefault(official, {})[action] = int(count)
    return totals


def official_set_keys(prefix: str, case_id: str, fields: Iterable[str]) -> list[str]:
    """Every per-person key of a case's officials, named by its officials hash: the pledge set of each
    (action, official) and the set of everyone who wrote to each official."""
    pairs = official_pairs(fields)
    keys = [case_key(prefix, case_id, "pledged", action, official) for action, official in pairs]
    return keys + [case_key(prefix, case_id, "wrote", official) for official in sorted({o for _, o in pairs})]


@dataclass(frozen=True)
class UserPrefs:
    lang: str | None = None
    signature: str | None = None
    reminders: bool = True
    stopped: bool = False
    timezone: str | None = None  # the zone they chose in /settings (bot.ground.quiet guesses one otherwise)

    @property
    def is_new(self) -> bool:
        return self.lang is None


@dataclass(frozen=True)
class PledgeResult:
    counted: bool  # the person's first pledge of this action for the case
    total: int  # people who did it for the case (writing: to at least one official)
    # For a pledge that names an official: whether it is the first of this action to this one, the action's
    # total for the official, and the people who wrote to the official by any means.
    official_counted: bool | None = None
    official_total: int = 0
    official_people: int = 0


class Store:
    # A person's keys and a case's keys are in different hash slots (on a Redis Cluster, on different masters):
    # the pipelines that touch both are not transactions. Each step is idempotent (SADD, SREM, HSET, DEL) and
    # ordered so that a failure halfway leaves nobody in an audience they left (out of `users` first).
    def __init__(self, redis: Redis, pseudonyms: Pseudonymizer, prefix: str = "rrb:") -> None:
        self.redis = redis
        self.pseudonyms = pseudonyms
        self.prefix = prefix
        self._pledge = redis.register_script(_PLEDGE)
        self._pledge_official = redis.register_script(_PLEDGE_OFFICIAL)

    def key(self, *parts: object) -> str:
        return self.prefix + ":".join(map(str, parts))

    def case_key(self, case_id: str, *parts: object) -> str:
        return case_key(self.prefix, case_id, *parts)

    # users
    async def user(self, chat_id: int, record: dict[str, str] | None = None) -> UserPrefs:
        """The user's preferences; `record` is the user hash when the caller has already read it."""
        data = record if record is not None else await self.redis.hgetall(self.key("user", chat_id))
        return UserPrefs(
            lang=data.get("lang"),
            signature=data.get("sign"),
            reminders=data.get("reminders", "1") == "1",
            stopped=data.get("stopped") == "1",
            timezone=data.get("tz") or None,
        )

    # Choosing a language or turning reminders off subscribes nobody to anything (docs/AUDIENCES.md).
    async def set_language(self, chat_id: int, lang: str) -> None:
        await self.redis.hset(self.key("user", chat_id), "lang", lang)

    async def set_reminders(self, chat_id: int, on: bool) -> None:
        await self.redis.hset(self.key("user", chat_id), "reminders", "1" if on else "0")

    async def set_timezone(self, chat_id: int, zone: str | None) -> None:
        """The zone's name only (never the city typed): None goes back to the guess from the language."""
        if zone:
            await self.redis.hset(self.key("user", chat_id), "tz", zone)
        else:
            await self.redis.hdel(self.key("user", chat_id), "tz")

    async def set_signature(self, chat_id: int, signature: str | None) -> None:
        if signature:
            await self.redis.hset(self.key("user", chat_id), "sign", signature)
        else:
            await self.redis.hdel(self.key("user", chat_id), "sign")

    # consent: alerts, follows, /stop (who each message reaches is bot.delivery.audiences' table)
    async def start(self, chat_id: int) -> set[str] | None:
        """/start: new-case alerts and everyone-broadcasts (unless the person switched them off), and
        whatever a /stop had paused. Returns the follows it restored, None when nothing was stopped."""
        restored = await self.resume(chat_id)
        if await self.redis.hget(self.key("user", chat_id), "no_alerts") != "1":
            await self.redis.sadd(self.key("users"), chat_id)
        return restored

    async def set_alerts(self, chat_id: int, on: bool) -> bool:
        """Alerts of new cases (and everyone-broadcasts) on or off, a choice /start respects; follows stay.

        While /stop holds, only the choice is kept, for when the person comes back: a switch tapped on an
        old screen does not undo a /stop. Returns whether /stop holds.
        """
        stopped = (await self.user(chat_id)).stopped
        async with self.redis.pipeline(transaction=False) as pipe:
            if on:
                pipe.hdel(self.key("user", chat_id), "no_alerts")
            else:
                pipe.hset(self.key("user", chat_id), "no_alerts", "1")
            if stopped:
                pipe.hset(self.key("user", chat_id), "alerts", "1" if on else "0")
            elif on:
                pipe.sadd(self.key("users"), chat_id)
            else:
                pipe.srem(self.key("users"), chat_id)
            await pipe.execute()
        return stopped

    async def gets_alerts(self, chat_id: int) -> bool:
        return bool(await self.redis.sismember(self.key("users"), chat_id))

    async def subscribe(self, chat_id: int, case_id: str) -> bool:
        """Follow a case. After a /stop, this also restores what the person had: tapping Follow is coming back."""
        await self.resume(chat_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(self.key("subs", case_id), chat_id)
            pipe.sadd(self.key("user", chat_id, "subs"), case_id)
            added, _ = await pipe.execute()
        return bool(added)

    async def unsubscribe(self, chat_id: int, case_id: str) -> bool:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.srem(self.key("subs", case_id), chat_id)
            pipe.srem(self.key("user", chat_id, "subs"), case_id)
            _, removed = await pipe.execute()
        return bool(removed)

    async def subscriptions(self, chat_id: int) -> set[str]:
        """The cases a person follows (paused by /stop or not)."""
        return set(await self.redis.smembers(self.key("user", chat_id, "subs")))

    async def is_subscribed(self, chat_id: int, case_id: str) -> bool:
        """Whether the case's news reaches this person now (never while /stop holds)."""
        return bool(await self.redis.sismember(self.key("subs", case_id), chat_id))

    async def stop(self, chat_id: int) -> set[str]:
        """/stop: out of every audience until /start or a Follow tap; what they had is remembered.

        Returns the cases they follow.
        """
        # Out of the alerts first, then the follows are read: an alert delivered meanwhile makes a
        # follower only of someone still getting alerts (the ACK script), so none slips between.
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.srem(self.key("users"), chat_id)
            pipe.hget(self.key("user", chat_id), "stopped")
            alerts, again = await pipe.execute()
        if again != "1":  # a second /stop must not forget what the first remembered
            await self.redis.hset(self.key("user", chat_id), mapping={"stopped": "1", "alerts": "1" if alerts else "0"})
        cases = await self.subscriptions(chat_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in cases:
                pipe.srem(self.key("subs", case_id), chat_id)
            await pipe.execute()
        return cases

    async def resume(self, chat_id: int) -> set[str] | None:
        """Undo a /stop, if there is one: the follows and the alerts the person had. Returns the follows
        restored, None when nothing was stopped."""
        data = await self.redis.hmget(self.key("user", chat_id), ["stopped", "alerts"])
        if data[0] != "1":
            return None
        cases = await self.subscriptions(chat_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in cases:
                pipe.sadd(self.key("subs", case_id), chat_id)
            if data[1] == "1":
                pipe.sadd(self.key("users"), chat_id)
            pipe.hdel(self.key("user", chat_id), "stopped", "alerts")
            await pipe.execute()
        return cases

    async def unsubscribe_all(self, chat_id: int) -> set[str]:
        cases = await self.subscriptions(chat_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in cases:
                pipe.srem(self.key("subs", case_id), chat_id)
            pipe.delete(self.key("user", chat_id, "subs"))
            await pipe.execute()
        return cases

    async def drop_chat(self, chat_id: int) -> None:
        """A chat that blocked the bot or vanished: no more messages, and nothing kept (a signature is personal)."""
        await self.redis.srem(self.key("users"), chat_id)  # first: no alert in flight makes them follow again
        await self.unsubscribe_all(chat_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(self.key("user", chat_id), f"fsm:{chat_id}:{chat_id}:data")
            pipe.hdel(self.key(DISCREET, "modes"), chat_id)  # bot.ground.discreet: its mode goes with the record
            pipe.incr(self.key(DISCREET, "version"))
            await pipe.execute()

    async def migrate_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: its subscriptions follow it to the new id."""
        cases = await self.subscriptions(old_id)
        alerts = await self.gets_alerts(old_id)
        stopped = (await self.user(old_id)).stopped
        await self.drop_chat(old_id)
        if stopped:
            return  # a group that sent /stop keeps quiet under its new id too
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in cases:
                pipe.sadd(self.key("subs", case_id), new_id)
                pipe.sadd(self.key("user", new_id, "subs"), case_id)
            if alerts:
                pipe.sadd(self.key("users"), new_id)
            await pipe.execute()

    # pledges
    async def pledge(
        self,
        user_id: int,
        case_id: str,
        action: str,
        today: dt.date | None = None,
        *,
        official: str | None = None,
    ) -> PledgeResult:
        """Count "I did it" once per person, case and action, and once per official when one is named."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        who = self.pseudonyms.user(user_id)
        official_counted, official_total, people = None, 0, 0
        ran: list[tuple[AsyncScript, list[Any], list[Any]]] = []
        if official:
            # The official first: a failure between the two leaves the per-case count for the next tap,
            # which finds this official already counted and still runs the per-case script below.
            keys = [
                self.case_key(case_id, "pledged", action, official),
                self.case_key(case_id, "officials"),
                self.case_key(case_id, "wrote", official),
            ]
            args = [who, f"{action}:{official}"]
            counted, total, people = await self._pledge_official(keys=keys, args=args)
            official_counted, official_total = bool(counted), int(total)
            ran.append((self._pledge_official, keys, args))
        day = (today or dt.datetime.now(dt.UTC).date()).isoformat()
        keys = [
            self.case_key(case_id, "pledged", action),
            self.case_key(case_id, "count"),
            self.case_key(case_id, "daily"),
            self.case_key(case_id, "acted"),
            self.case_key(case_id, "hourly"),
        ]
        hour = int(time.time() // 3600)
        counted, total = await self._pledge(keys=keys, args=[who, action, day, hour])
        ran.append((self._pledge, keys, [who, action, day, hour]))
        # The person is told "counted": under Sentinel, not before a replica has it too.
        await replicated(self.redis, ran)
        return PledgeResult(bool(counted), int(total), official_counted, official_total, int(people))

    async def pledges_between(self, case_ids: Iterable[str], start: float, hours: int = 24) -> int:
        """Pledges of any action for these cases in the `hours` whole hours from the one `start` falls in."""
        first = int(start // 3600)
        fields = [str(h) for h in range(first, first + hours)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in case_ids:
                pipe.hmget(self.case_key(case_id, "hourly"), fields)
            replies = await pipe.execute()
        return sum(int(n) for counts in replies for n in counts if n)

    async def official_totals(self, case_id: str) -> dict[str, dict[str, int]]:
        """Pledges per official: official id -> action -> total (only those with any)."""
        return _officials_by_id(await self.redis.hgetall(self.case_key(case_id, "officials")))

    async def _officials_fields(self, case_ids: Iterable[str]) -> list[tuple[str, list[str]]]:
        """(case, fields of its officials hash) for each case."""
        case_ids = list(case_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in case_ids:
                pipe.hkeys(self.case_key(case_id, "officials"))
            replies = await pipe.execute()
        return list(zip(case_ids, replies))

    async def written(
        self, user_id: int, case_id: str, officials: Iterable[str] | None = None
    ) -> frozenset[tuple[str, str]]:
        """(action, official id) for each official this person said they wrote to, by letter, email or fax.

        officials: the case file's ids, when the caller has them: one round trip instead of two (the menu);
        without them, every official with pledge records (removed ones too), as /mydata needs.
        """
        who = self.pseudonyms.user(user_id)
        if officials is not None:
            pairs = [(a.key, official) for official in officials for a in ACTION_TABLE if a.per_target]
        else:
            [(_, fields)] = await self._officials_fields([case_id])
            pairs = official_pairs(fields)
        if not pairs:
            return frozenset()
        async with self.redis.pipeline(transaction=False) as pipe:
            for action, official in pairs:
                pipe.sismember(self.case_key(case_id, "pledged", action, official), who)
            flags = await pipe.execute()
        return frozenset(pair for pair, flag in zip(pairs, flags) if flag)

    async def totals(self, case_id: str) -> dict[str, int]:
        raw = await self.redis.hgetall(self.case_key(case_id, "count"))
        return {action: int(raw.get(action, 0)) for action in ACTIONS}

    async def letters_sent(self, case_id: str) -> int:
        totals = await self.totals(case_id)
        return sum(totals[a] for a in WRITING_ACTIONS)

    async def pledged_actions(self, user_id: int, case_id: str) -> set[str]:
        who = self.pseudonyms.user(user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for action in ACTIONS:
                pipe.sismember(self.case_key(case_id, "pledged", action), who)
            flags = await pipe.execute()
        return {action for action, flag in zip(ACTIONS, flags) if flag}

    async def stats(self, case_ids: Iterable[str]) -> dict:
        """Subscribers and pledges per case, in the shape `rrbot stats --json` promises."""
        case_ids = list(case_ids)
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in case_ids:
                pipe.scard(self.key("subs", case_id))
                pipe.hgetall(self.case_key(case_id, "count"))
                pipe.hgetall(self.case_key(case_id, "officials"))
            replies = await pipe.execute()
        cases = {}
        for i, case_id in enumerate(case_ids):
            subscribers, counts, officials = replies[3 * i : 3 * i + 3]
            cases[case_id] = {
                "subscribers": int(subscribers),
                "pledges": {action: int(counts.get(action, 0)) for action in ACTIONS},
                "officials": _officials_by_id(officials),
            }
        users = await self.redis.scard(self.key("users"))
        return {"users": int(users), "cases": cases}

    # privacy
    async def my_data(self, user_id: int, case_ids: Iterable[str]) -> dict:
        """Everything stored about one user, for /mydata."""
        prefs = await self.user(user_id)
        subs = await self.subscriptions(user_id)
        pledges, officials = {}, {}
        for case_id in sorted(await self.known_cases(case_ids)):
            actions = await self.pledged_actions(user_id, case_id)
            if actions:
                pledges[case_id] = sorted(actions, key=ACTIONS.index)
            written = await self.written(user_id, case_id)
            if written:
                officials[case_id] = sorted(written, key=lambda pair: (ACTIONS.index(pair[0]), pair[1]))
        alerts = await self.gets_alerts(user_id)
        return {
            "prefs": prefs,
            "subscriptions": sorted(subs),
            "pledges": pledges,
            "officials": officials,  # case -> [(action, official id)]
            "alerts": alerts,
        }

    async def known_cases(self, case_ids: Iterable[str]) -> set[str]:
        """The given cases plus every case with pledge records in Redis, removed cases included."""
        found = set(case_ids)
        async for key in self.redis.scan_iter(match=self.case_key("*", "acted"), count=1000):
            case_id = case_of(self.prefix, key, "acted")
            if case_id:
                found.add(case_id)
        return found

    async def forget(self, user_id: int, case_ids: Iterable[str]) -> set[str]:
        """Delete every trace of a user; the anonymous totals stay. Returns the cases looked in (known_cases)."""
        who = self.pseudonyms.user(user_id)
        await self.redis.srem(self.key("users"), user_id)  # first: no alert in flight makes them follow again
        subs = await self.subscriptions(user_id)
        case_ids = await self.known_cases(case_ids)
        # Not one transaction: the per-official sets live in each case's own hash slot (cluster-ready).
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id, fields in await self._officials_fields(set(case_ids) | subs):
                for key in official_set_keys(self.prefix, case_id, fields):
                    pipe.srem(key, who)
            await pipe.execute()
        async with self.redis.pipeline(transaction=False) as pipe:
            for case_id in set(case_ids) | subs:
                pipe.srem(self.key("subs", case_id), user_id)
                pipe.srem(self.case_key(case_id, "acted"), who)
                for action in ACTIONS:
                    pipe.srem(self.case_key(case_id, "pledged", action), who)
            # The rate-limit bucket (handlers/middlewares.py) and aiogram's FSM data of the private chat.
            pipe.delete(
                self.key("user", user_id),
                self.key("user", user_id, "subs"),
                self.key("rl", who),
                self.key("reminded", who),  # bot.delivery.audiences: their last deadline reminder
            )
            pipe.delete(f"fsm:{user_id}:{user_id}:data")
            await pipe.execute()
        # "Already ran" marks of their personal reminders name them by pseudonym (scheduler/jobs.py). Big
        # steps: this walks the whole keyspace, and the user is waiting.
        pattern = self.key("sched", "fired", "later", who, "*")
        marks = [k async for k in self.redis.scan_iter(match=pattern, count=10_000)]
        if marks:
            await self.redis.unlink(*marks)
        logger.info("Forgot user %r", who)
        return case_ids
