"""Publish a reviewed draft: the case file, every process's library, the reminders, the alert. No aiogram.

The file goes into CONTENT_DIR/cases beside the hand-written ones, so a draft published from chat
is a case like any other: `rrbot check` reads it, and it can be edited by hand later.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
from html import escape
from pathlib import Path

from bot.content.states import CaseStates, ChangeRefused
from bot.content.sync import ContentSync
from bot.delivery import Broadcasts
from bot.importer.review import Review, Verdict
from bot.publishing.announce import announce, publish_update
from bot.publishing.channel import Channel
from bot.render import Renderer

logger = logging.getLogger(__name__)

UPDATE_MARK_TTL = 365 * 24 * 3600  # an appeal's updates come within months
SETTLE = 3.0  # seconds for every bot process to read the new case before the alert's buttons reach anyone


class PublishError(Exception):
    """Nothing was published. `reason` is a code the chat explains in the coordinator's language
    (templates/ui/imp_done.html.j2); str() is the one-line English explanation for the log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


async def publish(
    review: Review,
    yaml_text: str,
    *,
    content: ContentSync,
    cases: CaseStates,
    broadcasts: Broadcasts,
    renderer: Renderer,
    now: dt.datetime,
    created_by: int,
    letters_sent: int = 0,
    channel: Channel | None = None,
) -> str:
    """Publish a new case or an update; returns the id of the broadcast that carries it (and posts it in the
    `channel`, if any)."""
    if review.verdict == Verdict.update:
        return await _publish_update(review, cases, broadcasts, renderer, now, created_by, letters_sent, channel)
    if review.verdict != Verdict.new or review.case is None:
        raise PublishError("not_publishable", f"a draft that is {review.verdict.value} cannot be published")
    content_dir = content.library.content_dir
    if content_dir is None:
        raise PublishError("no_content_dir", "this bot has no content directory to save cases in")
    path = Path(content_dir) / "cases" / f"{review.case.id}.yaml"
    _write_new(path, yaml_text)
    if not await content.reload():
        path.unlink(missing_ok=True)
        raise PublishError(
            "does_not_load", f"the cases in {content_dir} do not load with {path.name}; it was removed again"
        )
    # Other processes read the file when the version moves; the alert waits SETTLE seconds for them.
    content.seen = await cases.changed()
    case = content.library.get(review.case.id)
    if case is None:
        raise PublishError("does_not_load", f"{path.name} was written but the case did not load")
    try:
        bc_id = await announce(
            broadcasts, renderer, case, now, created_by=created_by, send_at=now.timestamp() + SETTLE, channel=channel
        )
    except Exception as exc:
        # No alert, no case: a case nobody was told about would block publishing it again.
        await _withdraw(path, content, cases)
        raise PublishError(
            "alert_failed", f"the alert could not be queued ({type(exc).__name__}); the case was withdrawn"
        ) from exc
    if bc_id is None:
        raise PublishError("already_published", f"the alert of {case.id} already went out")
    logger.info("Case %r published from chat as %r", case.id, str(path))
    return bc_id


async def _publish_update(
    review: Review,
    cases: CaseStates,
    broadcasts: Broadcasts,
    renderer: Renderer,
    now: dt.datetime,
    created_by: int,
    letters_sent: int,
    channel: Channel | None,
) -> str:
    """An update goes out once per document, whoever publishes it and however often."""
    assert review.existing is not None and review.kind is not None and review.text is not None
    mark = broadcasts.key("imported", review.existing.id, review.update)
    # Two coordinators, or a replica that has not reloaded the case yet, must not send it twice.
    if not await broadcasts.redis.set(mark, 1, nx=True, ex=UPDATE_MARK_TTL):
        raise PublishError("already_published", f"update {review.update} of {review.existing.ua} was already published")
    try:
        # The update text is Telegram HTML when a coordinator types it; a document's text is plain.
        _, bc_id = await publish_update(
            broadcasts,
            renderer,
            cases,
            review.existing,
            review.kind,
            escape(review.text, quote=False),
            now,
            deadline=review.deadline,
            letters_sent=letters_sent,
            created_by=created_by,
            number=review.update,
            channel=channel,
        )
    except ChangeRefused as refused:  # the one rule of chat and CLI: bot.content.states.check_change
        await broadcasts.redis.delete(mark)
        raise PublishError(refused.reason, f"the update cannot go out: {refused}") from refused
    except BaseException:
        await broadcasts.redis.delete(mark)  # nothing went out: publishing again may retry
        raise
    return bc_id


async def _withdraw(path: Path, content: ContentSync, cases: CaseStates) -> None:
    path.unlink(missing_ok=True)
    try:
        await content.reload()
        content.seen = await cases.changed()
    except Exception:
        logger.exception("Withdrawing %r: other processes reload it when content changes next", path.name)


def _write_new(path: Path, text: str) -> None:
    """Write the file unless it exists: a case is never overwritten from chat."""
    # Random, not the pid: replicas in containers all run as pid 1 and may share CONTENT_DIR.
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        # link() fails when the target exists, where replace() would silently overwrite it.
        os.link(tmp, path)
    except FileExistsError:
        raise PublishError("file_exists", f"{path.name} already exists in {path.parent}") from None
    except OSError as exc:
        raise PublishError("cannot_write", f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
