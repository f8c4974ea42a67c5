"""The sending loop that runs in every bot process: claim, pace on the shared clock, send, account.

Sends overlap (Telegram answers in tens to hundreds of milliseconds), so pacing never waits for
the previous batch: the shared GCRA clock in Redis alone sets the rate for all processes together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any, NamedTuple, Protocol

from redis.exceptions import RedisError

from bot.delivery.engine import Broadcasts, UnknownBroadcast
from bot.delivery.models import (
    RECOVER_MS,
    SLOW_KEEP,
    VERSION,
    Audience,
    Outcome,
    OutcomeKind,
    Payload,
    Progress,
    State,
)
from bot.delivery.paid import NO_STARS
from bot.delivery.scripts import ACK, CLAIM, FINISH, NIGHT, RELEASE, RESERVE, SLOW_DOWN
from bot.ground.quiet import QuietHours
from bot.ground.redis_gate import log_failure

logger = logging.getLogger(__name__)

Sender = Callable[[int, Payload], Awaitable[Outcome]]

MAX_IN_FLIGHT = 96
# A claimed chat's lease: longer than a send may take (bot.telegram.sender.SEND_TIMEOUT) plus its
# recording, so a slow send is never handed to another worker while it may still arrive. A process
# killed mid-send gives its chats back when their leases run out.
LEASE_SECONDS = 35.0
# On a stop, sends in flight get this long to be answered (within bot.app.wiring.BACKGROUND_GRACE); the rest are
# cut, handed back to the queue at once and counted as possibly received.
STOP_GRACE = 6.0
# How long answers wait to be recorded while Redis is away: about a lease, so a restart of Redis
# within it duplicates nothing; past it the chats go again anyway, and are counted as possibly twice.
ACK_PATIENCE = LEASE_SECONDS
RATE_LIMITED = "{rate}:429"  # counter of 429 answers, for /metrics (bot.app.observability), by the rate's keys
GAP_MS = 1000  # a chat gets at most one message a second
# Telegram's limiter is not documented; it may count any one-second window, not a bucket with a burst. Sends are
# spaced evenly on the shared clock a little under the cap: a window of one second then holds the slots of 1 + m
# seconds at most when every send reaches Telegram within m seconds of its slot (m = SAFETY_MARGIN, as a share
# of a second, at any rate). Of those m seconds the bot's own lateness may take LATE_LIMIT (a send that wakes
# later gives its slot up and goes back to the queue, unless its process sends alone); the rest is for the network
# and Telegram's side. Within one process the cap over its own answers (Pacing) holds whatever the delays.
SAFETY_MARGIN = 0.015
LATE_LIMIT = 0.010
# Why a send does not go at its slot (it goes back to the queue): this process stops; its broadcast was paused or
# cancelled; a 429 holds every send; the process woke too late for it; the cap over this process's answers (Pacing)
# is reached.
GIVE_UP = ("stopping", "halted", "held", "late", "crowded")
CROWDED_POLL = 0.001
CROWDED_PATIENCE = 1.0
# Each sending process renews its entry in a shared set every PRESENCE_EVERY; one gone is forgotten after PRESENCE_TTL.
PRESENCE_EVERY = 1.0
PRESENCE_TTL = 3.0
FLOOR_SECONDS = 10  # the shortest round trip of this long back is the floor (Pacing)
# A broadcast that paused by itself is reported once the sends still in flight are recorded, or after this long.
PAUSE_REPORT_WAIT = 5.0


class Loaded(NamedTuple):
    """A broadcast as the worker sends it: its message, the case its recipients follow ('' for none),
    whether each chat has a text of its own (a deadline reminder) rather than one per language, and
    whether a recipient may get several messages (a long text in parts)."""

    payload: Payload
    follow: str
    personal: bool
    in_parts: bool = False


class Pacing:
    """This process's sends against the cap and their slots: what /metrics and the bench report.

    Besides the slots, each process keeps its part of the cap (all of it alone, 1/N of it with N processes
    sending) over its own sends as Telegram can see them. Telegram counts a send when it arrives, somewhere
    between the moment it left and the moment its answer came back. A send may go only while fewer than its
    part were answered within the last second or are still unanswered: then whatever the network or Telegram
    delays, no one-second window on Telegram's clock holds more than that part of this process's sends (the
    send that went last in such a window found every other one in it unanswered or answered within the
    second before). It assumes one send's way there and another's way back take together at least the
    shortest round trip seen over the last FLOOR_SECONDS (the floor, at most a quarter of a second), true of
    a steady network, and shortens the second looked back over by it: a distant Telegram (a round trip of
    100 ms) then costs nothing while the round trips stay even. It binds when round trips vary by more than
    the slots' margin; after a stall on the way, when answers come late and sends arriving together would
    crowd one second, it holds the next sends back.
    """

    def __init__(self, cap: float) -> None:
        self.cap = max(1, math.floor(cap))
        self.limit = float(self.cap)  # this process's part of the cap (share())
        self.unanswered = 0
        self._answered: deque[float] = deque()  # when answers came back, over the last second
        self._fired: deque[float] = deque()  # when sends went, over the last second
        self._floors: deque[tuple[int, float]] = deque()  # (second, shortest round trip in it), FLOOR_SECONDS
        self.floor = 0.0
        self.fired_total = 0
        self.given_up: dict[str, int] = dict.fromkeys(GIVE_UP, 0)  # slots not used, by reason
        self.max_lateness = 0.0  # seconds after its slot that a send went, at most
        self.fullest_second = 0  # most sends this process made within any one second

    def crowded(self, now: float) -> bool:
        answered = self._answered
        while answered and now - answered[0] >= 1.0 - self.floor:
            answered.popleft()
        return self.unanswered + len(answered) >= self.limit

    def share(self, senders: int) -> None:
        """With other processes sending, each keeps its part of the cap, so that all together keep all of it."""
        self.limit = max(1.0, self.cap / max(senders, 1))

    def fired(self, now: float, lateness: float) -> None:
        self.unanswered += 1
        self.fired_total += 1
        self.max_lateness = max(self.max_lateness, lateness)
        fired = self._fired
        fired.append(now)
        while now - fired[0] >= 1.0:
            fired.popleft()
        self.fullest_second = max(self.fullest_second, len(fired))

    def answered(self, now: float, sent: float) -> None:
        self.unanswered -= 1
        self._answered.append(now)
        second, trip = int(now), now - sent
        floors = self._floors
        if floors and floors[-1][0] == second:
            if trip < floors[-1][1]:
                floors[-1] = (second, trip)
        else:
            floors.append((second, trip))
            while floors[0][0] <= second - FLOOR_SECONDS:
                floors.popleft()
        # Not more than a quarter of the second: a floor read off odd round trips cannot open it wide.
        self.floor = min(min(trip for _, trip in floors), 0.25)

    def gave_up(self, reason: str) -> None:
        self.given_up[reason] += 1


class Reporter(Protocol):
    async def progress(self, progress: Progress) -> None: ...

    async def finished(self, progress: Progress) -> None: ...

    async def paused(self, progress: Progress) -> None:
        """It paused by itself (progress.paused_for says why): whoever can act on it must hear of it."""
        ...


class ChatRegistry(Protocol):
    """What the worker changes about chats: the pledge store implements it."""

    async def drop_chat(self, chat_id: int) -> None: ...

    async def migrate_chat(self, old_id: int, new_id: int) -> None: ...


class Worker:
    def __init__(
        self,
        broadcasts: Broadcasts,
        sender: Sender,
        chats: ChatRegistry,
        *,
        rate: float = 30.0,
        reporter: Reporter | None = None,
        tick: float = 0.1,
        lease_seconds: float = LEASE_SECONDS,
        max_attempts: int = 3,
        report_every: float = 3.0,
        idle_poll: float = 0.5,
        ack_delay: float = 0.05,
        housekeeping_every: float = 5.0,
        quiet: QuietHours | None = None,
    ) -> None:
        self.bc = broadcasts
        self.redis = broadcasts.redis
        self.sender = sender
        self.chats = chats
        self.rate = rate
        self.interval_ms = 1000.0 / (rate * (1 - SAFETY_MARGIN))  # between two sends, all processes together
        self.reporter = reporter
        self.tick = tick
        self.lease_ms = int(lease_seconds * 1000)
        self.max_attempts = max_attempts
        self.report_every = report_every
        self.idle_poll = idle_poll
        self.ack_delay = ack_delay
        self.housekeeping_every = housekeeping_every
        self.quiet = quiet  # None: everyone gets everything at once, with a sound (no quiet hours)
        self._next_housekeeping = 0.0
        self.batch = max(1, round(rate * tick))
        # Enough overlap to keep the rate with slow answers, bounded so a stall cannot pile up
        # (and within the HTTP session's and the Redis pool's connections).
        self.in_flight = asyncio.Semaphore(max(3 * self.batch, min(int(rate / 4), MAX_IN_FLIGHT)))
        self.tasks: set[asyncio.Task[None]] = set()
        self._sending: dict[asyncio.Task[None], tuple[str, int]] = {}  # a send in flight -> (broadcast, chat)
        self._loaded: dict[str, Loaded] = {}  # what each broadcast under way sends, read once
        self._acks: dict[str, list[object]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._claim = self.redis.register_script(CLAIM)
        self._ack = self.redis.register_script(ACK)
        self._finish = self.redis.register_script(FINISH)
        self._reserve = self.redis.register_script(RESERVE)
        self._slow_down = self.redis.register_script(SLOW_DOWN)
        self._release = self.redis.register_script(RELEASE)
        self._night = self.redis.register_script(NIGHT)
        self._stop: asyncio.Event | None = None  # set by run(): a wait before sending ends on it
        self._held_until = 0.0  # epoch seconds: no send of this process before it (a 429 was answered)
        self._deferred: dict[str, list[int]] = {}  # sends given up, to be queued again
        self._deferrer: asyncio.Task[None] | None = None
        self.pacing = Pacing(rate)
        # Sending alone, a late send cannot crowd another process's slots: the cap over this process's answers
        # (Pacing) is then all it needs, so it sends late rather than give the slot up.
        self.alone = False
        # A process joining takes no slot until every other sender has renewed its presence since it joined: by
        # then each has seen it, stopped sending late as if alone and kept only its part of the cap.
        self.seen = False
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._joined: float | None = None
        self._next_presence = 0.0
        # Broadcasts with sends waiting here that are no longer running (paused, cancelled): read every tick, so
        # that after a Pause no send leaves any process but those already on their way.
        self._halted: set[str] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until stop is set, then finish the sends already on their way and record their answers."""
        self._stop = stop
        watching = asyncio.create_task(self._watch_states(stop))
        try:
            while not stop.is_set():
                try:
                    await self._presence()
                    await self._housekeeping()
                    worked = await self.step() if self.seen else False
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    # Redis restarting, most likely: leases keep everyone safe, so wait and go on.
                    log_failure(logger, exc, "Delivery step failed; retrying")
                    worked = False
                if not worked:
                    await _sleep_or_stop(stop, self.idle_poll if self.seen else self.tick)
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
            await self._cut_slow_sends()
            await self._leave()
            while self.tasks:  # a send that ends here starts a flush of its answer: wait for that too
                await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _cut_slow_sends(self) -> None:
        """Stopping: sends Telegram has not answered within STOP_GRACE are cut and queued again at once,
        counted as possibly received (they may have arrived), rather than left leased for LEASE_SECONDS."""
        sending = set(self._sending)
        if not sending:
            return
        _, late = await asyncio.wait(sending, timeout=STOP_GRACE)
        cut: dict[str, list[object]] = {}
        for task in late:
            bc_id, chat = self._sending[task]
            cut.setdefault(bc_id, []).append(chat)
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        for bc_id, chats in cut.items():
            try:
                await self._give_back(bc_id, chats)
                await self.redis.hincrby(self.bc.key("bc", bc_id), "uncertain", len(chats))
            except Exception:
                logger.exception("Could not queue again %d cut send(s) of broadcast %r", len(chats), bc_id)

    async def step(self) -> bool:
        """Start one batch of the oldest due broadcast; False when there was nothing to do.

        Order matters for duplicates: permits first, then slots on the shared clock (which also tell of a
        429 pause), then the claim. The permits bound how far ahead slots are taken (a few batches, well
        under a second), so a chat's lease starts only shortly before its slot, and no wait can outlast the
        lease and let another process send it too.
        """
        bc_id = await self._next_due()
        if bc_id is None:
            return False
        if (held := self._held_until - time.time()) > 0:  # a 429 of its own: take no slot another could use
            await self._wait(min(held, 1.0))
            return True
        for _ in range(self.batch):
            await self.in_flight.acquire()
        started = 0
        try:
            reserved_at = int(time.time() * 1000) / 1000
            wait_ms, interval_ms = await self._reserve(
                keys=[self.bc.key("rate", "tat"), self.bc.key("rate", "pause"), self.bc.key("rate", "slow")],
                args=[int(reserved_at * 1000), self.interval_ms, self.batch, RECOVER_MS],
            )
            if wait_ms < 0:  # a 429 paused every sender: claim nothing until it is over
                self._hold(-wait_ms / 1000)
                await self._wait(min(-wait_ms / 1000, 1.0))
                return True
            first = reserved_at + wait_ms / 1000  # the batch's first slot on the shared clock
            claimed = await self._claim(
                keys=[
                    self.bc.key("bc", bc_id, "q"),
                    self.bc.key("bc", bc_id, "inflight"),
                    self.bc.key("bc", bc_id),
                    self.bc.night_key(bc_id),
                ],
                args=[self.batch, int(time.time() * 1000), self.lease_ms],
            )
            if not claimed:
                await self._maybe_finish(bc_id)
                return False
            chats = await self._gap(bc_id, [int(chat) for chat in claimed])
            if not chats:
                return False  # each got a message less than a second ago: behind the others, a poll later
            loaded = await self._load(bc_id)
            payload = loaded.payload
            people = await self.bc.people(chats) if self.quiet or payload.variants else [(None, None)] * len(chats)
            payloads: list[Payload | None]
            versions = [""] * len(chats)
            if loaded.personal:  # each their own text (bot.delivery.audiences decided which)
                payloads = [payload.variants.get(v) if v else None for v in await self.bc.variants(bc_id, chats)]
            elif payload.variants:  # each in the language they chose
                languages = [lang for lang, _ in people]
                payloads = [payload.for_language(lang) for lang in languages]
                if payload.lang:  # written in several by a coordinator: the report says how many got which
                    versions = [payload.version(lang) for lang in languages]
            else:
                payloads = [payload] * len(chats)
            # A text in parts: each claim sends one recipient their next part, so every part is a send of its
            # own on the shared clock, and the chat's one-second gap (scripts.CLAIM) keeps the parts apart.
            sent = await self.bc.parts_sent(bc_id, chats) if loaded.in_parts else [0] * len(chats)
            if self.quiet is not None:
                going = await self._quiet(bc_id, payload.urgent, chats, payloads, people, sent)
                chats, versions, sent = (
                    [chats[i] for i in going],
                    [versions[i] for i in going],
                    [sent[i] for i in going],
                )
                payloads = list(going.values())
            # Each send of the batch at its own slot on the clock, not all at the batch's instant.
            for place, (chat, chosen, version, part) in enumerate(zip(chats, payloads, versions, sent)):
                if chosen is None:
                    # A personal text written for nobody else: better none than someone else's (a
                    # chat withdrawn between the claim and this read, a migrated group).
                    logger.warning("Broadcast %r: a recipient without a text of their own was skipped", bc_id)
                    self._answered(bc_id, chat, "failed", "")
                else:
                    slot = first + place * float(interval_ms) / 1000  # slower than self.interval_ms after a 429
                    sending = self._spawn(self._deliver(bc_id, chat, chosen, slot, part, version))
                    self._sending[sending] = (bc_id, chat)
                    sending.add_done_callback(self._sending_done)
                started += 1
        finally:
            for _ in range(self.batch - started):
                self.in_flight.release()  # each started send releases its own
        await self._maybe_report(bc_id)
        return True

    async def _quiet(
        self,
        bc_id: str,
        urgent: bool,
        chats: list[int],
        payloads: list[Payload | None],
        people: list[tuple[str | None, str | None]],
        begun: list[int],
    ) -> dict[int, Payload | None]:
        """Quiet hours, decided as each recipient's turn comes (so a send scheduled for later, or one still going
        at 21:00, asks at the right time): in their night, an urgent message goes without a sound; any other
        is set aside until their morning, taking no slot of its own. The rest of a text in parts whose first
        part went (`begun`: parts each got) is never cut for the night: it goes on, silently. Returns who goes now
        (their place in `chats`), with what."""
        assert self.quiet is not None
        now = dt.datetime.now(dt.UTC)
        going: dict[int, Payload | None] = {}
        night: list[object] = []
        hushed: dict[int, Payload] = {}  # one silent copy per text: the sender builds each keyboard once
        for place, (chat, chosen, (lang, tz), parts) in enumerate(zip(chats, payloads, people, begun)):
            morning = self.quiet.wait_until(now, tz, lang)
            if morning is not None and chosen is not None:
                if not urgent and not parts:
                    night.extend((chat, int(morning * 1000)))
                    continue
                chosen = hushed.setdefault(id(chosen), replace(chosen, silent=True))
            going[place] = chosen
        if night:
            moved = await self._night(keys=[self.bc.key("bc", bc_id, "inflight"), self.bc.night_key(bc_id)], args=night)
            await self._lift_gaps(moved)
            logger.debug("Broadcast %r: %d recipient(s) in their night wait for their morning", bc_id, len(moved))
        return going

    async def _gap(self, bc_id: str, claimed: list[int]) -> list[int]:
        """A chat gets at most one message a second (a text in parts: one part): of the chats claimed, those that
        got none for a second, their gap now started. The others go back to the queue's tail, unsent.

        Each gap is a key of its own (spread over a cluster by chat), set in one pipeline after the claim:
        a claim cannot set keys of other slots. Should this process die in between, the claim's leases bring
        the chats back as any dead worker's.
        """
        async with self.redis.pipeline(transaction=False) as pipe:
            for chat in claimed:
                pipe.set(self.bc.key("cool", chat), 1, nx=True, px=GAP_MS)
            fresh = await pipe.execute()
        cooling = [chat for chat, ok in zip(claimed, fresh) if not ok]
        if cooling:
            await self._release(
                keys=[self.bc.key("bc", bc_id, "q"), self.bc.key("bc", bc_id, "inflight")], args=["tail", *cooling]
            )
            return [chat for chat, ok in zip(claimed, fresh) if ok]
        return claimed

    async def _lift_gaps(self, chats: list[Any]) -> None:
        """Chats claimed but not sent (given back, or aside for the night): their one-second gap is lifted, so the
        next claim sends them at once."""
        if chats:
            async with self.redis.pipeline(transaction=False) as pipe:
                for chat in chats:
                    pipe.delete(self.bc.key("cool", chat))
                await pipe.execute()

    async def _wait(self, seconds: float) -> bool:
        """Sleep, cut short when the process stops; True when it stopped."""
        if self._stop is None:
            await asyncio.sleep(seconds)
            return False
        await _sleep_or_stop(self._stop, seconds)
        return self._stop.is_set()

    async def _give_back(self, bc_id: str, claimed: list[object]) -> int:
        """Claims not sent (held, late, or this process stops): queued again now, not when their lease runs out."""
        released = await self._release(
            keys=[self.bc.key("bc", bc_id, "q"), self.bc.key("bc", bc_id, "inflight")], args=["head", *claimed]
        )
        await self._lift_gaps(released)
        return len(released)

    async def _watch_states(self, stop: asyncio.Event) -> None:
        """Every tick, while sends wait here for their slots: which of their broadcasts stopped running."""
        while not stop.is_set():
            waiting = sorted({bc_id for bc_id, _ in self._sending.values()})
            try:
                if waiting:
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for bc_id in waiting:
                            pipe.hget(self.bc.key("bc", bc_id), "state")
                        states = await pipe.execute()
                    self._halted = {bc_id for bc_id, state in zip(waiting, states) if state != State.running.value}
                else:
                    self._halted = set()
            except Exception as exc:  # Redis away: the sends go by the last states read, as they would have
                log_failure(logger, exc, "Could not read the states of the broadcasts under way")
            await _sleep_or_stop(stop, self.tick)

    async def _presence(self) -> None:
        """Every second: say this process sends, and learn whether it sends alone."""
        now = time.time()
        if now < self._next_presence:
            return
        # Joining, it looks again every tick for the others' renewals; then every PRESENCE_EVERY.
        self._next_presence = now + (PRESENCE_EVERY if self.seen else self.tick)
        key = self.bc.key("workers")
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(key, {self.name: now + PRESENCE_TTL})
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zrange(key, 0, -1, withscores=True)
            pipe.expire(key, int(PRESENCE_TTL) + 1)
            *_, senders, _ = await pipe.execute()
        self.alone = len(senders) <= 1
        self.pacing.share(len(senders))
        if self._joined is None:
            self._joined = now
        # Another sender's entry expires PRESENCE_TTL after its latest renewal: one renewed since this process
        # joined has seen it (a dead one's runs out).
        others = [expires for name, expires in senders if name != self.name]
        self.seen = self.seen or all(expires >= self._joined + PRESENCE_TTL for expires in others)

    async def _leave(self) -> None:
        try:
            await self.redis.zrem(self.bc.key("workers"), self.name)
        except Exception as exc:  # its entry runs out in PRESENCE_TTL
            log_failure(logger, exc, "Could not withdraw this sender's presence")

    async def _housekeeping(self) -> None:
        """Every few seconds: take over audience copies whose process died; report cancelled broadcasts."""
        now = time.monotonic()
        if now < self._next_housekeeping:
            return
        self._next_housekeeping = now + self.housekeeping_every
        await self.bc.resume_preparing()
        while (bc_id := await self.bc.next_ended()) is not None:
            if self.reporter:
                await self.reporter.finished(await self.bc.progress(bc_id))
            await self._follow_rest(bc_id)  # who got a cancelled alert before the cancel follows its case all the same
            self._loaded.pop(bc_id, None)

    async def _next_due(self) -> str | None:
        due = await self.redis.zrangebyscore(self.bc.key("bc", "active"), "-inf", int(time.time() * 1000), 0, 10)
        for bc_id in due:
            if await self.bc.transition(bc_id, State.running, State.queued, stamp="started_at"):
                return bc_id
            state = await self.redis.hget(self.bc.key("bc", bc_id), "state")
            if state == State.running.value:
                return bc_id
            if state is None or State(state).finished:
                # Its process ended it but died before taking it out of the index (another slot).
                await self.redis.zrem(self.bc.key("bc", "active"), bc_id)
        return None

    async def _load(self, bc_id: str) -> Loaded:
        if bc_id not in self._loaded:
            raw, audience, personal = await self.redis.hmget(
                self.bc.key("bc", bc_id), ["payload", "audience", "personal"]
            )
            if raw is None:
                raise UnknownBroadcast(bc_id)
            follow = (Audience.from_json(audience).follow if audience else None) or ""
            payload = Payload.from_json(raw)
            self._loaded[bc_id] = Loaded(payload, follow, bool(personal), payload.parts > 1)
        return self._loaded[bc_id]

    async def _deliver(
        self, bc_id: str, chat: int, payload: Payload, slot: float, part: int = 0, version: str = ""
    ) -> None:
        """Send a recipient their message, or its next part, at its slot; then record the answer."""
        messages = payload.messages()
        part = min(part, len(messages) - 1)
        try:
            if (wait := slot - time.time()) > 0:
                await asyncio.sleep(wait)
            now = time.time()
            # Past the cap over its own answers, a send waits for the next answer while it is not yet late (alone,
            # a while longer: late is no harm then).
            patience = CROWDED_PATIENCE if self.alone else LATE_LIMIT
            while (reason := self._not_now(bc_id, now, slot)) == "crowded" and now - slot < patience:
                await asyncio.sleep(CROWDED_POLL)
                now = time.time()
            if reason:
                # Sent now, a late one would crowd the sends of the slots after it into one second; back to the
                # queue for a slot of its own (or another process's).
                self.pacing.gave_up(reason)
                self._defer(bc_id, chat)
                return
            self.pacing.fired(now, now - slot)
            try:
                outcome = await self.sender(chat, messages[part])
            finally:
                self.pacing.answered(time.time(), now)
            if outcome.kind == OutcomeKind.ok and part + 1 < len(messages):
                # More to come: recorded before the chat is queued again, so its next claim sends the next part
                # (lost in a crash, the part goes again: a duplicate, never a gap).
                await self.bc.part_sent(bc_id, chat, part + 1)
                counter, requeue = "", str(chat)
            else:
                counter, requeue = await self._settle(bc_id, chat, outcome)
            if counter == "delivered" and version:
                counter = VERSION + version  # counted as delivered too (scripts.ACK)
        except Exception:
            # Its lease runs out and it is sent again: late rather than lost.
            logger.exception("Delivery to a chat of broadcast %r failed", bc_id)
            self.in_flight.release()
            return
        self._answered(bc_id, chat, counter, requeue)

    def _not_now(self, bc_id: str, now: float, slot: float) -> str:
        """Why a send must not go now at its slot (one of GIVE_UP), or '' when it may."""
        if self._stop is not None and self._stop.is_set():
            return "stopping"
        if bc_id in self._halted:
            return "halted"
        if now < self._held_until:
            return "held"
        if now - slot > LATE_LIMIT and not self.alone:
            return "late"
        if self.pacing.crowded(now):
            return "crowded"
        return ""

    def _hold(self, seconds: float) -> None:
        """Sends waiting for their slot in this process do not go before seconds from now (a 429's retry_after)."""
        self._held_until = max(self._held_until, time.time() + seconds)

    def _defer(self, bc_id: str, chat: int) -> None:
        self._deferred.setdefault(bc_id, []).append(chat)
        if self._deferrer is None:
            self._deferrer = self._spawn(self._flush_deferred())

    async def _flush_deferred(self) -> None:
        """Hand the sends given up over a short while back to the queue in one round trip per broadcast."""
        await asyncio.sleep(self.ack_delay)
        pending, self._deferred, self._deferrer = self._deferred, {}, None
        for bc_id, chats in pending.items():
            try:
                released = await self._give_back(bc_id, list(chats))
                logger.debug(
                    "%d send(s) of broadcast %r queued again (late, held, crowded or stopping)", released, bc_id
                )
            except Exception:
                # Their leases run out and they go then: late, not lost.
                logger.exception("Could not queue again %d delayed send(s) of broadcast %r", len(chats), bc_id)
            finally:
                for _ in chats:
                    self.in_flight.release()

    def _answered(self, bc_id: str, chat: int, counter: str, requeue: str) -> None:
        # The permit stays taken until the answer is recorded, so sends that were made but not yet
        # recorded never exceed the in-flight bound, which is what a crash can duplicate.
        self._acks.setdefault(bc_id, []).extend((chat, counter, requeue))
        if self._flusher is None:
            self._flusher = self._spawn(self._flush_acks())

    async def _settle(self, bc_id: str, chat: int, outcome: Outcome) -> tuple[str, str]:
        """Act on Telegram's answer; returns the counter to raise and the chat to queue again ('' for none)."""
        if outcome.kind == OutcomeKind.ok:
            return "delivered", ""
        if outcome.kind == OutcomeKind.retry_after:
            self._hold(outcome.retry_after)
            pause_ms = max(int(outcome.retry_after * 1000), 100)
            async with self.redis.pipeline(transaction=False) as pipe:  # in Redis: every replica reports the same
                pipe.incr(self.bc.key(RATE_LIMITED))
                pipe.hincrby(self.bc.key("bc", bc_id), "limited", 1)
                await pipe.execute()
            depth = await self._slow_down(
                keys=[self.bc.key("rate", "slow"), self.bc.key("rate", "pause")], args=[RECOVER_MS, SLOW_KEEP, pause_ms]
            )
            logger.warning(
                "Telegram asked every sender to wait %rs; sending at %.0f%% of the rate until it recovers",
                outcome.retry_after,
                100 * (1 - float(depth)),
            )
            return "", str(chat)
        if outcome.kind in (OutcomeKind.blocked, OutcomeKind.not_found):
            await self.chats.drop_chat(chat)
            return outcome.kind.value, ""
        if outcome.kind == OutcomeKind.rejected:
            return "failed", ""
        if outcome.kind == OutcomeKind.no_stars:
            await self._pause_for_stars(bc_id)
            return "", str(chat)  # queued again, not failed: it goes once the broadcast is resumed
        if outcome.kind == OutcomeKind.migrated and outcome.new_chat_id:
            await self.chats.migrate_chat(chat, outcome.new_chat_id)
            return "migrated", str(outcome.new_chat_id)
        attempts = await self.redis.hincrby(self.bc.key("bc", bc_id, "attempts"), str(chat), 1)
        if attempts < self.max_attempts:
            # To the tail: the wait behind everyone else is the backoff. A send answered too late may have
            # arrived: sent again all the same (a duplicate beats a lost alert), and counted as such.
            return ("uncertain" if outcome.maybe_sent else ""), str(chat)
        return "failed", ""

    async def _pause_for_stars(self, bc_id: str) -> None:
        """A paid send the bot's Stars could not pay for: retrying cannot help until someone adds Stars, so
        the broadcast pauses (nobody is dropped) and its coordinator is told why, once."""
        if not await self.bc.pause_for(bc_id, NO_STARS):
            return  # paused already: by this, by a send in flight beside it, or by a coordinator
        logger.warning(
            "Broadcast %r paused: the bot's Telegram Star balance cannot pay for paid broadcast messages; "
            "add Stars, then resume it",
            bc_id,
        )
        if self.reporter:
            self._spawn(self._report_pause(bc_id))

    async def _report_pause(self, bc_id: str) -> None:
        """Tell of the pause once this process's sends in flight are answered and recorded, so the figures
        say who is still waiting (within PAUSE_REPORT_WAIT; a send of another process may still land)."""
        assert self.reporter is not None
        me = asyncio.current_task()
        deadline = time.monotonic() + PAUSE_REPORT_WAIT
        while time.monotonic() < deadline and any(task is not me for task in self.tasks):
            await asyncio.sleep(self.ack_delay)
        try:
            await self.reporter.paused(await self.bc.progress(bc_id))
        except Exception:
            logger.exception("Could not report that broadcast %r paused", bc_id)

    async def _flush_acks(self) -> None:
        """Record the answers gathered over a short while in one round trip per broadcast."""
        await asyncio.sleep(self.ack_delay)
        pending, self._acks, self._flusher = self._acks, {}, None
        for bc_id, args in pending.items():
            try:
                await self._record(bc_id, args)
            except Exception:
                # Their leases run out, so they go again: counted then as possible duplicates (ACK).
                logger.exception("Could not record %d answers of broadcast %r", len(args) // 3, bc_id)
            finally:
                for _ in range(len(args) // 3):
                    self.in_flight.release()

    async def _record(self, bc_id: str, args: list[object]) -> None:
        # A message that arrived but was not recorded is sent again when its lease runs out: try
        # hard. If Redis stays away, the lease still means no one is lost.
        keys = [
            self.bc.key("bc", bc_id, "inflight"),
            self.bc.key("bc", bc_id),
            self.bc.key("bc", bc_id, "q"),
            self.bc.key("bc", bc_id, "acks"),
            self.bc.key("bc", bc_id, "follows"),
        ]
        batch = secrets.token_hex(8)  # the same on every try: Redis applies the batch once (scripts.ACK)
        loaded = self._loaded.get(bc_id)
        follow = loaded.follow if loaded else ""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ACK_PATIENCE
        attempt = 0
        while True:
            try:
                noted = await self._ack(keys=keys, args=[batch, "1" if follow else "", *args])
                break
            except Exception:
                if loop.time() >= deadline:
                    raise
                await asyncio.sleep(min(0.1 * 2**attempt, 1.0))
                attempt += 1
        if noted:
            await self._follow(bc_id, follow, [int(chat) for chat in noted])

    async def _follow(self, bc_id: str, case_id: str, chats: list[int]) -> None:
        """Who received a new case's alert follows it (if they still get alerts), then is struck off the
        broadcast's list of those still to follow: done twice at worst (the same), never lost to a crash
        between (whoever finishes the broadcast does what is left, `_follow_rest`)."""
        await self.bc.audiences.follow(case_id, chats)
        await self.redis.srem(self.bc.key("bc", bc_id, "follows"), *chats)

    async def _follow_rest(self, bc_id: str) -> None:
        """What workers that died left to follow of an ended broadcast (their answers were recorded). A Redis error
        leaves the rest listed (7 days), logged."""
        key = self.bc.key("bc", bc_id, "follows")
        try:
            if not await self.redis.exists(key):
                return
            loaded = await self._load(bc_id)
            while chats := await self.redis.srandmember(key, 1000):
                if not loaded.follow:
                    await self.redis.delete(key)
                    return
                await self._follow(bc_id, loaded.follow, [int(chat) for chat in chats])
        except (RedisError, UnknownBroadcast):
            logger.warning("Broadcast %r: the follows a stopped worker left are not done yet", bc_id, exc_info=True)

    def _sending_done(self, task: asyncio.Task[None]) -> None:
        self._sending.pop(task, None)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _maybe_finish(self, bc_id: str) -> None:
        finished, *morning = await self._finish(
            keys=[
                self.bc.key("bc", bc_id),
                self.bc.key("bc", bc_id, "q"),
                self.bc.key("bc", bc_id, "inflight"),
                self.bc.night_key(bc_id),
            ],
            args=[time.time()],
        )
        if finished == 2:
            # Only people in their night are left: it sleeps until the first morning (XX: not back into the
            # index if it was cancelled meanwhile). Its coordinator sees how many wait (no report comes while
            # nothing is sent).
            await self.redis.zadd(self.bc.key("bc", "active"), {bc_id: float(morning[0])}, xx=True)
            logger.info("Broadcast %r: the rest wait for their morning", bc_id)
            if self.reporter:
                await self.reporter.progress(await self.bc.progress(bc_id))
            return
        if finished:
            await self.redis.zrem(self.bc.key("bc", "active"), bc_id)
            await self.redis.delete(
                self.bc.key("bc", bc_id, "attempts"),
                self.bc.key("bc", bc_id, "variant"),
                self.bc.key("bc", bc_id, "part"),
            )
            progress = await self.bc.progress(bc_id)
            logger.info("Broadcast %r done: %r", bc_id, progress.as_dict())
            if self.reporter:
                await self.reporter.finished(progress)
            # After the report, which only this caller sends (FINISH answers 1 once): a Redis error here cannot cost it.
            await self._follow_rest(bc_id)
            self._loaded.pop(bc_id, None)

    async def _maybe_report(self, bc_id: str) -> None:
        if self.reporter is None:
            return
        # One process reports for everyone, every few seconds.
        if await self.redis.set(self.bc.key("bc", bc_id, "reported"), 1, nx=True, px=int(self.report_every * 1000)):
            try:
                await self.reporter.progress(await self.bc.progress(bc_id))
            except Exception:
                logger.exception("Progress report for broadcast %r failed", bc_id)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
