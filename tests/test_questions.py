"""The questions a coordinator answers in chat after an import: what is asked, in which order, what is accepted."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.publishing.questions import TOPIC, Question, answer, next_question, read_date

TODAY = dt.date(2026, 12, 4)


def draft(**fields: object) -> dict:
    base = {"id": "ua-1-26", "ua": "UA 1/26", "title": "T", "summary": "S", "asks": [{"en": "Release him"}]}
    base["targets"] = [{"name": "A", "salutation": {"en": "Dear A"}}, {"name": "B"}, {"name": "C", "copy": True}]
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def test_required_things_come_first_then_the_deadline_its_zone_and_salutations() -> None:
    data = draft(asks=None, targets=[{"salutation": {"en": "Dear A"}}, {"name": "B"}])
    asked = []
    while (question := next_question(data, set(asked), "MX")) is not None:
        asked.append(question.key)
    assert asked == ["asks", "name.0", "deadline", "salutation.1"]  # no deadline given: no zone to ask
    data["deadline"] = dt.date(2027, 1, 1)
    zone = next_question(data, {"asks", "name.0", "deadline"}, "MX")
    assert zone is not None and zone.key == "timezone" and "America/Mexico_City" in zone.choices


def test_a_copy_official_is_never_asked_for_a_salutation() -> None:
    data = draft(deadline=dt.date(2027, 1, 1), timezone="UTC")
    assert next_question(data, set(), None).key == "salutation.1"
    assert next_question(data, {"salutation.1"}, None) is None


@pytest.mark.parametrize(("typed", "error"), [("", "empty"), ("   ", "empty"), ("x" * 121, "too_long")])
def test_an_empty_or_overlong_answer_is_refused(typed: str, error: str) -> None:
    data = draft()
    assert answer(data, Question(TOPIC["salutation"], 1, "B"), typed, TODAY).error == error
    assert "salutation" not in data["targets"][1]


def test_a_typed_salutation_is_kept_by_its_language() -> None:
    data = draft()
    assert answer(data, Question(TOPIC["salutation"], 1, "B"), "Уважаемый господин министр", TODAY).value
    assert data["targets"][1]["salutation"] == {"ru": "Уважаемый господин министр"}


def test_asks_are_one_a_line_in_the_language_they_are_typed_in() -> None:
    data = draft(asks=None)
    typed = "1. Освободить его немедленно\n\n• Liberen a la persona de inmediato y sin condiciones\n- Release him now"
    assert answer(data, Question(TOPIC["asks"]), typed, TODAY).value
    assert data["asks"] == [
        {"ru": "Освободить его немедленно"},
        {"es": "Liberen a la persona de inmediato y sin condiciones"},
        {"en": "Release him now"},
    ]


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2027-01-16", dt.date(2027, 1, 16)),
        ("16.01.2027", dt.date(2027, 1, 16)),
        ("16/1", dt.date(2027, 1, 16)),  # no year: the next 16 January
        ("16 January 2027", dt.date(2027, 1, 16)),
        ("January 16, 2027", dt.date(2027, 1, 16)),
        ("16 января 2027 г.", dt.date(2027, 1, 16)),
        ("16 de enero de 2027", dt.date(2027, 1, 16)),
        ("24 décembre", dt.date(2026, 12, 24)),
        ("16-08-2027", dt.date(2027, 8, 16)),
        ("16th August 2027", dt.date(2027, 8, 16)),
        ("Friday 16 August 2027", dt.date(2027, 8, 16)),
        ("16.08.2027 18:00", dt.date(2027, 8, 16)),
        ("пятница, 16 августа 2027", dt.date(2027, 8, 16)),
        ("31.02.2027", None),
        ("soon", None),
        ("16 17 January", None),
    ],
)
def test_dates_are_read_as_coordinators_type_them(typed: str, day: dt.date | None) -> None:
    assert read_date(typed, TODAY) == day


def test_a_past_deadline_is_refused_and_a_coming_one_written() -> None:
    data = draft()
    assert answer(data, Question(TOPIC["deadline"]), "1.1.2020", TODAY).error == "past"
    assert answer(data, Question(TOPIC["deadline"]), "16.01.2027", TODAY).value == "2027-01-16"
    assert data["deadline"] == dt.date(2027, 1, 16)


def test_a_zone_is_tapped_or_typed_or_found_from_a_country() -> None:
    mexico = Question(TOPIC["timezone"], choices=("America/Cancun", "America/Mexico_City"), country="MX")
    data = draft()
    assert answer(data, mexico, "America/Cancun", TODAY).value == "America/Cancun"
    assert answer(data, mexico, "Мехико", TODAY).value == "America/Mexico_City"  # a city typed, not tapped
    assert answer(data, Question(TOPIC["timezone"]), "europe/moscow", TODAY).value == "Europe/Moscow"
    assert answer(data, Question(TOPIC["timezone"]), "Гватемала", TODAY).value == "America/Guatemala"
    several = answer(data, Question(TOPIC["timezone"]), "Russia", TODAY)
    assert (several.value, several.country) == (None, "RU")  # its zones are the next choice
    assert answer(data, Question(TOPIC["timezone"]), "Atlantis", TODAY).error == "bad_zone"


def test_a_short_ask_without_a_sign_of_its_language_takes_the_documents() -> None:
    data = draft(asks=None, facts={"es": "Ana Torres fue detenida el 2 de marzo."})
    answer(data, Question(TOPIC["asks"]), "Liberen a Ana", TODAY)
    assert data["asks"] == [{"es": "Liberen a Ana"}]


def test_only_the_first_99_officials_are_asked_about() -> None:
    data = draft(deadline=dt.date(2027, 1, 1), timezone="UTC", targets=[{"name": f"N{i}"} for i in range(120)])
    skipped = {f"salutation.{i}" for i in range(99)}
    assert next_question(data, skipped - {"salutation.98"}, None).key == "salutation.98"
    assert next_question(data, skipped, None) is None
