"""When broadcasts began to reach each case's followers: the marks on the coordinators' pledge charts. Read only.

A broadcast belongs to a case when its audience names the case (its followers, those who have not acted,
a new case's alert that makes people follow it) or it carries the case (its alert, an update, a reminder).
A broadcast to everyone that carries no case (a coordinator's own message) reached every case's followers,
so it is marked on every chart; one that carries another case is marked on that case's only. A post to the
organisation's channel reaches no follower: it is not marked.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.delivery.audiences import Audience
from bot.delivery.engine import Broadcasts
from bot.delivery.models import Purpose

logger = logging.getLogger(__name__)

SCANNED = 500  # the most recent broadcasts looked at: months of a busy section's sends


async def sends_by_case(
    broadcasts: Broadcasts, refs: Mapping[str, str], limit: int = SCANNED
) -> dict[str, list[float]]:
    """Case id -> when each of its broadcasts started sending (Unix seconds), oldest first, for the cases in
    `refs` (case id -> its reference, "UA 84/11", as broadcasts carry it). One not started yet is not marked."""
    marks: dict[str, list[float]] = {case_id: [] for case_id in refs}
    by_ref = {ref: case_id for case_id, ref in refs.items()}
    ids = await broadcasts.redis.zrevrange(broadcasts.key("bc", "all"), 0, limit - 1)
    async with broadcasts.redis.pipeline(transaction=False) as pipe:
        for bc_id in ids:
            pipe.hmget(broadcasts.key("bc", bc_id), ["started_at", "audience", "purpose"])
        records = await pipe.execute()
    for bc_id, (started, audience_json, purpose_json) in zip(ids, records):
        if not started:
            continue
        try:
            audience = Audience.from_json(audience_json) if audience_json else None
        except (ValueError, KeyError):
            logger.warning("Broadcast %s has an audience this code cannot read: not marked", bc_id)
            continue
        purpose = Purpose.from_json(purpose_json)
        if purpose is not None and purpose.kind == "channel":
            continue  # the organisation's channel, not the case's followers (its alert or update is marked)
        named = {audience.case_id, audience.follow} if audience else set()
        if purpose is not None:
            named.add(by_ref.get(purpose.ref, f"\0{purpose.ref}"))  # a case not asked about still names one
        named.discard(None)
        for case_id in named & marks.keys() if named else marks.keys():
            marks[case_id].append(float(started))
    return {case_id: sorted(times) for case_id, times in marks.items()}
