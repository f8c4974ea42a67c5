"""The deadline's time zone from the country the officials are in: no question when the document settles it."""

from __future__ import annotations

import pytest

from bot.importer.parse import parse_ua
from bot.importer.zones import country_named, country_of, zone_in, zone_label, zones_of


@pytest.mark.parametrize(
    ("addresses", "title", "country"),
    [
        ([["Secretaría de Estado", "Tegucigalpa, Honduras"]], None, "HN"),
        ([["ul. Bolshaya Dmitrovka, 15a", "Moscow, 125993", "Russian Federation"]], None, "RU"),
        ([["Palacio Nacional", "Ciudad de México, C.P. 06066, MÉXICO"]], None, "MX"),
        ([["Jordan Street 5", "Amman"]], "Jordan: activist held", "JO"),  # the title, when the address has none
        ([["Jordan Street 5", "Springfield"]], "Activist held", None),  # a street is not a country
        ([], "Honduras: Armed attack against members of COPINH", "HN"),
        ([], "Armed attack in Honduras", None),  # only "Country: …" before a title's colon counts
    ],
)
def test_the_country_is_read_from_the_end_of_an_address_or_before_the_title(
    addresses: list[list[str]], title: str | None, country: str | None
) -> None:
    assert country_of(addresses, title) == country


@pytest.mark.parametrize(("typed", "country"), [("Мексика", "MX"), ("Rusia", "RU"), ("usa", "US"), ("Narnia", None)])
def test_a_typed_country_is_known_in_the_coordinators_languages(typed: str, country: str | None) -> None:
    assert country_named(typed) == country


def test_a_city_in_the_address_picks_one_of_several_zones() -> None:
    assert zone_in(zones_of("RU"), [["Moscow, 125993", "Russian Federation"]]) == "Europe/Moscow"
    assert zone_in(zones_of("MX"), [["Palacio Nacional", "MÉXICO"]]) is None
    assert zone_label("America/Mexico_City", "ru") == "Мехико"


def test_a_country_with_one_zone_needs_no_question_and_the_draft_says_which() -> None:
    parsed = parse_ua(
        "URGENT ACTION\nUA 60/16\nPLEASE SEND APPEALS BEFORE 16 AUGUST 2017 TO:\nMinister of Security\n"
        "Julián Pacheco Tinoco\nTegucigalpa, Honduras\nEmail: a@example.org\nSalutation: Dear Minister\n"
    )
    assert (parsed.country, parsed.timezone) == ("HN", "America/Tegucigalpa")
    assert "timezone: America/Tegucigalpa, the time zone of Honduras" in parsed.uncertain
    assert not [note for note in parsed.missing if note.field == "timezone"]


def test_several_zones_and_no_city_leave_the_question_to_the_chat() -> None:
    parsed = parse_ua(
        "URGENT ACTION\nUA 7/13\nPLEASE SEND APPEALS BEFORE 16 AUGUST 2017 TO:\nAttorney General\n"
        "Arely Gómez González\nMéxico D.F., MÉXICO\nEmail: a@example.org\nSalutation: Dear Attorney General\n"
    )
    assert (parsed.country, parsed.timezone) == ("MX", None)
    assert "timezone: Mexico has several time zones: choose the deadline's zone" in parsed.missing
