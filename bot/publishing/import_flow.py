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
from bot.importer.review import MAX_YAML, Review, Verdict, describe, fields_of, review
from bot.pledges.store import Store
from bot.publishing.channel import Channel
from bot.publishing.drafts import Draft, Drafts, make_draft
from bot.publishing.imports import PublishError, publish
from bot.publishing.questions import IN_LETTERS, Outcome, Question, answer, next_question
from bot.render import Renderer, Screen

logger = logging.getLogger(__name__)


@dataclass
class Shown:
    """A draft as the coordinator sees it: the messages of the preview, then the report with buttons."""

    token: str
    review: Review
    preview: list[str]
    report: Screen
    question: Question | None = None  # the next thing to ask the coordinator, when the draft lacks it
    answered: tuple[str, str] | None = None  # the field just answered in chat, and the value written ("": skipped)


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
        channel: Channel | None = None,
    ) -> None:
        self.drafts = drafts
        self.library = library
        self.renderer = renderer
        self.content = content
        self.cases = cases
        self.broadcasts = broadcasts
        self.store = store
        self.clock = clock
        self.channel = channel  # the organisation's channel, where alerts and updates are posted too

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
        from bot.importer.parse import ua_references  # the importer loads on its first use (make_draft)

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
        draft = Draft(
            yaml=text,
            source=old.source if old else "",
            closes=old.closes if old else False,
            country=old.country if old else None,
        )
        await self.drafts.save(token, draft)
        return await self.show(token, draft, lang)

    async def question(self, token: str) -> tuple[Draft, Question] | None:
        """The draft and the question it is waiting on (None when it is gone, done or complete)."""
        draft = await self.drafts.get(token)
        if draft is None or await self.drafts.claimed(token):
            return None
        found = self.ask(draft)
        return (draft, found) if found else None

    def ask(self, draft: Draft) -> Question | None:
        if draft.closes:
            return None  # a closing update: only its text is used
        return next_question(fields_of(draft.yaml), set(draft.skipped), draft.country, self.clock().date())

    async def answer(self, token: str, key: str, typed: str, lang: str) -> Shown | Outcome:
        """The coordinator's answer to the question `key`: the draft shown again, or why the answer is refused."""
        waiting = await self.question(token)
        if waiting is None or waiting[1].key != key:
            return Outcome(error="stale")
        draft, question = waiting
        data = fields_of(draft.yaml)
        outcome = answer(data, question, typed, self.clock().date())
        if outcome.country is not None:
            draft.country = outcome.country
            await self.drafts.save(token, draft)
        if outcome.value is None:
            return outcome
        draft.asking = True
        logger.info("Import %r: %s answered in chat", token, question.field)
        shown = await self._rewrite(token, draft, data, question, lang)
        shown.answered = (question.field, outcome.value)
        return shown

    async def skip(self, token: str, key: str, lang: str) -> Shown | Outcome:
        """Leave an optional question unanswered: the draft goes on without it."""
        waiting = await self.question(token)
        if waiting is None or waiting[1].key != key or waiting[1].topic.required:
            return Outcome(error="stale")
        draft, question = waiting
        draft.skipped.append(key)
        draft.asking = True
        await self.drafts.save(token, draft)
        shown = await self.show(token, draft, lang, whole=False)
        shown.answered = (question.field, "")  # shown as skipped
        return shown

    async def _rewrite(self, token: str, draft: Draft, data: dict, question: Question, lang: str) -> Shown:
        # The notes on the field answered are settled: the report and the file's header stop listing them.
        def settled(note: str) -> bool:
            return getattr(note, "field", str(note).split(":", 1)[0]) == question.field

        draft.answered.append(question.topic.name)
        draft.missing = [n for n in draft.missing if not settled(n)]
        draft.uncertain = [n for n in draft.uncertain if not settled(n)]
        from bot.importer.case_yaml import written  # loaded on first use, as in make_draft

        draft.yaml = written(data, draft.source or "pasted text", draft.missing, draft.uncertain)
        await self.drafts.save(token, draft)
        return await self.show(token, draft, lang, whole=False)

    async def assess(self, draft: Draft, lang: str) -> Review:
        return review(
            draft.yaml, self.library, self.renderer.letters, self.clock().date(), closes=draft.closes, ui_lang=lang
        )

    async def show(self, token: str, draft: Draft, lang: str, *, whole: bool = True) -> Shown:
        """The draft's preview, report and next question; without `whole` (between two questions), the preview
        only when no question is left: the chat shows just the next question, and counting readers scans the
        whole audience."""
        found = await self.assess(draft, lang)
        now = self.clock()
        letters_sent = await self.store.letters_sent(found.existing.id) if found.existing else 0
        audience = await self.broadcasts.count(self._audience(found)) if found.publishable else 0
        # A new case is asked what it lacks (a complete one its salutations only when the coordinator taps for
        # them: its report offers that); an update never: only its text and deadline are used.
        question = self.ask(draft) if found.verdict in (Verdict.new, Verdict.invalid) else None
        asking = question is not None and (found.verdict == Verdict.invalid or draft.asking or question.topic.prompted)
        report = self.renderer.import_report(
            found,
            lang,
            token,
            source=draft.source,
            missing=draft.missing,
            uncertain=draft.uncertain,
            audience=audience,
            asking=asking,
            # Also while asking: a command in between leaves the questions, and this button goes back to them.
            can_ask=question is not None,
        )
        if asking and not whole:
            return Shown(token, found, [], report, question)
        readers = await self._readers(found) if found.publishable else None
        # Shown whole again once the questions are done: the letters only when an answer changed them (each
        # message of the preview is paced by Telegram's per-chat limit).
        letters = not draft.answered or not IN_LETTERS.isdisjoint(draft.answered)
        if not asking and draft.answered:
            draft.answered = []
            await self.drafts.save(token, draft)
        preview = self.renderer.import_preview(found, lang, now, letters_sent, readers, letters=letters)
        return Shown(token, found, preview, report, question if asking else None)

    async def start_asking(self, token: str, lang: str) -> Shown | None:
        """A complete draft's coordinator taps to be asked what it still lacks (a salutation, the time zone)."""
        waiting = await self.question(token)
        if waiting is None:
            return None
        draft = waiting[0]
        draft.asking = True
        await self.drafts.save(token, draft)
        return await self.show(token, draft, lang, whole=False)

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
            channel=self.channel,
        )

    async def _readers(self, found: Review) -> dict[str, int]:
        """How many of those the draft goes to read the bot in each language (a chat that chose none: the default)."""
        readers: dict[str, int] = {}
        for code, count in (await self.broadcasts.readers(self._audience(found))).items():
            shown = code if code in self.renderer.languages else self.renderer.default_language
            readers[shown] = readers.get(shown, 0) + count
        return readers

    @staticmethod
    def _audience(found: Review) -> Audience:
        if found.verdict == Verdict.update and found.existing is not None:
            return audience(MessageKind.update, found.existing.id)
        return audience(MessageKind.alert, found.case.id if found.case else None)
