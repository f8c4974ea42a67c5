"""Screens about cases: welcome, language picker, case list, alert card, background, act menu."""

from __future__ import annotations

import datetime as dt
import logging

from bot.content.actions import ACTION_TABLE, LETTER, Action
from bot.content.models import Case, Status
from bot.ground.i18n import UI_LANGUAGES
from bot.render.base import RendererBase, cached_screen
from bot.render.callbacks import encode
from bot.render.formatting import deadline, languages_phrase, own_language_name, ua_reference
from bot.render.letters import as_sentence
from bot.render.markup import cut_at_word, shorten
from bot.render.screen import Button, Screen

logger = logging.getLogger(__name__)

PAGE_SIZE = 8  # cases per page of the list: a screenful of buttons on a phone
WELCOME_CASES = 5  # open cases shown as buttons on the first screen
BUTTON_TITLE = 64  # characters of a title on a button (Telegram shows ~64 well), cut at a word
MAX_LINKS = 10

_FAR_FUTURE = dt.datetime.max.replace(tzinfo=dt.UTC)


def _aware(now: dt.datetime) -> dt.datetime:
    return now if now.tzinfo else now.replace(tzinfo=dt.UTC)


def label(emoji: str, text: str) -> str:
    """Emoji help scanning; the words always stay (UX notes)."""
    return f"{emoji} {text}"


class CaseScreens(RendererBase):
    def _sorted(self, cases: list[Case], now: dt.datetime | None = None) -> list[Case]:
        """Open cases first, soonest deadline first, those whose deadline has passed after them; closed ones last."""

        def key(case: Case) -> tuple[bool, bool, dt.datetime, str]:
            at = case.deadline_at(self.default_timezone)
            passed = bool(at and now and _aware(now) > at)
            return (case.status == Status.closed, passed, at or _FAR_FUTURE, case.id)

        return sorted(cases, key=key)

    def _button_title(self, case: Case, lang: str) -> str:
        return cut_at_word(self._title(case, lang), BUTTON_TITLE)

    def _case_action_button(self, case: Case, action: Action, lang: str) -> Button:
        """The button that opens a case-wide action's screen (a post, a share)."""
        return Button(
            label(action.emoji, self._say(action.button or action.name, lang)), callback=encode(action.verb, case.id)
        )

    def language_picker(self, lang: str, case_id: str | None = None, *, act: bool = False) -> Screen:
        """The UI languages, each a button; then the case asked for (its actions with `act`), or the welcome."""
        # The user may not read the current language yet, so the prompt is given in every one.
        prompts = []
        for code in UI_LANGUAGES:
            _ = self._gettext(code)
            prompts.append(_("Choose your language"))
        text = self._render("ui/language_picker.html.j2", lang, prompts=prompts)
        rows = [
            [
                Button(
                    ("✅ " if code == lang else "") + own_language_name(code),
                    callback=encode("lang", code, case_id or "", *(["act"] if act and case_id else [])),
                )
            ]
            for code in UI_LANGUAGES
        ]
        return Screen(text, rows)

    def welcome(
        self,
        lang: str,
        cases: list[Case],
        now: dt.datetime,
        *,
        alerts: bool = True,
        stopped: bool = False,
        back: int | None = None,
    ) -> Screen:
        """The first screen: open cases, and whether new ones will be sent (with the switch)."""
        _ = self._gettext(lang)
        open_cases = [c for c in self._sorted(cases, now) if c.status == Status.open]
        shown = open_cases[:WELCOME_CASES]
        items = [
            {"title": self._title(c, lang, 120), "deadline": deadline(c, now, lang, self.default_timezone)}
            for c in shown
        ]
        # Titles are capped above, so a handful of cases always fits: no budget loop needed.
        text = self._render(
            "ui/welcome.html.j2",
            lang,
            cases=items,
            more=len(open_cases) > len(shown),
            alerts=alerts,
            stopped=stopped,
            back=back,
        )
        rows = [
            [
                Button(
                    label("⌛" if item["deadline"] and item["deadline"].passed else "📌", self._button_title(c, lang)),
                    callback=encode("card", c.id),
                )
            ]
            for item, c in zip(items, shown)
        ]
        if cases:
            rows.append([Button(label("📋", _("All cases")), callback=encode("cases", 0))])
        if stopped:
            pass  # nothing is sent until /start: no switch that would suggest otherwise
        elif alerts:
            rows.append([Button(label("🔕", _("Browse without alerts")), callback=encode("alerts", "off"))])
        else:
            rows.append([Button(label("🔔", _("Send me new cases")), callback=encode("alerts", "on"))])
        rows.append(
            [
                Button(label("🌐", own_language_name(code)), callback=encode("lang", code, ""))
                for code in UI_LANGUAGES
                if code != lang
            ]
        )
        return Screen(text, rows)

    @cached_screen
    def card(
        self, case: Case, lang: str, now: dt.datetime, *, subscribed: bool, letters_sent: int, alert: bool = False
    ) -> Screen:
        """The alert card; `alert` for the one a new case's alert carries (its recipients now follow it)."""
        _ = self._gettext(lang)
        closed = case.status == Status.closed
        summary = self._pick(case.summary, lang)
        text = self._fit(
            lambda n: self._render(
                "ui/card.html.j2",
                lang,
                title=self._title(case, lang),
                ref=ua_reference(case),
                update=case.update,
                summary=shorten(summary, n),
                deadline=deadline(case, now, lang, self.default_timezone),
                closed=closed,
                letters_sent=letters_sent,
                alert=alert,
            ),
            start=1500,  # the card stays short: the background has its own screen
        )
        rows: list[list[Button]] = []
        if not closed:
            rows.append([Button(label("✍️", _("What can I do?")), callback=encode("act", case.id))])
        if case.background or case.links:
            rows.append([Button(label("📖", _("Background")), callback=encode("bg", case.id))])
        last = [Button(label("📋", _("Other cases")), callback=encode("cases", 0))]
        if subscribed:
            # Even on a closed case: a follower may want no more news of it.
            last.append(Button(label("🔕", _("Unsubscribe")), callback=encode("unsub", case.id)))
        elif not closed:
            last.append(Button(label("🔔", _("Subscribe")), callback=encode("sub", case.id)))
        rows.append(last)
        return Screen(text, rows)

    @cached_screen
    def background(self, case: Case, lang: str) -> Screen:
        _ = self._gettext(lang)
        background = self._pick(case.background, lang)
        links = [
            {"title": shorten(self._pick(link.title, lang), 120), "url": link.url} for link in case.links[:MAX_LINKS]
        ]
        text = self._fit(
            lambda n: self._render(
                "ui/background.html.j2",
                lang,
                title=self._title(case, lang),
                background=shorten(background, n),
                links=links,
            ),
            start=len(background),  # as much as fits: it sits in a collapsed blockquote
        )
        return Screen(text, [[Button(label("⬅️", _("Back")), callback=encode("card", case.id))]])

    def case_list(self, cases: list[Case], lang: str, now: dt.datetime, page: int = 0) -> Screen:
        _ = self._gettext(lang)
        ordered = self._sorted(cases, now)
        pages = max(1, -(-len(ordered) // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)  # a stale page number shows the nearest real page
        chunk = ordered[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        start = page * PAGE_SIZE
        items = [
            {
                "number": start + i + 1,
                "title": self._title(c, lang, 200),
                "ref": ua_reference(c),
                "closed": c.status == Status.closed,
                "deadline": deadline(c, now, lang, self.default_timezone),
            }
            for i, c in enumerate(chunk)
        ]
        text = self._render("ui/case_list.html.j2", lang, cases=items, page=page + 1, pages=pages)
        rows = [
            [
                Button(
                    f"{item['number']}. "
                    + ("🔒 " if item["closed"] else "⌛ " if item["deadline"] and item["deadline"].passed else "")
                    + self._button_title(case, lang),
                    callback=encode("card", case.id),
                )
            ]
            for item, case in zip(items, chunk)
        ]
        nav = []
        if page > 0:
            nav.append(Button(label("⬅️", _("Previous")), callback=encode("cases", page - 1)))
        if page < pages - 1:
            nav.append(Button(_("Next") + " ➡️", callback=encode("cases", page + 1)))
        if nav:
            rows.append(nav)
        rows.append([Button(label("⬅️", _("Back")), callback=encode("home"))])
        return Screen(text, rows)

    @cached_screen
    def act_menu(self, case: Case, lang: str, now: dt.datetime, written: frozenset[str] = frozenset()) -> Screen:
        """ "What can I do?": the asks, then a button per official, ✅ on those the reader has written to (ids)."""
        _ = self._gettext(lang)
        back = [Button(label("⬅️", _("Back")), callback=encode("card", case.id))]
        if case.status == Status.closed:
            return Screen(self.message("closed_case", lang), [back])
        # What the appeal asks of the officials: its requests (a reminder is the letter speaking, in the first person).
        asks = [self._pick(ask.text, lang) for ask in case.asks if not ask.statement] or [
            self._pick(ask.text, lang) for ask in case.asks
        ]
        languages = languages_phrase(case.letter_languages, lang)
        text = self._fit(
            lambda n: self._render(
                "ui/act_menu.html.j2",
                lang,
                title=self._title(case, lang),
                asks=[shorten(as_sentence(a), n) for a in asks],
                languages=languages,
                several_languages=len(case.letter_languages) > 1,
                deadline=deadline(case, now, lang, self.default_timezone),
                has_copies=any(t.copy_ for t in case.targets),
                written=sum(t.id in written for t in case.targets),
                officials=len(case.targets),
            ),
            start=400,
        )
        letter_lang = self.letters.default_language(case, lang)
        targets = [
            Button(
                label("✅" if t.id in written else LETTER.emoji, shorten(t.name_in(lang), 40))
                + (" " + _("(copy)") if t.copy_ else ""),
                callback=encode(LETTER.verb, case.id, t.id, letter_lang),
            )
            for t in case.targets
        ]
        # Two per row once there are many officials, so the keyboard stays scannable.
        per_row = 1 if len(targets) <= 6 else 2
        rows = [targets[i : i + per_row] for i in range(0, len(targets), per_row)]
        # Per-target actions are reached through each official's letter; the case-wide ones from here.
        rows.append([self._case_action_button(case, a, lang) for a in ACTION_TABLE if not a.per_target])
        rows.append(back)
        return Screen(text, rows)
