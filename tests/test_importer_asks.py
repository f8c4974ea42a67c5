"""Imported asks, facts and salutations that make letters read right: written to the official, in one language.

Appeals write their asks for activists ("Urge the authorities to …"); the importer turns those it is sure of
into the writer's requests ("I urge you to …") and says which ones it could not. The 2017 template has no
asks, only a sample letter: its requests are the asks, its other paragraphs the facts. Real documents are
read from ../shared (never copied into the repository); the short texts below are made up.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.content.advice import INSTRUCTION, TWO_SALUTATIONS
from bot.content.check import check_content
from bot.content.loader import load_case
from bot.content.models import Case
from bot.importer.asks import as_request, read_letter
from bot.importer.case_yaml import case_data
from bot.importer.parse import clean_lines, parse_ua
from bot.importer.salutations import by_language
from bot.render.env import make_environment
from bot.render.letters import LetterWriter

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "content" / "templates"
SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED = SHARED / "seeds" / "000_f0bba99ae6605fd6.txt"
UA_60 = SHARED / "ua-samples" / "ua_60_2017.txt"
DOCUMENTS = [SEED, *sorted((SHARED / "ua-samples").glob("ua_*.txt"))]
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"no shared UA documents at {SHARED}")

ONE_OFFICIAL = ["Prosecutor General", "Dear Prosecutor General"]


# --- instructions turned into requests, in three languages ----------------------------------------


@pytest.mark.parametrize(
    ("ask", "turned"),
    [
        # English: the verb after "I urge you to" stays a bare infinitive, the object pronouns stay.
        ("Urge the authorities to release him immediately.", "I urge you to release him immediately."),
        ("Urging the authorities to release her", "I urge you to release her"),
        ("Urge the Russian authorities not to return him to Tajikistan",
         "I urge you not to return him to Tajikistan"),
        ("Calling on the authorities to ensure that they are protected",
         "I call on you to ensure that they are protected"),
        ("Call upon the Honduran government to protect them", "I call upon you to protect them"),
        ("Urging them to ensure she is not tortured.", "I urge you to ensure she is not tortured."),
        ("Remind the authorities of their obligation to protect him.",
         "I remind you of your obligation to protect him."),
        ("Reminding them that they must respect the right to a fair trial.",
         "I remind you that you must respect the right to a fair trial."),
        ("Expressing concern that he may be tortured.", "I am concerned that he may be tortured."),
        ("Express deep concern for the safety of the witnesses.",
         "I am deeply concerned for the safety of the witnesses."),
        ("Ask the authorities to allow her to see a lawyer.", "I ask you to allow her to see a lawyer."),
        ("urging that, if detained, they be treated humanely.", "I urge that, if detained, they be treated humanely."),
        ("expressing concern at his arrest and urging the authorities to release him",
         "I am concerned at his arrest and I urge you to release him"),
        # The one official every letter goes to is "you" too.
        ("Urge the Prosecutor General to open an investigation.", "I urge you to open an investigation."),
        # Spanish
        ("Pidan a las autoridades que lo pongan en libertad.", "Le pido que lo pongan en libertad."),
        ("Instando a las autoridades a que garanticen su seguridad.", "Le insto a que garanticen su seguridad."),
        ("Insten a las autoridades hondureñas a proteger a los testigos.",
         "Le insto a proteger a los testigos."),
        ("Recuerden a las autoridades que la tortura está prohibida.", "Le recuerdo que la tortura está prohibida."),
        ("Recuérdenles que deben respetar el derecho internacional.",
         "Le recuerdo que deben respetar el derecho internacional."),
        ("Expresen su preocupación por la seguridad de Ana.", "Expreso mi preocupación por la seguridad de Ana."),
        # French: the document's elision and apostrophe are kept.
        ("Demandez aux autorités de le libérer.", "Je vous demande de le libérer."),
        ("Demandez aux autorités d’enquêter sur sa disparition.", "Je vous demande d’enquêter sur sa disparition."),
        ("Exhortez les autorités à libérer Ana.", "Je vous exhorte à libérer Ana."),
        ("Rappelez aux autorités que la torture est interdite.", "Je vous rappelle que la torture est interdite."),
        ("Rappelez-leur qu’elles ont l’obligation de le protéger.",
         "Je vous rappelle que vous avez l’obligation de le protéger."),
        ("Exprimez votre vive préoccupation quant à la sécurité d’Ana.",
         "J’exprime ma vive préoccupation quant à la sécurité d’Ana."),
    ],
)  # fmt: skip
def test_an_instruction_becomes_a_request_to_the_official(ask: str, turned: str) -> None:
    assert as_request(ask, ONE_OFFICIAL) == (turned, True)
    assert not INSTRUCTION.match(turned)


@pytest.mark.parametrize(
    ("ask", "official"),
    [
        # Someone else than the official: "you" would be wrong in a letter to another official.
        ("Urge the Prosecutor General to open an investigation.", []),
        ("Pidan al Fiscal General que abra una investigación.", []),
        ("Urge the courts to review his case.", ONE_OFFICIAL),
        # No pattern the importer is sure of.
        ("Demand the immediate release of Ana.", ONE_OFFICIAL),
        ("Exigez la libération d’Ana.", ONE_OFFICIAL),
        ("Call on the authorities, who detained him, to release him.", ONE_OFFICIAL),
        # The first part turns, the second does not: the whole ask is left to a person.
        ("Urge the authorities to release him and demanding an inquiry.", ONE_OFFICIAL),
    ],
)
def test_an_instruction_that_is_not_certain_is_left_as_written(ask: str, official: list[str]) -> None:
    assert as_request(ask, official) == (ask, None)


@pytest.mark.parametrize(
    "ask", ["Release him immediately.", "Ensure that she is protected", "Liberen a Ana.", "Libérez Ana."]
)
def test_a_request_already_is_left_alone(ask: str) -> None:
    assert as_request(ask, ONE_OFFICIAL) == (ask, False)


OFFICIALS = [
    "Prosecutor General\nMarta Elena Ruiz\nAvenida Central 100\nFax: +502 2411 9124\nSalutation: Dear Prosecutor General",
    "Minister of the Interior\nJorge Alberto Pineda\nCalle 5\nFax: +502 2413 8888\nSalutation: Dear Minister",
]


def _appeal(bullets: list[str], officials: int = 1) -> str:
    targets = "\n\n".join(OFFICIALS[:officials])
    lines = "\n".join(f"\u25aa {bullet}" for bullet in bullets)
    return (
        "URGENT ACTION\nJOURNALIST HELD\nAna Torres was arrested on 2 March.\n\n"
        f"PLEASE WRITE IMMEDIATELY in English or your own language:\n{lines}\n\n"
        f"PLEASE SEND APPEALS BEFORE 1 MAY 2031 TO:\n{targets}\n\n"
        "Please check with your section office if sending appeals after the above date.\n"
        "This is the first update of UA 9/31.\n"
    )


def test_each_rewritten_ask_is_reported_and_so_is_each_one_left() -> None:
    parsed = parse_ua(_appeal(["Urge the Prosecutor General to release her;", "Demand an inquiry."]))
    assert parsed.asks == ["I urge you to release her", "Demand an inquiry."]
    assert "asks[0]: rewritten as a request: check it" in parsed.uncertain
    assert "asks[1]: could not turn into a request to the official: rewrite it" in parsed.uncertain
    # With two officials, "the Prosecutor General" is not whom every letter goes to.
    several = parse_ua(_appeal(["Urge the Prosecutor General to release her;"], officials=2))
    assert several.asks == ["Urge the Prosecutor General to release her"]
    assert "asks[0]: could not turn into a request to the official: rewrite it" in several.uncertain


def test_a_request_is_a_statement_in_the_case_file_and_a_sentence_in_the_letter() -> None:
    data = case_data(parse_ua(_appeal(["Urge the authorities to release her;", "Release her at once."])))
    # "I urge you to …" is the letter's own sentence; "Release her" follows the frame's "I call on you to".
    assert data["asks"] == [{"statement": {"en": "I urge you to release her"}}, {"en": "Release her at once."}]
    assert Case.model_validate({**data, "title": "T", "summary": "S"}).asks[0].statement


# --- the sample letter ----------------------------------------------------------------------------

ES_LETTER = """\
CARTA DE ACCIÓN URGENTE:

Estimado Señor Ministro:

El 30 de junio, unos desconocidos atacaron a tres coordinadores del COPINH. Sr. Pérez denunció el ataque.
La seguridad de los miembros del COPINH sigue en peligro.

Le insto a que garantice la protección de los miembros del COPINH. Asimismo, le pido que reconozca
públicamente su labor.

Atentamente,

DATOS DE CONTACTO DE LAS AUTORIDADES
"""

FR_LETTER = """\
LETTRE D'ACTION URGENTE :

Monsieur le Ministre,

Le 30 juin, des inconnus ont attaqué trois coordinateurs du COPINH.

Je vous demande de garantir leur protection.

Je vous prie d'agréer, Monsieur le Ministre, l'expression de ma haute considération.
"""


@pytest.mark.parametrize(
    ("text", "salutation", "requests", "facts"),
    [
        (ES_LETTER, "Estimado Señor Ministro",
         ["Le insto a que garantice la protección de los miembros del COPINH.",
          "Asimismo, le pido que reconozca públicamente su labor."],
         "El 30 de junio, unos desconocidos atacaron a tres coordinadores del COPINH. Sr. Pérez denunció el ataque. "
         "La seguridad de los miembros del COPINH sigue en peligro."),
        (FR_LETTER, "Monsieur le Ministre", ["Je vous demande de garantir leur protection."],
         "Le 30 juin, des inconnus ont attaqué trois coordinateurs du COPINH."),
    ],
)  # fmt: skip
def test_the_sample_letter_is_read_in_its_parts(text: str, salutation: str, requests: list[str], facts: str) -> None:
    letter = read_letter(clean_lines(text))
    assert letter is not None
    assert (letter.salutation, letter.requests, letter.facts) == (salutation, requests, facts)


def test_a_sample_letter_without_a_request_is_reported_in_plain_words() -> None:
    text = "URGENT ACTION\nUA 9/31\nURGENT ACTION LETTER:\n\nDear Minister,\n\nAna was arrested.\n\nYours sincerely,\n"
    parsed = parse_ua(text)
    assert parsed.asks == [] and "asks (required)" in parsed.missing
    assert "asks: found no request to the official in the sample letter: copy them from it by hand" in parsed.uncertain
    assert parsed.facts == "Ana was arrested."


@needs_shared
def test_the_2017_sample_gives_its_asks_facts_and_salutations() -> None:
    parsed = parse_ua(UA_60.read_text(encoding="utf-8"))
    assert parsed.asks == [
        "I urge you to ensure that COPINH members have all the protection they ask for, and for you to publicly "
        "recognize the legitimate human rights work done by their organization."
    ]
    assert "asks: taken from the sample letter: check them" in parsed.uncertain
    assert not [note for note in parsed.missing if note.startswith("asks")]
    # The letter's factual paragraphs, as written: not its salutation, request or closing formula.
    assert parsed.facts is not None
    assert parsed.facts.startswith("I am concerned to hear about another violent attack against human rights")
    assert parsed.facts.endswith("the majority in Latin America and 12 in Honduras alone.")
    assert "On 30 June, COPINH coordinators Berta Zuniga Cáceres" in parsed.facts
    for word in ("Dear Minister", "I urge you", "Yours sincerely", "TARGET"):
        assert word not in parsed.facts
    assert "facts: taken from the sample letter: check them" in parsed.uncertain
    # What the appeal asks of the letters, read and kept.
    assert (parsed.letter_languages, parsed.deadline) == (["es"], dt.date(2017, 8, 16))
    data = case_data(parsed)
    assert data["facts"] == {"en": parsed.facts}
    assert data["targets"][0]["salutation"] == {"en": "Dear Minister", "es": "Estimado Señor Secretario de Seguridad"}
    assert data["asks"] == [{"statement": {"en": parsed.asks[0]}}]


@needs_shared
def test_the_seeds_asks_are_addressed_to_the_official_and_its_summary_gives_the_facts() -> None:
    parsed = parse_ua(SEED.read_text(encoding="utf-8"))
    assert parsed.asks[0] == (
        "I urge you to immediately take steps to clarify the whereabouts of Nizomkhon Juraev and ensure he is not "
        "illegally taken out of the country"
    )
    assert parsed.asks[1].startswith("I remind you of your absolute obligation under international human rights law")
    assert [note for note in parsed.uncertain if note.startswith("asks")] == [
        "asks[0]: rewritten as a request: check it",
        "asks[1]: rewritten as a request: check it",
    ]
    assert parsed.facts == parsed.summary and "facts: taken from the summary: check them" in parsed.uncertain
    assert parsed.facts is not None and parsed.facts.startswith("Nizomkhon Juraev was released")


# --- salutations by language ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("salutation", "by_lang"),
    [
        ("Dear Minister/Estimado Señor Secretario de Seguridad",
         {"en": "Dear Minister", "es": "Estimado Señor Secretario de Seguridad"}),
        ("Monsieur le Ministre / Dear Minister", {"fr": "Monsieur le Ministre", "en": "Dear Minister"}),
        ("monsieur le ministre / dear minister", {"fr": "monsieur le ministre", "en": "dear minister"}),
        ("Sr. Fiscal General / Dear Prosecutor General", {"es": "Sr. Fiscal General", "en": "Dear Prosecutor General"}),
        # One salutation, one language: a letter in another language opens with its frame's own.
        ("Dear Prosecutor General", {"en": "Dear Prosecutor General"}),
        ("Monsieur le Procureur général,", {"fr": "Monsieur le Procureur général,"}),
        ("Dear Sir/Madam", {"en": "Dear Sir/Madam"}),
        ("Estimado Señor/Señora", {"es": "Estimado Señor/Señora"}),
        # A language the word lists cannot tell, or two salutations in one language: as written, for a person.
        ("Excellency", "Excellency"),
        ("Señor Ministro / Estimado Señor Secretario", "Señor Ministro / Estimado Señor Secretario"),
    ],
)  # fmt: skip
def test_a_salutation_is_kept_by_language(salutation: str, by_lang: object) -> None:
    assert by_language(salutation) == by_lang


@needs_shared
def test_each_letter_opens_with_the_salutation_in_its_own_language(tmp_path: Path) -> None:
    """The English letter says "Dear Minister", the Spanish one "Estimado Señor Secretario de Seguridad"."""
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    # No Spanish frame ships yet: a bare one, enough to show which salutation a Spanish letter gets.
    (templates / "letters" / "letter.es.txt.j2").write_text(
        "{{ (target.salutation or 'Estimado señor')|ending(':') }}\n\n{{ requests|join(' ') }}\n", encoding="utf-8"
    )
    (templates / "letters" / "subject.es.txt.j2").write_text("Llamamiento urgente\n", encoding="utf-8")
    writer = LetterWriter(make_environment(templates), templates)
    data = case_data(parse_ua(UA_60.read_text(encoding="utf-8")))
    data["asks"] = [{"en": "Protect the members of COPINH", "es": "Proteja a los miembros del COPINH"}]
    case = Case.model_validate(data)
    assert writer.available(case) == ["en", "es"] and writer.default_language(case, "en") == "es"
    spanish = writer.write(case, 0, "es", variant_seed=b"u", signature=None)
    english = writer.write(case, 0, "en", variant_seed=b"u", signature=None)
    assert spanish.startswith("Estimado Señor Secretario de Seguridad:\n") and "Dear" not in spanish
    assert "\n\nDear Minister,\n\n" in english and "Estimado" not in english


# --- every completed sample, every letter ---------------------------------------------------------

# Where a sentence, a clause or an ask the frame leads into begins ("I call on you to <ask>").
_STARTS = re.compile(r"^|\n|[.!?:;]\s+|\b(?:and|y|et)\s+|\byou to\s+|\b\d+\.\s+")


def instruction_phrasing(text: str) -> list[str]:
    return [text[m.end() : m.end() + 40] for m in _STARTS.finditer(text) if INSTRUCTION.match(text[m.end() :])]


def test_the_check_finds_instructions_where_a_letter_would_have_them() -> None:
    assert instruction_phrasing("Dear Minister,\n\nI appeal to you to urge the authorities to release him.")
    assert instruction_phrasing("I appeal to you:\n1. Remind the authorities of their obligation.")
    assert instruction_phrasing("I am concerned at his arrest and urging the authorities to act.")
    assert not instruction_phrasing("I urge you to release him. I remind you of your obligation.")


def completed_case(document: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Case | None:
    """The draft with only what the report lists as required filled in by hand, and a timezone; None when
    that does not make a case `rrbot check` accepts."""
    content = tmp_path / document.stem / "content"
    shutil.copytree(ROOT / "content", content)
    for old in (content / "cases").glob("*.yaml"):
        old.unlink()
    main(["import", str(document), "-o", str(content / "cases")])
    err = capsys.readouterr().err
    todo = next((line.split("fill in ", 1)[1].split(", ") for line in err.splitlines() if "fill in " in line), [])
    path = next((content / "cases").glob("*.yaml"))
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    hand = {"title": "Title by hand", "summary": "Summary by hand"}
    for field in todo:
        if field.startswith("targets[0]."):
            data["targets"][0][field.split(".", 1)[1]] = "Name by hand"
        elif field in hand:
            data[field] = hand[field]
        else:
            return None  # the asks or the officials: a person writes them, there is nothing to render yet
    data["timezone"] = "UTC"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    if check_content(content):
        return None
    return load_case(path)


@needs_shared
def test_every_sample_that_can_be_completed_renders_letters_without_instructions_or_two_salutations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    writer = LetterWriter(make_environment(TEMPLATES), TEMPLATES)
    rendered: dict[str, int] = {}
    for document in DOCUMENTS:
        case = completed_case(document, tmp_path, capsys)
        if case is None:
            continue
        rendered[document.name] = 0
        for index in range(len(case.targets)):
            for lang in writer.available(case):
                for user in (b"a", b"b", b"c", b"d", b"e", b"f"):
                    post = writer.parts(case, index, lang, variant_seed=user, signature=None, today=dt.date(2031, 1, 1))
                    email = writer.write(case, index, lang, variant_seed=user, signature=None, with_address=False)
                    # The heading is the address as the document gives it; the letter starts at the salutation.
                    for text in (post.body, email):
                        assert not instruction_phrasing(text), (document.name, text)
                        assert not TWO_SALUTATIONS.search(text), (document.name, text)
                        rendered[document.name] += 1
    # The seed and the 2017 sample complete; so do the degraded exports, once their title, summary and
    # official's name are written by hand.
    assert {SEED.name, UA_60.name} <= set(rendered), rendered
    assert all(rendered.values()), rendered


@needs_shared
def test_the_letters_of_the_2017_sample_say_what_its_sample_letter_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = completed_case(UA_60, tmp_path, capsys)
    assert case is not None
    writer = LetterWriter(make_environment(TEMPLATES), TEMPLATES)
    letter = writer.write(case, 0, "en", variant_seed=b"u", signature=None, today=dt.date(2031, 1, 1))
    body = letter.split("\n\n", 2)[2]
    assert body.startswith("Dear Minister,\n\n")
    assert "\n\nI urge you to ensure that COPINH members have all the protection they ask for" in body
    assert "On 30 June, COPINH coordinators Berta Zuniga Cáceres" in body
    assert "I respectfully urge you to i urge" not in body.lower() and "you to i " not in body


def test_a_day_a_pdf_wrapped_onto_a_line_of_its_own_stays_in_the_facts() -> None:
    """A number alone on a line is a page number, unless the sentence goes on around it ("On" / "21" / "June")."""
    lines = clean_lines("threatened him. On\n21\nJune, an unknown man came.\n2\n[Sections to add]\n- 3 -\nNext")
    assert lines == ["threatened him. On", "21", "June, an unknown man came.", "[Sections to add]", "Next"]
