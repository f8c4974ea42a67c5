"""Coordinator screens of what happened: recent sends (/broadcasts), the audit log (/audit), who coordinates.

No aiogram here. Sends arrive as bot.publishing.history rows, audit entries as bot.ground.audit entries.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.content.models import Case
from bot.ground.audit import ACTIONS, BOT, CLI, Action, Entry, Page, title_of
from bot.render.callbacks import encode
from bot.render.cases import label
from bot.render.coordinator import CoordinatorScreens
from bot.render.formatting import ua_reference
from bot.render.markup import shorten
from bot.render.screen import Button, Screen
from bot.render.updates import LifecycleScreens

if TYPE_CHECKING:
    from bot.publishing.drafts import SavedMessage
    from bot.publishing.history import SentPage

BUTTON_TITLE = 32  # characters of a send's title on its button


class HistoryScreens(LifecycleScreens, CoordinatorScreens):
    # --- the table of actions ---------------------------------------------------------------------

    def action_labels(self, lang: str) -> dict[Action, tuple[str, str]]:
        """Every audit action (bot.ground.audit.ACTIONS): its emoji and its name, as nouns (no gendered verbs)."""
        _ = self._gettext(lang)
        labels = {
            Action.send: ("📣", _("Message sent")),
            Action.schedule: ("🗓", _("Message scheduled")),
            Action.pause: ("⏸", _("Sending paused")),
            Action.resume: ("▶️", _("Sending resumed")),
            Action.cancel: ("✖️", _("Cancelled")),
            Action.publish: ("🆕", _("Case published")),
            Action.update: ("📰", _("Case update")),
            Action.close: ("🔒", _("Case closed")),
            Action.reload: ("🔄", _("Case files reloaded")),
            Action.role_add: ("➕", _("Coordinator added")),
            Action.role_remove: ("➖", _("Coordinator removed")),
            Action.move: ("🕒", _("Scheduled message moved")),
            Action.approve: ("✅", _("Send approved")),
            Action.decline: ("❌", _("Send declined")),
            Action.approval_rule: ("🗳", _("Approval rule changed")),
        }
        assert set(labels) == set(ACTIONS), "every audit action has a label"
        return labels

    def who(self, lang: str, by: str, name: str | None) -> str:
        """A coordinator's name, "former coordinator" once they used /forget, "command line", "the bot"."""
        _ = self._gettext(lang)
        if by == CLI:
            return _("command line")
        if by == BOT or not by:
            return _("the bot")
        return name or _("former coordinator")

    def _at(self, at: float, lang: str) -> str:
        return self._when(dt.datetime.fromtimestamp(at, dt.UTC), lang, self.default_timezone)

    # --- /audit -------------------------------------------------------------------------------------

    def audit_page(self, lang: str, page: Page, cases: dict[str, Case]) -> Screen:
        """Newest first; Older and Newer page through the whole log."""
        _ = self._gettext(lang)
        labels = self.action_labels(lang)
        rows = []
        for entry in page.entries:
            icon, name = labels[entry.action]
            rows.append(
                {
                    "icon": icon,
                    "action": name,
                    "who": self.who(lang, entry.by, entry.name),
                    "whom": self.who(lang, entry.whom, entry.whom_name) if entry.whom else None,
                    "when": self._at(entry.at, lang),
                    "title": entry.title or None,
                    "case": self._case_ref(entry, cases),
                }
            )
        buttons = []
        if page.entries and page.newer:
            buttons.append(Button(label("⬅️", _("Newer")), callback=encode("aud", "n", page.entries[0].id)))
        if page.older:
            buttons.append(Button(label("➡️", _("Older")), callback=encode("aud", "o", page.older)))
        return Screen(
            self._render("ui/audit.html.j2", lang, entries=rows, zone=self.default_timezone),
            [buttons] if buttons else [],
        )

    def _case_ref(self, entry: Entry, cases: dict[str, Case]) -> str | None:
        case = cases.get(entry.case)
        if case is None:
            return entry.case or None
        reference = ua_reference(case)
        return None if reference and reference in entry.title else reference

    # --- /broadcasts ----------------------------------------------------------------------------------

    def sends_page(self, lang: str, page: SentPage, cases: dict[str, Case], size: int, *, drafts: int = 0) -> Screen:
        """Recent sends, newest first: title, who, when, audience, outcome, pledges after; a button to open each."""
        _ = self._gettext(lang)
        rows: list[dict[str, Any]] = []
        buttons: list[list[Button]] = []
        for number, sent in enumerate(page.sends, page.offset + 1):
            progress = sent.progress
            audience = progress.audience
            case = cases.get(audience.case_id or "") if audience else None
            title = self._render(
                "ui/bc_title.html.j2", lang, number=progress.id, purpose=progress.purpose, title=progress.title
            )
            rows.append(
                {
                    "n": number,
                    "title": title,
                    "state": self.state_words(progress, lang),
                    "who": self.who(lang, "someone" if sent.by_someone else BOT, sent.by),
                    "when": self._at(progress.started_at or progress.send_at or progress.created_at, lang),
                    "audience": self.audience_name(
                        lang, audience.kind.value, case, audience.language, case_id=audience.case_id
                    )
                    if audience
                    else "",
                    "delivered": progress.delivered,
                    "total": progress.total,
                    "blocked": progress.blocked + progress.not_found,
                    "failed": progress.failed,
                    "pledges": sent.pledges,
                }
            )
            plain = shorten(" ".join(title.replace("«", "").replace("»", "").split()), BUTTON_TITLE)
            buttons.append([Button(f"📊 {number}. {plain}", callback=encode("bco", progress.id))])
        paging = []
        if page.offset:
            paging.append(Button(label("⬅️", _("Newer")), callback=encode("bch", max(page.offset - size, 0))))
        if page.more:
            paging.append(Button(label("➡️", _("Older")), callback=encode("bch", page.offset + size)))
        if paging:
            buttons.append(paging)
        if drafts:
            buttons.append(
                [
                    Button(
                        label("📝", _("My drafts (%(count)s)") % {"count": drafts}), callback=encode("drf", "list", "")
                    )
                ]
            )
        return Screen(self._render("ui/sends.html.j2", lang, sends=rows, zone=self.default_timezone), buttons)

    # --- /drafts --------------------------------------------------------------------------------------

    def drafts_screen(self, lang: str, drafts: list[SavedMessage]) -> Screen:
        """A coordinator's messages written and not sent, newest first: Resume or Delete each."""
        _ = self._gettext(lang)
        rows, buttons = [], []
        for number, draft in enumerate(reversed(drafts), 1):
            title = title_of(draft.text) or _("(a photo without a caption)")
            rows.append({"n": number, "title": title, "when": self._at(draft.at, lang)})
            buttons.append(
                [
                    Button(f"✏️ {number}. {shorten(title, BUTTON_TITLE)}", callback=encode("drf", "open", draft.token)),
                    Button(label("🗑", _("Delete")), callback=encode("drf", "drop", draft.token)),
                ]
            )
        return Screen(self._render("ui/drafts.html.j2", lang, drafts=rows, zone=self.default_timezone), buttons)

    # --- /coordinators ---------------------------------------------------------------------------------

    def coordinators_screen(
        self, lang: str, owners: list[tuple[int, str | None]], added: list[tuple[int, str | None]], *, owner: bool
    ) -> Screen:
        """Owners (from the settings) and the coordinators they added; an owner gets Remove and Add buttons."""
        _ = self._gettext(lang)

        def name(user_id: int, known: str | None) -> str:
            return known or _("id %(id)s") % {"id": user_id}

        buttons = []
        if owner:
            for user_id, known in added:
                text = label("➖", _("Remove %(name)s") % {"name": shorten(name(user_id, known), 40)})
                buttons.append([Button(text, callback=encode("crd", "rm", user_id))])
            buttons.append([Button(label("➕", _("Add a coordinator")), callback=encode("crd", "add", ""))])
        text = self._render(
            "ui/coordinators.html.j2",
            lang,
            owners=[name(u, n) for u, n in owners],
            added=[name(u, n) for u, n in added],
            owner=owner,
        )
        return Screen(text, buttons)

    def coordinator_add_buttons(self, lang: str) -> tuple[str, str]:
        """The prompt's reply keyboard: the button that shares a person (Telegram's user picker), and Cancel."""
        _ = self._gettext(lang)
        return label("👤", _("Choose a person")), label("✖️", _("Cancel"))
