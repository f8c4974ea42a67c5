"""SIGTERM while `rrbot run` starts: it ends at once, with exit 0, whatever the start-up is doing.

Python's default for SIGTERM kills the process (status 143), and as PID 1 in a container without a handler
the signal is ignored until the engine kills it (137), leaving the scheduler's lock to expire. Until the event
loop runs, nothing is open or half-done (modules, settings and content are only in memory), so a stop asked for
then ends the process on the spot. bot.app.wiring replaces this handler with the loop's, which stops in order.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class StopRequested(BaseException):
    """Raised wherever the main thread is when SIGTERM comes: not an Exception, so no `except Exception` takes it."""


class _Stop:
    """The handler. It marks itself `requested` first: should the exception be swallowed (a signal that lands in
    a finaliser is only printed), bot.app.wiring still sees the stop when it takes over, and does not serve."""

    requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        raise StopRequested(signum)


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM raises StopRequested in the block; the handler before it is back afterwards (tests call main)."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, _Stop())
    try:
        yield
    finally:  # None: a handler set outside Python, which cannot be put back; the default then
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
