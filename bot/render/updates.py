"""Scheduled and lifecycle texts: deadline reminders, "remind me later", case updates, the schedule.

No aiogram and no scheduler here: planned jobs arrive as any object with kind, case_id,
detail and run_at (``scheduler.Planned``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from markupsafe import Markup

from bot.content.actions import ACTION_BY_KEY
from bot.content.models import Case, Status
from bot.ground.durations import parse_duration
from bot.render.callbacks import encode
from bot.render.cases import CaseScreens, label
from bot.render.formatting import _locale, deadline, format_date, format_number, language_name, ua_reference
from bot.render.screen import Button, Screen, Toast
from bot.render.texts import TextScreens


class PlannedLike(Protocol):
    kind: str
    case_id: str | None
    detail: str
    run_at: dt.datetime | None


class LifecycleScreens(CaseScreens, TextScreens):
    def _act_button(self, case: Case, lang: str) -> list[Button]:
        _ = self._gettext(lang)
        return [Button(label("✍️", _("What can I do?")), callback=encode("act", case.id))]

    def deadline_reminders(self, items: list[tuple[Case, tuple[str, ...]]], lang: str, now: dt.datetime) -> Screen:
        """One person's deadline reminder: each due case they have not written for, with what they did
        do for it (posts, shares), its deadline and a button to write."""
        _ = self._gettext(lang)
        names = self._action_names(lang)
        shown = [
            {
                "title": self._title(case, lang),
                "deadline": deadline(case, now, lang, self.default_timezone),
                "done": [names[action] for action in done],
            }
            for case, done in items
        ]
        text = self._render("ui/reminder.html.j2", lang, items=shown)
        if len(items) == 1:
            return Screen(text, [self._act_button(items[0][0], lang)])
        rows = [
            [Button(label("✍️", self._button_title(case, lang)), callback=encode("act", case.id))] for case, _ in items
        ]
        return Screen(text, rows)

    def deadline_reminder(self, case: Case, lang: str, now: dt.datetime, done: tuple[str, ...] = ()) -> Screen:
        """The reminder of one case, to someone who has not written to an official for it."""
        return self.deadline_reminders([(case, done)], lang, now)

    def later_reminder(self, case: Case, lang: str, action: str, now: dt.datetime) -> Screen:
        """The reminder someone asked for, with a button straight back to that action."""
        text = self._render(
            "ui/later_reminder.html.j2",
            lang,
            title=self._title(case, lang),
            action=self._action_names(lang)[action],
            deadline=deadline(case, now, lang, self.default_timezone),
        )
        # A case-wide action is one tap away; one for an official starts from the list of officials.
        row = ACTION_BY_KEY[action]
        if not row.per_target:
            return Screen(text, [[self._case_action_button(case, row, lang)]])
        return Screen(text, [self._act_button(case, lang)])

    def case_update(
        self,
        case: Case,
        lang: str,
        now: dt.datetime,
        *,
        number: int,
        kind: str,
        text: str,
        letters_sent: int,
        reopened: bool = False,
    ) -> Screen:
        """An update as followers get it: the coordinator's text, then what it changes for them (`reopened`:
        the case was closed until this update)."""
        # The text is the coordinator's Telegram HTML, checked and capped at MAX_UPDATE when written.
        body = self._render(
            "ui/case_update.html.j2",
            lang,
            title=self._title(case, lang),
            ref=ua_reference(case),
            number=number,
            text=Markup(text),
            kind="closed" if case.status == Status.closed else kind,
            deadline=deadline(case, now, lang, self.default_timezone),
            letters_sent=letters_sent,
            reopened=reopened,
        )
        _ = self._gettext(lang)
        # News of a closed case is still news of a closed case: nothing to act on.
        closed = kind == "closed" or case.status == Status.closed
        rows = [] if closed else [self._act_button(case, lang)]
        rows.append([Button(label("📋", _("The case")), callback=encode("card", case.id))])
        return Screen(body, rows)

    def duration_words(self, value: dt.timedelta, lang: str) -> str:
        return format_timedelta(value, threshold=1.0, locale=_locale(lang))

    def later_toast(self, lang: str, after: dt.timedelta) -> Toast:
        return self.toast("later_set", lang, after=self.duration_words(after, lang))

    def _when(self, at: dt.datetime, lang: str, zone: str) -> str:
        return format_datetime(at.astimezone(ZoneInfo(zone)), "d MMM y, HH:mm", locale=_locale(lang))

    def _what(self, job: PlannedLike, lang: str, cases: dict[str, Case]) -> str:
        _ = self._gettext(lang)
        case = cases.get(job.case_id or "")
        title = self._title(case, lang, 60) if case else (job.case_id or "")
        if job.kind == "reminder":
            span = parse_duration(job.detail)
            if not span:
                return _("deadline reminder on the last day, for {title}").format(title=title)
            return _("deadline reminder {span} before, for {title}").format(
                span=self.duration_words(span, lang), title=title
            )
        if job.kind == "broadcast" and not job.detail:
            return _("a scheduled broadcast")
        if job.kind == "broadcast":
            return _("broadcast to {audience}").format(audience=self._audience_words(job.detail, lang, cases))
        return job.kind

    def _audience_words(self, raw: str, lang: str, cases: dict[str, Case]) -> str:
        import json

        data: dict[str, Any] = json.loads(raw) if raw else {}
        case = cases.get(data.get("case_id") or "")
        return self.audience_name(lang, data.get("kind", "all"), case, data.get("language"))  # type: ignore[attr-defined]

    def missed(
        self,
        lang: str,
        job: PlannedLike,
        due: dt.datetime,
        grace: dt.timedelta,
        cases: dict[str, Case],
        zone: str,
        *,
        failed: bool = False,
    ) -> str:
        """To coordinators: a job the bot was down for (beyond the grace window), or one that failed."""
        return self._render(
            "ui/sched_missed.html.j2",
            lang,
            what=self._what(job, lang, cases),
            due=self._when(due, lang, zone),
            grace=self.duration_words(grace, lang),
            failed=failed,
        )

    def number_words(self, value: int, lang: str) -> str:
        return format_number(value, lang)

    # --- /update ----------------------------------------------------------------------------------

    def update_case_picker(self, lang: str, cases: list[Case]) -> Screen:
        _ = self._gettext(lang)
        rows = [
            [
                Button(
                    ("🔒 " if c.status.value == "closed" else "📌 ") + self._button_title(c, lang),
                    callback=encode("upc", c.id),
                )
            ]
            for c in cases[:20]
        ]
        return Screen(self._render("ui/up_pick_case.html.j2", lang, empty=not cases), rows)

    def update_kind_picker(self, lang: str, case: Case) -> Screen:
        """What the update changes; a closed case offers only reopening it (bot.content.states.check_change)."""
        _ = self._gettext(lang)
        closed = case.status == Status.closed
        if closed:
            rows = [
                [Button(label("🔓", _("Reopen with news")), callback=encode("upk", "news", "r"))],
                [Button(label("🔓", _("Reopen with a new deadline")), callback=encode("upk", "extended", "r"))],
            ]
        else:
            rows = [
                [Button(label("📰", _("News; the case stays open")), callback=encode("upk", "news", ""))],
                [Button(label("📅", _("The deadline is extended")), callback=encode("upk", "extended", ""))],
                [Button(label("🔒", _("Closed: no further action")), callback=encode("upk", "closed", ""))],
            ]
        text = self._render(
            "ui/up_kind.html.j2", lang, title=self._title(case, lang), ref=ua_reference(case), closed=closed
        )
        return Screen(text, rows)

    def change_refused(self, lang: str, refused: Any, *, cli: bool = False) -> str:
        """Why an update cannot go out (a bot.content.states.ChangeRefused), in chat and in `rrbot update` alike."""
        after = self.day(refused.after, lang) if refused.after else ""
        return self.message("up_refused", lang, reason=refused.reason, after=after, cli=cli)

    def update_confirm(
        self,
        lang: str,
        count: int,
        token: str,
        *,
        versions: list[tuple[str, int]] | None = None,
        offer: list[str] | None = None,
    ) -> Screen:
        """Under the preview: how many followers, who gets which language version of the text (`versions`:
        code and followers, the first one written first; shown when there are several); Send, Send to me
        first, Add a version in each language of `offer`, Cancel."""
        _ = self._gettext(lang)
        rows = [
            [
                Button(label("📨", _("Send")), callback=encode("upd", "send", token)),
                Button(label("✖️", _("Cancel")), callback=encode("upd", "cancel", token)),
            ],
            [Button(label("🧪", _("Send to me first")), callback=encode("upt", token))],
        ]
        for code in offer or []:
            name = language_name(code, lang)
            add = _("Add a version in %(language)s") % {"language": name}
            rows.append([Button(label("➕", add), callback=encode("upv", "add", code, token))])
        shown = [{"name": language_name(code, lang), "count": n} for code, n in versions or []]
        return Screen(self._render("ui/up_confirm.html.j2", lang, count=count, versions=shown), rows)

    def update_version_prompt(self, lang: str, code: str, token: str) -> Screen:
        """Asks for the update's text in another language; the button gives up on that version."""
        _ = self._gettext(lang)
        text = self._render("ui/bc_version_prompt.html.j2", lang, language=language_name(code, lang))
        drop = Button(label("✖️", _("No version in this language")), callback=encode("upv", "drop", code, token))
        return Screen(text, [[drop]])

    def day(self, value: dt.date, lang: str) -> str:
        return format_date(value, lang)

    def when(self, at: dt.datetime, lang: str, zone: str) -> str:
        return self._when(at, lang, zone)
