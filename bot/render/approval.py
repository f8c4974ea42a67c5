"""Coordinator screens of a second coordinator's approval: the owners' rule, a request, its answer. No aiogram."""

from __future__ import annotations

from bot.render.callbacks import encode
from bot.render.cases import label
from bot.render.coordinator import CoordinatorScreens
from bot.render.formatting import language_name
from bot.render.screen import Button, Screen


class ApprovalScreens(CoordinatorScreens):
    def approval_rule(self, lang: str, *, everyone: bool, above: int | None) -> Screen:
        """/approval: when a hand-written send waits for another coordinator, and buttons to change it."""
        _ = self._gettext(lang)
        text = self._render("ui/apv_rule.html.j2", lang, everyone=everyone, above=above)
        toggle = _("Not for sends to everyone") if everyone else _("Require it for sends to everyone")
        rows = [[Button(label("👥", toggle), callback=encode("apr", "all"))]]
        if above is not None:
            rows.append([Button(label("📏", _("No size limit")), callback=encode("apr", "size"))])
        if everyone or above is not None:
            rows.append([Button(label("🔓", _("Turn approval off")), callback=encode("apr", "off"))])
        return Screen(text, rows)

    def approval_waiting(
        self,
        lang: str,
        *,
        audience: str,
        count: int,
        asked: int,
        req_id: str,
        when: str | None = None,
        zone: str = "",
    ) -> Screen:
        """The sender's confirmation, once Send was tapped: it waits; they may withdraw it."""
        _ = self._gettext(lang)
        text = self._render(
            "ui/apv_waiting.html.j2", lang, audience=audience, count=count, asked=asked, when=when, zone=zone
        )
        return Screen(text, [[Button(label("↩️", _("Withdraw")), callback=encode("apv", "drop", req_id))]])

    def approval_ask(
        self,
        lang: str,
        *,
        sender: str,
        audience: str,
        count: int,
        req_id: str,
        when: str | None = None,
        zone: str = "",
    ) -> Screen:
        """To another coordinator, under the preview: Approve or Decline (`when`: the time it is to go out, for a
        send planned for later)."""
        _ = self._gettext(lang)
        text = self._render(
            "ui/apv_ask.html.j2", lang, sender=sender, audience=audience, count=count, when=when, zone=zone
        )
        rows = [
            [
                Button(label("✅", _("Approve")), callback=encode("apv", "yes", req_id)),
                Button(label("❌", _("Decline")), callback=encode("apv", "no", req_id)),
            ]
        ]
        return Screen(text, rows)

    def approval_decided(self, lang: str, verdict: str, name: str, *, later: bool = False) -> Screen:
        """Who decided, and what follows (`later`: a send planned for a time, scheduled once approved)."""
        return Screen(self._render("ui/apv_decided.html.j2", lang, verdict=verdict, name=name, later=later))

    def version_heading(self, lang: str, code: str) -> str:
        """Above each language version of a send shown to its approver."""
        return self._render("ui/apv_version.html.j2", lang, language=language_name(code, lang))
