"""/schedule as coordinators act on it: each scheduled send with its text, audience, size, time and author,
and Preview / Change time / Cancel; the question asked when a send's case changes. No aiogram, no scheduler:
sends arrive as any object with the attributes of ``scheduler.sends.Send``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from bot.content.models import Case
from bot.delivery import Audience, Payload
from bot.render.callbacks import encode
from bot.render.cases import label
from bot.render.coordinator import CoordinatorScreens
from bot.render.formatting import ua_reference
from bot.render.markup import shorten, visible_text
from bot.render.screen import Button, Screen
from bot.render.updates import LifecycleScreens, PlannedLike

FIRST_LINE = 90  # characters of a send's text shown in the list
SHOWN_SENDS = 15  # with three buttons each: a keyboard people can still read


class SendLike(Protocol):
    number: int
    run_at: dt.datetime | None
    payload: Payload
    audience: Audience
    created_by: int | None
    planned_for: dt.datetime | None

    @property
    def held(self) -> bool: ...


class ScheduleScreens(LifecycleScreens, CoordinatorScreens):
    def first_line(self, payload: Payload, lang: str) -> str:
        """What a send says, in a line: its first line of text (a photo's caption), shortened."""
        _ = self._gettext(lang)
        lines = [line.strip() for line in visible_text(payload.for_language(lang).text).splitlines() if line.strip()]
        text = shorten(lines[0], FIRST_LINE) if lines else ""
        if payload.photo:
            return f"🖼 {text}" if text else _("a photo without a caption")
        return text

    def send_author(self, lang: str, name: str | None, *, you: bool = False) -> str:
        """Who scheduled a send: you, a coordinator by name, or the command line (None)."""
        _ = self._gettext(lang)
        if you:
            return _("you")
        if name is None:
            return _("the command line")
        return name or _("another coordinator")

    def _send_item(
        self, send: SendLike, lang: str, size: int | None, who: str, cases: dict[str, Case], zone: str
    ) -> dict[str, Any]:
        case = cases.get(send.audience.case_id or "")
        return {
            "number": send.number,
            "when": self._when(send.run_at, lang, zone) if send.run_at else None,
            "planned": self._when(send.planned_for, lang, zone) if send.planned_for else None,
            "text": self.first_line(send.payload, lang),
            "audience": self.audience_name(lang, send.audience.kind.value, case, send.audience.language),
            "size": size,
            "who": who,
        }

    def schedule_list(
        self,
        lang: str,
        sends: list[tuple[SendLike, int | None, str]],
        reminders: list[PlannedLike],
        cases: dict[str, Case],
        zone: str,
        case: Case | None = None,
    ) -> Screen:
        """/schedule: each send (with its current audience size and who scheduled it), then the reminders."""
        _ = self._gettext(lang)
        items = [self._send_item(send, lang, size, who, cases, zone) for send, size, who in sends]
        shown = items[:SHOWN_SENDS]
        planned = [
            {"when": self._when(job.run_at, lang, zone), "what": self._what(job, lang, cases)}
            for job in sorted(reminders, key=lambda j: j.run_at or dt.datetime.max.replace(tzinfo=dt.UTC))
            if job.run_at is not None
        ]
        title = self._title(case, lang, 80) if case else None
        text = self._fit(
            lambda n: self._render(
                "ui/sch_list.html.j2",
                lang,
                sends=shown,
                more=len(items) - len(shown),
                reminders=planned[:n],
                hidden=len(planned) - min(n, len(planned)),
                title=title,
                zone=zone,
            ),
            start=len(planned) or 1,
            minimum=0,
        )
        rows = [
            [
                Button(
                    label("👁", _("Preview #%(n)s") % {"n": item["number"]}),
                    callback=encode("sch", "preview", item["number"]),
                ),
                Button(
                    label("🕒", _("Time #%(n)s") % {"n": item["number"]}),
                    callback=encode("sch", "time", item["number"]),
                ),
                Button(
                    label("✖️", _("Cancel #%(n)s") % {"n": item["number"]}),
                    callback=encode("sch", "cancel", item["number"]),
                ),
            ]
            for item in shown
        ]
        return Screen(text, rows)

    def schedule_cancel_confirm(
        self, lang: str, send: SendLike, size: int | None, who: str, cases: dict[str, Case], zone: str
    ) -> Screen:
        """Asked before a scheduled send is cancelled: which one it is, in full."""
        _ = self._gettext(lang)
        item = self._send_item(send, lang, size, who, cases, zone)
        rows = [
            [
                Button(label("✖️", _("Yes, cancel it")), callback=encode("sch", "yes", send.number)),
                Button(label("↩️", _("No, keep it")), callback=encode("sch", "list", send.number)),
            ]
        ]
        return Screen(self._render("ui/sch_cancel.html.j2", lang, send=item), rows)

    def schedule_when_prompt(self, lang: str, send: SendLike, zone: str, examples: list[str]) -> Screen:
        """Change time: which send, when it goes now, and how to write the new time (`examples`: times the step
        reads, as "Send later" shows them)."""
        return Screen(
            self._render(
                "ui/sch_when.html.j2",
                lang,
                number=send.number,
                text=self.first_line(send.payload, lang),
                when=self._when(send.run_at or send.planned_for, lang, zone)
                if (send.run_at or send.planned_for)
                else None,
                zone=zone,
                examples=examples,
            )
        )

    def schedule_done(
        self,
        lang: str,
        op: str,
        number: int,
        *,
        when: dt.datetime | None = None,
        zone: str = "UTC",
        broadcast: str = "",
    ) -> str:
        """What became of a send: moved, cancelled, kept; or, for an old button, that it went out or was cancelled."""
        return self._render(
            "ui/sch_done.html.j2",
            lang,
            op=op,
            number=number,
            when=self._when(when, lang, zone) if when else None,
            zone=zone,
            broadcast=broadcast,
        )

    def schedule_case_changed(self, lang: str, send: SendLike, case: Case, kind: str, zone: str) -> Screen:
        """To whoever scheduled a send for a case that changed: keep it, change its time, or cancel it."""
        _ = self._gettext(lang)
        # A deadline that is a day (the usual) reads as that day: its last second, in UTC, would confuse.
        deadline = case.deadline_at(self.default_timezone) if isinstance(case.deadline, dt.datetime) else None
        text = self._render(
            "ui/sch_case_changed.html.j2",
            lang,
            kind=kind,
            ref=ua_reference(case),
            title=self._title(case, lang, 80),
            deadline=self._when(deadline, lang, zone)
            if deadline
            else self.day(case.deadline, lang)
            if case.deadline
            else None,
            number=send.number,
            when=self._when(send.run_at or send.planned_for, lang, zone) if (send.run_at or send.planned_for) else None,
            text=self.first_line(send.payload, lang),
            held=send.held,
            zone=zone,
        )
        keep = _("Send it as planned") if send.held else _("Keep it")
        rows = [
            [Button(label("✅", keep), callback=encode("sch", "keep", send.number))],
            [
                Button(label("🕒", _("Change time")), callback=encode("sch", "time", send.number)),
                Button(label("✖️", _("Cancel it")), callback=encode("sch", "cancel", send.number)),
            ],
        ]
        return Screen(text, rows)
