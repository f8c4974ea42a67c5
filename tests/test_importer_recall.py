"""The importer's recall on the layouts real Urgent Actions come in: every shared document, field by field.

The expected values were read by hand from each document in ../shared (never copied here beyond them).
None means the document does not give the value in a form the importer may read (not in the text, or
only in a sentence among others): it must stay empty, never be invented.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.importer.parse import NotAnUrgentAction, SeveralUrgentActions, names_an_update, parse_ua, ua_references
from bot.importer.review import closing, ua_number
from bot.importer.targets import parse_targets
from tests.accuracy import accuracy

SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "ua-samples"

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared UA documents at {SHARED}")

FIELDS = (
    "ua",
    "id",
    "update",
    "kind",
    "issued",
    "deadline",
    "letter_languages",
    "subject_name",
    "subject_gender",
    "targets",
    "fax",
    "email",
    "title",
)
# What the importer must leave empty unless the document gives it: each document's entry below
# overrides these with what it does give.
NOT_GIVEN: dict[str, object] = {
    "update": None,
    "issued": None,
    "deadline": None,
    "letter_languages": [],
    "subject_name": None,
    "subject_gender": None,
    "targets": 0,
    "fax": None,
    "email": None,
    "title": None,
}
EXPECTED: dict[str, dict[str, object]] = {
    # The 2017 labelled template: three people are attacked, none is the case's one subject.
    "ua-samples/ua_60_2017.txt": {
        **NOT_GIVEN,
        "ua": "UA 60/16",
        "id": "ua-60-16",
        "update": 3,
        "kind": "update",
        "issued": dt.date(2017, 7, 5),
        "deadline": dt.date(2017, 8, 16),
        "letter_languages": ["es"],
        "targets": 1,
        "email": ["comunicacionCNDS@gmail.com", "sprudott@yahoo.com"],
        "title": "Honduras: Armed attack against members of COPINH",
    },
    # Degraded exports (lowercased, lines joined): the letterhead's date and the subject line lost the
    # layout that tells them apart ("20 august 2001 further information on ua 156/01 issued 22 june
    # 2001" - the second date is the original's); nothing is read from them.
    "ua-samples/ua_102_2012.txt": {
        **NOT_GIVEN,
        "ua": "UA 102/10",
        "id": "ua-102-10",
        "kind": "update",
        "issued": dt.date(2012, 3, 23),
        "deadline": dt.date(2012, 5, 4),
        "letter_languages": ["fa", "en"],
        "targets": 1,
    },
    "ua-samples/ua_156_2001.txt": {
        **NOT_GIVEN,
        "ua": "UA 156/01",
        "id": "ua-156-01",
        "kind": "update",
        "targets": 1,
    },
    "ua-samples/ua_279_1998.txt": {
        **NOT_GIVEN,
        "ua": "UA 279/98",
        "id": "ua-279-98",
        "kind": "new",
        "subject_name": None,  # two men
        "targets": 1,
    },
    # A blog's copy of an e-mailed UA: the blog's own date (with the weekday) on top, the UA's below.
    "ua-samples/real-web/04_mx2010_fu52-10.txt": {
        **NOT_GIVEN,
        "ua": "UA 52/10",
        "id": "ua-52-10",
        "kind": "update",
        "issued": dt.date(2010, 9, 27),
        "subject_name": "Juan Manuel Martinez",
        "subject_gender": "m",
        "title": "Fear for safety",
    },
    # The lawyer is named inside a sentence only: no structure says he is the subject (left empty).
    "ua-samples/real-web/06_sy2013_fi298-12.txt": {
        **NOT_GIVEN,
        "ua": "UA 298/12",
        "id": "ua-298-12",
        "kind": "update",
        "issued": dt.date(2013, 2, 20),
        "title": "Prosecutor denies holding Syrian lawyer",
    },
    # The host dropped the accented letters: the name is copied as the copy writes it, and flagged.
    "ua-samples/real-web/08_mx2011_au274-11_es.txt": {
        **NOT_GIVEN,
        "ua": "UA 274/11",
        "id": "ua-274-11",
        "kind": "new",
        "issued": dt.date(2011, 9, 13),
        "subject_name": "Fray Toms Gonzlez",
        "title": "Amenazas contra un defensor de los derechos de las personas migrantes, que corre peligro",
    },
    # Eight men due to be executed: no one subject. The dates in it are the earlier documents' or events'.
    "ua-samples/real-web/14_us1992_fi-extra78.txt": {
        **NOT_GIVEN,
        "ua": "EXTRA 78/92",
        "id": "extra-78-92",
        "kind": "update",
        "title": "USA (Texas): death penalty: eight executions scheduled in 7 day period (includes correction)",
    },
    "ua-samples/real-web/15_ps2007_fi81-07.txt": {
        **NOT_GIVEN,
        "ua": "UA 81/07",
        "id": "ua-81-07",
        "kind": "closing",
        "issued": dt.date(2007, 7, 4),
        "subject_name": "Alan Johnston",
    },
    "seeds/000_f0bba99ae6605fd6.txt": {
        **NOT_GIVEN,
        "ua": "UA 84/11",
        "id": "ua-84-11",
        "update": 2,
        "kind": "update",
        "deadline": dt.date(2012, 5, 15),
        "letter_languages": ["ru"],
        "subject_name": "Nizomkhon Juraev",
        "subject_gender": "m",
        "targets": 3,
        "fax": "+7 495 987 58 41",
        "title": "Tajik refused asylum seeker disappeared",
    },
}


def _got(name: str) -> dict[str, object]:
    start = time.perf_counter()
    parsed = parse_ua((SHARED / name).read_text(encoding="utf-8"))
    assert time.perf_counter() - start < 1.0
    first = parsed.targets[0] if parsed.targets else None
    return {
        **{key: getattr(parsed, key) for key in FIELDS if key not in ("targets", "fax", "email")},
        "targets": len(parsed.targets),
        "fax": first and first.fax,
        "email": first and first.email,
    }


def test_every_shared_document_is_covered() -> None:
    documents = {
        str(path.relative_to(SHARED))
        for pattern in ("ua-samples/*.txt", "ua-samples/real-web/*.txt", "seeds/000_*.txt")
        for path in SHARED.glob(pattern)
    }
    assert documents == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fields_of_each_document(name: str) -> None:
    want, got = EXPECTED[name], _got(name)
    accuracy(f"recall {Path(name).name}", {key: got[key] == want[key] for key in FIELDS})
    assert got == want


def test_accents_lost_are_flagged_without_changing_the_parse() -> None:
    parsed = parse_ua((SAMPLES / "real-web" / "08_mx2011_au274-11_es.txt").read_text(encoding="utf-8"))
    assert parsed.accents_lost and not parsed.degraded
    assert "accented letters were lost in this copy: check names and words" in parsed.uncertain
    assert parsed.summary is not None and parsed.summary.startswith("Fray Toms Gonzlez, defensor")
    for name in (
        "seeds/000_f0bba99ae6605fd6.txt",
        "ua-samples/ua_60_2017.txt",
        "ua-samples/real-web/04_mx2010_fu52-10.txt",
    ):
        assert not parse_ua((SHARED / name).read_text(encoding="utf-8")).accents_lost, name


def test_heuristic_picks_are_reported() -> None:
    parsed = parse_ua((SAMPLES / "real-web" / "04_mx2010_fu52-10.txt").read_text(encoding="utf-8"))
    assert "issued: a date on a line of its own under the header: check it is the issue date" in parsed.uncertain
    assert "subject: picked by a heuristic: name 'Juan Manuel Martinez', gender 'm'" in parsed.uncertain
    assert any(note.startswith("update: UA 52/10 is a further-information UA") for note in parsed.uncertain)


def test_a_closing_update_is_imported_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = SAMPLES / "real-web" / "15_ps2007_fi81-07.txt"
    assert main(["import", str(source), "-o", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "closing update of UA 81/07" in err and "rrbot update ua-81-07 --close" in err
    assert "draft incomplete" not in err and "(required)" not in err
    draft = (tmp_path / "ua-81-07.yaml").read_text(encoding="utf-8")
    assert "# A closing update of UA 81/07" in draft and "TO FILL IN" not in draft
    assert closing(source.read_text(encoding="utf-8"))  # the chat's check reads the same words


def test_a_closing_update_without_its_text_is_incomplete(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "notice.txt"
    source.write_text("Further information on UA 81/07\nNo further action is requested.\n", encoding="utf-8")
    assert main(["import", str(source), "-o", str(tmp_path)]) == 1
    assert "fill in summary" in capsys.readouterr().err


@pytest.mark.parametrize(
    "sentence",
    [
        "No further action is requested from the UA network.",
        "No further appeals are needed.",
        "No se requieren más acciones por parte de la red.",
        "No es necesario enviar más llamamientos.",
        "Aucune action complémentaire n’est requise.",
        "Il n'est plus nécessaire d'envoyer des appels.",
    ],
)
def test_closing_words(sentence: str) -> None:
    parsed = parse_ua(f"URGENT ACTION\nFurther information on UA 5/10\n{sentence}\n")
    assert parsed.closes and parsed.kind == "closing" and closing(sentence)


def test_a_release_alone_does_not_close() -> None:
    parsed = parse_ua("URGENT ACTION\nFurther information on UA 5/10\nShe was released on bail; the charges remain.\n")
    assert not parsed.closes and parsed.kind == "update"


@pytest.mark.parametrize(
    ("reference", "ua", "case_id", "kind"),
    [
        ("EXTRA 38/99 Fear for safety", "EXTRA 38/99", "extra-38-99", "new"),
        ("Further information on EXTRA 78/92", "EXTRA 78/92", "extra-78-92", "update"),
        ("Follow-up on UA 52/10 (10 March 2010) - Fear for safety", "UA 52/10", "ua-52-10", "update"),
        ("Further information on UA: 298/12", "UA 298/12", "ua-298-12", "update"),
        ("FI on UA 12/13", "UA 12/13", "ua-12-13", "update"),
        ("Further info on UA 12/13", "UA 12/13", "ua-12-13", "update"),
        ("Update: UA 12/13", "UA 12/13", "ua-12-13", "update"),
        ("Información complementaria sobre la AU 12/13", "UA 12/13", "ua-12-13", "update"),
        ("Acción complementaria sobre la AU 12/13", "UA 12/13", "ua-12-13", "update"),
        ("Actualización de la AU 12/13", "UA 12/13", "ua-12-13", "update"),
        ("Complément d'information sur l'AU 12/13", "UA 12/13", "ua-12-13", "update"),
        ("Action complémentaire sur l’AU 12/13", "UA 12/13", "ua-12-13", "update"),
        ("Mise à jour de l'AU 12/13", "UA 12/13", "ua-12-13", "update"),
        ("AU: 274/11 Índice: AMR 41/054/2011 México", "UA 274/11", "ua-274-11", "new"),
    ],
)
def test_reference_forms(reference: str, ua: str, case_id: str, kind: str) -> None:
    parsed = parse_ua(f"{reference}\n")
    assert (parsed.ua, parsed.id, parsed.update, parsed.kind) == (ua, case_id, None, kind)
    # The chat's paste flow reads the same forms: a short update notice is an Urgent Action.
    assert names_an_update(reference) == (kind == "update")
    if kind == "update":
        assert any(note.startswith(f"update: {ua} is a further-information UA") for note in parsed.uncertain)


def test_an_extra_is_not_the_ua_of_the_same_number() -> None:
    assert ua_references("Further information on EXTRA 78/92") == {"EXTRA 78/92"}
    assert ua_references("UA 78/92 and AU 5/10") == {"78/92", "5/10"}
    assert ua_number("EXTRA 78/92") == "EXTRA 78/92" and ua_number("UA 78/92") == ua_number("AU 78/92") == "78/92"


def _appeal(reference: str, name: str) -> str:
    return f"""URGENT ACTION
{reference} Fear of torture
{name} was arrested on 2 March and has been held incommunicado since then. He is at risk of torture.
PLEASE WRITE IMMEDIATELY in Spanish or your own language:
- Urge the authorities to release {name} immediately.
PLEASE SEND APPEALS BEFORE 15 APRIL 2013 TO:
Attorney General
Juan Gómez Ruiz
Fax: +52 55 5346 0000
Salutation: Dear Attorney General
"""


def test_a_page_of_two_appeals_is_refused() -> None:
    page = _appeal("UA 12/13", "Pedro Ramírez") + "\n" + _appeal("UA 14/13", "Luis Ortega")
    with pytest.raises(SeveralUrgentActions, match=r"this page holds 2 Urgent Actions \(UA 12/13, UA 14/13\)"):
        parse_ua(page)
    # Without the second heading, two references with an appeal section each are still two appeals.
    with pytest.raises(NotAnUrgentAction, match="import them one at a time"):
        parse_ua(page.replace("\nURGENT ACTION\nUA 14/13", "\nUA 14/13"))


def test_an_update_naming_its_original_and_earlier_documents_is_one_appeal() -> None:
    update = (
        "URGENT ACTION\nFurther Information on UA 81/07 (MDE 21/005/2007, 05 April 2007) and follow-ups "
        "(MDE 21/007/2007, 09 May 2007 ; MDE 21/008/2007, 1 June 2007)\n"
        "Salim Haddad was moved to another prison on 2 May. He had been arrested with another man\n"
        "under UA 75/07 (MDE 21/004/2007), who remains in custody.\n"
        "PLEASE WRITE IMMEDIATELY in Arabic or your own language:\n- Urge the authorities to release him.\n"
        "PLEASE SEND APPEALS BEFORE 15 JUNE 2007 TO:\nMinister of Justice\nAli Hassan Omar\nFax: +970 8 282 1234\n"
        "\nURGENT ACTION\nADDITIONAL INFORMATION\nThis is the third update of UA 81/07.\n"
    )
    parsed = parse_ua(update)
    assert (parsed.ua, parsed.update, parsed.kind) == ("UA 81/07", 3, "update")


def test_a_title_a_pdf_wrapped_is_joined() -> None:
    labelled = (
        "URGENT ACTION\n\nURGENT ACTION TITLE: Honduras: Armed attack against members of the Civic Council of\n"
        "Popular and Indigenous Organizations\n\nPUBLICATION DATE: 5 July 2017\n\nTHIRD UA 60/16\n"
    )
    assert parse_ua(labelled).title == (
        "Honduras: Armed attack against members of the Civic Council of Popular and Indigenous Organizations"
    )
    heading = (
        "ACCIÓN URGENTE\nAMENAZAS CONTRA UN DEFENSOR DE LOS DERECHOS DE LAS PERSONAS\nMIGRANTES, QUE CORRE PELIGRO\n"
        "Fray Tomás González recibió una amenaza telefónica el 9 de septiembre en su parroquia de Tenosique.\n"
        "AU: 274/11 Índice: AMR 41/054/2011 México Fecha: 13 de septiembre de 2011\n"
    )
    parsed = parse_ua(heading)
    assert parsed.title == "Amenazas contra un defensor de los derechos de las personas migrantes, que corre peligro"
    assert parsed.summary is not None and parsed.summary.startswith("Fray Tomás González recibió")
    assert parsed.issued == dt.date(2011, 9, 13)


@pytest.mark.parametrize(
    ("under", "title"),
    [
        ("Prosecutor denies holding Syrian lawyer", "Prosecutor denies holding Syrian lawyer"),
        ("Please write immediately in Spanish or your own language:", None),
        ("Dear Minister,", None),
    ],
)
def test_a_line_under_the_heading_is_a_title_only_when_it_reads_as_one(under: str, title: str | None) -> None:
    text = f"URGENT ACTION\n{under}\nThere are increased concerns for the well-being of the lawyer held since May.\nUA 5/10\n"
    assert parse_ua(text).title == title


def test_a_label_followed_by_a_sentence_is_not_joined_to_it() -> None:
    text = "URGENT ACTION TITLE: Honduras: Attack on COPINH\nOn 30 June unknown men attacked them.\nTHIRD UA 60/16\n"
    assert parse_ua(text).title == "Honduras: Attack on COPINH"


@pytest.mark.parametrize(
    ("line", "issued"),
    [
        ("Date: 20 February 2013", dt.date(2013, 2, 20)),
        ("Date Published: 20 February 2013", dt.date(2013, 2, 20)),
        ("Fecha: 13 de septiembre de 2011", dt.date(2011, 9, 13)),
        ("PUBLICATION DATE: 5 July 2017", dt.date(2017, 7, 5)),
        ("Date de publication : 5 juillet 2017", dt.date(2017, 7, 5)),
        ("27 September 2010", dt.date(2010, 9, 27)),
        ("Tuesday, September 28, 2010", None),  # a blog's stamp: when it was posted, not issued
        ("Syria Date: 20 February 2013", None),  # a label mid-line, on no reference line
    ],
)
def test_issue_date_forms(line: str, issued: dt.date | None) -> None:
    text = f"URGENT ACTION\nUA 5/10\n{line}\nJuan Pérez was arrested on 2 March 2010 and has been held without charge since.\n"
    assert parse_ua(text).issued == issued


def test_a_date_in_a_sentence_or_below_the_header_is_not_the_issue_date() -> None:
    text = "URGENT ACTION\nUA 5/10\nJuan Pérez was arrested on 2 March 2010 and has been held without charge since.\n"
    assert parse_ua(text + "27 September 2010\n").issued is None
    two = "URGENT ACTION\n27 September 2010\nUA 5/10\n28 September 2010\n" + text.split("\n", 2)[2]
    assert parse_ua(two).issued is None  # two dates to choose from: left for a person


@pytest.mark.parametrize(
    ("header", "body", "name", "gender"),
    [
        (
            "MEXICO Juan Manuel Martinez (m)",
            "He was threatened on 24 September at his home in Oaxaca state.",
            "Juan Manuel Martinez",
            "m",
        ),
        (
            "USA (Texas) Charles RECTOR",
            "Charles Rector is due to be executed on 20 April in Huntsville.",
            "Charles Rector",
            None,
        ),
        (
            "USA (Texas) Napoleon Beazley [m], black, aged 25",
            "He was 17 at the time of the crime he was convicted of.",
            "Napoleon Beazley",
            "m",
        ),
        (
            "ALGERIA Abdelkrim Torchi, Saddek Aichouni",
            "Both men were arrested at their homes in Algiers on 20 October.",
            None,
            None,
        ),
        (
            "MEXICO Juan Pérez (m)\nMaría López (f)",
            "Both were arrested at their homes in Oaxaca on 20 October by police.",
            None,
            None,
        ),
        (
            "USA (Texas) Charles RECTOR",
            "He is due to be executed on 20 April in Huntsville, Texas, by lethal injection.",
            None,
            None,
        ),
    ],
)
def test_subject_from_the_header_line(header: str, body: str, name: str | None, gender: str | None) -> None:
    parsed = parse_ua(f"URGENT ACTION\nUA 5/10 Fear for safety\n{header}\n{body} The family fear for his safety now.\n")
    assert (parsed.subject_name, parsed.subject_gender) == (name, gender)
    if name:
        assert any(note.startswith("subject: picked by a heuristic") for note in parsed.uncertain)


def test_capitals_of_a_header_name_not_written_elsewhere_are_reported() -> None:
    parsed = parse_ua(
        "URGENT ACTION\nUA 5/10\nUSA (Texas) Charles RECTOR (m)\nHe is due to be executed on 20 April in Huntsville.\n"
    )
    assert parsed.subject_name == "Charles Rector"
    assert "subject.name: written 'Charles RECTOR' in the document: check the capitals" in parsed.uncertain


@pytest.mark.parametrize(
    ("opening", "name"),
    [
        ("Alan Johnston was released on 4 July, following pressure from Hamas.", "Alan Johnston"),
        (
            "Juan Manuel Martinez, a political activist from Oaxaca state, had his house broken into.",
            "Juan Manuel Martinez",
        ),
        ("Warren Bridge and Andre Lewis have received stays of execution in Texas this week.", None),
        ("Berta Zuniga Cáceres, Sotero Chavarría Fúnez and José Asunción Martínez were attacked.", None),
        ("On 30 June unknown assailants attacked three members of the council on the road home.", None),
        ("Amnesty International has learned that the trial will open on 3 May in the capital.", None),
        ("Saudi Arabian authorities have detained a blogger without charge since 2 March this year.", None),
        ("Lawyer Khalil Ma’touq has been held since October; the lawyer is a known defender.", None),
    ],
)
def test_subject_from_the_opening_sentence(opening: str, name: str | None) -> None:
    parsed = parse_ua(f"URGENT ACTION\nFurther information on UA 5/10\n{opening} More news will follow soon.\n")
    assert parsed.subject_name == name and parsed.subject_gender is None


def _block(*lines: str):
    block = ["PLEASE SEND APPEALS BEFORE 15 APRIL 2013 TO:", *lines, "Salutation: Dear Sir"]
    targets, notes = parse_targets(block, " ".join(block), degraded=False)
    return targets[0], notes


@pytest.mark.parametrize(
    ("lines", "name", "title", "address"),
    [
        (
            ["Minister of Security", "Julián Pacheco Tinoco", "Tegucigalpa, Honduras"],
            "Julián Pacheco Tinoco",
            "Minister of Security",
            ["Tegucigalpa, Honduras"],
        ),
        (
            ["Fiscal General de la República", "Procuraduría General", "Av. Reforma 211"],
            None,
            "Fiscal General de la República",
            ["Procuraduría General", "Av. Reforma 211"],
        ),
        (
            ["M. Mustafa Benmansour", "Ministre de l'Intérieur", "18 rue Docteur Saadane", "Alger"],
            "M. Mustafa Benmansour",
            "Ministre de l'Intérieur",
            ["18 rue Docteur Saadane", "Alger"],
        ),
        (
            ["Attorney General", "Department of Justice", "Jeff Sessions", "950 Pennsylvania Avenue"],
            "Jeff Sessions",
            "Attorney General",
            ["950 Pennsylvania Avenue"],
        ),
    ],
)
def test_an_office_is_the_title_not_an_address_line(
    lines: list[str], name: str | None, title: str, address: list[str]
) -> None:
    target, _ = _block(*lines, "Fax: +504 2237 7777")
    assert (target.name, target.title, target.address) == (name, title, address)


def test_a_rank_in_the_name_is_kept_and_reported() -> None:
    target, notes = _block(
        "Minister of Security", "General de División Julián Pacheco", "Tegucigalpa", "Email: a@example.org"
    )
    assert (target.name, target.title) == ("General de División Julián Pacheco", "Minister of Security")
    assert "targets[0].name: 'General de División' may be a rank, not part of the name: check it" in notes


@pytest.mark.parametrize(
    "text",
    [
        "URGENT ACTION\n" + "MEXICO " + "Aa " * 3000 + "\n",
        "URGENT ACTION\nUA 1/12\n" + "A" * 20000 + "\n",
        "URGENT ACTION\nUA 1/12 " + "(x) " * 5000 + "- title\n",
        "URGENT ACTION\n" + "Juan Pérez " * 4000 + "\n",
        "URGENT ACTION\nUA 1/12\nFax: +" + "1 " * 5000 + "x\n",
        "URGENT ACTION\n" + "UA 1/12 " * 2000 + "\n",
    ],
)
def test_hostile_text_is_read_quickly(text: str) -> None:
    start = time.perf_counter()
    try:
        parse_ua(text)
    except NotAnUrgentAction:
        pass
    assert time.perf_counter() - start < 1.0
