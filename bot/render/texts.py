"""Short texts: generic messages, toasts, pledge totals, command menu, bot descriptions."""

from __future__ import annotations

import datetime as dt
import html
import logging
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import escape

from bot.content.actions import ACTION_BY_KEY, ACTION_TABLE, LETTER, Action
from bot.content.models import Case
from bot.ground.quiet import COMMON_ZONES, utc_offset
from bot.render.base import RendererBase
from bot.render.callbacks import encode
from bot.render.cases import label
from bot.render.formatting import format_number, language_name, ua_reference
from bot.render.markup import MAX_TOAST, shorten, visible_text
from bot.render.screen import Button, Screen, Toast

logger = logging.getLogger(__name__)


class TextScreens(RendererBase):
    def message(self, name: str, lang: str, /, **ctx: Any) -> str:
        """A generic UI text from templates/ui/<name>.html.j2 (Telegram HTML).

        Extra context is optional everywhere; `case=` (a Case) adds its `title`, and
        mydata accepts the store's shape: data={"prefs", "subscriptions", "pledges", "officials"}, cases={id: Case}.
        """
        if isinstance(ctx.get("case"), Case):
            ctx.setdefault("title", self._title(ctx["case"], lang))
        if name == "help":
            _ = self._gettext(lang)
            ctx.setdefault("commands", self.commands(lang))
            # The help names the buttons exactly as they are labelled.
            ctx.setdefault("act_button", _("What can I do?"))
            ctx.setdefault("sent_button", self._say(LETTER.done, lang))
        if name == "mydata":
            if "data" in ctx:
                ctx = {**ctx, **self._mydata(lang, ctx["data"], ctx.get("cases") or {})}
            else:
                ctx.setdefault("language", language_name(lang, lang))
        return self._render(f"ui/{name}.html.j2", lang, **ctx)

    def screen(self, name: str, lang: str, /, **ctx: Any) -> Screen:
        """message() as a Screen without buttons (for editing a menu message in place)."""
        return Screen(self.message(name, lang, **ctx))

    def toast(self, name: str, lang: str, /, *, alert: bool = False, **ctx: Any) -> Toast:
        """message() as a callback answer: plain text, at most 200 characters."""
        return Toast(shorten(visible_text(self.message(name, lang, **ctx)), MAX_TOAST), alert)

    def stale_toast(self, lang: str) -> Toast:
        return self.toast("stale_button", lang)

    def _action_names(self, lang: str) -> dict[str, str]:
        """Each action's noun in lang, by key, in the table's order."""
        return {a.key: self._say(a.name, lang) for a in ACTION_TABLE}

    def _pledge_row(self, action: str, caller: str) -> Action:
        """The row whose words answer a pledge: an unknown action (logged) gets the letter's."""
        row = ACTION_BY_KEY.get(action)
        if row is None:
            logger.warning("%s: unknown action %r", caller, action)
            return LETTER
        return row

    def _mydata(self, lang: str, data: dict[str, Any], cases: dict[str, Case]) -> dict[str, Any]:
        """The store's /mydata record in words: titles instead of ids, action names translated."""
        prefs = data.get("prefs")
        names = self._action_names(lang)

        def title(case_id: str) -> str:
            case = cases.get(case_id)
            return f"{self._title(case, lang, 80)} ({ua_reference(case)})" if case else case_id

        def official_names(case_id: str) -> list[str]:
            """The officials written to, by name (by id once the case file no longer has them), each once."""
            case, seen = cases.get(case_id), []
            written = (data.get("officials") or {}).get(case_id, [])
            order = {t.id: i for i, t in enumerate(case.targets)} if case else {}
            # In the case file's order, as the menu lists them.
            for _action, official in sorted(written, key=lambda pair: order.get(pair[1], len(order))):
                name = self._official_name(case, official, lang)
                if name not in seen:
                    seen.append(name)
            return seen

        pledges = data.get("pledges") or {}
        saved_lang = getattr(prefs, "lang", None)
        signature = getattr(prefs, "signature", None)
        subscriptions = [title(c) for c in data.get("subscriptions") or []]
        count = sum(len(actions) for actions in pledges.values())
        reminders_off = prefs is not None and not getattr(prefs, "reminders", True)
        stopped = bool(getattr(prefs, "stopped", False))
        timezone = getattr(prefs, "timezone", None)
        return {
            "timezone": self.zone_name(timezone, lang) if timezone else None,
            "alerts": bool(data.get("alerts")),
            "stopped": stopped,
            "discreet": data.get("discreet"),
            "reminders_off": reminders_off,
            "language": language_name(saved_lang, lang) if saved_lang else None,
            "signature": signature,
            "subscriptions": subscriptions,
            "pledges": count,
            "acted": [
                {
                    "title": title(case_id),
                    "actions": ", ".join(names.get(a, a) for a in actions),
                    "officials": ", ".join(official_names(case_id)),
                }
                for case_id, actions in pledges.items()
            ],
            "nothing": not (
                saved_lang
                or timezone
                or signature
                or subscriptions
                or count
                or reminders_off
                or stopped
                or data.get("alerts")
                or data.get("discreet")
            ),
        }

    def _official_name(self, case: Case | None, official: str, lang: str, width: int = 200) -> str:
        """An official's name in lang, by id; the id itself once the case file no longer has them."""
        index = case.target_index(official) if case else None
        return shorten(case.targets[index].name_in(lang), width) if case and index is not None else official

    def neutral_line(self, lang: str) -> str:
        """The first line of every message to someone in discreet mode: what a lock screen shows."""
        _ = self._gettext(lang or self.default_language)
        return "📩 " + _("New message")

    def discreet_menu(self, lang: str, mode: str | None) -> Screen:
        """/discreet: what it does, and the choice (the current one ticked)."""
        _ = self._gettext(lang)
        choices = [
            ("on", _("On, messages kept")),
            ("1h", _("On, deleted after 1 hour")),
            ("1d", _("On, deleted after 1 day")),
            ("off", _("Off")),
        ]
        rows = [
            [Button(("✅ " if (mode or "off") == key else "") + text, callback=encode("disc", key))]
            for key, text in choices
        ]
        return Screen(self.message("discreet", lang, mode=mode), rows)

    def zone_name(self, zone: str, lang: str) -> str:
        """A zone as people know it: 'Moscow' (in lang, for the zones /settings offers), else its city part."""
        _ = self._gettext(lang)
        known = {
            "America/Los_Angeles": _("Los Angeles"),
            "America/New_York": _("New York"),
            "Europe/London": _("London"),
            "Europe/Berlin": _("Berlin"),
            "Europe/Kyiv": _("Kyiv"),
            "Europe/Moscow": _("Moscow"),
            "Asia/Yekaterinburg": _("Yekaterinburg"),
            "Asia/Tashkent": _("Tashkent"),
            "Asia/Almaty": _("Almaty"),
            "Asia/Novosibirsk": _("Novosibirsk"),
        }
        if zone in known:
            return known[zone]
        if zone.startswith("Etc/GMT") and zone[7:] not in ("", "0", "+0", "-0"):
            # POSIX signs, the other way round: Etc/GMT-5 is five hours ahead of UTC, as people write UTC+5.
            ahead = zone[7:]
            return "UTC" + ("+" + ahead[1:] if ahead.startswith("-") else "−" + ahead[1:])
        return zone if zone.startswith("Etc/") or "/" not in zone else zone.rsplit("/", 1)[1].replace("_", " ")

    def settings_screen(
        self, lang: str, chosen: str | None, guessed: str | None, now: dt.datetime, night: tuple[dt.time, dt.time]
    ) -> Screen:
        """/settings: the person's timezone (chosen, guessed from their language, or unknown), what quiet hours do
        with it, and the common zones as buttons (the current one ticked); any other is typed."""
        _ = self._gettext(lang)
        current = chosen or guessed
        text = self.message(
            "settings",
            lang,
            zone=self.zone_name(current, lang) if current else None,
            offset=utc_offset(current, now) if current else None,
            local=now.astimezone(ZoneInfo(current)).strftime("%H:%M") if current else None,
            guessed=not chosen and bool(guessed),
            start=night[0].strftime("%H:%M"),
            end=night[1].strftime("%H:%M"),
        )
        buttons = [
            Button(
                ("✅ " if zone == current else "") + f"{self.zone_name(zone, lang)} ({utc_offset(zone, now)})",
                callback=encode("tz", zone),
            )
            for zone in COMMON_ZONES
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        if chosen:
            rows.append([Button(label("↩️", _("As my language suggests")), callback=encode("tz", "guess"))])
        return Screen(text, rows)

    def mydata_screen(self, lang: str, data: dict[str, Any], cases: dict[str, Case]) -> Screen:
        """/mydata, with the way to discreet mode under it."""
        _ = self._gettext(lang)
        button = Button(label("🕶", _("Discreet mode")), callback=encode("disc", "show"))
        return Screen(self.message("mydata", lang, data=data, cases=cases), [[button]])

    def forget_confirm(self, lang: str) -> Screen:
        _ = self._gettext(lang)
        return Screen(
            self.message("forget_confirm", lang),
            [
                [
                    Button(label("🗑", _("Yes, erase everything")), callback=encode("forget", "yes")),
                    Button(label("↩️", _("No, keep it")), callback=encode("forget", "no")),
                ]
            ],
        )

    def sign_prompt(self, lang: str, signature: str | None) -> Screen:
        """/sign: asks for the signature; offers to clear the current one."""
        _ = self._gettext(lang)
        rows = [[Button(label("🗑", _("Clear signature")), callback=encode("sign", "clear"))]] if signature else []
        return Screen(self.message("sign_prompt", lang, signature=signature), rows)

    def pledge_toast(
        self, action: str, lang: str, *, counted: bool, total: int | None = None, case: Case | None = None
    ) -> Toast:
        """The answer to "I sent it": thanks once, then the running total (a toast is all some taps get).

        counted: "Counted, thank you! Together with you, 1,234 people have written." / "Counted — you are the
        first to write!"; already counted: "You were already counted for this case. 1,234 people
        have written so far." Without total= only the first sentence.
        """
        _ = self._gettext(lang)
        row = self._pledge_row(action, "pledge_toast")
        if counted:
            if total == 1:
                text = self._say(row.first_counted, lang)
            else:
                text = _("Counted, thank you!")
                if total:
                    text += " " + html.unescape(self.pledge_total(case, action, lang, total))
        else:
            text = _("You were already counted for this case.")
            if total:
                text += " " + self._so_far(row, lang, total)
        return Toast(shorten(text, MAX_TOAST))

    def official_pledge_toast(self, case: Case, index: int, lang: str, *, counted: bool, total: int) -> Toast:
        """The answer to "I sent it" for an official the person had not written to before, though they had
        written to another (counted), or for one they had (not counted); total: people who wrote to this one by
        any means (letter, email, fax)."""
        _, ngettext = self._gettext(lang), self._ngettext(lang)
        name = shorten(case.targets[index].name_in(lang), 60)
        num = {"num": format_number(total, lang)}
        if counted:
            text = _("Counted, thank you for writing to %(name)s too!") % {"name": name}
            if total == 1:
                text += " " + _("No one had written to this official before you.")
            elif total:
                text += (
                    " "
                    + ngettext(
                        "Together with you, %(num)s person has written to this official.",
                        "Together with you, %(num)s people have written to this official.",
                        total,
                    )
                    % num
                )
        else:
            text = _("You were already counted as writing to %(name)s.") % {"name": name}
            if total:
                text += (
                    " "
                    + ngettext(
                        "%(num)s person has written to this official.",
                        "%(num)s people have written to this official.",
                        total,
                    )
                    % num
                )
        return Toast(shorten(text, MAX_TOAST))

    def _so_far(self, row: Action, lang: str, total: int) -> str:
        """ "1,234 people have written so far." (plain text): the total, without a "you"."""
        return self._say_n(row.so_far, total, lang) % {"num": format_number(total, lang)}

    def pledge_total(self, case: Case | None, action: str, lang: str, total: int) -> str:
        """One sentence (HTML-safe) for after a counted pledge: "Together with you, 1,235 people have written."."""
        row = self._pledge_row(action, "pledge_total")
        if total <= 1:
            return str(escape(self._say(row.first, lang)))
        # Counted with the reader in it: a language agrees its verb and noun with the whole number.
        together = self._say_n(row.together, total, lang) % {"num": format_number(total, lang)}
        return str(escape(together))

    def commands(self, lang: str) -> list[tuple[str, str]]:
        """Command menu for setMyCommands (descriptions 3..256 characters)."""
        _ = self._gettext(lang)
        return [
            ("start", _("What this bot does")),
            ("cases", _("Open cases")),
            ("act", _("What can I do for the latest case?")),
            ("language", _("Change language")),
            ("sign", _("Your signature for letters")),
            ("reminders", _("Deadline reminders on or off")),
            ("stop", _("Stop all notifications")),
            ("discreet", _("Hide what the bot's messages are about")),
            ("settings", _("Your timezone and quiet hours")),
            ("mydata", _("What the bot stores about you")),
            ("forget", _("Erase your data")),
            ("help", _("Help")),
        ]

    def descriptions(self, lang: str) -> tuple[str, str]:
        """(description <= 512, short description <= 120) for setMyDescription/ShortDescription."""
        _ = self._gettext(lang)
        description = _(
            "When someone's life or freedom is in danger, letters from many people can make a difference. "
            "This bot turns an Urgent Action into a letter to each official, ready in your language or "
            "theirs, plus an email, a fax and a post on X. Tap Start to see the open cases."
        )
        short = _("Urgent Actions made easy: letters, emails and faxes to officials in a minute.")
        return shorten(description, 512), shorten(short, 120)
