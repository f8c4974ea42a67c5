"""Logging that never prints a secret, whatever a library puts in a message or traceback."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text


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
