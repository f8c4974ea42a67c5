"""Coordinators importing an Urgent Action: the preview as subscribers will see it, and the report under it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from html import escape
from typing import Any

from bot.importer.notes import Note, shown
from bot.importer.review import GAP, Review, Verdict
from bot.importer.zones import country_name, zone_label
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
SHOWN_OFFICIALS = 8  # each with its contacts cut short: a page of officials must not push the report past 4096
# "targets[1].salutation" (a note) or "targets.1.salutation" (a validation problem)
_OFFICIAL_FIELD = re.compile(r"^targets(?:\[(\d+)\]|\.(\d+))\.?(.*)$")


def field_item(field: str, officials: list[dict[str, Any]]) -> dict[str, Any]:
    """A case file's field as the chat names it: its topic, and which official (by name) it is about."""
    match = _OFFICIAL_FIELD.match(field)
    if not match:
        # "asks[1]" (a note on one ask) is about the asks; "subject.gender" about the gender
        topic = field.rsplit(".", 1)[-1] if field.startswith("subject.") else re.sub(r"\[\d+\]$", "", field)
        return {"topic": topic, "official": None, "number": None, "raw": field}
    index = int(match[1] or match[2])
    rest = match[3].split(".", 1)[0] or "targets"
    name = officials[index].get("name") if index < len(officials) else None
    return {"topic": rest, "official": name if name and name != "?" else None, "number": index + 1, "raw": field}


class ImportScreens(LifecycleScreens, ActionScreens):
    def import_parts(self, lang: str, token: str, *, length: int, case_file: bool = False) -> Screen:
        """A long pasted text (a UA, or a corrected case file) arrives in parts: wait for the rest, or read it now."""
        _ = self._gettext(lang)
        button = Button(label("👀", _("Preview")), callback=encode("imp", "yaml" if case_file else "preview", token))
        return Screen(self._render("ui/imp_parts.html.j2", lang, length=length), [[button]])

    def import_preview(
        self,
        review: Review,
        lang: str,
        now: dt.datetime,
        letters_sent: int = 0,
        readers: dict[str, int] | None = None,
        *,
        letters: bool = True,
    ) -> list[str]:
        """What subscribers will get, message by message: the alert card and each official's letter
        and the tweet for a new case; the update message for an update. Texts only: the buttons
        would point at a case that does not exist yet.

        `readers`: how many of the audience read the bot in each UI language; the card (or the update) is
        shown in each of those languages, most read first, under a line saying how many read it. A draft
        that cannot be published yet is shown too, with what it lacks as "…" and a draft mark on each message.
        Without `letters`, the cards only (the letters were shown and did not change).
        """
        languages = sorted(readers or {lang: 0}, key=lambda code: (-(readers or {}).get(code, 0), code != lang))
        changed = review.updated
        if review.verdict == Verdict.update and changed is not None and review.kind is not None:
            return [
                self._readers(code, lang, readers)
                + self.case_update(
                    changed,
                    code,
                    now,
                    number=review.update or 0,
                    kind=review.kind.value,
                    text=escape(review.text or "", quote=False),
                    letters_sent=letters_sent,
                ).text
                for code in languages
            ]
        case = review.case if review.verdict == Verdict.new else review.sketch
        if case is None or review.verdict not in (Verdict.new, Verdict.invalid):
            return []
        texts = [
            self._readers(code, lang, readers) + self.card(case, code, now, subscribed=False, letters_sent=0).text
            for code in languages
        ]
        wanted = case.letter_languages[0] if case.letter_languages else lang
        texts.extend(
            self.letter(case, index, lang, wanted, variant_seed=b"preview", signature=None).text
            for index in range(len(case.targets) if letters else 0)
            if review.case is not None or case.targets[index].name != GAP  # no letter to nobody
        )
        if case.tweet and letters:
            texts.append(self.tweet(case, lang).text)
        if review.verdict == Verdict.invalid:
            mark = self._render("ui/imp_draft_mark.html.j2", lang)
            texts = [f"{mark}\n\n{text}" for text in texts]
        return texts

    def _readers(self, code: str, lang: str, readers: dict[str, int] | None) -> str:
        if not readers:
            return ""
        count = readers.get(code, 0)
        return self._render("ui/imp_readers.html.j2", lang, count=count, language=language_name(code, lang)) + "\n\n"

    @staticmethod
    def _note(note: str, gettext: Callable[[str], str], officials: list[dict[str, Any]], lang: str) -> dict[str, Any]:
        params = getattr(note, "params", {})
        if params.get("country_code") and isinstance(note, Note):
            # A country is named in the reader's language («Мексика»), not the English the note was written in.
            local = country_name(params["country_code"], lang)
            note = Note(note.field, note.message, required=note.required, **{**params, "country": local})
        parts = shown(note, gettext)
        parts["field"] = field_item(parts["field"], officials) if parts["field"] else None
        parts["message"] = shorten(parts["message"], SHOWN_LENGTH)
        return parts

    @staticmethod
    def _answer_shown(field: str, value: str, lang: str) -> str:
        """An answer as written into the draft: a date in words, a zone by its city, asks one a line ("": skipped).
        Plain text: the template escapes it."""
        if not value:
            return ""
        if field == "deadline":
            return format_date(dt.date.fromisoformat(value), lang)
        if field == "timezone":
            return f"{zone_label(value, lang)} ({value})"
        if field == "asks":
            return "".join(f"\n• {line}" for line in value.splitlines())
        return value

    def answered_tick(
        self, answered: tuple[str, str], lang: str, officials: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """The previous answer for a tick above what follows it: the field named as the chat names it, the value."""
        return {"item": field_item(answered[0], officials or []), "value": self._answer_shown(*answered, lang)}

    def with_tick(
        self, screen: Screen, answered: tuple[str, str], lang: str, officials: list[dict[str, Any]] | None = None
    ) -> Screen:
        """The report after the last answer, under the tick for that answer (no question follows to carry it)."""
        tick = self._render("ui/imp_tick.html.j2", lang, answered=self.answered_tick(answered, lang, officials))
        return Screen(f"{tick}\n\n{screen.text}", screen.buttons, screen.document)

    def import_question(
        self,
        question: Any,
        lang: str,
        token: str,
        *,
        answered: tuple[str, str] | None = None,
        officials: list[dict[str, Any]] | None = None,
        error: str | None = None,
    ) -> Screen:
        """One question about a draft (bot.publishing.questions.Question): typed, or a zone or Skip tapped.

        `answered` is the previous answer (its field and the value written), shown as a tick above the question;
        `officials` (Review.officials) name whom it was about: the previous answer may be about another official.
        """
        _ = self._gettext(lang)
        text = self._render(
            "ui/imp_question.html.j2",
            lang,
            topic=question.topic.name,
            official=question.official_name,
            number=None if question.official is None else question.official + 1,
            country=country_name(question.country, lang) if question.country else None,
            choices=len(question.choices),
            required=question.topic.required,
            limit=question.topic.limit,
            answered=self.answered_tick(answered, lang, officials) if answered else None,
            error=error,
            passed=format_date(dt.date.fromisoformat(question.passed), lang) if question.passed else None,
            language=language_name(question.language, lang) if question.language else None,
        )
        rows = [
            [Button(f"{zone_label(zone, lang)} ({offset})", callback=encode("impz", token, question.key, zone))]
            for zone, offset in zip(question.choices, question.offsets, strict=False)
        ]
        if not question.topic.required:
            rows.append([Button(label("⏭", _("Skip")), callback=encode("imps", token, question.key))])
        return Screen(text, rows)

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
        asking: bool = False,
        can_ask: bool = False,
    ) -> Screen:
        """Under the preview: what the draft is, what it lacks, and Publish / Edit / Discard.

        `asking`: a question follows the report (the chat completes the draft); `can_ask`: the draft can be
        published, and a button offers questions about what it still lacks.
        """
        _ = self._gettext(lang)
        officials = review.officials
        problems = [
            {
                "field": field_item(p.field, officials) if p.field != "-" else None,
                "message": shorten(p.reason, SHOWN_LENGTH),
            }
            for p in review.problems
        ]
        drafted = review.verdict not in (Verdict.update, Verdict.known, Verdict.orphan)
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
            targets=[
                {**o, **{key: shorten(o[key], SHOWN_LENGTH // 2) for key in ("fax", "email") if o.get(key)}}
                for o in officials[:SHOWN_OFFICIALS]
            ]
            if drafted
            else [],
            more_targets=max(0, len(officials) - SHOWN_OFFICIALS) if drafted else 0,
            expired=review.expired,
            plain_asks=review.plain_asks,
            # For an update only its text and deadline are used: what the rest of the document lacks is moot.
            missing=[self._note(m, _, officials, lang) for m in missing[:SHOWN_PROBLEMS]] if drafted else [],
            uncertain=[self._note(u, _, officials, lang) for u in uncertain[:SHOWN_PROBLEMS]] if drafted else [],
            gaps=[
                {
                    "language": language_name(g.language, lang),
                    "shown": language_name(g.shown, lang),
                    "code": g.language,
                    "missing": g.missing,
                }
                for g in review.gaps
            ],
            problems=problems[:SHOWN_PROBLEMS],
            asking=asking,
            more=max(0, len(problems) - SHOWN_PROBLEMS),
            audience=audience,
        )
        rows = []
        if review.publishable:
            rows.append([Button(label("🚀", _("Publish")), callback=encode("imp", "publish", token))])
        if can_ask:
            rows.append([Button(label("❔", _("Complete it in chat")), callback=encode("imp", "ask", token))])
        rows.append(
            [
                Button(label("✏️", _("Edit")), callback=encode("imp", "edit", token)),
                Button(label("🗑", _("Discard")), callback=encode("imp", "discard", token)),
            ]
        )
        return Screen(text, rows)
