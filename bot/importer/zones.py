"""The country an Urgent Action's officials are in, and its time zones: the deadline's zone without a question.

A UA never names a time zone, but it names the country: in the officials' addresses ("Tegucigalpa,
Honduras"), or before the title ("Honduras: Armed attack…"). A country with one zone answers the
question; a country with several gives the coordinator its zones to choose from. Country names and
zones come from Babel's CLDR data (English, Spanish, French and Russian names), not a list of ours.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location

from bot.importer.vocabulary import fold

# The languages the importer reads, and Russian for a coordinator who types a country, a city or a date in it.
NAME_LANGUAGES = ("en", "es", "fr", "ru")
# Names documents use that CLDR spells otherwise.
_ALIASES = {
    "russian federation": "RU",
    "federacion de rusia": "RU",
    "federation de russie": "RU",
    "usa": "US",
    "сша": "US",
    "штаты": "US",
    "u.s.a.": "US",
    "united states of america": "US",
    "eeuu": "US",
    "ee. uu.": "US",
    "uk": "GB",
    "great britain": "GB",
    "england": "GB",
    "iran (islamic republic of)": "IR",
    "islamic republic of iran": "IR",
    "republic of korea": "KR",
    "south korea": "KR",
    "north korea": "KP",
    "democratic republic of the congo": "CD",
    "drc": "CD",
    "viet nam": "VN",
    "burma": "MM",
    "syrian arab republic": "SY",
    "palestine": "PS",
    "occupied palestinian territories": "PS",
    "gaza": "PS",
}


@cache
def _names() -> dict[str, str]:
    """Folded country name -> ISO code, for every country with a time zone."""
    zones = get_global("territory_zones")
    names: dict[str, str] = {}
    for lang in NAME_LANGUAGES:
        for code, name in Locale(lang).territories.items():
            if code in zones and len(code) == 2:
                names.setdefault(fold(name), code)
    names.update(_ALIASES)
    return names


@cache
def _pattern(ending: bool) -> re.Pattern[str]:
    # Longest first: "South Sudan" before "Sudan", "Guinea-Bissau" before "Guinea".
    alternatives = "|".join(re.escape(name) for name in sorted(_names(), key=len, reverse=True))
    # An address names its country last (a postcode may follow): "Jordan" in "Jordan Street" is no country.
    end = r"[\s\d.,-]*$" if ending else r"(?![\w-])"
    return re.compile(r"(?<![\w-])(" + alternatives + ")" + end)


def country_named(text: str, *, ending: bool = False) -> str | None:
    """The ISO code of a country the text names ("Honduras", "MEXICO", "Россия"); with `ending`, only
    a name that ends the text (an address line) counts."""
    match = _pattern(ending).search(fold(text))
    return _names()[match.group(1)] if match else None


def country_of(addresses: list[list[str]], title: str | None) -> str | None:
    """The officials' country: from the end of their addresses, then from the title ("Honduras: …")."""
    for lines in addresses:
        for line in reversed(lines):
            if code := country_named(line, ending=True):
                return code
    if title and ":" in title and (code := country_named(title.split(":", 1)[0], ending=True)):
        return code
    return None


def zones_of(country: str | None) -> list[str]:
    """The country's IANA zones, the principal one of each region first (tzdata's zone.tab order: New York before
    Detroit, Mexico City before Cancún), then any CLDR adds; empty for an unknown code."""
    cldr = get_global("territory_zones").get(country or "", [])
    listed = [zone for zone in _zone_tab().get(country or "", []) if zone in cldr]
    return listed + [zone for zone in cldr if zone not in listed]


@cache
def _zone_tab() -> dict[str, list[str]]:
    """Country code -> zones, in the order tzdata's zone.tab lists them ({} when tzdata has no zone.tab)."""
    try:
        text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return {}
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and not line.startswith("#"):
            table.setdefault(parts[0], []).append(parts[2])
    return table


def distinct_zones(country: str | None, year: int) -> list[str]:
    """One zone for each set of the country's zones that keep the same time all through `year` (Russia's 26 are
    11, the United States' 29 are 8): the principal one of each, in zones_of's order. What a coordinator
    chooses from; any of the set would give a deadline the same instant."""
    instants = [dt.datetime(year, month, day, 12, tzinfo=dt.UTC) for month in range(1, 13) for day in (1, 15)]
    seen: dict[tuple[dt.timedelta | None, ...], str] = {}
    for zone in zones_of(country):
        try:
            info = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        seen.setdefault(tuple(instant.astimezone(info).utcoffset() for instant in instants), zone)
    return list(seen.values())


def utc_offset(zone: str, when: dt.datetime) -> str:
    """ "UTC+3", "UTC−5:30": the zone's offset at that instant."""
    offset = when.astimezone(ZoneInfo(zone)).utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_in(zones: list[str], addresses: list[list[str]]) -> str | None:
    """The one zone whose city an address names ("Moscow, 125993" -> Europe/Moscow), if just one is named."""
    text = fold(" ".join(line for lines in addresses for line in lines))
    # French calls Mexico City "Mexico": a city named like a country would match every address there.
    found = {
        zone
        for zone in zones
        for city in city_names(zone)
        if city and city not in _names() and re.search(rf"(?<!\w){re.escape(city)}(?!\w)", text)
    }
    return found.pop() if len(found) == 1 else None


@cache
def city_names(zone: str) -> frozenset[str]:
    """The zone's city as each of NAME_LANGUAGES names it, folded: what an address or a coordinator writes."""
    return frozenset(fold(zone_label(zone, lang)) for lang in NAME_LANGUAGES)


def country_name(country: str, lang: str) -> str:
    return Locale(lang).territories.get(country, country)


def zone_label(zone: str, lang: str) -> str:
    """A zone as a coordinator knows it: its city ("Mexico City", «Мехико»)."""
    try:
        return get_timezone_location(zone, lang, return_city=True)
    except (LookupError, ValueError):
        return zone.rsplit("/", 1)[-1].replace("_", " ")
