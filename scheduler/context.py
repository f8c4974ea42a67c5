"""What a job works with, handed to it explicitly (like arq's ctx); jobs store only plain arguments.

APScheduler keeps a job as a reference to a function plus its arguments, pickled into Redis, so
clients cannot travel with it. The scheduler's executor (scheduler.service.ContextExecutor) holds
the context of its process and passes it to every job as its first argument.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.content import Library
from bot.content.states import CaseStates
from bot.delivery import Broadcasts, Outcome, Payload
from bot.ground.clock import Clock
from bot.ground.quiet import QuietHours
from bot.pledges.store import Store
from bot.render import Renderer


@dataclass
class JobContext:
    redis: Redis
    store: Store
    broadcasts: Broadcasts
    library: Library
    cases: CaseStates
    renderer: Renderer
    clock: Clock
    send: Callable[[int, Payload], Awaitable[Outcome]]  # one message to one chat
    notify: Callable[[Callable[[str], str]], Awaitable[None]]  # a text, per language, to every coordinator
    default_timezone: str = "UTC"
    reminder_hour: int = 10
    quiet: QuietHours | None = None  # a person's night: what reaches them then goes without a sound
