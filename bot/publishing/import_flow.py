"""The import flow behind the chat handlers: draft, review, preview, publish. No aiogram here.

One object in the Dispatcher's workflow data, so the handlers stay thin and this stays testable.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.content import Library, parse_case
from bot.content.states import CaseStates
from bot.content.sync import ContentSync
from bot.delivery import Broadcasts
from bot.delivery.audiences import Audience, MessageKind, audience
from bot.importer.parse import ua_references
from bot.importer.review import MAX_YAML, Review, Verdict, describe, review
from bot.pledges.store import Store
from bot.publishing.drafts import Draft, Drafts, make_draft
from bot.publishing.imports import PublishError, publish
from bot.render import Renderer, Screen

logger = logging.getLogger(__name__)


@dataclass
class Shown:
    """A draft as the coordinator sees it: the messages of the preview, then the report with buttons."""

    token: str
    review: Review
    preview: list[str]
    report: Screen


class Importer:
    def __init__(
        self,
        drafts: Drafts,
        library: Library,
        renderer: Renderer,
        content: ContentSync,
        cases: CaseStates,
        broadcasts: Broadcasts,
        store: Store,
        clock: Callable[[], dt.datetime],
    ) -> None:
        self.drafts = drafts
        self.library = library
        self.renderer = renderer
        self.content = content
        self.cases = cases
        self.broadcasts = broadcasts
        self.store = store
        self.clock = clock

    async def import_text(self, token: str, text: str, source: str, lang: str) -> Shown:
        """A UA text -> a saved draft, shown. NotAnUrgentAction for a text that is not one."""
        draft = await asyncio.to_thread(make_draft, text, source)
        await self.drafts.save(token, draft)
        logger.info("Import %r: draft of %d characters from %r", token, len(draft.yaml), source or "pasted text")
        return await self.show(token, draft, lang)

    async def paste(self, token: str, text: str) -> tuple[str, int | None]:
        """Keep one part of a pasted UA: (the draft's token, the length so far, None when far too long).

        A part naming other UAs than the parts before it is another document (the coordinator pasted
        a new UA instead of tapping Preview): it starts a text of its own.
        """
        pending = await self.drafts.peek_parts(token)
        before, now = ua_references(pending), ua_references(text)
        if before and now and before.isdisjoint(now):
            logger.info("Import %r: pasted parts of another UA start a new draft", token)
            await self.drafts.take_parts(token)
            token = Drafts.new_token()
        return token, await self.drafts.add_part(token, text)

    async def replace_yaml(self, token: str, text: str, lang: str) -> Shown | list[str]:
        """The coordinator's corrected case file: the draft shown again, or the file's problems."""
        if len(text.encode("utf-8")) > MAX_YAML:
            return [f"more than {MAX_YAML // 1024} KB: a case file is a few KB"]
        case, problems = parse_case(text, "draft.yaml")
        if case is None:
            return [describe(p) for p in problems]
        old = await self.drafts.get(token)
        if await self.drafts.claimed(token):
            token = Drafts.new_token()  # that draft was published or dropped: the corrected one is new
        draft = Draft(yaml=text, source=old.source if old else "", closes=old.closes if old else False)
        await self.drafts.save(token, draft)
        return await self.show(token, draft, lang)

    async def assess(self, draft: Draft, lang: str) -> Review:
        return review(
            draft.yaml, self.library, self.renderer.letters, self.clock().date(), closes=draft.closes, ui_lang=lang
        )

    async def show(self, token: str, draft: Draft, lang: str) -> Shown:
        found = await self.assess(draft, lang)
        now = self.clock()
        letters_sent = await self.store.letters_sent(found.existing.id) if found.existing else 0
        audience = await self.broadcasts.count(self._audience(found)) if found.publishable else 0
        report = self.renderer.import_report(
            found,
            lang,
            token,
            source=draft.source,
            missing=draft.missing,
            uncertain=draft.uncertain,
            audience=audience,
        )
        return Shown(token, found, self.renderer.import_preview(found, lang, now, letters_sent), report)

    async def publish(self, draft: Draft, lang: str, user_id: int) -> str:
        """Publish the draft as reviewed now (the library may have changed since the preview)."""
        found = await self.assess(draft, lang)
        if not found.publishable:
            raise PublishError("not_publishable", f"the draft is no longer publishable ({found.verdict.value})")
        letters_sent = await self.store.letters_sent(found.existing.id) if found.existing else 0
        return await publish(
            found,
            draft.yaml,
            content=self.content,
            cases=self.cases,
            broadcasts=self.broadcasts,
            renderer=self.renderer,
            now=self.clock(),
            created_by=user_id,
            letters_sent=letters_sent,
        )

    @staticmethod
    def _audience(found: Review) -> Audience:
        if found.verdict == Verdict.update and found.existing is not None:
            return audience(MessageKind.update, found.existing.id)
        return audience(MessageKind.alert, found.case.id if found.case else None)
