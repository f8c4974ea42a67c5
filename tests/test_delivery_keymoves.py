"""A broadcast under way when the release before stopped goes on after its keys move to their cluster-ready names.

The release before kept a broadcast under `rrb:bc:<id>` and `rrb:bc:<id>:<part>` and the shared rate under
`rrb:rate:<part>` (its docstring in bot/delivery/engine.py said so); bot.delivery.keys.KEY_MOVES renames them.
The moves are applied here key by key (DUMP, RESTORE, DEL: on a cluster too), as the start-up runner
(bot.ground.keymoves) does.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence

from bot.app.wiring import create_bot
from bot.delivery import Audience, AudienceKind, Broadcasts, Payload, State, Worker
from bot.delivery.keys import KEY_MOVES
from bot.delivery.worker import RATE_LIMITED
from bot.ground.keymoves import KeyMove
from bot.ground.privacy import Pseudonymizer
from bot.ground.settings import Settings
from bot.telegram.sender import TelegramSender
from emulator import BotAPIEmulator, FloodLimits

CASE = "ua-84-11"
PREFIX = "rrb:"
PEOPLE = list(range(41_000, 41_060))


async def _keys(redis, match: str) -> set[str]:
    """Every key matching, on every master of a cluster too (KEYS asks one node)."""
    return {key async for key in redis.scan_iter(match=match, count=1000)}


async def _rename(redis, old: str, new: str) -> None:
    """RENAME that also crosses hash slots (on a cluster, RENAME takes two keys of one slot only)."""
    payload = await redis.execute_command("DUMP", old, NEVER_DECODE=True)
    ttl = await redis.pttl(old)
    await redis.restore(new, max(ttl, 0), payload)
    await redis.delete(old)


async def _move(redis, moves: Sequence[KeyMove]) -> int:
    moved = 0
    for move in moves:
        found = [key async for key in redis.scan_iter(match=PREFIX + move.match, count=1000)]
        for key in found:
            name = key[len(PREFIX) :]
            if re.fullmatch(move.old, name):
                await _rename(redis, key, PREFIX + re.sub(move.old, move.new, name))
                moved += 1
    return moved


class Chats:
    async def drop_chat(self, chat_id: int) -> None:
        raise AssertionError(f"chat {chat_id} was dropped")

    async def migrate_chat(self, old_id: int, new_id: int) -> None:
        raise AssertionError(f"chat {old_id} migrated")


async def test_a_broadcast_under_way_on_the_old_names_goes_on_after_the_move(
    redis, emulator: BotAPIEmulator, settings: Settings
) -> None:
    emulator.limits = FloodLimits(global_per_second=400, global_burst=400)
    for chat in PEOPLE:
        emulator.add_user(chat, first_name="P")
    await redis.sadd(PREFIX + "users", *PEOPLE)
    broadcasts = Broadcasts(redis, Pseudonymizer(b"keymoves-test-privacy-key-0123456789"), prefix=PREFIX)
    bc_id = await broadcasts.enqueue(Payload("🚨 New case"), Audience(AudienceKind.all, follow=CASE))
    done_id = await broadcasts.enqueue_chats(Payload("Earlier"), [])
    await redis.hset(broadcasts.key("bc", done_id), mapping={"state": "done", "delivered": 7})
    # Under way when the old release stopped: running, ten claimed by a process that died (leases run out).
    assert await broadcasts.transition(bc_id, State.running, State.queued, stamp="started_at")
    claimed = await redis.lpop(broadcasts.key("bc", bc_id, "q"), 10)
    await redis.zadd(broadcasts.key("bc", bc_id, "inflight"), {chat: int(time.time() * 1000) - 1 for chat in claimed})
    await redis.sadd(broadcasts.key("bc", bc_id, "acks"), "an-earlier-batch")
    await redis.set(broadcasts.key(RATE_LIMITED), 5)
    # ... under the old names.
    for key in sorted(await _keys(redis, PREFIX + "{bc:*")):
        tag, _, rest = key[len(PREFIX) + 1 :].partition("}")
        if rest != ":night":  # the one already tagged
            await _rename(redis, key, PREFIX + tag + rest)
    await _rename(redis, broadcasts.key(RATE_LIMITED), PREFIX + "rate:429")
    before = await _keys(redis, PREFIX + "*")
    assert {f"rrb:bc:{bc_id}", f"rrb:bc:{bc_id}:q", f"rrb:bc:{bc_id}:inflight", "rrb:rate:429"} <= before

    moved = await _move(redis, KEY_MOVES)
    after = await _keys(redis, PREFIX + "*")
    assert moved == len(before - after) == 6, sorted(before ^ after)  # 4 keys of one, the record of the other, 429
    assert not [k for k in after if re.match(r"rrb:(bc:\d|rate:)", k)], sorted(after)
    assert {"rrb:bc:seq", "rrb:bc:all", "rrb:bc:active", "rrb:users"} <= after, "the index stays where it is"
    assert await _move(redis, KEY_MOVES) == 0, "once"

    assert (await broadcasts.progress(done_id)).delivered == 7, "a finished one reads as before"
    assert int(await redis.get(broadcasts.key(RATE_LIMITED))) == 5
    bot = create_bot(settings, broadcast=True)
    worker = Worker(broadcasts, TelegramSender(bot), Chats(), rate=200.0)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        deadline = time.monotonic() + 30
        while (progress := await broadcasts.progress(bc_id)).state != State.done:
            assert time.monotonic() < deadline, progress
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
        await bot.session.close()
    assert (progress.total, progress.delivered, progress.uncertain) == (60, 60, 10), "the dead process's ten counted"
    assert all(len(emulator.messages(chat)) == 1 for chat in PEOPLE), "everyone once"
    assert set(map(int, await redis.smembers(f"rrb:subs:{CASE}"))) == set(PEOPLE), "and each follows the case"
