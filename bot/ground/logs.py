"""Logging that never prints a secret, whatever a library puts in a message or traceback."""

from __future__ import annotations

import logging
import re
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO

# aiogram writes the chat id into the text of some errors (flood control, a group's migration); user ids
# have 5 digits or more, while a traceback's line numbers and counts are shorter.
# A full stop may end the sentence ("in chat 123456789. Retry in 5 seconds"); a decimal point may not.
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d{5,}(?!\w|\.\d)")


def scrub_ids(text: str) -> str:
    """Every number that may be a chat id, blanked."""
    return _LONG_NUMBER.sub("[id]", text)


def scrubbed_traceback(exc: BaseException) -> str:
    """The traceback as logging would print it, without anything that may be a chat id."""
    return scrub_ids("".join(traceback.format_exception(exc)).rstrip())


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def formatException(
        self, ei: tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
    ) -> str:
        # A safety net for libraries' tracebacks: our own calls log no ids in the first place.
        return scrub_ids(super().formatException(ei))


def setup_logging(level: str, secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access lines and aiogram's per-update lines would log raw user ids.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    # APScheduler logs every job it adds, runs and removes by id: quiet unless something is wrong.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler
