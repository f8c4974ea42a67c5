"""Quiet hours: a person's night in their own timezone, and when it ends. Pure: no Redis, no aiogram.

A person's zone is the one they chose in /settings, else a guess from their UI language (Russian speakers
mostly live within a few hours of Moscow); English is read from Hawaii to New Zealand, so it gives no guess,
and someone whose zone is unknown gets every message at once, as before quiet hours existed: holding a
message for a night that may be their afternoon would help nobody. Only the zone's name is stored.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# A UI language -> the zone most of its readers live in. Only a guess: /settings shows it and corrects it.
ZONE_GUESS = {
    "ru": "Europe/Moscow",
    "uk": "Europe/Kyiv",
    "be": "Europe/Minsk",
    "kk": "Asia/Almaty",
    "uz": "Asia/Tashkent",
    "ky": "Asia/Bishkek",
    "tg": "Asia/Dushanbe",
    "ka": "Asia/Tbilisi",
    "hy": "Asia/Yerevan",
    "az": "Asia/Baku",
    "de": "Europe/Berlin",
    "fr": "Europe/Paris",
    "it": "Europe/Rome",
    "pl": "Europe/Warsaw",
    "tr": "Europe/Istanbul",
}

# The short list /settings offers as buttons, west to east; any other zone is typed.
COMMON_ZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Kyiv",
    "Europe/Moscow",
    "Asia/Yekaterinburg",
    "Asia/Tashkent",
    "Asia/Almaty",
    "Asia/Novosibirsk",
)

# Names people type that are not the last part of a zone's name (Russian city names, old spellings).
ALIASES = {
    "москва": "Europe/Moscow",
    "питер": "Europe/Moscow",
    "санкт-петербург": "Europe/Moscow",
    "петербург": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "калининград": "Europe/Kaliningrad",
    "самара": "Europe/Samara",
    "екатеринбург": "Asia/Yekaterinburg",
    "уфа": "Asia/Yekaterinburg",
    "пермь": "Asia/Yekaterinburg",
    "челябинск": "Asia/Yekaterinburg",
    "омск": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk",
    "томск": "Asia/Tomsk",
    "красноярск": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk",
    "якутск": "Asia/Yakutsk",
    "владивосток": "Asia/Vladivostok",
    "хабаровск": "Asia/Vladivostok",
    "магадан": "Asia/Magadan",
    "камчатка": "Asia/Kamchatka",
    "киев": "Europe/Kyiv",
    "київ": "Europe/Kyiv",
    "kiev": "Europe/Kyiv",
    "харьков": "Europe/Kyiv",
    "одесса": "Europe/Kyiv",
    "минск": "Europe/Minsk",
    "вильнюс": "Europe/Vilnius",
    "рига": "Europe/Riga",
    "таллин": "Europe/Tallinn",
    "кишинёв": "Europe/Chisinau",
    "кишинев": "Europe/Chisinau",
    "тбилиси": "Asia/Tbilisi",
    "ереван": "Asia/Yerevan",
    "баку": "Asia/Baku",
    "алматы": "Asia/Almaty",
    "алма-ата": "Asia/Almaty",
    "астана": "Asia/Almaty",
    "astana": "Asia/Almaty",
    "ташкент": "Asia/Tashkent",
    "бишкек": "Asia/Bishkek",
    "душанбе": "Asia/Dushanbe",
    "стамбул": "Europe/Istanbul",
    "берлин": "Europe/Berlin",
    "лондон": "Europe/London",
    "париж": "Europe/Paris",
    "прага": "Europe/Prague",
    "варшава": "Europe/Warsaw",
    "хельсинки": "Europe/Helsinki",
    "рим": "Europe/Rome",
    "мадрид": "Europe/Madrid",
    "амстердам": "Europe/Amsterdam",
    "вена": "Europe/Vienna",
    "белград": "Europe/Belgrade",
    "афины": "Europe/Athens",
    "тель-авив": "Asia/Jerusalem",
    "tel aviv": "Asia/Jerusalem",
    "иерусалим": "Asia/Jerusalem",
    "дубай": "Asia/Dubai",
    "пекин": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "токио": "Asia/Tokyo",
    "бангкок": "Asia/Bangkok",
    "дели": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "нью-йорк": "America/New_York",
    "new york city": "America/New_York",
    "nyc": "America/New_York",
    "лос-анджелес": "America/Los_Angeles",
    "la": "America/Los_Angeles",
    "san francisco": "America/Los_Angeles",
    "washington": "America/New_York",
    "boston": "America/New_York",
    "toronto": "America/Toronto",
    "utc": "UTC",
    "gmt": "UTC",
}

_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?00)?$")


def zone(name: str | None) -> ZoneInfo | None:
    """The zone of that name; None for none or one this system does not know (a zone renamed since)."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_of(chosen: str | None, lang: str | None) -> ZoneInfo | None:
    """A person's zone: the one they chose, else the guess from their language, else None (unknown)."""
    return zone(chosen) or zone(ZONE_GUESS.get(lang or ""))


def zone_name(chosen: str | None, lang: str | None, default: str) -> str:
    """The zone a person's times are read and shown in, as /settings shows it: chosen, else guessed from their
    language, else `default` (the organisation's)."""
    found = zone_of(chosen, lang)
    return found.key if found else default


@cache
def _by_city() -> dict[str, str]:
    """'moscow' -> 'Europe/Moscow', 'new york' -> 'America/New_York', for every zone this system knows."""
    found: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            found.setdefault(name.rsplit("/", 1)[1].replace("_", " ").casefold(), name)
    return found


def find_zone(text: str) -> str | None:
    """The zone a person means by a city or zone name ("Moscow", "Москва", "Europe/Berlin", "UTC+3"), or None."""
    typed = " ".join(text.strip().replace("_", " ").split()).casefold()
    if not typed:
        return None
    if typed in ALIASES:
        return ALIASES[typed]
    if match := _OFFSET.match(typed):
        sign, hours = match.groups()
        if int(hours) == 0:
            return "UTC"
        if int(hours) <= 14:
            # Etc/GMT zones count the other way round: UTC+3 is Etc/GMT-3.
            return f"Etc/GMT{'-' if sign == '+' else '+'}{int(hours)}"
        return None
    exact = {name.casefold(): name for name in available_timezones()}
    if (name := exact.get(typed.replace(" ", "_"))) is not None:
        return name
    return _by_city().get(typed)


@dataclass(frozen=True)
class QuietHours:
    """The night, from `start` to `end` local time (21:00 to 08:00 by default); start == end: no night."""

    start: dt.time = dt.time(21)
    end: dt.time = dt.time(8)

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """'21:00-08:00' (seconds allowed)."""
        start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
        return cls(start, end)

    def is_night(self, at: dt.datetime, where: ZoneInfo | None) -> bool:
        """Whether `at` (aware) falls in the night of that zone; never in an unknown zone."""
        if where is None or self.start == self.end:
            return False
        local = at.astimezone(where).time().replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def morning(self, at: dt.datetime, where: ZoneInfo | None) -> dt.datetime | None:
        """When the night `at` falls in ends (aware, in that zone); None when `at` is not in the night."""
        if where is None or not self.is_night(at, where):
            return None
        local = at.astimezone(where)
        day = local.date()
        if self.start > self.end and local.time().replace(tzinfo=None) >= self.start:
            day += dt.timedelta(days=1)  # before midnight: the morning is tomorrow's
        # The wall-clock time on that day, DST included (the night before a change is an hour shorter or longer).
        return dt.datetime.combine(day, self.end, tzinfo=where)

    def wait_until(self, at: dt.datetime, chosen: str | None, lang: str | None) -> float | None:
        """For a person (their chosen zone, their language): the epoch second their night ends, or None when
        it is not their night now (or their zone is unknown)."""
        morning = self.morning(at, zone_of(chosen, lang))
        return morning.timestamp() if morning else None

    def quiet_now(self, at: dt.datetime, chosen: str | None, lang: str | None) -> bool:
        """Whether a message reaching this person now should go without a sound."""
        return self.is_night(at, zone_of(chosen, lang))


def utc_offset(name: str, at: dt.datetime) -> str:
    """'UTC+3', 'UTC−5', 'UTC+5:30', 'UTC' for a zone at that instant."""
    offset = at.astimezone(ZoneInfo(name)).utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
