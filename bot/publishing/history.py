"""Recent sends as coordinators read them: what it said, who sent it, to whom, how it went, what it moved.

No aiogram here: /broadcasts and `rrbot` read the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.delivery import Broadcasts, Progress
from bot.pledges.store import Store

PLEDGE_HOURS = 24  # pledges counted after a send started: what it moved


@dataclass(frozen=True)
class Sent:
    progress: Progress
    by: str | None  # who sent it: a coordinator's display name; None: the bot, or a coordinator who used /forget
    by_someone: bool  # a coordinator sent it (by None then means a former coordinator)
    pledges: int | None  # pledges in the PLEDGE_HOURS after it started; None before it started


@dataclass(frozen=True)
class SentPage:
    sends: list[Sent]
    offset: int
    more: bool  # older sends exist beyond this page


async def recent_sends(
    broadcasts: Broadcasts, store: Store, case_ids: Iterable[str], *, offset: int = 0, size: int = 5
) -> SentPage:
    """A page of sends, newest first; pledges for the case a send went to, or for every case (`case_ids`)."""
    every_case = list(case_ids)
    ids = await broadcasts.redis.zrevrange(broadcasts.key("bc", "all"), offset, offset + size)
    rows = []
    for bc_id in ids[:size]:
        try:
            progress = await broadcasts.progress(bc_id)
        except LookupError:  # expired meanwhile
            continue
        creator = progress.created_by
        name = await broadcasts.audit.name_of(creator) if creator else None
        cases = [progress.audience.case_id] if progress.audience and progress.audience.case_id else every_case
        pledges = await store.pledges_between(cases, progress.started_at, PLEDGE_HOURS) if progress.started_at else None
        rows.append(Sent(progress, name, creator is not None or progress.former, pledges))
    return SentPage(rows, offset, len(ids) > size)
