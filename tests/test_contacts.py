"""Several email addresses and fax numbers for one official: the case file, the importer, the screens.

A case file writes one as a string (as every file did before) and several as a list; the model keeps that form
and gives them as lists (`Target.emails`, `Target.faxes`). A file with one renders exactly as it always did.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from bot.app.wiring import App
from bot.content import Case, Library, Target
from bot.content.check import run_check
from bot.content.loader import load_case
from bot.ground.i18n import load_translations
from bot.ground.settings import Settings
from bot.importer.case_yaml import case_data, render
from bot.importer.parse import parse_ua
from bot.importer.review import review
from bot.importer.targets import parse_targets
from bot.render import Renderer, Screen
from bot.render.markup import visible_text
from bot.telegram.keyboards import markup
from emulator import BotAPIEmulator
from emulator.journey import Activist
from emulator.markup import validate_reply_markup
from tests.conftest import CONTENT
from tests.test_render import all_screens, check_screen

ROOT = Path(__file__).resolve().parents[1]
SEED = CONTENT / "cases" / "ua-84-11.yaml"
SHARED = Path(__file__).resolve().parents[2] / "shared"
SAMPLES = SHARED / "ua-samples"
SEED_TEXT = SHARED / "seeds" / "000_f0bba99ae6605fd6.txt"
NOW = dt.datetime(2012, 5, 12, 10, 0, tzinfo=dt.UTC)
KW: dict[str, Any] = {"variant_seed": b"seed", "signature": None, "now": NOW}

# UA 60/17's Minister of Security, as the document gives him (one "Email:" line, two addresses).
UA60_ADDRESSES = ["comunicacionCNDS@gmail.com", "sprudott@yahoo.com"]
# The seed's second official (M. A. Peshkov, index 1) with a second address and a second fax number.
EMAILS = ["3dsng@mid.ru", "press@mid.example.org"]
FAXES = ["+7 499 241 21 75", "+7 499 241 21 76"]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(CONTENT / "templates", load_translations(CONTENT / "locales"), bot_username="rrbot")


def seed_data() -> dict[str, Any]:
    return yaml.safe_load(SEED.read_text(encoding="utf-8"))


def seed_with(**peshkov: Any) -> Case:
    """The seed case with M. A. Peshkov's fields replaced."""
    data = seed_data()
    data["targets"][1].update(peshkov)
    return Case.model_validate(data)


def target(**fields: Any) -> Target:
    return Target(name="Marta Elena Ruiz", **fields)


# --- the case file ---------------------------------------------------------------------------------------------


def test_one_contact_is_a_string_as_before_and_several_are_a_list() -> None:
    one = target(fax="+7 495 987 58 41", email="fiscal@example.org")
    assert (one.fax, one.email) == ("+7 495 987 58 41", "fiscal@example.org")  # what older code and files see
    assert (one.faxes, one.emails) == (["+7 495 987 58 41"], ["fiscal@example.org"])
    several = target(fax=FAXES, email=EMAILS)
    assert (several.fax, several.email) == (FAXES, EMAILS)
    assert (several.faxes, several.emails) == (FAXES, EMAILS)
    none = target()
    assert (none.fax, none.email, none.faxes, none.emails) == (None, None, [], [])
    # A list of one is one: the model, the importer and the written file agree on the form.
    assert target(email=["fiscal@example.org"]).email == "fiscal@example.org"
    assert target(email=[]).email is None


def test_repeats_are_dropped_and_the_first_spelling_kept() -> None:
    got = target(fax=["+7 495 987 58 41", " +7-495-987-58-41 ", "+7 495 987 58 42"], email=["A@Mid.ru", "a@mid.ru"])
    assert got.fax == ["+7 495 987 58 41", "+7 495 987 58 42"]  # the same digits, however spaced
    assert got.email == "A@Mid.ru"  # the same address in any case


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"email": ["fiscal@example.org", "fiscal at example.org"]}, "not an email address: 'fiscal at example.org'"),
        ({"fax": ["+7 495 987 58 41", "+7 49"]}, "a fax number needs at least 6 digits: '+7 49'"),
        ({"email": "fiscal at example.org"}, "not an email address"),  # one: as before, the line says which
        ({"email": [f"fiscal{i}@example.org" for i in range(11)]}, "at most 10 email addresses for one official"),
    ],
)
def test_a_bad_contact_is_refused_and_named(fields: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValidationError) as caught:
        target(**fields)
    [error] = caught.value.errors()
    assert error["msg"] == f"Value error, {reason}"


def write_seed(content: Path, text: str) -> Path:
    (content / "cases").mkdir(parents=True)
    path = content / "cases" / "ua-84-11.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rrbot_check_names_the_bad_address_of_a_list(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    assert text.count("    email: 3dsng@mid.ru\n") == 1
    path = write_seed(
        tmp_path, text.replace("    email: 3dsng@mid.ru\n", "    email:\n    - 3dsng@mid.ru\n    - 3dsng-mid.ru\n")
    )
    out = io.StringIO()
    assert run_check(tmp_path, out=out) == 1
    line = text.splitlines().index("    email: 3dsng@mid.ru") + 1
    assert f"{path}:{line}: targets.1.email: not an email address: '3dsng-mid.ru'" in out.getvalue().splitlines()


def test_rrbot_check_takes_a_list_and_says_what_else_a_contact_may_be(tmp_path: Path) -> None:
    text = SEED.read_text(encoding="utf-8")
    listed = text.replace("    email: 3dsng@mid.ru\n", f"    email: [{', '.join(EMAILS)}]\n")
    write_seed(tmp_path / "ok", listed)
    assert load_case(tmp_path / "ok" / "cases" / "ua-84-11.yaml").targets[1].emails == EMAILS
    path = write_seed(tmp_path / "bad", text.replace("    email: 3dsng@mid.ru\n", "    email: {work: 3dsng@mid.ru}\n"))
    out = io.StringIO()
    assert run_check(tmp_path / "bad", out=out) == 1
    assert "targets.1.email: should be text, or a list of texts (one '- ' line each)" in out.getvalue()
    assert str(path) in out.getvalue()


# --- the importer -----------------------------------------------------------------------------------------------


def appeal(*contact_lines: str) -> list[str]:
    return ["Send appeals to:", "Attorney General", "Juan Pérez", *contact_lines, "Salutation: Dear Attorney General"]


def test_the_importer_keeps_both_of_ua_60_2017s_addresses() -> None:
    parsed = parse_ua((SAMPLES / "ua_60_2017.txt").read_text(encoding="utf-8"))
    assert parsed.targets[0].email == UA60_ADDRESSES
    assert not [note for note in parsed.uncertain if "email" in note.field]  # no "add the rest by hand"
    written = yaml.safe_load(render(parsed, "ua_60_2017.txt"))
    assert written["targets"][0]["email"] == UA60_ADDRESSES  # a YAML list
    assert Target.model_validate(written["targets"][0]).emails == UA60_ADDRESSES


def test_one_address_or_number_is_written_as_a_string() -> None:
    data = case_data(parse_ua(SEED_TEXT.read_text(encoding="utf-8")))
    assert [(t.get("fax"), t.get("email")) for t in data["targets"]] == [
        ("+7 495 987 58 41", None),
        ("+7 499 241 21 75", "3dsng@mid.ru"),
        ("+7 495 9100766 ext 2134", None),
    ]


@pytest.mark.parametrize(
    ("lines", "faxes"),
    [
        (["Fax: +52 55 5346 0924", "Fax: 011-52-55-5346-0925"], ["+52 55 5346 0924", "+52 55 5346 0925"]),
        (["Fax: +52 55 5346 0924 / +52 55 5346 0925"], ["+52 55 5346 0924", "+52 55 5346 0925"]),
        (["Fax: +52 55 5346 0924; 00 52 55 5346 0925"], ["+52 55 5346 0924", "+52 55 5346 0925"]),
        (["Fax: +52 55 5346 0924 or +52 55 5346 0925"], ["+52 55 5346 0924", "+52 55 5346 0925"]),
        (["Fax: +52 55 5346 0924", "Fax: +52 55 5346 0924"], "+52 55 5346 0924"),  # written twice: once
        # Not two numbers: a slash in a number, an extension after a comma, a short second part.
        (["Fax: 030/1234567"], "030/1234567"),
        (["Fax: +7 495 9100766, ext. 2134"], "+7 495 9100766, ext. 2134"),
        (["Fax: +52 55 5346 0924 y 25"], "+52 55 5346 0924 y 25"),
    ],
)
def test_every_fax_number_is_kept(lines: list[str], faxes: str | list[str]) -> None:
    [draft], notes = parse_targets(appeal(*lines), "", degraded=False)
    assert draft.fax == faxes
    # Only a number written otherwise than the draft gives it has a note, with the document's form.
    rewritten = [raw for line in lines for raw in ("011-52-55-5346-0925", "00 52 55 5346 0925") if raw in line]
    assert [note.params.get("written") for note in notes if "fax" in note.field] == [repr(r) for r in rewritten]


@pytest.mark.parametrize(
    ("lines", "emails", "left_out"),
    [
        (["Email: a@example.org, b@example.org"], ["a@example.org", "b@example.org"], None),
        (["Email: a@example.org", "E-mail: b@example.org"], ["a@example.org", "b@example.org"], None),
        (["Email: a@example.org or <b@example.org>."], ["a@example.org", "b@example.org"], None),
        (["Email: a@example.org (private office)"], "a@example.org", "'(private office)'"),
        (["Email: through the ministry's web form"], "through the ministry's web form", None),  # kept, Case says why
    ],
)
def test_every_address_is_kept_and_other_text_reported(lines: list[str], emails: Any, left_out: str | None) -> None:
    [draft], notes = parse_targets(appeal(*lines), "", degraded=False)
    assert draft.email == emails
    reported = [note for note in notes if note.field == "targets[0].email"]
    assert [note.params["text"] for note in reported] == ([left_out] if left_out else [])


def test_a_joined_export_keeps_every_number_and_address_of_its_first_target() -> None:
    flat = (
        "please send appeals before 4 may 2012 to: minister of justice juan perez fax: +52 55 5346 0924 "
        "fax: +52 55 5346 0925 email: a@example.org, b@example.org salutation: dear minister"
    )
    [draft], _ = parse_targets([], flat, degraded=True)
    assert (draft.fax, draft.email) == (["+52 55 5346 0924", "+52 55 5346 0925"], ["a@example.org", "b@example.org"])


def test_the_import_report_lists_every_address(renderer: Renderer) -> None:
    parsed = parse_ua((SAMPLES / "ua_60_2017.txt").read_text(encoding="utf-8"))
    checked = review(render(parsed, "ua_60_2017.txt"), Library.load(CONTENT), renderer.letters, dt.date(2017, 7, 6))
    assert checked.officials[0]["email"] == ", ".join(UA60_ADDRESSES)
    report = renderer.import_report(
        checked, "en", "0123abcd", source="ua_60_2017.txt", missing=[], uncertain=[], audience=1
    )
    assert "📧 comunicacionCNDS@gmail.com, sprudott@yahoo.com" in visible_text(report.text)


# --- the screens ------------------------------------------------------------------------------------------------


def copies(screen: Screen) -> list[tuple[str, str]]:
    return [(b.text, b.copy_text) for row in screen.buttons for b in row if b.copy_text is not None]


def telegram_takes(screen: Screen) -> None:
    """What Telegram would check: the HTML and lengths (tests/test_render.py), and the keyboard as the
    emulator checks a real Bot API call's (copy texts of 1-256 characters, callback data of 64 bytes)."""
    check_screen(screen)
    keyboard = markup(screen)
    assert keyboard is not None
    validate_reply_markup(keyboard.model_dump(mode="json", exclude_none=True), strict=True)


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_email_screen_sends_one_email_to_every_address(renderer: Renderer, lang: str) -> None:
    case = seed_with(email=EMAILS)
    screen = renderer.email(case, 1, lang, "ru", **KW)
    telegram_takes(screen)
    shown = visible_text(screen.text)
    assert f"{', '.join(EMAILS)}\n" in shown  # one "To:", as a mail app takes several
    assert re.search(r"<code>3dsng@mid\.ru, press@mid\.example\.org</code>", screen.text)  # one tap copies both
    [(label, copied)] = [c for c in copies(screen) if "@" in c[1]]
    assert copied == "3dsng@mid.ru, press@mid.example.org"
    if lang == "en":
        assert label == "📋 Copy addresses"
        assert "it goes to all of them at once" in shown


def test_addresses_too_long_for_one_copy_button_get_one_each(renderer: Renderer) -> None:
    long = [f"{'x' * 90}.{i}@ministry-of-foreign-affairs.example.org" for i in range(3)]
    screen = renderer.email(seed_with(email=long), 1, "en", "ru", **KW)
    telegram_takes(screen)
    assert ", ".join(long) in visible_text(screen.text)
    assert [copied for _, copied in copies(screen) if "@" in copied] == long


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_fax_screen_lists_every_number_each_to_copy(renderer: Renderer, lang: str) -> None:
    screen = renderer.fax(seed_with(fax=FAXES), 1, lang, "ru", **KW)
    telegram_takes(screen)
    shown = visible_text(screen.text)
    assert all(f"• {number}\n" in shown for number in FAXES)
    assert [c for c in copies(screen)] == [(f"📋 {number}", number) for number in FAXES]
    if lang == "en":
        assert "Fax numbers (if one does not answer, try the next):" in shown
        assert "No fax machine? An online fax service" in shown


def test_an_extension_warns_only_when_every_number_has_one(renderer: Renderer) -> None:
    mixed = visible_text(renderer.fax(seed_with(fax=["+7 495 9100766 ext 2134", FAXES[0]]), 1, "en", "ru", **KW).text)
    assert "+7 495 9100766, extension 2134" in mixed and "No fax machine?" in mixed and "cannot dial" not in mixed
    every = renderer.fax(seed_with(fax=["+7 495 9100766 ext 2134", "+7 495 9100767 ext 2135"]), 1, "en", "ru", **KW)
    assert "cannot dial an extension" in visible_text(every.text)
    assert [copied for _, copied in copies(every)] == ["+7 495 9100766", "+7 495 9100767"]  # what to dial


def test_the_letter_and_the_act_menu_keep_their_buttons(renderer: Renderer) -> None:
    seed, several = load_case(SEED), seed_with(email=EMAILS, fax=FAXES)
    for lang in ("en", "ru"):
        assert renderer.act_menu(several, lang, NOW) == renderer.act_menu(seed, lang, NOW)
        letter = renderer.letter(several, 1, lang, "ru", **KW)
        assert letter == renderer.letter(seed, 1, lang, "ru", **KW)  # "by fax or by email", the same buttons
        assert {"eml:ua-84-11:peshkov:ru", "fax:ua-84-11:peshkov:ru"} <= {
            b.callback for row in letter.buttons for b in row
        }


def fingerprint(renderer: Renderer, case: Case) -> dict[str, Any]:
    """Every screen, text file and PDF of a case, in both UI languages."""
    found: dict[str, Any] = {}
    for lang in ("en", "ru"):
        found |= {f"{lang}-{key}": screen for key, screen in all_screens(renderer, case, lang).items()}
        for index in range(len(case.targets)):
            document = renderer.letter_document(case, index, lang, "ru", **KW)
            printed = renderer.letter_pdf(case, index, lang, "ru", **KW)
            found[f"{lang}-doc-{index}"] = document
            found[f"{lang}-pdf-{index}"] = (printed.filename, hashlib.sha256(printed.content).digest(), printed.caption)
    return found


def test_a_case_file_with_one_address_renders_exactly_as_before(renderer: Renderer) -> None:
    """The seed writes each contact as one string, as every case file did: written as lists of one, it must
    give the same screens, files and PDFs, and the lists must be all that the model sees differently."""
    data = seed_data()
    for official in data["targets"]:
        for key in ("fax", "email"):
            if key in official:
                official[key] = [official[key]]
    listed, seed = Case.model_validate(data), load_case(SEED)
    assert listed == seed
    assert fingerprint(renderer, listed) == fingerprint(renderer, seed)
    email = renderer.email(seed, 1, "en", "ru", **KW)
    assert "To: 3dsng@mid.ru\nSubject:" in visible_text(email.text)
    assert ("📋 Copy address", "3dsng@mid.ru") in copies(email)
    fax = renderer.fax(seed, 2, "en", "ru", **KW)
    assert "Fax number: +7 495 9100766, extension 2134\n⚠️" in visible_text(fax.text)
    assert ("📋 Copy fax number", "+7 495 9100766") in copies(fax)


# --- end to end: the bot, the emulator ----------------------------------------------------------------------------


@pytest.fixture
def contacts_content(tmp_path: Path) -> Path:
    """The bot's content with the seed's M. A. Peshkov given two addresses and two fax numbers."""
    content = tmp_path / "content"
    (content / "cases").mkdir(parents=True)
    for part in ("templates", "locales"):
        (content / part).symlink_to(CONTENT / part)
    data = seed_data()
    data["targets"][1].update(email=EMAILS, fax=FAXES)
    (content / "cases" / "ua-84-11.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return content


@pytest.fixture
def library(contacts_content: Path) -> Library:
    return Library.load(contacts_content)


@pytest.fixture
def settings(settings: Settings, contacts_content: Path) -> Settings:
    """conftest's settings, reading that content."""
    return settings.model_copy(update={"content_dir": contacts_content})


async def test_an_activist_gets_every_address_and_number_through_telegram(app: App, emulator: BotAPIEmulator) -> None:
    who = Activist(emulator, 4211, "Ann", language_code="en")
    await who.send("/start ua-84-11")
    await who.tap_data("lang:en:")
    await who.tap_data("act:ua-84-11")
    await who.tap_data("tgt:ua-84-11:peshkov:")
    await who.tap_data("eml:ua-84-11:peshkov:")
    assert f"To: {', '.join(EMAILS)}" in who.last["text"]
    assert [b["copy_text"]["text"] for b in who.buttons() if "copy_text" in b][0] == ", ".join(EMAILS)
    await who.tap_data("tgt:ua-84-11:peshkov:")
    await who.tap_data("fax:ua-84-11:peshkov:")
    assert all(number in who.last["text"] for number in FAXES)
    assert [b["copy_text"]["text"] for b in who.buttons() if "copy_text" in b] == FAXES
    # "I sent it" counts per official as before: the pledge callback does not change with the contacts.
    sent = who.button("✅ I sent the fax")
    assert sent["callback_data"] == "pl:ua-84-11:fax:peshkov"
