"""Coordinators importing an Urgent Action: the preview as subscribers will see it, and the report under it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import escape
from typing import Any

from bot.importer.notes import shown
from bot.importer.review import Review, Verdict, describe
from bot.render.actions import ActionScreens
from bot.render.callbacks import encode
from bot.render.cases import label
from bot.render.formatting import format_date, language_name
from bot.render.markup import shorten
from bot.render.screen import Button, Screen
from bot.render.updates import LifecycleScreens

# Notes listed under a draft, each cut short: the report must fit one message beneath the preview.
SHOWN_PROBLEMS = 8
SHOWN_LENGTH = 160


class ImportScreens(LifecycleScreens, ActionScreens):
    def import_parts(self, lang: str, token: str, *, length: int, case_file: bool = False) -> Screen:
        """A long pasted text (a UA, or a corrected case file) arrives in parts: wait for the rest, or read it now."""
        _ = self._gettext(lang)
        button = Button(label("👀", _("Preview")), callback=encode("imp", "yaml" if case_file else "preview", token))
        return Screen(self._render("ui/imp_parts.html.j2", lang, length=length), [[button]])

    def import_preview(self, review: Review, lang: str, now: dt.datetime, letters_sent: int = 0) -> list[str]:
        """What subscribers will get, message by message: the alert card and each official's letter
        and the tweet for a new case; the update message for an update. Texts only: the buttons
        would point at a case that does not exist yet."""
        case = review.case
        changed = review.updated
        if review.verdict == Verdict.update and changed is not None and review.kind is not None:
            screen = self.case_update(
                changed,
                lang,
                now,
                number=review.update or 0,
                kind=review.kind.value,
                text=escape(review.text or "", quote=False),
                letters_sent=letters_sent,
            )
            return [screen.text]
        if case is None or review.verdict != Verdict.new:
            return []
        texts = [self.card(case, lang, now, subscribed=False, letters_sent=0).text]
        wanted = case.letter_languages[0] if case.letter_languages else lang
        texts.extend(
            self.letter(case, index, lang, wanted, variant_seed=b"preview", signature=None).text
            for index in range(len(case.targets))
        )
        if case.tweet:
            texts.append(self.tweet(case, lang).text)
        return texts

    @staticmethod
    def _note(note: str, gettext: Callable[[str], str]) -> dict[str, Any]:
        parts = shown(note, gettext)
        parts["field"] = shorten(parts["field"], SHOWN_LENGTH)
        parts["message"] = shorten(parts["message"], SHOWN_LENGTH)
        return parts

    def import_report(
        self,
        review: Review,
        lang: str,
        token: str,
        *,
        source: str,
        missing: list[str],
        uncertain: list[str],
        audience: int,
    ) -> Screen:
        """Under the preview: what the draft is, what it lacks, and Publish / Edit / Discard."""
        _ = self._gettext(lang)
        problems = [describe(p) for p in review.problems]
        drafted = review.verdict not in (Verdict.update, Verdict.known)
        text = self._render(
            "ui/imp_report.html.j2",
            lang,
            verdict=review.verdict.value,
            source=source,
            ref=review.ua,
            update=review.update,
            case_id=review.case.id if review.case else None,
            existing=review.existing.id if review.existing else None,
            kind=review.kind.value if review.kind else None,
            deadline=format_date(review.deadline, lang) if review.deadline else None,
            targets=review.officials if review.verdict not in (Verdict.update, Verdict.known) else [],
            expired=review.expired,
            plain_asks=review.plain_asks,
            # For an update only its text and deadline are used: what the rest of the document lacks is moot.
            missing=[self._note(m, _) for m in missing[:SHOWN_PROBLEMS]] if drafted else [],
            uncertain=[self._note(u, _) for u in uncertain[:SHOWN_PROBLEMS]] if drafted else [],
            gaps=[
                {
                    "language": language_name(g.language, lang),
                    "shown": language_name(g.shown, lang),
                    "code": g.language,
                    "missing": g.missing,
                }
                for g in review.gaps
            ],
            problems=[shorten(p, SHOWN_LENGTH) for p in problems[:SHOWN_PROBLEMS]],
            more=max(0, len(problems) - SHOWN_PROBLEMS),
            audience=audience,
        )
        rows = []
        if review.publishable:
            rows.append([Button(label("🚀", _("Publish")), callback=encode("imp", "publish", token))])
        rows.append(
            [
                Button(label("✏️", _("Edit")), callback=encode("imp", "edit", token)),
                Button(label("🗑", _("Discard")), callback=encode("imp", "discard", token)),
            ]
        )
        return Screen(text, rows)
