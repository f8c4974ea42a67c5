"""Screens that do something: the letter to one official, email, fax, tweet, share."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from urllib.parse import quote, urlencode

from bot.content.actions import ACTION_BY_KEY, ACTION_TABLE, LETTER, Action
from bot.content.models import Case, pick
from bot.render.base import RendererBase, cached_screen
from bot.render.callbacks import encode
from bot.render.cases import label
from bot.render.formatting import format_list, language_name, own_language_name, split_phone, ua_reference
from bot.render.markup import MAX_COPY_TEXT, fits, shorten
from bot.render.screen import Button, Document, Screen
from bot.render.tweet import fit_tweet

logger = logging.getLogger(__name__)

PREVIEW = 2500  # characters of a long letter shown in the message; the "doc" button sends it all

EMAIL, FAX, TWEET, SHARE = (ACTION_BY_KEY[key] for key in ("email", "fax", "tweet", "share"))


def _copy_rows(values: list[str], separator: str | None, name: str) -> list[list[Button]]:
    """A button named `name` copying the one value, or all of them joined by `separator` when they fit in one;
    else a button for each value, labelled with it."""
    together = values[0] if len(values) == 1 else separator.join(values) if separator is not None else None
    if together is not None and (len(values) == 1 or len(together) <= MAX_COPY_TEXT):
        return [[Button(label("📋", name), copy_text=together[:MAX_COPY_TEXT])]]
    return [[Button(label("📋", shorten(value, 64)), copy_text=value[:MAX_COPY_TEXT])] for value in values]


class ActionScreens(RendererBase):
    # The screen of an action is the renderer's method named after its key (tests/test_actions.py checks).

    def target_action(
        self,
        action: Action,
        case: Case,
        index: int,
        lang: str,
        letter_lang: str,
        *,
        variant_seed: bytes,
        signature: str | None,
        now: dt.datetime | None = None,
    ) -> Screen:
        """The screen of a per-target action for case.targets[index] (IndexError for one the case lacks).

        `now` dates the letter and, past the deadline, drops "Remind me later"; None: undated, as a preview.
        """
        draw = getattr(self, action.key)
        return draw(case, index, lang, letter_lang, variant_seed=variant_seed, signature=signature, now=now)

    def case_action(self, action: Action, case: Case, lang: str, now: dt.datetime | None = None) -> Screen:
        """The screen of a case-wide action (a post, a share)."""
        return getattr(self, action.key)(case, lang, now=now)

    def _letter_header(self, case: Case, index: int, lang: str, requested: str, used: str) -> dict[str, Any]:
        """What every letter-bearing screen says about the addressee and the language."""
        _ = self._gettext(lang)
        target = case.targets[index]
        # A letter in neither the language asked for (by the reader, or by the appeal) nor the reader's own says why.
        wanted = requested
        if requested == used and case.letter_languages and used not in case.letter_languages and used != lang:
            wanted = case.letter_languages[0]
        note = None
        if wanted != used:
            note = _("No %(wanted)s text for this appeal yet: letter shown in %(shown)s.") % {
                "wanted": language_name(wanted, lang),
                "shown": language_name(used, lang),
            }
        position = ", ".join(p for p in (pick(target.title, lang), pick(target.organisation, lang)) if p)
        addressee, copy_for = self.letters.addressee(case, index)
        return {
            # Capped so the header never crowds out the letter (the letter itself has them in full).
            "name": shorten(target.name_in(lang), 200),
            "position": shorten(position, 300),
            "copy": target.copy_,
            "copy_of": shorten(addressee.name_in(lang), 200) if copy_for else None,
            "note": note,
            "letter_language": language_name(used, lang),
        }

    def _done_row(
        self, case: Case, action: Action, lang: str, now: dt.datetime | None, official: str | None = None
    ) -> list[Button]:
        """ "I did it" (for one official, by id, when the action is per official), and beside it a reminder for
        those who cannot do it right now (none after the deadline)."""
        _ = self._gettext(lang)
        done = encode("pl", case.id, action.key, official) if official else encode("pl", case.id, action.key)
        row = [Button(label("✅", self._say(action.done, lang)), callback=done)]
        deadline = case.deadline_at(self.default_timezone)
        if now is None or deadline is None or now < deadline:
            row.append(Button(label("⏰", _("Remind me later")), callback=encode("later", case.id, action.key)))
        return row

    def _reading_copy(
        self, case: Case, index: int, lang: str, used: str, variant_seed: bytes, signature: str | None
    ) -> str | None:
        """The same letter in the reader's own language, to understand what they send: only from the case's own
        text in that language (never a machine translation), None when there is none or it is the same language."""
        if used == lang or lang not in self.letters.available(case):
            return None
        # The letter as posted (same phrasings, same signature lines), without the heading the reader has above.
        letter = self.letters.write(case, index, lang, variant_seed=variant_seed, signature=signature)
        return letter.split("\n\n", 1)[-1]

    def _file_button_label(self, lang: str) -> str:
        _ = self._gettext(lang)
        return _("Whole letter as a file")

    def _with_preview(self, template: str, lang: str, body: str, **ctx: Any) -> tuple[str, bool]:
        """(screen, truncated): the whole letter, or its beginning when the letter does not fit.

        The screen never carries the file itself: it would be sent again on every visit (Back,
        a language switch, a double tap). A shortened screen says so and gets a button for the file.
        """
        ctx["file_button"] = self._file_button_label(lang)
        full = self._render(template, lang, letter=body, truncated=False, **ctx)
        if fits(full):
            return full, False
        logger.info("%s: letter of %d characters shown shortened", template, len(body))
        text = self._fit(
            lambda n: self._render(template, lang, letter=shorten(body, n), truncated=True, **ctx), start=PREVIEW
        )
        return text, True

    def _file_button(self, case: Case, index: int, lang: str, used: str) -> list[Button]:
        return [
            Button(
                label("📄", self._file_button_label(lang)),
                callback=encode("doc", case.id, case.targets[index].id, used),
            )
        ]

    def letter_document(
        self,
        case: Case,
        index: int,
        lang: str,
        letter_lang: str,
        *,
        variant_seed: bytes,
        signature: str | None,
        now: dt.datetime | None = None,
    ) -> Document:
        """The whole letter to case.targets[index] as a UTF-8 .txt file (the `doc` button's answer).

        The same letter the letter screen shows (language resolved the same way, postal block
        included); the caption is in the UI language. IndexError for an index the case does not have.
        """
        target = case.targets[index]
        used = self.letters.resolve(case, letter_lang, lang)
        today = now.date() if now else None
        body = self.letters.write(case, index, used, variant_seed=variant_seed, signature=signature, today=today)
        who = target.id or f"official-{index + 1}"
        filename = f"letter-{case.id}-{who}-{used}.txt"
        caption = self._render(
            "ui/letter_caption.html.j2",
            lang,
            name=shorten(target.name_in(lang), 200),
            copy=target.copy_,
            letter_language=language_name(used, lang),
        )
        # The name is capped above, so the caption stays far below Telegram's 1024 characters.
        return Document(filename, (body + "\n").encode("utf-8"), caption)

    def letter_pdf(
        self,
        case: Case,
        index: int,
        lang: str,
        letter_lang: str,
        *,
        variant_seed: bytes,
        signature: str | None,
        now: dt.datetime,
    ) -> Document:
        """The letter to case.targets[index] as an A4 PDF (the Print button's answer): the same letter the screen
        shows, laid out for paper, with the envelope address at the foot. 50-100 ms of CPU: call it in a thread."""
        # fpdf2 and fontTools take a few tenths of a second to import: loaded on the first Print, not at start-up.
        from bot.render.pdf import PrintedLetter, letter_pdf

        _ = self._gettext(lang)
        target = case.targets[index]
        addressee, _copy_for = self.letters.addressee(case, index)
        used = self.letters.resolve(case, letter_lang, lang)
        parts = self.letters.parts(case, index, used, variant_seed=variant_seed, signature=signature, today=now.date())
        printed = PrintedLetter(
            lang=used,
            title=f"{ua_reference(case)} · {addressee.name_in(used)}",
            sender=parts.signature,
            date=parts.date,
            addressee=parts.heading,
            body=parts.body,
            # The name to sign above (the sender block at the top carries the address); then the copy line.
            signature=[*parts.signature[:1], *(["", parts.copy_line] if parts.copy_line else [])],
            envelope_label=_("Envelope address, as the appeal gives it:"),
            envelope=target.address,
        )
        caption = self._render(
            "ui/letter_print_caption.html.j2",
            lang,
            name=shorten(target.name_in(lang), 200),
            copy=target.copy_,
            letter_language=language_name(used, lang),
            signed=bool(signature and signature.strip()),
        )
        filename = f"letter-{case.id}-{target.id}-{used}.pdf"
        return Document(filename, letter_pdf(printed), caption)

    @cached_screen
    def letter(
        self,
        case: Case,
        index: int,
        lang: str,
        letter_lang: str,
        *,
        variant_seed: bytes,
        signature: str | None,
        now: dt.datetime | None = None,
    ) -> Screen:
        """Letter to case.targets[index] (IndexError for an index the case does not have)."""
        _ = self._gettext(lang)
        target = case.targets[index]
        used = self.letters.resolve(case, letter_lang, lang)
        today = now.date() if now else None
        body = self.letters.write(case, index, used, variant_seed=variant_seed, signature=signature, today=today)
        methods = [
            method
            for method, present in (
                (_("by post"), bool(target.address)),
                (_("by fax"), bool(target.faxes)),
                (_("by email"), bool(target.emails)),
            )
            if present
        ]
        reading = self._reading_copy(case, index, lang, used, variant_seed, signature)
        ctx = {
            "methods": format_list(methods, lang, "or"),
            "envelope": target.address,
            "copies": self._pick(case.copies, lang),
            "signed": bool(signature and signature.strip()),
            **self._letter_header(case, index, lang, letter_lang, used),
        }
        # The reader's copy only when the whole letter and it fit in one message; else the language button shows it.
        text, truncated = (
            self._with_preview(LETTER.template, lang, body, reading=reading, **ctx) if reading else ("", True)
        )
        if truncated:
            text, truncated = self._with_preview(LETTER.template, lang, body, reading=None, **ctx)
        rows: list[list[Button]] = []
        switch = [
            Button(label("🌐", own_language_name(code)), callback=encode(LETTER.verb, case.id, target.id, code))
            for code in self.letters.switch_languages(case, used, lang)
        ]
        if switch:
            rows.append(switch)
        print_button = Button(label("🖨", _("Print (PDF)")), callback=encode("prt", case.id, target.id, used))
        rows.append([*self._file_button(case, index, lang, used), print_button] if truncated else [print_button])
        # The official's other per-target actions (email, fax), each where the official has what it needs.
        send = [
            Button(label(a.emoji, self._say(a.button, lang)), callback=encode(a.verb, case.id, target.id, used))
            for a in ACTION_TABLE
            if a.per_target and a is not LETTER and a.offered_to(target)
        ]
        if send:
            rows.append(send)
        rows.append(self._done_row(case, LETTER, lang, now, target.id))
        rows.append([Button(label("⬅️", _("Back")), callback=encode("act", case.id))])
        return Screen(text, rows)

    @cached_screen
    def email(
        self,
        case: Case,
        index: int,
        lang: str,
        letter_lang: str,
        *,
        variant_seed: bytes,
        signature: str | None,
        now: dt.datetime | None = None,
    ) -> Screen:
        """Email to a target; a target without an address gets its letter screen instead."""
        _ = self._gettext(lang)
        target = case.targets[index]
        addresses = target.emails
        if not addresses:
            return self.letter(case, index, lang, letter_lang, variant_seed=variant_seed, signature=signature, now=now)
        used = self.letters.resolve(case, letter_lang, lang)
        # An email has no postal address block: it starts at the salutation.
        body = self.letters.write(case, index, used, variant_seed=variant_seed, signature=signature, with_address=False)
        subject = self.letters.subject(case, index, used, variant_seed=variant_seed)
        text, truncated = self._with_preview(
            EMAIL.template,
            lang,
            body,
            addresses=addresses,
            subject=subject,
            **self._letter_header(case, index, lang, letter_lang, used),
        )
        # All the addresses in one "To:" (comma-separated, as mail apps and RFC 6068's mailto take them): one
        # email reaches them all. Telegram refuses mailto: links, so the reader copies them.
        rows = [
            *_copy_rows(addresses, ", ", _("Copy address") if len(addresses) == 1 else _("Copy addresses")),
            [Button(label("📋", _("Copy subject")), copy_text=shorten(subject, MAX_COPY_TEXT))],
            *([self._file_button(case, index, lang, used)] if truncated else []),
            self._done_row(case, EMAIL, lang, now, target.id),
            [Button(label("⬅️", _("Back to the letter")), callback=encode(LETTER.verb, case.id, target.id, used))],
        ]
        return Screen(text, rows)

    @cached_screen
    def fax(
        self,
        case: Case,
        index: int,
        lang: str,
        letter_lang: str,
        *,
        variant_seed: bytes,
        signature: str | None,
        now: dt.datetime | None = None,
    ) -> Screen:
        """Fax to a target; a target without a fax number gets its letter screen instead."""
        _ = self._gettext(lang)
        target = case.targets[index]
        if not target.faxes:
            return self.letter(case, index, lang, letter_lang, variant_seed=variant_seed, signature=signature, now=now)
        used = self.letters.resolve(case, letter_lang, lang)
        body = self.letters.write(
            case, index, used, variant_seed=variant_seed, signature=signature, today=now.date() if now else None
        )
        # The copy buttons give what a phone or a fax service can dial; an extension is in the text.
        numbers = []
        for fax in target.faxes:
            dial, extension = split_phone(fax)
            numbers.append({"number": dial or fax, "extension": extension})
        text, truncated = self._with_preview(
            FAX.template, lang, body, numbers=numbers, **self._letter_header(case, index, lang, letter_lang, used)
        )
        # A fax goes to one number (the others are for when it does not answer): no button copies them all.
        rows = [
            *_copy_rows([fax["number"] for fax in numbers], None, _("Copy fax number")),
            *([self._file_button(case, index, lang, used)] if truncated else []),
            self._done_row(case, FAX, lang, now, target.id),
            [Button(label("⬅️", _("Back to the letter")), callback=encode(LETTER.verb, case.id, target.id, used))],
        ]
        return Screen(text, rows)

    def tweet_text(self, case: Case, lang: str) -> str:
        """The post: the case's suggested text (or its title), the officials' handles, the link."""
        text = self._pick(case.tweet, lang) or self._title(case, lang)
        handles = [t.twitter for t in case.targets if t.twitter]
        return fit_tweet(text, handles, self.deep_link(case))

    @cached_screen
    def tweet(self, case: Case, lang: str, now: dt.datetime | None = None) -> Screen:
        _ = self._gettext(lang)
        post = self.tweet_text(case, lang)
        intent = "https://twitter.com/intent/tweet?" + urlencode({"text": post}, quote_via=quote)
        text = self._render(TWEET.template, lang, tweet=post, copyable=len(post) <= MAX_COPY_TEXT)
        rows = [[Button(label(TWEET.emoji, self._say(TWEET.button, lang)), url=intent)]]
        if len(post) <= MAX_COPY_TEXT:
            rows.append([Button(label("📋", _("Copy text")), copy_text=post)])
        rows.append(self._done_row(case, TWEET, lang, now))
        rows.append([Button(label("⬅️", _("Back")), callback=encode("act", case.id))])
        return Screen(text, rows)

    @cached_screen
    def share(self, case: Case, lang: str, now: dt.datetime | None = None) -> Screen:
        _ = self._gettext(lang)
        link = self.deep_link(case)
        invitation = _("Please act for this Urgent Action: %(title)s") % {"title": self._title(case, lang, 150)}
        share_url = "https://t.me/share/url?" + urlencode({"url": link, "text": invitation}, quote_via=quote)
        text = self._render(SHARE.template, lang, link=link, title=self._title(case, lang))
        rows = [
            [Button(label(SHARE.emoji, _("Share in Telegram")), url=share_url)],
            [Button(label("📋", _("Copy link")), copy_text=link)],
            self._done_row(case, SHARE, lang, now),
            [Button(label("⬅️", _("Back")), callback=encode("act", case.id))],
        ]
        return Screen(text, rows)
