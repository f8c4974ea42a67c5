"""Broadcast records in Redis: queueing with an audience snapshot, status, control.

Keys (prefix ``rrb:``; a broadcast's own keys share the hash tag {bc:<id>}, see bot.delivery.keys):
  bc:seq                 counter for ids
  {bc:<id>}              hash: state, payload, audience, counters, times, progress message
  {bc:<id>}:q            list of chat ids still to send (the snapshot, streamed in)
  {bc:<id>}:inflight     zset chat id -> lease deadline (ms); a dead worker's leases expire and requeue
  bc:active              zset id -> send-at (ms): what workers look at (an index: the record's state decides)
  bc:all                 zset id -> created (s): for listing
  {bc:<id>}:variant      hash chat id -> the payload variant it gets, for a personal broadcast (reminders)
  {bc:<id>}:night        zset chat id -> the end of their night (ms): recipients held until morning
  {bc:<id>}:part         hash chat id -> how many parts of a text in parts it has got (none: not begun)
  {bc:<id>}:follows      set of chats that received a new case's alert and are still to be made its followers
  {bc:<id>}:preparer     lease of the process copying the audience; gone = take it over
  {<source>}:copy:<id>:<token>  still copy of the audience's consent set, in that set's hash slot
  bc:ended               list of cancelled ids whose final report is still to be sent
  {rate}:tat, {rate}:pause, {rate}:slow   the shared rate limit, the pause after a 429, and the cut rate after one
  {rate}:429             how many 429s broadcast sends got, ever (for /metrics)
  cool:<chat>            a chat's one-second gap
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.delivery import keys
from bot.delivery.audiences import Audience, AudienceKind, Audiences
from bot.delivery.models import COUNTERS, VERSION, Payload, Progress, Purpose, State, pace
from bot.delivery.scripts import PREPARE_PUSH, TRANSITION, WITHDRAW
from bot.ground.audit import Action, AuditLog, Who, title_of
from bot.ground.privacy import Pseudonymizer

logger = logging.getLogger(__name__)

SNAPSHOT_BATCH = 1000  # chats queued per round trip while copying an audience
PREPARE_LEASE_MS = 15_000  # a copy that made no progress for this long is taken over


LIVE = (State.queued.value, State.running.value, State.paused.value)  # found in the index of active broadcasts
ENDED = (State.done.value, State.cancelled.value)


class UnknownBroadcast(LookupError):
    pass


def _record(
    state: State,
    payload: Payload,
    audience: str,
    now: float,
    created_by: int | None,
    send_at: float | None,
    purpose: Purpose | None,
    total: int,
) -> dict[str, str | float | int]:
    """A new broadcast's hash."""
    return {
        "state": state.value,
        "payload": payload.to_json(),
        "audience": audience,
        "created_at": now,
        "created_by": created_by if created_by is not None else "",
        "send_at": send_at if send_at is not None else "",
        "purpose": purpose.to_json() if purpose else "",
        "total": total,
        **{name: 0 for name in COUNTERS},
    }


class Broadcasts:
    def __init__(
        self, redis: Redis, pseudonyms: Pseudonymizer, *, prefix: str = "rrb:", clock: Callable[[], float] = time.time
    ) -> None:
        self.redis = redis
        self.pseudonyms = pseudonyms
        self.prefix = prefix
        self.clock = clock
        self._transition = redis.register_script(TRANSITION)
        self._push = redis.register_script(PREPARE_PUSH)
        self._withdraw = redis.register_script(WITHDRAW)
        self.audiences = Audiences(redis, pseudonyms, prefix, clock=clock)
        # Sends and their control are recorded here, so the chat and `rrbot` record alike.
        self.audit = AuditLog(redis, pseudonyms, prefix=prefix, clock=clock)

    def key(self, *parts: object) -> str:
        """A key by its parts: ("bc", 7, "q") is a broadcast's, in its hash slot (bot.delivery.keys.name)."""
        return keys.name(self.prefix, *parts)

    def recipient_keys(self, bc_id: str) -> list[str]:
        """A broadcast's keys that hold its recipients (queued, claimed, set aside for the night) and what is
        kept per recipient: what a cancel drops and a /stop takes one chat out of (the WITHDRAW script's order)."""
        return [
            self.key("bc", bc_id, "q"),
            self.key("bc", bc_id, "inflight"),
            self.key("bc", bc_id, "attempts"),
            self.key("bc", bc_id, "variant"),
            self.night_key(bc_id),
            self.key("bc", bc_id, "part"),
        ]

    def night_key(self, bc_id: str) -> str:
        """Recipients of this broadcast held until their morning: `rrb:{bc:7}:night`."""
        return self.key("bc", bc_id, "night")

    def copy_key(self, bc_id: str, audience: Audience, token: str) -> str:
        """The still copy of an audience's consent set that the preparer holding `token` scans, in that set's slot."""
        return self.prefix + keys.beside(self.audiences.source(audience), "copy", bc_id, token)

    async def transition(self, bc_id: str, to: State, *sources: State, stamp: str = "", active: str = "") -> bool:
        """Move to `to` only from one of `sources`, atomically; True when it happened.

        `active` moves it in the index of active broadcasts (another slot, so not in the same step): a score
        puts it there first, so that no broadcast may run without being found (should this fail, the index
        keeps an entry that workers skip and tidy); 'rem' takes it out after it ended.
        """
        index = self.key("bc", "active")
        if active not in ("", "rem"):
            await self.redis.zadd(index, {bc_id: float(active)})
        moved = bool(
            await self._transition(
                keys=[self.key("bc", bc_id)], args=[to.value, stamp, self.clock(), *(s.value for s in sources)]
            )
        )
        if active == "rem" and moved:
            await self.redis.zrem(index, bc_id)
        elif active not in ("", "rem") and not moved:
            if await self.redis.hget(self.key("bc", bc_id), "state") in (None, *ENDED):
                await self.redis.zrem(index, bc_id)
        return moved

    # creating
    async def enqueue(
        self,
        payload: Payload,
        audience: Audience,
        *,
        created_by: int | None = None,
        send_at: float | None = None,
        purpose: Purpose | None = None,
        by: Who | None = None,
    ) -> str:
        """Record a broadcast and copy its audience into its queue; returns its id.

        A coordinator's own message (no purpose) goes in the audit log as sent by `by`, else by `created_by`;
        an alert or an update is recorded by bot.publishing as what it is.
        """
        bc_id = str(await self.redis.incr(self.key("bc", "seq")))
        now = self.clock()
        token = secrets.token_hex(8)
        async with self.redis.pipeline(transaction=True) as pipe:  # one slot: the broadcast's
            record = _record(State.preparing, payload, audience.to_json(), now, created_by, send_at, purpose, 0)
            pipe.hset(self.key("bc", bc_id), mapping=record)
            pipe.set(self.key("bc", bc_id, "preparer"), token, px=PREPARE_LEASE_MS)
            await pipe.execute()
        await self.index(bc_id, now)
        if purpose is None:
            case = audience.case_id or ""
            await self.audit.record(Action.send, by or created_by, bc=bc_id, case=case, title=payload.text)
        await self.prepare(bc_id, token)
        return bc_id

    async def enqueue_chats(
        self,
        payload: Payload,
        chats: list[int],
        *,
        created_by: int | None = None,
        send_at: float | None = None,
        purpose: Purpose | None = None,
    ) -> str:
        """A broadcast to a few chats named here instead of an audience (the organisation's channel); its id.

        No consent set to copy, so it is queued at once, and it follows nobody into a case. It is taken ahead of
        the broadcasts due at the same moment (a score a millisecond earlier): one message must not wait until a
        whole alert has gone out, and the alert's people lose one slot of the shared rate to it.
        """
        bc_id = str(await self.redis.incr(self.key("bc", "seq")))
        now = self.clock()
        due_ms = int(send_at * 1000) if send_at else 0
        async with self.redis.pipeline(transaction=True) as pipe:  # one slot: the broadcast's
            record = _record(State.queued, payload, "", now, created_by, send_at, purpose, len(chats))
            pipe.hset(self.key("bc", bc_id), mapping=record)
            if chats:
                pipe.rpush(self.key("bc", bc_id, "q"), *chats)
            await pipe.execute()
        await self.index(bc_id, now, due_ms - 1)
        return bc_id

    async def index(self, bc_id: str, created: float, due_ms: int | None = None) -> None:
        """Into the indexes (other slots than the broadcast's, so after its record): the listing, and with
        `due_ms` the active ones. Should a process die between, housekeeping (resume_preparing) adds a queued
        broadcast missing from the active ones; a record that never made the listing was never confirmed."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(self.key("bc", "all"), {bc_id: created})
            if due_ms is not None:
                pipe.zadd(self.key("bc", "active"), {bc_id: due_ms})
            await pipe.execute()

    async def enqueue_personal(
        self,
        audience: Audience,
        batches: AsyncIterator[list[tuple[int, str]]],
        render: Callable[[str], Payload],
        *,
        purpose: Purpose | None = None,
        urgent: bool = False,
    ) -> str | None:
        """A broadcast whose recipients each get one of several texts: (chat, variant) pairs from the audience
        module, `render` drawing each variant once. None when nobody was due.

        The variants are known only once every batch is in, so the queue fills before the payload is
        written; a process that dies meanwhile leaves it preparing, and housekeeping cancels it.
        """
        bc_id = str(await self.redis.incr(self.key("bc", "seq")))
        token = secrets.token_hex(8)
        now = self.clock()
        async with self.redis.pipeline(transaction=True) as pipe:  # one slot: the broadcast's
            pipe.hset(
                self.key("bc", bc_id),
                mapping={
                    "state": State.preparing.value,
                    "payload": "",
                    "audience": audience.to_json(),
                    "personal": 1,
                    "created_at": now,
                    "created_by": "",
                    "send_at": "",
                    "total": 0,
                    "purpose": purpose.to_json() if purpose else "",
                    **{name: 0 for name in COUNTERS},
                },
            )
            pipe.set(self.key("bc", bc_id, "preparer"), token, px=PREPARE_LEASE_MS)
            await pipe.execute()
        await self.index(bc_id, now)
        queue, lease = self.key("bc", bc_id, "q"), self.key("bc", bc_id, "preparer")
        variants: dict[str, Payload] = {}
        total = 0
        async for batch in batches:
            for _, variant in batch:
                if variant not in variants:
                    variants[variant] = render(variant)
            if batch:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.hset(self.key("bc", bc_id, "variant"), mapping=dict(batch))
                    pipe.expire(self.key("bc", bc_id, "variant"), 7 * 86_400)  # chat ids: never kept for long
                    await pipe.execute()
            # An empty batch (nobody due in it) still renews the lease: a long scan is not taken for a dead one.
            if not await self._push(keys=[queue, lease], args=[token, PREPARE_LEASE_MS, "", *(c for c, _ in batch)]):
                return bc_id  # cancelled meanwhile
            total += len(batch)
        if not variants:
            await self.redis.delete(self.key("bc", bc_id), lease)
            await self.redis.zrem(self.key("bc", "all"), bc_id)
            return None
        first = next(iter(variants.values()))
        payload = Payload(first.text, first.photo, first.buttons, variants, urgent=urgent)
        await self.redis.hset(self.key("bc", bc_id), mapping={"payload": payload.to_json(), "total": total})
        if not await self.transition(bc_id, State.queued, State.preparing, active="0"):
            await self.redis.delete(queue, self.key("bc", bc_id, "variant"))
            return bc_id
        await self.redis.delete(lease)
        logger.info("Personal broadcast %r queued for %d recipients in %d variants", bc_id, total, len(variants))
        return bc_id

    async def variants(self, bc_id: str, chats: list[int]) -> list[str | None]:
        """Which variant of a personal broadcast each chat gets."""
        return await self.redis.hmget(self.key("bc", bc_id, "variant"), chats)

    async def parts_sent(self, bc_id: str, chats: list[int]) -> list[int]:
        """How many parts of a text in parts each chat has got so far."""
        return [int(n or 0) for n in await self.redis.hmget(self.key("bc", bc_id, "part"), chats)]

    async def part_sent(self, bc_id: str, chat: int, sent: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key("bc", bc_id, "part"), str(chat), sent)
            pipe.expire(self.key("bc", bc_id, "part"), 7 * 86_400)  # chat ids: never kept for long
            await pipe.execute()

    async def prepare(self, bc_id: str, token: str | None = None) -> int:
        """Snapshot the audience into the queue, in batches: never the whole audience in memory.

        The caller holds the preparer lease under `token` (enqueue and resume_preparing take it).
        A copy that stalls past the lease is taken over by another process, which starts afresh;
        this one then stops at its next batch, so nobody is queued twice.
        """
        raw = await self.redis.hget(self.key("bc", bc_id), "audience")
        if raw is None:
            raise UnknownBroadcast(bc_id)
        token = token or await self._take_preparer(bc_id, force=True)
        audience = Audience.from_json(raw)
        queue, lease = self.key("bc", bc_id, "q"), self.key("bc", bc_id, "preparer")
        still = self.copy_key(bc_id, audience, token)
        if not await self._push(keys=[queue, lease], args=[token, PREPARE_LEASE_MS, "1"]):
            return 0
        # SSCAN may return a member twice when the set changes during the scan (people keep
        # subscribing): scanning a still copy sends each chat one message.
        await self.redis.sunionstore(still, [self.audiences.source(audience)])
        await self.redis.expire(still, 3600)  # should this process die, its copy goes too
        total = 0
        try:
            async for found in self.audiences.recipients(audience, source=still):
                # An empty batch (nobody matched the filter) still renews the lease.
                batches = [found[i : i + SNAPSHOT_BATCH] for i in range(0, len(found), SNAPSHOT_BATCH)] or [[]]
                for batch in batches:
                    if not await self._push(keys=[queue, lease], args=[token, PREPARE_LEASE_MS, "", *batch]):
                        logger.warning("Broadcast %r: another process took over copying its audience", bc_id)
                        return 0
                    total += len(batch)
        finally:
            await self.redis.delete(still)
        if not await self._push(keys=[queue, lease], args=[token, PREPARE_LEASE_MS, ""]):
            return 0
        send_at = await self.redis.hget(self.key("bc", bc_id), "send_at")
        due_ms = int(float(send_at) * 1000) if send_at else 0
        await self.redis.hset(self.key("bc", bc_id), "total", total)
        if not await self.transition(bc_id, State.queued, State.preparing, active=str(due_ms)):
            await self.redis.delete(queue)  # cancelled while its audience was being copied
            return 0
        await self.redis.delete(lease)
        logger.info("Broadcast %r queued for %d recipients", bc_id, total)
        return total

    async def _take_preparer(self, bc_id: str, *, force: bool = False) -> str | None:
        token = secrets.token_hex(8)
        key = self.key("bc", bc_id, "preparer")
        taken = await self.redis.set(key, token, px=PREPARE_LEASE_MS, nx=not force)
        return token if taken else None

    async def resume_preparing(self, recent: int = 50) -> list[str]:
        """Finish the audience copy of broadcasts whose preparing process died; returns their ids.

        A process copying an audience renews its lease every batch, so a lease that ran out means
        nobody is at it. Whoever takes the lease first copies the audience again, from the start.
        """
        resumed = []
        ids = await self.redis.zrevrange(self.key("bc", "all"), 0, recent - 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for bc_id in ids:
                pipe.hmget(self.key("bc", bc_id), ["state", "send_at"])
                pipe.zscore(self.key("bc", "active"), bc_id)
            found = await pipe.execute()  # one round trip: every worker asks every few seconds
        for bc_id, (state, send_at), score in zip(ids, found[::2], found[1::2]):
            if state in LIVE and score is None:
                # Its process died between its record and the index (another slot): found again here.
                logger.warning("Broadcast %r was missing from the active ones: added back", bc_id)
                await self.redis.zadd(self.key("bc", "active"), {bc_id: int(float(send_at) * 1000) if send_at else 0})
            if state != State.preparing.value:
                continue
            token = await self._take_preparer(bc_id)
            if token and await self.redis.hget(self.key("bc", bc_id), "personal"):
                # Only the job that was building it knew each person's text: nothing went out yet.
                logger.warning("Personal broadcast %r was left half prepared: cancelled", bc_id)
                await self.set_state(bc_id, State.cancelled)
                continue
            if token:
                logger.warning("Broadcast %r was left half prepared: copying its audience again", bc_id)
                await self.prepare(bc_id, token)
                resumed.append(bc_id)
        return resumed

    async def count(self, audience: Audience) -> int:
        """How many the audience is now (bot.delivery.audiences decides who)."""
        return await self.audiences.count(audience)

    async def readers(self, audience: Audience) -> Counter[str | None]:
        """How many of the audience chose each UI language (None: chose none), for a coordinator's preview."""
        counts: Counter[str | None] = Counter()
        async for chats in self.audiences.recipients(audience):
            counts.update(await self.languages(chats))
        return counts

    async def people(self, chats: list[int]) -> list[tuple[str | None, str | None]]:
        """The UI language and the timezone each chat chose (None where it chose none), in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat in chats:
                pipe.hmget(self.key("user", chat), ["lang", "tz"])
            return [(lang, tz) for lang, tz in await pipe.execute()]

    async def languages(self, chats: list[int]) -> list[str | None]:
        """The UI language each chat chose (None where it chose none), in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat in chats:
                pipe.hget(self.key("user", chat), "lang")
            return await pipe.execute()

    # reading
    async def progress(self, bc_id: str) -> Progress:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.key("bc", bc_id))
            self.read_pace(pipe)
            pipe.zcard(self.night_key(bc_id))
            data, depth, left, waiting = await pipe.execute()
        if not data:
            raise UnknownBroadcast(bc_id)

        def number(name: str) -> float | None:
            return float(data[name]) if data.get(name) else None

        return Progress(
            id=bc_id,
            state=State(data["state"]),
            total=int(data.get("total", 0)),
            **{name: int(data.get(name, 0)) for name in COUNTERS},
            limited=int(data.get("limited", 0)),
            pace=pace(float(depth or 0), left),  # as read_pace read it
            created_at=number("created_at") or 0.0,
            started_at=number("started_at"),
            finished_at=number("finished_at"),
            send_at=number("send_at"),
            audience=Audience.from_json(data["audience"]) if data.get("audience") else None,
            created_by=int(data["created_by"]) if data.get("created_by") else None,
            now=self.clock(),
            purpose=Purpose.from_json(data.get("purpose")),
            paused_for=(data.get("paused_for") or None) if data["state"] == State.paused.value else None,
            title=_title(data.get("payload")),
            former=bool(data.get("former")),
            waiting=int(waiting),
            versions={name[len(VERSION) :]: int(n) for name, n in data.items() if name.startswith(VERSION)},
        )

    def read_pace(self, pipe: Pipeline) -> None:
        """Queue on a pipeline the two reads models.pace() takes: the last cut's depth and what is left of it."""
        pipe.get(self.key("rate", "slow"))
        pipe.pttl(self.key("rate", "slow"))

    async def payload(self, bc_id: str) -> Payload:
        raw = await self.redis.hget(self.key("bc", bc_id), "payload")
        if raw is None:
            raise UnknownBroadcast(bc_id)
        return Payload.from_json(raw)

    async def recent(self, limit: int = 10) -> list[Progress]:
        ids = await self.redis.zrevrange(self.key("bc", "all"), 0, limit - 1)
        return [await self.progress(i) for i in ids]

    async def backlog(self) -> int:
        """Messages waiting in every active broadcast."""
        ids = await self.redis.zrange(self.key("bc", "active"), 0, -1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for i in ids:
                pipe.llen(self.key("bc", i, "q"))
            return sum(await pipe.execute())

    # control
    async def set_state(self, bc_id: str, state: State, *, by: Who | None = None) -> Progress:
        """Pause, resume or cancel; a finished broadcast stays as it is. With `by`, the change is in the audit log."""
        before = await self.progress(bc_id)  # raises UnknownBroadcast
        done: Action | None = None
        if state == State.paused:
            if await self.transition(bc_id, State.paused, State.queued, State.running):
                await self.redis.hdel(self.key("bc", bc_id), "paused_for")  # a coordinator's: no other reason
                done = Action.pause
        elif state in (State.running, State.queued):
            # One that had started runs again at once (a worker takes a running one as it takes a queued one):
            # its coordinator sees "sending", not "waiting to start". One paused before it started waits its turn.
            started = await self.redis.hget(self.key("bc", bc_id), "started_at")
            if await self.transition(bc_id, State.running if started else State.queued, State.paused):
                await self.redis.hdel(self.key("bc", bc_id), "paused_for")
                done = Action.resume
        elif state == State.cancelled:
            live = (State.preparing, State.queued, State.running, State.paused)
            if await self.transition(bc_id, State.cancelled, *live, stamp="finished_at", active="rem"):
                done = Action.cancel
                await self.redis.delete(*self.recipient_keys(bc_id))  # one slot: the broadcast's
                await self.redis.rpush(self.key("bc", "ended"), bc_id)  # a worker sends the final report
        if done is not None and by is not None:
            case = before.audience.case_id if before.audience else ""
            await self.audit.record(done, by, bc=bc_id, case=case or "", title=await self.title(bc_id))
        return await self.progress(bc_id)

    async def title(self, bc_id: str) -> str:
        """The first line of what it sends, as plain text (for a personal one, of its first variant)."""
        return _title(await self.redis.hget(self.key("bc", bc_id), "payload"))

    async def pause_for(self, bc_id: str, reason: str) -> bool:
        """Pause a broadcast that cannot go on by itself (its Stars ran out); True for the one caller that
        paused it. Its queue stays as it is: Resume goes on where it stopped."""
        if not await self.transition(bc_id, State.paused, State.queued, State.running):
            return False
        await self.redis.hset(self.key("bc", bc_id), "paused_for", reason)
        return True

    async def forget(self, chat_id: int, recent: int = 50) -> None:
        """/forget: take a chat out of every broadcast still under way, and off the ones it started.

        A queue and its leases hold chat ids until sent; a coordinator's id names the broadcasts
        they started and the message showing their progress.
        """
        started = await self.redis.zrange(self.key("bc", "all"), 0, -1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for bc_id in started:
                pipe.hmget(self.key("bc", bc_id), ["created_by", "progress_chat"])
            owners = await pipe.execute()
        async with self.redis.pipeline(transaction=False) as pipe:  # each broadcast's record on its own
            for bc_id, (created_by, progress_chat) in zip(started, owners):
                if created_by == str(chat_id):
                    # Still a coordinator's send, whoever they were (/broadcasts: "former coordinator").
                    pipe.hset(self.key("bc", bc_id), mapping={"created_by": "", "former": 1})
                if progress_chat == str(chat_id):
                    pipe.hdel(self.key("bc", bc_id), "progress_chat", "progress_message")
            await pipe.execute()
        await self.withdraw(chat_id, recent)

    async def withdraw(self, chat_id: int, recent: int = 50, *, kinds: set[AudienceKind] | None = None) -> None:
        """/stop: take a chat out of every broadcast still under way (queues, leases, audience copies, nights);
        with `kinds`, only out of those whose audience is of one of these kinds (alerts turned off).

        A message already handed to Telegram at that instant may still arrive.
        """
        live = set(await self.redis.zrange(self.key("bc", "active"), 0, -1))
        live.update(await self.redis.zrevrange(self.key("bc", "all"), 0, recent - 1))  # still preparing
        ids = sorted(live)
        # A copy of the audience being queued is named by the token its preparer holds the lease with.
        async with self.redis.pipeline(transaction=False) as pipe:
            for bc_id in ids:
                pipe.hget(self.key("bc", bc_id), "audience")
                pipe.get(self.key("bc", bc_id, "preparer"))
            found = await pipe.execute()
        copies = []
        for bc_id, raw, token in zip(ids, found[::2], found[1::2]):
            audience = Audience.from_json(raw) if raw else None
            if kinds is not None and (audience is None or audience.kind not in kinds):
                live.discard(bc_id)
            elif audience is not None and token:
                copies.append(self.copy_key(bc_id, audience, token))
        # One script per broadcast (each in its own slot), so that no claim moves the chat between two of its keys.
        for bc_id in sorted(live):
            await self._withdraw(
                keys=[*self.recipient_keys(bc_id), self.key("bc", bc_id, "follows")],
                args=[chat_id],
            )
        async with self.redis.pipeline(transaction=False) as pipe:
            for copy in copies:
                pipe.srem(copy, chat_id)
            pipe.delete(self.key("cool", chat_id))
            await pipe.execute()

    async def next_ended(self) -> str | None:
        """A broadcast stopped from outside (cancelled) whose final report is still to be sent."""
        return await self.redis.lpop(self.key("bc", "ended"))

    async def set_progress_message(self, bc_id: str, chat_id: int, message_id: int) -> None:
        await self.redis.hset(self.key("bc", bc_id), mapping={"progress_chat": chat_id, "progress_message": message_id})

    async def progress_message(self, bc_id: str) -> tuple[int, int] | None:
        chat, message = await self.redis.hmget(self.key("bc", bc_id), ["progress_chat", "progress_message"])
        return (int(chat), int(message)) if chat and message else None


def _title(payload: str | None) -> str:
    try:
        return title_of(Payload.from_json(payload).text) if payload else ""
    except (ValueError, KeyError, TypeError):
        return ""
