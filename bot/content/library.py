"""The cases the bot serves, loaded once and replaced whole on reload."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.content.models import Case, Status

logger = logging.getLogger(__name__)


class Library:
    def __init__(self, cases: dict[str, Case], content_dir: Path | None = None) -> None:
        self._cases = dict(cases)
        self.content_dir = content_dir

    @classmethod
    def load(cls, content_dir: Path) -> Library:
        """Load every case; raises ContentError listing every problem."""
        from bot.content.loader import load_cases

        return cls(load_cases(content_dir), content_dir)

    def replace(self, other: Library) -> None:
        """Take another library's cases, in place: handlers keep the object they were given."""
        self._cases = dict(other._cases)

    def get(self, case_id: str | None) -> Case | None:
        return self._cases.get(case_id) if case_id else None

    def all(self) -> list[Case]:
        """Open cases first, newest issue first within each group."""
        return sorted(
            self._cases.values(),
            key=lambda c: (c.status != Status.open, -(c.issued.toordinal() if c.issued else 0), c.id),
        )

    def open_cases(self) -> list[Case]:
        return [c for c in self.all() if c.status == Status.open]

    def ids(self) -> list[str]:
        return list(self._cases)

    def __len__(self) -> int:
        return len(self._cases)
