"""A send planned ahead: how to write its time, what a time that will not do was read as, and the time it got."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime, format_timedelta

from bot.ground.when import Reading, Verdict
from bot.render.formatting import _locale
from bot.render.screen import Screen
from bot.render.texts import TextScreens

# The weekday first: it is what tells whether "tomorrow" or "Friday" meant the day the coordinator had in mind.
WHEN_PATTERN = "EEEE, d MMMM y, HH:mm"
DAY_PATTERN = "EEEE, d MMMM y"
# A day without its year, as each language writes it before a time ("Dec 15 10:00", «15 декабря 10:00»).
SHORT_DAY_PATTERNS = {"en": "MMM d", "ru": "d MMMM"}


class WhenScreens(TextScreens):
    def when_words(self, at: dt.datetime, lang: str, zone: str, *, has_time: bool = True) -> str:
        """ "Saturday, 5 December 2026, 18:00" in the zone (the day alone when no time was written)."""
        pattern = WHEN_PATTERN if has_time else DAY_PATTERN
        return format_datetime(at.astimezone(ZoneInfo(zone)), pattern, locale=_locale(lang))

    def when_examples(self, lang: str, now: dt.datetime, zone: str) -> list[str]:
        """Times written as people write them, each of which the time step reads (tests hold it to that)."""
        _ = self._gettext(lang)
        local = now.astimezone(ZoneInfo(zone))
        # The 15th of next month: always ahead and within the year, whatever today is.
        day = (local.replace(day=1) + dt.timedelta(days=32)).replace(day=15).date()
        short = babel_format_date(day, SHORT_DAY_PATTERNS.get(lang, "d MMMM"), locale=_locale(lang))
        # Translated as people write them in that language («завтра 18:00»): still times the step reads.
        return [_("tomorrow 18:00"), _("in 2 hours"), f"{day:%d.%m.%Y} 10:00", f"{short} 10:00"]

    def when_prompt(self, lang: str, now: dt.datetime, zone: str) -> Screen:
        """ "Send later": when should it go out?"""
        return self.screen("bc_when_prompt", lang, zone=zone, examples=self.when_examples(lang, now, zone))

    def when_refused(self, reading: Reading, lang: str, now: dt.datetime, zone: str) -> str:
        """A time that will not do: passed, too far, a day without a time, or not read; what works instead."""
        assert reading.verdict is not Verdict.ok, "an accepted time is scheduled, not refused"
        when = self.when_words(reading.at, lang, zone, has_time=reading.has_time) if reading.at else ""
        return self.message(
            "bc_bad_when",
            lang,
            verdict=reading.verdict.value,
            when=when,
            zone=zone,
            examples=self.when_examples(lang, now, zone),
        )

    def when_scheduled(self, at: dt.datetime, lang: str, now: dt.datetime, zone: str) -> str:
        """The confirmation: the time as read, weekday and all, and how far off it is."""
        left = format_timedelta(at - now, threshold=1.0, add_direction=True, locale=_locale(lang))
        return self.message("bc_scheduled", lang, when=self.when_words(at, lang, zone), zone=zone, left=left)
