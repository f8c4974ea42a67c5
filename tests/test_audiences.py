"""Consent as a property: random histories of people and coordinators, every send checked against the table.

The table is docs/AUDIENCES.md; `Model` below is that page in Python, written apart from bot/delivery/audiences.py.
Each history runs against a real Redis through the real store, the audience module and the delivery
engine (its worker with a sender that records who got what, and answers 403 for whoever blocked the bot).
The clock is ours: "a day passes" moves it. RRBOT_AUDIENCE_EXAMPLES sets how many histories (200 by default).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import ACTIONS, WRITING_ACTIONS
from bot.delivery import Broadcasts, Outcome, OutcomeKind, Payload, Worker
from bot.delivery.audiences import REMINDED_TTL, AudienceKind, Audiences, MessageKind, audience, chosen
from bot.ground.privacy import Pseudonymizer
from bot.ground.redis_client import client_from_url
from bot.pledges.store import Store

PEOPLE = [7100 + i for i in range(6)]
CASES = ["case-a", "case-b"]
LANGS = ["en", "ru"]
EXAMPLES = int(os.environ.get("RRBOT_AUDIENCE_EXAMPLES", "200"))
SENDS = ("alert", "everyone", "language", "followers", "not-acted", "update", "closure", "extension", "reminder")
# "remind_all": both cases due at once, one message each person: the cases it lists are checked too.


# --- the table, apart from the code ------------------------------------------------------------------------


@dataclass
class Person:
    alerts: bool = False
    follows: set[str] = field(default_factory=set)
    stopped: bool = False
    alerts_before_stop: bool = False
    no_alerts: bool = False  # switched alerts off: /start respects it
    lang: str | None = None
    reminders: bool = True
    pledges: dict[str, set[str]] = field(default_factory=dict)
    reminded_at: float | None = None
    blocked: bool = False  # on Telegram's side: the bot learns it from a 403
    later: set[tuple[str, str]] = field(default_factory=set)  # "remind me later" taps still pending

    def resume(self) -> None:
        if self.stopped:
            self.stopped, self.alerts = False, self.alerts_before_stop

    def switch_alerts(self, on: bool) -> None:
        """The welcome's switch: while /stop holds, only remembered for when they come back."""
        self.no_alerts = not on
        if self.stopped:
            self.alerts_before_stop = on
        else:
            self.alerts = on

    def dropped(self) -> None:
        """What a 403 leaves (docs/PRIVACY.md): no record, no follows; pledge flags stay."""
        keep = (self.pledges, self.reminded_at, self.blocked)
        self.__init__()  # type: ignore[misc]
        self.pledges, self.reminded_at, self.blocked = keep


class Model:
    def __init__(self) -> None:
        self.people = {chat: Person() for chat in PEOPLE}
        self.now = 1_800_000_000.0

    def wrote(self, p: Person, case: str) -> bool:
        return bool(p.pledges.get(case, set()) & set(WRITING_ACTIONS))

    def audience(self, kind: str, case: str, lang: str) -> set[int]:
        """docs/AUDIENCES.md, "Who receives each kind of message"."""
        found = set()
        for chat, p in self.people.items():
            gets_alerts = p.alerts and not p.stopped
            follows = case in p.follows and not p.stopped
            if kind in ("alert", "everyone"):
                ok = gets_alerts
            elif kind == "language":
                ok = gets_alerts and p.lang == lang
            elif kind in ("followers", "update", "closure", "extension"):
                ok = follows
            elif kind == "not-acted":
                ok = follows and not p.pledges.get(case)
            else:  # reminder: not written to an official, reminders on, none in the last 20 h
                recent = p.reminded_at is not None and self.now - p.reminded_at < REMINDED_TTL
                ok = follows and not self.wrote(p, case) and p.reminders and not recent
            if ok:
                found.add(chat)
        return found


# --- a history -------------------------------------------------------------------------------------------------

person = st.sampled_from(PEOPLE)
case = st.sampled_from(CASES)
step = st.one_of(
    st.tuples(st.just("start"), person),
    st.tuples(st.just("start_case"), person, case),
    st.tuples(st.just("follow"), person, case),
    st.tuples(st.just("unfollow"), person, case),
    st.tuples(st.just("stop"), person),
    st.tuples(st.just("block"), person),
    st.tuples(st.just("unblock"), person),
    st.tuples(st.just("forget"), person),
    st.tuples(st.just("pledge"), person, case, st.sampled_from(ACTIONS)),
    st.tuples(st.just("alerts"), person, st.booleans()),
    st.tuples(st.just("lang"), person, st.sampled_from(LANGS)),
    st.tuples(st.just("reminders"), person, st.booleans()),
    st.tuples(st.just("later"), person, case, st.sampled_from(ACTIONS)),
    st.tuples(st.just("fire_later"), person),
    st.tuples(
        st.just("day"),
    ),
    st.tuples(st.just("send"), st.sampled_from(SENDS), case, st.sampled_from(LANGS)),
    st.tuples(
        st.just("remind_all"),
    ),
)
histories = st.lists(step, min_size=5, max_size=40)


class World:
    """The real parts for one history: store, audiences, engine, a worker, and the model beside them."""

    def __init__(self, redis) -> None:
        self.model = Model()
        pseudonyms = Pseudonymizer(b"audience-test-key-0123456789abcdef")
        self.redis = redis
        self.store = Store(redis, pseudonyms)
        self.broadcasts = Broadcasts(redis, pseudonyms, clock=lambda: self.model.now)
        self.audiences: Audiences = self.broadcasts.audiences
        self.got: list[int] = []
        self.worker = Worker(self.broadcasts, self._send, self.store, rate=5000, tick=0.01, ack_delay=0.001)

    async def _send(self, chat: int, payload: Payload) -> Outcome:
        if self.model.people[chat].blocked:
            return Outcome(OutcomeKind.blocked)
        self.got.append(chat)
        return Outcome.ok()

    async def deliver(self, bc_id: str | None) -> set[int]:
        """Run the worker until the broadcast is done; who received it (a 403 is not receiving)."""
        self.got = []
        if bc_id is None:
            return set()
        await self.redis.delete(*[self.store.key("cool", chat) for chat in PEOPLE])  # the 1 s gap is not the point
        for _ in range(2000):
            if (await self.broadcasts.progress(bc_id)).state.finished:
                break
            if not await self.worker.step():
                await asyncio.sleep(0.002)
            while self.worker.tasks:
                await asyncio.gather(*self.worker.tasks)
        else:
            pytest.fail(f"broadcast {bc_id} never finished")
        assert len(self.got) == len(set(self.got)), "nobody gets the same send twice"
        return set(self.got)

    async def send(self, kind: str, case: str, lang: str) -> set[int]:
        payload = Payload("news")
        if kind == "reminder":

            async def pairs() -> AsyncIterator[list[tuple[int, str]]]:
                async for batch in self.audiences.reminders([case]):
                    yield [(r.chat, r.variant) for r in batch]

            target = audience(MessageKind.reminder, case)
            bc_id = await self.broadcasts.enqueue_personal(target, pairs(), lambda variant: payload)
        elif kind in ("everyone", "language", "followers", "not-acted"):
            choice = {"everyone": "all", "language": "all", "followers": "case"}.get(kind, kind)
            target = chosen(choice, case if choice != "all" else None, lang if kind == "language" else None)
            bc_id = await self.broadcasts.enqueue(payload, target)
        else:
            bc_id = await self.broadcasts.enqueue(payload, audience(MessageKind(kind), case))
        return await self.deliver(bc_id)

    async def both_reminded(self) -> None:
        """Both cases' reminders due together: one message per person, listing exactly their due cases."""
        m = self.model
        due = {case: m.audience("reminder", case, "") for case in CASES}
        listed: dict[int, list[str]] = {}
        async for batch in self.audiences.reminders(CASES):
            for r in batch:
                assert r.chat not in listed, "one message a person"
                listed[r.chat] = [case for case, _ in r.cases]
                for case, done in r.cases:
                    assert set(done) == m.people[r.chat].pledges.get(case, set()), "it says what they did"
        expected = {chat: [case for case in CASES if chat in due[case]] for chat in PEOPLE}
        assert listed == {chat: cases for chat, cases in expected.items() if cases}
        for chat in listed:
            m.people[chat].reminded_at = m.now

    async def apply(self, step: tuple) -> None:
        name, *args = step
        m = self.model
        if name == "remind_all":
            await self.both_reminded()
            return
        if name == "send":
            kind, case, lang = args
            expected = m.audience(kind, case, lang)
            if kind == "reminder":  # everyone taken is marked, a blocked person too (the 403 comes after)
                for chat in expected:
                    m.people[chat].reminded_at = m.now
            got = await self.send(kind, case, lang)
            reached = {chat for chat in expected if not m.people[chat].blocked}
            assert got == reached, f"{kind} of {case}: sent to {sorted(got)}, the table says {sorted(reached)}"
            for chat in expected - reached:
                m.people[chat].dropped()
            if kind == "alert":
                for chat in got:
                    m.people[chat].follows.add(case)
            return
        if name == "day":
            m.now += 86_400
            return
        chat = args[0]
        p = m.people[chat]
        if name == "start":
            await self.store.start(chat)
            p.resume()
            p.alerts = p.alerts or not p.no_alerts
        elif name == "start_case":  # a case's link: that case, and what a /stop paused; alerts are /start's
            await self.store.resume(chat)
            await self.store.subscribe(chat, args[1])
            p.resume()
            p.follows.add(args[1])
        elif name == "follow":
            await self.store.subscribe(chat, args[1])
            p.resume()
            p.follows.add(args[1])
        elif name == "unfollow":
            await self.store.unsubscribe(chat, args[1])
            p.follows.discard(args[1])
        elif name == "stop":
            await self.store.stop(chat)
            await self.broadcasts.withdraw(chat)
            if not p.stopped:
                p.alerts_before_stop = p.alerts
            p.stopped, p.alerts, p.later = True, False, set()
        elif name == "block":
            p.blocked = True
        elif name == "unblock":
            p.blocked = False
        elif name == "forget":
            await self.store.forget(chat, CASES)
            await self.broadcasts.forget(chat)
            blocked = p.blocked
            m.people[chat] = Person(blocked=blocked)
        elif name == "pledge":
            await self.store.pledge(chat, args[1], args[2])
            p.pledges.setdefault(args[1], set()).add(args[2])
        elif name == "alerts":
            await self.store.set_alerts(chat, args[1])
            if not args[1]:
                await self.broadcasts.withdraw(chat, kinds={AudienceKind.all})
            p.switch_alerts(args[1])
        elif name == "lang":
            await self.store.set_language(chat, args[1])
            p.lang = args[1]
        elif name == "reminders":
            await self.store.set_reminders(chat, args[1])
            p.reminders = args[1]
        elif name == "later":
            p.later.add((args[1], args[2]))
        elif name == "fire_later":
            for case, action in sorted(p.later):
                may = await self.audiences.may_remind_later(chat, case, action)
                expected = not p.stopped and action not in p.pledges.get(case, set())
                assert may == expected, f"remind me later of {action} in {case}: {may}, the table says {expected}"
            p.later = set()

    async def check_counts(self) -> None:
        """Stats and previews count the same people the sends reach."""
        stats = await self.store.stats(CASES)
        for case in CASES:
            assert stats["cases"][case]["subscribers"] == len(self.model.audience("followers", case, "en"))
            assert await self.broadcasts.count(chosen("case", case)) == stats["cases"][case]["subscribers"]
        alerts = self.model.audience("everyone", "", "")
        assert stats["users"] == len(alerts) == await self.broadcasts.count(chosen("all"))


async def run_history(redis_url: str, history: list[tuple]) -> None:
    redis = client_from_url(redis_url)
    await redis.flushdb()
    try:
        world = World(redis)
        for step in history:
            await world.apply(step)
        await world.check_counts()
    finally:
        await redis.flushdb()
        await redis.aclose()


@settings(
    max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories)
def test_every_send_reaches_exactly_its_audience(redis_url: str, history: list[tuple]) -> None:
    asyncio.run(run_history(redis_url, history))


def test_the_table_names_every_kind_of_message() -> None:
    """docs/AUDIENCES.md has a row for every kind bot.delivery.audiences knows, and the other way round."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "AUDIENCES.md").read_text()
    rows = set(re.findall(r"\| `([\w.-]+)` \|$", page, re.MULTILINE))
    personal = {"Audiences.may_remind_later", "Audiences.coordinators"}
    assert rows == {kind.value for kind in MessageKind} | personal, "the page's rows are the code's rows"
    assert all(callable(getattr(Audiences, name.split(".")[1])) for name in personal)


# --- some histories end to end: people in the emulator, sends through the running bot -----------------------

E2E_HISTORIES = int(os.environ.get("RRBOT_AUDIENCE_E2E", "20"))
E2E_CASES = ["ua-84-11", "ua-99-01"]
E2E_SENDS = ("alert", "everyone", "language", "followers", "not-acted", "update")


def e2e_history(seed: int) -> list[tuple]:
    """A random history as people would make it in chat, ending with a send."""
    rng = random.Random(seed)
    people = [7300 + 10 * seed + i for i in range(4)]
    chat_steps = [
        lambda: ("start", rng.choice(people)),
        lambda: ("start_case", rng.choice(people), rng.choice(E2E_CASES)),
        lambda: ("follow", rng.choice(people), rng.choice(E2E_CASES)),
        lambda: ("unfollow", rng.choice(people), rng.choice(E2E_CASES)),
        lambda: ("stop", rng.choice(people)),
        lambda: ("block", rng.choice(people)),
        lambda: ("unblock", rng.choice(people)),
        lambda: ("forget", rng.choice(people)),
        lambda: ("pledge", rng.choice(people), rng.choice(E2E_CASES), rng.choice(ACTIONS)),
        lambda: ("alerts", rng.choice(people), rng.choice([True, False])),
        lambda: ("lang", rng.choice(people), rng.choice(LANGS)),
    ]
    steps: list[tuple] = [("start", people[0]), ("start_case", people[1], E2E_CASES[0])]
    for _ in range(rng.randint(5, 10)):
        if rng.random() < 0.3:
            steps.append(("send", rng.choice(E2E_SENDS), rng.choice(E2E_CASES), rng.choice(LANGS)))
        else:
            steps.append(rng.choice(chat_steps)())
    steps.append(("send", rng.choice(E2E_SENDS), rng.choice(E2E_CASES), rng.choice(LANGS)))
    return steps


class ChatWorld:
    """The same table, with people acting in the emulator and sends going out through the running bot."""

    def __init__(self, app, emulator, people: list[int]) -> None:
        from emulator.journey import Activist

        self.app, self.emulator = app, emulator
        self.model = Model()
        self.model.people = {chat: Person() for chat in people}
        self.people = {chat: Activist(emulator, chat, f"H{chat}", "en") for chat in people}
        self.sends = 0

    async def apply(self, step: tuple) -> None:
        name, *args = step
        if name == "send":
            await self.send(*args)
            return
        chat = args[0]
        p, who = self.model.people[chat], self.people[chat]
        if p.blocked and name != "unblock":
            return  # someone who blocked the bot does not talk to it
        pressing = name in ("follow", "unfollow", "pledge", "alerts")
        if pressing and not who.messages:
            return  # nothing to tap on yet
        if name in ("start", "start_case"):
            await who.send("/start" if name == "start" else f"/start {args[1]}")
            p.resume()
            if name == "start":
                p.alerts = p.alerts or not p.no_alerts
            else:
                p.follows.add(args[1])
            if p.lang is None:
                await who.tap_data("lang:en:")
                p.lang = "en"
        elif name == "follow":
            await who.press(who.messages[-1]["message_id"], f"sub:{args[1]}")
            p.resume()
            p.follows.add(args[1])
        elif name == "unfollow":
            await who.press(who.messages[-1]["message_id"], f"unsub:{args[1]}")
            p.follows.discard(args[1])
        elif name == "stop":
            await who.send("/stop")
            if not p.stopped:
                p.alerts_before_stop = p.alerts
            p.stopped, p.alerts = True, False
        elif name == "block":
            self.emulator.block(chat)
            await self.emulator.wait_idle()
            p.dropped()  # Telegram tells the bot at once
            p.blocked = True
        elif name == "unblock":
            self.emulator.unblock(chat)
            await self.emulator.wait_idle()
            p.blocked = False
        elif name == "forget":
            await who.send("/forget")
            await who.tap_data("forget:yes")
            self.model.people[chat] = Person()
        elif name == "pledge":
            await who.press(who.messages[-1]["message_id"], f"pl:{args[1]}:{args[2]}")
            p.pledges.setdefault(args[1], set()).add(args[2])
        elif name == "alerts":
            await who.press(who.messages[-1]["message_id"], f"alerts:{'on' if args[1] else 'off'}")
            p.switch_alerts(args[1])
        elif name == "lang":
            await who.send("/language")
            await who.tap_data(f"lang:{args[1]}:")
            p.lang = args[1]

    async def send(self, kind: str, case: str, lang: str) -> None:
        from tests.test_publishing import finished

        self.sends += 1
        marker = f"Send-{self.sends}-{kind}"
        expected = self.model.audience(kind, case, lang)
        if kind in ("everyone", "language", "followers", "not-acted"):
            choice = {"everyone": "all", "language": "all", "followers": "case"}.get(kind, kind)
            target = chosen(choice, case if choice != "all" else None, lang if kind == "language" else None)
        else:
            target = audience(MessageKind(kind), case)
        bc_id = await self.app.broadcasts.enqueue(Payload(marker), target)
        await finished(self.app, bc_id)
        await self.emulator.wait_idle()
        got = {chat for chat, who in self.people.items() if any(marker in m.get("text", "") for m in who.messages)}
        assert got == expected, f"{marker} of {case}/{lang}: sent to {sorted(got)}, the table says {sorted(expected)}"
        if kind == "alert":
            for chat in got:
                self.model.people[chat].follows.add(case)


@pytest.mark.timeout(300)
async def test_histories_through_the_chat_reach_exactly_their_audience(settings, redis, emulator, tmp_path) -> None:
    from bot.app.wiring import running
    from bot.content import Library
    from tests.test_consent import two_cases

    now = dt.datetime.now(dt.UTC)
    content = two_cases(tmp_path, now + dt.timedelta(days=20), now + dt.timedelta(days=21))
    for seed in range(E2E_HISTORIES):
        await redis.flushdb()
        history = e2e_history(seed)
        async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
            world = ChatWorld(app, emulator, sorted({s[1] for s in history if s[0] != "send"}))
            for step in history:
                await world.apply(step)
