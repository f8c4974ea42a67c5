"""Coordinator screens: composing a broadcast, its progress, statistics and the command menu.

No aiogram here, and no delivery engine either: progress arrives as any object with the
attributes of ``bot.delivery.Progress`` (id, state, total, delivered, blocked, not_found,
failed, left, rate, eta_seconds).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from babel.dates import format_date as babel_format_date
from babel.dates import format_timedelta
from babel.numbers import format_decimal, format_percent

from bot.content.actions import ACTION_TABLE
from bot.content.models import Case, Status
from bot.delivery.paid import NO_STARS, PRICE, Cost, stars
from bot.ground.i18n import UI_LANGUAGES
from bot.render.callbacks import encode
from bot.render.cases import CaseScreens, label
from bot.render.formatting import (
    _locale,
    deadline,
    format_date,
    language_name,
    own_language_name,
    ua_reference,
)
from bot.render.markup import MAX_CAPTION, fits
from bot.render.screen import Button, Screen
from bot.render.texts import TextScreens

# How many cases the case picker of a broadcast offers (open ones first, newest first).
PICKER_CASES = 20
# Days of pledges, and officials written to, shown per case in the /stats text; the chart and the CSV have them all.
STATS_DAYS = 7
STATS_OFFICIALS = 5
STATS_WEEK = 7  # days of "last 7 days" in the /stats overview
STATS_BUTTONS = 20  # cases with a button under the /stats overview


def _short_date(day: str, lang: str) -> str:
    """ "12 May" / "12 мая": the year is the current one, or the chart says which."""
    return babel_format_date(dt.date.fromisoformat(day), "d MMM", locale=_locale(lang))


class ProgressLike(Protocol):
    id: str
    state: Any  # a bot.delivery.State (a str enum)
    total: int
    delivered: int
    blocked: int
    not_found: int
    failed: int

    @property
    def left(self) -> int: ...

    @property
    def rate(self) -> float: ...

    @property
    def eta_seconds(self) -> float | None: ...


class CoordinatorScreens(CaseScreens, TextScreens):
    # --- command menu -------------------------------------------------------------------------

    def coordinator_commands(self, lang: str) -> list[tuple[str, str]]:
        """The activist commands plus the coordinator's own, for a coordinator's chat scope."""
        _ = self._gettext(lang)
        return [
            *self.commands(lang),
            ("import", _("Import an Urgent Action and publish it")),
            ("broadcast", _("Send a message to activists")),
            ("approval", _("Another coordinator's approval before big sends")),
            ("stats", _("Subscribers and pledges, with a chart")),
            ("export", _("Figures as CSV files, in a zip")),
            ("update", _("Post an update of a case")),
            ("schedule", _("What is scheduled, and when")),
            ("broadcasts", _("Recent sends and how they went")),
            ("drafts", _("Messages you wrote and did not send")),
            ("audit", _("Who did what, and when")),
            ("coordinators", _("Who coordinates; owners add and remove")),
            ("reload", _("Read the case files again")),
            ("cancel", _("Stop an import, a broadcast or an update")),
        ]

    # --- composing ------------------------------------------------------------------------------

    def broadcast_prompt(self, lang: str) -> str:
        return self._render("ui/bc_prompt.html.j2", lang, limit=4096, caption_limit=MAX_CAPTION)

    def broadcast_too_long(self, lang: str, *, length: int, limit: int, photo: bool) -> str:
        return self._render("ui/bc_too_long.html.j2", lang, length=length, limit=limit, photo=photo)

    def broadcast_audience_picker(self, lang: str, token: str, *, parts: int = 1, length: int = 0) -> Screen:
        """Who gets the message: everyone, a case's subscribers, those who have not acted, one language.
        A text that came in parts says how many and how long."""
        _ = self._gettext(lang)
        rows = [
            [Button(label("👥", _("Everyone")), callback=encode("bca", "all"))],
            [Button(label("🔔", _("Subscribers of a case")), callback=encode("bca", "case"))],
            [Button(label("✍️", _("Subscribers who have not acted yet")), callback=encode("bca", "na"))],
            [Button(label("🌐", _("Everyone, in one language")), callback=encode("bca", "lang"))],
            [Button(label("✖️", _("Cancel")), callback=encode("bcd", "cancel", token))],
        ]
        return Screen(self._render("ui/bc_audience.html.j2", lang, parts=parts, length=length), rows)

    def broadcast_case_picker(self, lang: str, kind: str, cases: list[Case]) -> Screen:
        """kind "case" (every subscriber) or "na" (subscribers who have not acted yet)."""
        _ = self._gettext(lang)
        rows = [
            [
                Button(
                    ("🔒 " if case.status == Status.closed else "📌 ") + self._button_title(case, lang),
                    callback=encode("bcc", kind, case.id),
                )
            ]
            for case in cases[:PICKER_CASES]
        ]
        rows.append([Button(label("⬅️", _("Back")), callback=encode("bca", "menu"))])
        return Screen(self._render("ui/bc_pick_case.html.j2", lang, not_acted=kind == "na", empty=not cases), rows)

    def broadcast_language_picker(self, lang: str) -> Screen:
        _ = self._gettext(lang)
        rows = [[Button(own_language_name(code), callback=encode("bcl", code))] for code in UI_LANGUAGES]
        rows.append([Button(label("⬅️", _("Back")), callback=encode("bca", "menu"))])
        return Screen(self._render("ui/bc_pick_language.html.j2", lang), rows)

    def audience_name(
        self, lang: str, kind: str, case: Case | None = None, language: str | None = None, *, case_id: str | None = None
    ) -> str:
        """The audience in words: "everyone", "subscribers of “…” who have not acted yet", ...

        `case_id` names a case no longer in the files (an old send in /broadcasts)."""
        _ = self._gettext(lang)
        title = f"{self._title(case, lang, 80)} ({ua_reference(case)})" if case else (case_id or "")
        if kind == "case":
            return _("subscribers of “%(case)s”") % {"case": title}
        if kind == "not-acted":
            return _("subscribers of “%(case)s” who have not acted yet") % {"case": title}
        if kind == "not-written":
            return _("subscribers of “%(case)s” who have not written yet") % {"case": title}
        if language:
            return _("everyone whose bot language is %(language)s") % {"language": language_name(language, lang)}
        return _("everyone")

    def broadcast_audience_set(self, lang: str, audience: str) -> Screen:
        """The audience picker once an audience is chosen: what was chosen, no buttons left to tap."""
        return Screen(self._render("ui/bc_audience_set.html.j2", lang, audience=audience))

    def stars(self, nanostars: int, lang: str) -> str:
        """An amount of Telegram Stars as a number: "120", "0.3", "1 234,5"."""
        return format_decimal(stars(nanostars), format="#,##0.#", locale=_locale(lang))

    def _cost_context(self, cost: Cost | None, lang: str) -> dict[str, Any]:
        if cost is None:
            return {"cost": None}
        return {
            "cost": self.stars(cost.price, lang),
            "price": self.stars(PRICE, lang),
            "balance": None if cost.balance is None else self.stars(cost.balance, lang),
            "missing": self.stars(cost.missing, lang) if cost.short else None,
        }

    def broadcast_confirm(
        self,
        lang: str,
        *,
        audience: str,
        count: int,
        token: str,
        cost: Cost | None = None,
        versions: list[tuple[str, int, int, int]] | None = None,
        offer: list[str] | None = None,
        urgent: bool = False,
    ) -> Screen:
        """Under the preview: the audience and its size, who gets which language version (`versions`: code,
        recipients, parts, characters; the first one written first), what it costs in Stars when the rate
        is a paid one; Send / Send later / Send to me first / Add a version in each language of `offer` /
        Change audience / Cancel, and whether it is urgent; no Send while the bot's balance is short."""
        _ = self._gettext(lang)
        rows = []
        if count and not (cost and cost.short):
            rows.append(
                [
                    Button(label("📣", _("Send")), callback=encode("bcd", "send", token)),
                    Button(label("🕒", _("Send later")), callback=encode("bcw", token)),
                ]
            )
            rows.append([self.urgent_button(lang, token, urgent)])
        rows.append([Button(label("🧪", _("Send to me first")), callback=encode("bct", token))])
        rows += self._version_buttons(lang, offer or [], lambda code: encode("bcv", "add", code, token))
        rows.append([Button(label("⬅️", _("Change audience")), callback=encode("bca", "menu"))])
        rows.append([Button(label("✖️", _("Cancel")), callback=encode("bcd", "cancel", token))])
        shown = self._versions(lang, versions or [])
        first = shown[0] if shown else {"parts": 1, "length": 0}
        text = self._render(
            "ui/bc_confirm.html.j2",
            lang,
            audience=audience,
            count=count,
            parts=first["parts"],
            length=first["length"],
            versions=shown,
            **self._cost_context(cost, lang),
        )
        return Screen(text, rows)

    def urgent_button(self, lang: str, token: str, urgent: bool) -> Button:
        """The draft's quiet-hours choice; a tap turns it over (bot.ground.quiet)."""
        _ = self._gettext(lang)
        if urgent:
            return Button(label("🚨", _("Urgent: now, silently at night")), callback=encode("bcu", token, "off"))
        return Button(label("🌙", _("Not urgent: waits for morning")), callback=encode("bcu", token, "on"))

    def _versions(self, lang: str, versions: list[tuple[str, int, int, int]]) -> list[dict[str, Any]]:
        return [
            {"name": language_name(code, lang), "count": count, "parts": parts, "length": length}
            for code, count, parts, length in versions
        ]

    def _version_buttons(self, lang: str, offer: list[str], callback: Any) -> list[list[Button]]:
        """ "Add a Russian version", one row per language some of the audience read and no version is in."""
        _ = self._gettext(lang)
        return [
            [
                Button(
                    label("➕", _("Add a version in %(language)s") % {"language": language_name(code, lang)}),
                    callback=callback(code),
                )
            ]
            for code in offer
        ]

    def broadcast_version_prompt(self, lang: str, code: str, token: str) -> Screen:
        """Asks for the message in another language; the button gives up on that version."""
        _ = self._gettext(lang)
        text = self._render("ui/bc_version_prompt.html.j2", lang, language=language_name(code, lang))
        return Screen(
            text, [[Button(label("✖️", _("No version in this language")), callback=encode("bcv", "drop", code, token))]]
        )

    def broadcast_version_status(self, lang: str, code: str, token: str, *, parts: int, length: int) -> Screen:
        """A version as it arrives, part by part: its size; Preview when it is all there, or Remove."""
        _ = self._gettext(lang)
        text = self._render(
            "ui/bc_version_status.html.j2", lang, language=language_name(code, lang), parts=parts, length=length
        )
        rows = [
            [Button(label("👁", _("Preview")), callback=encode("bcv", "done", code, token))],
            [Button(label("✖️", _("Remove this version")), callback=encode("bcv", "drop", code, token))],
        ]
        return Screen(text, rows)

    def version_label(self, lang: str, code: str, count: int) -> str:
        """Above each version in a preview of several: its language and how many get it."""
        return self._render("ui/bc_version_label.html.j2", lang, language=language_name(code, lang), count=count)

    # --- a broadcast under way ------------------------------------------------------------------

    def _state_name(self, state: str, lang: str) -> str:
        _ = self._gettext(lang)
        names = {
            "preparing": _("preparing the list of recipients"),
            "queued": _("waiting to start"),
            "running": _("sending"),
            "paused": _("paused"),
            "cancelled": _("cancelled"),
            "done": _("done"),
        }
        return names.get(str(state), str(state))

    def state_words(self, progress: ProgressLike, lang: str) -> str:
        """Its state in words: "waiting for morning" once all that is left waits for people's morning."""
        _ = self._gettext(lang)
        state = str(getattr(progress.state, "value", progress.state))
        waiting = getattr(progress, "waiting", 0)
        if state == "running" and waiting and progress.left <= waiting:
            return _("waiting for morning")
        return self._state_name(state, lang)

    def _progress_context(self, progress: ProgressLike, lang: str) -> dict[str, Any]:
        _ = self._gettext(lang)
        # Those in their night count as left, but no speed tells when their morning comes: no time to go then.
        waiting = getattr(progress, "waiting", 0)
        eta = progress.eta_seconds if not waiting else None
        state = str(getattr(progress.state, "value", progress.state))
        sleeping = bool(state == "running" and waiting and progress.left <= waiting)
        return {
            "number": progress.id,
            "purpose": getattr(progress, "purpose", None),  # what it carries: an alert, an update, a reminder
            "title": getattr(progress, "title", ""),  # a plain message's first line: how coordinators know it
            "state": self.state_words(progress, lang),
            "finished": state in ("done", "cancelled"),
            "total": progress.total,
            "delivered": progress.delivered,
            "blocked": progress.blocked + progress.not_found,
            "failed": progress.failed,
            "uncertain": getattr(progress, "uncertain", 0),
            "left": progress.left,
            "rate": format_decimal(round(progress.rate, 1), format="#,##0.0", locale=_locale(lang)),
            "eta": self._duration(eta, lang) if eta is not None and state == "running" else None,
            "sending": state == "running" and progress.rate > 0 and not sleeping,
            "limited": getattr(progress, "limited", 0),
            "pace": format_percent(pace, locale=_locale(lang))
            if (pace := getattr(progress, "pace", 1.0)) < 1
            else None,
            "no_stars": getattr(progress, "paused_for", None) == NO_STARS,
            "waiting": waiting,  # in their night, held until their morning
            "versions": self._delivered_by_version(getattr(progress, "versions", None) or {}, lang),
        }

    def _delivered_by_version(self, versions: dict[str, int], lang: str) -> str:
        """ "English 25 · Russian 15": how many got each language version (a broadcast in several only)."""
        return " · ".join(
            f"{language_name(code, lang) if code else '—'} {format_decimal(n, locale=_locale(lang))}"
            for code, n in sorted(versions.items(), key=lambda item: -item[1])
        )

    def _duration(self, seconds: float, lang: str) -> str:
        return format_timedelta(
            dt.timedelta(seconds=max(seconds, 1)), granularity="second", threshold=1.0, locale=_locale(lang)
        )

    def broadcast_progress(self, progress: ProgressLike, lang: str, *, confirm_cancel: bool = False) -> Screen:
        """Delivered / blocked / failed / left, speed, time left and state, with Pause/Resume/Cancel."""
        _ = self._gettext(lang)
        context = self._progress_context(progress, lang)
        text = self._render("ui/bc_progress.html.j2", lang, confirm_cancel=confirm_cancel, **context)
        state = str(getattr(progress.state, "value", progress.state))
        bc = progress.id
        if context["finished"]:
            return Screen(text)
        if confirm_cancel:
            return Screen(
                text,
                [
                    [
                        Button(label("⛔", _("Yes, stop sending")), callback=encode("bcs", bc, "stop")),
                        Button(label("↩️", _("No, go on")), callback=encode("bcs", bc, "refresh")),
                    ]
                ],
            )
        first = []
        if state == "paused":
            first.append(Button(label("▶️", _("Resume")), callback=encode("bcs", bc, "resume")))
        else:
            first.append(Button(label("⏸", _("Pause")), callback=encode("bcs", bc, "pause")))
        first.append(Button(label("🔄", _("Refresh")), callback=encode("bcs", bc, "refresh")))
        return Screen(text, [first, [Button(label("✖️", _("Cancel")), callback=encode("bcs", bc, "cancel"))]])

    def broadcast_paused(self, progress: ProgressLike, lang: str) -> Screen:
        """A broadcast paused by itself, as a message of its own: why, who is still waiting, what to do; Resume."""
        context = self._progress_context(progress, lang)
        text = self._render("ui/bc_paused.html.j2", lang, price=self.stars(PRICE, lang), **context)
        return Screen(text, self.broadcast_progress(progress, lang).buttons)

    def broadcast_report(self, progress: ProgressLike, lang: str, *, took: float | None = None) -> str:
        """The final word once a broadcast is done or cancelled: a message of its own."""
        context = self._progress_context(progress, lang)
        return self._render("ui/bc_report.html.j2", lang, took=self._duration(took, lang) if took else None, **context)

    # --- figures ----------------------------------------------------------------------------------

    def action_names(self, lang: str) -> dict[str, str]:
        return self._action_names(lang)

    def coordinator_stats(
        self,
        figures: Any,
        cases: dict[str, Case],
        lang: str,
        today: dt.date,
        *,
        limit: int = MAX_CAPTION,
        sent: dict[str, int] | None = None,
    ) -> str:
        """/stats as text: users, then per case subscribers, pledges per action and the last days
        (and the broadcasts its chart marks, sent: case id -> how many).

        figures: bot.pledges.aggregates.Figures. Cases are dropped from the end (with a note) until the
        text fits `limit` (a photo caption by default); `limit=4096` for a message.
        """
        names = self.action_names(lang)
        items = []
        for figure in figures.cases:
            case = cases.get(figure.case_id)
            days = sorted(figure.daily)[-STATS_DAYS:]
            items.append(
                {
                    "title": self._title(case, lang, 60) if case else figure.case_id,
                    "ref": ua_reference(case) if case else figure.case_id,
                    "closed": bool(case and case.status == Status.closed),
                    "subscribers": figure.subscribers,
                    "total": sum(figure.pledges.values()),
                    "actions": [
                        (a.emoji, names[a.key], figure.pledges[a.key])
                        for a in ACTION_TABLE
                        if figure.pledges.get(a.key)
                    ],
                    "days": [(_short_date(day, lang), sum(figure.daily[day].values())) for day in days],
                    "officials": self._official_lines(case, figure.officials, lang),
                    "sent": (sent or {}).get(figure.case_id, 0),
                }
            )

        def build(shown: int) -> str:
            return self._render(
                "ui/coord_stats.html.j2",
                lang,
                date=format_date(today, lang),
                users=figures.users,
                cases=items[:shown],
                hidden=len(items) - shown,
            )

        for shown in range(len(items), -1, -1):
            text = build(shown)
            if fits(text, limit):
                return text
        return build(0)

    def officials_by_name(
        self, case: Case | None, officials: dict[str, dict[str, int]], lang: str, limit: int | None = None
    ) -> list[tuple[str, dict[str, int]]]:
        """(name, {action: count}) of the officials most written to, in the case file's order among equals;
        an official the case file no longer has goes by its id."""
        order = {t.id: i for i, t in enumerate(case.targets)} if case else {}
        ranked = sorted(officials.items(), key=lambda kv: (-sum(kv[1].values()), order.get(kv[0], len(order)), kv[0]))
        return [(self._official_name(case, official, lang, 40), counts) for official, counts in ranked[:limit]]

    def _official_lines(
        self, case: Case | None, officials: dict[str, dict[str, int]], lang: str
    ) -> list[tuple[str, list[tuple[str, int]]]]:
        return [
            (name, [(a.emoji, counts[a.key]) for a in ACTION_TABLE if counts.get(a.key)])
            for name, counts in self.officials_by_name(case, officials, lang, STATS_OFFICIALS)
        ]

    def stats_overview(
        self,
        figures: Any,
        cases: list[Case],
        lang: str,
        now: dt.datetime,
        *,
        sent: dict[str, int],
        charted: int,
        limit: int = MAX_CAPTION,
    ) -> Screen:
        """/stats without a case: a few lines per open case in the order given (bot.pledges.aggregates.active_first),
        cut from the end to fit `limit`; a button per case opens its own chart. figures: of these cases.

        sent: case id -> broadcasts marked on its chart; charted: how many cases the chart shows.
        """
        by_id = {f.case_id: f for f in figures.cases}
        week = {
            case.id: sum(
                sum(counts.values())
                for day, counts in by_id[case.id].daily.items()
                if (now.date() - dt.date.fromisoformat(day)).days < STATS_WEEK
            )
            for case in cases
        }
        items = [
            {
                "ref": ua_reference(case),
                "title": self._title(case, lang, 60),
                "deadline": deadline(case, now, lang, self.default_timezone),
                "subscribers": by_id[case.id].subscribers,
                "total": by_id[case.id].total,
                "week": week[case.id],
                "sent": sent.get(case.id, 0),
            }
            for case in cases
        ]

        def build(shown: int) -> str:
            return self._render(
                "ui/coord_overview.html.j2",
                lang,
                date=format_date(now.date(), lang),
                users=figures.users,
                cases=items[:shown],
                hidden=len(items) - shown,
                charted=charted,
                more=len(cases) > charted,
            )

        text = build(0)
        for shown in range(len(items), -1, -1):
            text = build(shown)
            if fits(text, limit):
                break
        buttons = [
            Button(f"📊 {ua_reference(case)}", callback=encode("sts", case.id)) for case in cases[:STATS_BUTTONS]
        ]
        return Screen(text, [buttons[i : i + 2] for i in range(0, len(buttons), 2)])

    def export_caption(self, lang: str, today: dt.date, *, semicolon: bool = False) -> str:
        return self._render("ui/coord_export.html.j2", lang, date=format_date(today, lang), semicolon=semicolon)

    def export_screen(self, lang: str, today: dt.date) -> Screen:
        """The caption of /export's zip, with a button for the same files separated by semicolons."""
        _ = self._gettext(lang)
        button = Button(label("📄", _("Separated by semicolons")), callback=encode("exp", "semicolon"))
        return Screen(self.export_caption(lang, today), [[button]])

    def chart_title(self, case: Case, lang: str) -> str:
        """The reference first: a title too long for the chart is cut at its end, and the reference must stay."""
        return f"{ua_reference(case)} · {self._title(case, lang, 90)}"

    def chart_labels(self, lang: str, deadline: dt.date | None) -> dict[str, Any]:
        """Keyword arguments for bot.render.charts.pledges_chart in the coordinator's language."""
        _ = self._gettext(lang)
        return {
            "actions": self.action_names(lang),
            "per_day": _("Pledges per day"),
            "total_label": _("All pledges so far"),
            "empty": _("No pledges yet"),
            "deadline_label": (_("Deadline: %(date)s") % {"date": format_date(deadline, lang)}) if deadline else "",
            "deadline_name": _("Deadline"),
            # Dotted lines where a message to the case's followers (an alert, an update, a reminder) began to go out.
            "broadcasts_label": _("Broadcasts"),
            "officials_title": _("People who wrote to each official"),
            "lang": lang,
        }
