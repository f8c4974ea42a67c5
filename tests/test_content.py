"""Case files as a coordinator writes them: the seed case, and what a mistake in a file looks like."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.content import ContentError, Problem, load_case, load_cases
from bot.content.check import check_content, content_warnings, format_report, run_check
from bot.content.models import form_of, pick

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
SEED = CONTENT / "cases" / "ua-84-11.yaml"

# Line numbers below refer to this file: keep them in step when editing it.
VALID = """\
id: ua-1-12
ua: UA 1/12
title: {en: A title, ru: Заголовок}
summary: A short summary.
asks:
  - en: Do this.
    ru: Сделайте это.
targets:
  - name: First Official
    fax: "+7 495 000 00 00"
  - name: Second Official
    email: second@example.org
    salutation: {en: Dear Sir, ru: Уважаемый господин}
"""


def write_case(directory: Path, text: str, name: str = "ua-1-12.yaml") -> Path:
    cases = directory / "cases"
    cases.mkdir(parents=True, exist_ok=True)
    path = cases / name
    path.write_text(text, encoding="utf-8")
    return path


def replace_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines()
    lines[number - 1] = new
    return "\n".join(lines) + "\n"


def insert_line(text: str, number: int, new: str) -> str:
    lines = text.splitlines()
    lines.insert(number - 1, new)
    return "\n".join(lines) + "\n"


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ContentError) as caught:
        load_case(path)
    return caught.value.problems


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, format_report(problems)
    return problems[0]


def twitter_weight(text: str) -> int:
    """Tweet length as Twitter counts it (twitter-text v3): most scripts count 1, the rest 2."""
    light = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
    return sum(1 if any(lo <= ord(ch) <= hi for lo, hi in light) else 2 for ch in text)


# --- the seed case ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed():
    return load_case(SEED)


def test_seed_identity_and_deadline(seed):
    assert (seed.id, seed.ua, seed.update, seed.status) == ("ua-84-11", "UA 84/11", 2, "open")
    assert seed.issued is None  # the document gives no issue date
    assert seed.deadline_at() == dt.datetime(2012, 5, 15, 23, 59, 59, tzinfo=ZoneInfo("Europe/Moscow"))
    assert seed.letter_languages == ["ru"]
    assert seed.subject is not None
    assert (pick(seed.subject.name, "en"), pick(seed.subject.name, "ru")) == ("Nizomkhon Juraev", "Низомхон Джураев")
    assert form_of(seed.subject.name, "ru", "gen") == ("Низомхона Джураева", True)
    assert seed.subject.gender == "m"


def test_seed_targets_match_the_document(seed):
    chaika, peshkov, medvedev = seed.targets
    # Ids given in the file: pledges and buttons name the officials by them.
    assert [(t.id, t.id_derived) for t in seed.targets] == [("chaika", False), ("peshkov", False), ("medvedev", False)]
    assert chaika.name_in("en") == "Yurii Ya. Chaika" and chaika.name_in("ru") == "Ю. Я. Чайка"
    assert chaika.address == ["Bolshaia Dmitrovka 15 A", "Moscow", "125993", "Russian Federation"]
    assert chaika.fax == "+7 495 987 58 41"
    assert chaika.email is None
    assert chaika.salutation == {"en": "Dear Prosecutor General", "ru": "Уважаемый господин Генеральный прокурор"}

    assert peshkov.name_in("en") == "M. A. Peshkov"
    assert peshkov.address == ["Ul. Smolenskaya-Sennaia pl, 32/34", "119200 Moscow", "Russian Federation"]
    assert peshkov.fax == "+7 499 241 21 75"
    assert peshkov.email == "3dsng@mid.ru"
    assert peshkov.salutation["en"] == "Dear Director"
    assert peshkov.salutation["ru"]

    assert medvedev.name_in("en") == "Dmitry A. Medvedev"
    assert medvedev.address == ["Ul.Ilyinka, 23", "103132 Moscow", "Russian Federation"]
    assert medvedev.fax == "+7 495 9100766 ext 2134"
    assert medvedev.twitter == "@MedvedevRussia"
    # "And copies to:" the document gives him no salutation, and the case file invents none.
    assert medvedev.salutation is None

    # One form of address for both addressees (the officials are men): "Уважаемый господин <должность>".
    assert [t.salutation["ru"] for t in seed.primary_targets] == [
        "Уважаемый господин Генеральный прокурор",
        "Уважаемый господин директор",
    ]

    assert [t.copy_ for t in seed.targets] == [False, False, True]
    assert seed.primary_targets == [chaika, peshkov]
    for target in seed.targets:
        assert pick(target.title, "en") and pick(target.title, "ru")
        # A Russian letter is headed in the dative and in Cyrillic.
        assert form_of(target.title, "ru", "dat")[1] and form_of(target.name, "ru", "dat")[1]
        assert target.letter_address["ru"][-1].startswith("Москва, ")


def test_seed_is_complete_in_english_and_russian(seed):
    assert len(seed.asks) == 2
    assert seed.asks_in("ru") and seed.asks_in("en")
    assert seed.languages() == {"en", "ru"}
    for text in (seed.title, seed.summary, seed.background, seed.tweet):
        assert set(text) == {"en", "ru"}
    cyrillic = re.compile("[а-яё]", re.IGNORECASE)
    for ask in seed.asks:
        assert cyrillic.search(ask.text["ru"]) and not cyrillic.search(ask.text["en"])
    # The reminder of the absolute obligation is the writer's own sentence, not a request.
    assert [ask.statement for ask in seed.asks] == [False, True]
    reminder = seed.asks[1].text["ru"]
    assert reminder.startswith("Напоминаю, что по международному праву Российская Федерация безусловно обязана")
    assert set(seed.facts) == set(seed.copies) == {"en", "ru"}
    assert "Джураев" in seed.summary["ru"]


def test_seed_summary_fits_a_phone_screen(seed):
    for text in seed.summary.values():
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", text) if s]
        assert 2 <= len(sentences) <= 4, text


def test_seed_tweets_fit_with_handle_and_link(seed):
    handle = next(t.twitter for t in seed.targets if t.twitter)
    for text in seed.tweet.values():
        # text, space, handle, space, link (always 23)
        assert twitter_weight(text) + 1 + len(handle) + 1 + 23 <= 280, text


def test_seed_links_to_further_information(seed):
    assert [link.url for link in seed.links] == ["http://www.amnesty.org/en/library/info/EUR46/020/2011/en"]


def test_real_content_dir_has_no_problems():
    # Templates are written by others; whatever exists there must parse too.
    assert format_report(check_content(CONTENT)) == ""
    assert "ua-84-11" in load_cases(CONTENT)


def test_the_real_content_has_no_warnings_either():
    """The seed gives facts, ids, Russian forms and asks addressed to the official: nothing to warn about."""
    assert format_report(content_warnings(CONTENT)) == ""


WEAK = """\
id: ua-2-12
ua: UA 2/12
title: {en: A title, ru: Заголовок}
summary: A short summary.
letter_languages: [ru]
asks:
  - en: Urge the authorities to release him.
    ru: Освободить его.
  - en: Release his lawyer.
    es: Instando a las autoridades a liberar a su abogado.
    fr: Exhortez les autorités à libérer son avocat.
targets:
  - name: {en: First Official, ru: Первый Чиновник}
    title: {en: Minister, ru: Министр}
    salutation: Dear Minister/Estimado Señor Ministro
  - id: second
    name: Second Official
    email: second@example.org
    copy: true
"""


def test_check_warns_about_weak_letters_and_still_says_ok(tmp_path):
    """A case that loads but makes weak letters: each weakness named at its line; the check still passes."""
    content = tmp_path / "content"
    shutil.copytree(CONTENT / "templates", content / "templates")
    write_case(content, WEAK, "ua-2-12.yaml")
    out = io.StringIO()
    assert run_check(content, out) == 0
    report = out.getvalue()
    warnings = {line.split(": ")[2]: line for line in report.splitlines() if line.startswith("warning: ")}
    assert "no facts" in warnings["facts"]
    assert ":7: asks[0].en: reads as an instruction to activists ('Urge the authorities to' …)" in report
    assert "asks[0].ru" not in warnings  # «Освободить его.» is what the letter asks
    assert "asks[1].es" in warnings and "asks[1].fr" in warnings and "asks[1].en" not in warnings
    assert "two salutations in one" in warnings["targets[0].salutation"]
    assert "asks for letters in 'ru': give every ask a ru text" in warnings["asks"]
    assert "write `id: official`" in warnings["targets[0].id"] and "targets[1].id" not in warnings
    # The Russian frame heads the letter in the dative: the case gives only the plain forms.
    assert "ru letters use its 'dat' form: write `ru: {nom: Первый Чиновник, dat: …}`" in warnings["targets[0].name"]
    assert "'dat'" in warnings["targets[0].title"]
    # The copy official's name has no Russian at all: a Russian letter would show it in Latin letters.
    assert "no ru text" in warnings["targets[1].name"]
    assert report.rstrip().endswith(
        f"OK: 1 cases, {len(list((content / 'templates').glob('**/*.j2')))} templates (10 warnings)"
    )


# --- broken case files ------------------------------------------------------------------------


def test_valid_base_file_loads(tmp_path):
    case = load_case(write_case(tmp_path, VALID))
    assert case.id == "ua-1-12" and len(case.targets) == 2


def test_yaml_syntax_error_points_at_its_line(tmp_path):
    path = write_case(tmp_path, replace_line(VALID, 12, "    email: @second"))
    problem = only_problem(path)
    assert problem.line == 12
    assert "YAML syntax error" in problem.reason and "quotes" in problem.reason
    assert str(problem).startswith(f"{path}:12: ")


@pytest.mark.parametrize(
    ("line", "broken", "words"),
    [
        (13, '    salutation: "Dear Sir', "quoted scalar"),  # unclosed up to the end: where it opens
        (4, "summary A short summary.", "expected ':'"),
        (10, '   fax: "+7 495 000 00 00"', "indentation"),
        (4, "summary: Mind: the colon", "quotes"),
    ],
)
def test_yaml_syntax_errors_point_at_the_mistake(tmp_path, line, broken, words):
    problem = only_problem(write_case(tmp_path, replace_line(VALID, line, broken)))
    assert problem.line == line
    assert words in problem.reason


def test_unclosed_quote_swallowing_lines_is_named(tmp_path):
    # The quote on line 2 closes at the first quote of line 10, where YAML notices the damage.
    problem = only_problem(write_case(tmp_path, replace_line(VALID, 2, 'ua: "UA 1/12')))
    assert problem.line == 10
    assert "quote on line 2" in problem.reason


def test_missing_top_level_field_points_at_the_mapping(tmp_path):
    path = write_case(tmp_path, VALID.replace("ua: UA 1/12\n", ""))
    problem = only_problem(path)
    assert (problem.line, problem.field, problem.reason) == (1, "ua", "required field is missing")


def test_missing_target_name_points_at_the_target(tmp_path):
    path = write_case(tmp_path, replace_line(VALID, 11, "  - title: Second Official"))
    problem = only_problem(path)
    assert (problem.line, problem.field, problem.reason) == (11, "targets.1.name", "required field is missing")


def test_wrong_fax_points_at_the_fax(tmp_path):
    path = write_case(tmp_path, replace_line(VALID, 10, '    fax: "+7 49"'))
    problem = only_problem(path)
    assert (problem.line, problem.field) == (10, "targets.0.fax")
    assert "6 digits" in problem.reason
    assert str(problem) == f"{path}:10: targets.0.fax: {problem.reason}"


def test_unquoted_fax_number_asks_for_quotes(tmp_path):
    path = write_case(tmp_path, replace_line(VALID, 10, "    fax: 74950000000"))
    problem = only_problem(path)
    assert (problem.line, problem.field) == (10, "targets.0.fax")
    assert "quotes" in problem.reason


def test_unknown_field_suggests_the_close_one(tmp_path):
    path = write_case(tmp_path, insert_line(VALID, 13, '    faks: "+7 495 000 00 01"'))
    problem = only_problem(path)
    assert (problem.line, problem.field) == (13, "targets.1.faks")
    assert problem.reason == "unknown field (did you mean fax?)"


def test_unknown_top_level_field_suggests_the_close_one(tmp_path):
    path = write_case(tmp_path, VALID + "deadlin: 2012-05-15\n")
    problem = only_problem(path)
    assert (problem.line, problem.field, problem.reason) == (14, "deadlin", "unknown field (did you mean deadline?)")


def test_alias_is_reported_as_written_in_yaml(tmp_path):
    path = write_case(tmp_path, insert_line(VALID, 13, "    copy: maybe"))
    problem = only_problem(path)
    assert (problem.line, problem.field) == (13, "targets.1.copy")
    assert "true or false" in problem.reason


def test_only_copies_to_targets_is_a_problem_on_targets(tmp_path):
    text = insert_line(insert_line(VALID, 13, "    copy: true"), 10, "    copy: true")
    problem = only_problem(write_case(tmp_path, text))
    assert (problem.line, problem.field) == (8, "targets")
    assert "copies to" in problem.reason


def test_id_must_match_file_name(tmp_path):
    path = write_case(tmp_path, VALID, name="ua-2-12.yaml")
    problem = only_problem(path)
    assert (problem.line, problem.field) == (1, "id")
    assert "ua-1-12.yaml" in problem.reason


def test_duplicate_key_is_a_problem(tmp_path):
    path = write_case(tmp_path, insert_line(VALID, 5, "ua: UA 2/12"))
    problem = only_problem(path)
    assert (problem.line, problem.field) == (5, "ua")
    assert "duplicate" in problem.reason and "line 2" in problem.reason


def test_duplicate_key_inside_a_target(tmp_path):
    path = write_case(tmp_path, insert_line(VALID, 11, '    fax: "+7 495 000 00 09"'))
    problem = only_problem(path)
    assert (problem.line, problem.field) == (11, "targets.0.fax")


def test_text_in_a_wrong_shape(tmp_path):
    path = write_case(tmp_path, replace_line(VALID, 3, "title: {EN: A title, ru: 5}"))
    problems = {p.field: p for p in problems_of(path)}
    assert set(problems) == {"title.EN", "title.ru"}
    assert all(p.line == 3 for p in problems.values())
    assert "language code" in problems["title.EN"].reason


def test_impossible_date_is_a_field_problem(tmp_path):
    path = write_case(tmp_path, VALID + "deadline: 2012-02-30\n")
    problem = only_problem(path)
    assert (problem.line, problem.field) == (14, "deadline")
    assert "2012-05-15" in problem.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2012-05-15", dt.datetime(2012, 5, 15, 23, 59, 59, tzinfo=ZoneInfo("Europe/Moscow"))),
        ('"2012-05-15"', dt.datetime(2012, 5, 15, 23, 59, 59, tzinfo=ZoneInfo("Europe/Moscow"))),
        ("2012-05-15 18:00:00+03:00", dt.datetime(2012, 5, 15, 15, 0, tzinfo=dt.UTC)),
        ('"2012-05-15T18:00:00+03:00"', dt.datetime(2012, 5, 15, 15, 0, tzinfo=dt.UTC)),
    ],
)
def test_deadline_forms(tmp_path, value, expected):
    case = load_case(write_case(tmp_path, VALID + f"deadline: {value}\ntimezone: Europe/Moscow\n"))
    assert case.deadline_at() == expected


def test_all_problems_of_a_file_are_reported_at_once(tmp_path):
    text = replace_line(replace_line(VALID, 10, '    fax: "1"'), 12, "    email: nobody")
    text = text.replace("ua: UA 1/12\n", "ua: UA 1/12\nstatus: opne\n")
    problems = problems_of(write_case(tmp_path, text))
    assert [(p.line, p.field) for p in problems] == [(3, "status"), (11, "targets.0.fax"), (13, "targets.1.email")]
    assert "did you mean open?" in problems[0].reason


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        (b"", 1, "empty"),
        (b"# only a comment\n", 1, "empty"),
        (b"- id: ua-1-12\n", 1, "not a list"),
        (b"id: ua-1-12\nua: caf\xe9\n", 2, "UTF-8"),
        (b"id: ua-1-12\n---\nid: ua-1-12\n", 2, "---"),
    ],
)
def test_file_level_problems(tmp_path, content, line, words):
    path = tmp_path / "cases" / "ua-1-12.yaml"
    path.parent.mkdir()
    path.write_bytes(content)
    problem = only_problem(path)
    assert (problem.line, problem.field) == (line, "-")
    assert words in problem.reason


def test_load_cases_collects_problems_from_every_file(tmp_path):
    write_case(tmp_path, VALID)
    write_case(tmp_path, replace_line(VALID, 1, "id: ua-2-12"), name="ua-2-12.yml")
    write_case(tmp_path, replace_line(VALID, 2, "id: ua-3-12"), name="ua-3-12.yaml")
    write_case(tmp_path, replace_line(VALID, 2, "ua: [oops"), name="ua-4-12.yaml")
    with pytest.raises(ContentError) as caught:
        load_cases(tmp_path)
    found = [(Path(p.file).name, p.line, p.field) for p in caught.value.problems]
    assert found == [("ua-3-12.yaml", 1, "ua"), ("ua-3-12.yaml", 2, "id"), ("ua-4-12.yaml", 3, "-")]


def test_load_cases_returns_cases_by_id(tmp_path):
    write_case(tmp_path, VALID)
    write_case(tmp_path, replace_line(VALID, 1, "id: ua-2-12"), name="ua-2-12.yml")
    write_case(tmp_path, "not a case", name="notes.txt")
    assert sorted(load_cases(tmp_path)) == ["ua-1-12", "ua-2-12"]


def test_same_id_in_yaml_and_yml_is_a_duplicate(tmp_path):
    write_case(tmp_path, VALID)
    write_case(tmp_path, VALID, name="ua-1-12.yml")
    with pytest.raises(ContentError) as caught:
        load_cases(tmp_path)
    (problem,) = caught.value.problems
    assert (Path(problem.file).name, problem.line, problem.field) == ("ua-1-12.yml", 1, "id")
    assert "ua-1-12.yaml" in problem.reason


def test_problem_paths_are_relative_to_the_working_directory(tmp_path, monkeypatch):
    path = write_case(tmp_path, VALID.replace("ua: UA 1/12\n", ""))
    monkeypatch.chdir(tmp_path)
    assert str(only_problem(path)) == f"{Path('cases', 'ua-1-12.yaml')}:1: ua: required field is missing"


def test_problem_without_a_line_keeps_the_shape():
    assert (
        str(Problem("content/cases", None, "-", "no cases/ directory here"))
        == "content/cases:0: -: no cases/ directory here"
    )


# --- check ------------------------------------------------------------------------------------


def write_template(directory: Path, name: str, text: str) -> Path:
    path = directory / "templates" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_template_syntax_error_is_reported_with_its_line(tmp_path):
    write_case(tmp_path, VALID)
    write_template(tmp_path, "letters/letter.ru.txt.j2", "{% trans %}Hello{% endtrans %}\n{{ name }}\n")
    broken = write_template(tmp_path, "screens/case.j2", "{{ case.title }}\n\n{% if %}soon{% endif %}\n")
    (problem,) = check_content(tmp_path)
    assert (problem.file, problem.line, problem.field) == (str(broken), 3, "template")
    assert str(problem).startswith(f"{broken}:3: template: ")


def test_check_reports_cases_and_templates_together(tmp_path):
    write_case(tmp_path, VALID.replace("ua: UA 1/12\n", ""))
    write_template(tmp_path, "a.j2", "{{ x }\n")
    fields = sorted(p.field for p in check_content(tmp_path))
    assert fields == ["template", "ua"]


def test_check_reports_a_missing_cases_dir(tmp_path):
    (problem,) = check_content(tmp_path)
    assert problem.file.endswith("cases") and "no cases/ directory" in problem.reason


def test_run_check_ok(tmp_path):
    write_case(tmp_path, VALID)
    write_template(tmp_path, "a.j2", "{{ x }}\n")
    out = io.StringIO()
    assert run_check(tmp_path, out=out) == 0
    *warnings, last = out.getvalue().splitlines()
    # VALID has no facts and no target ids: warnings, each on its own line, and still OK.
    assert last == "OK: 1 cases, 1 templates (3 warnings)" and all(w.startswith("warning: ") for w in warnings)


def test_run_check_fails_with_a_report(tmp_path):
    path = write_case(tmp_path, replace_line(VALID, 10, '    fax: "1"'))
    out = io.StringIO()
    assert run_check(tmp_path, out=out) == 1
    assert out.getvalue().splitlines()[0] == f"{path}:10: targets.0.fax: a fax number needs at least 6 digits"


# --- translation catalogues -------------------------------------------------------------------

PO = """\
msgid ""
msgstr ""
"Language: ru\\n"
"Plural-Forms: nplurals=3; plural=n % 10 == 1 && n % 100 != 11 ? 0 : n % 10 >= 2 && n % 10 <= 4 && (n % 100 < 12 || n % 100 > 14) ? 1 : 2;\\n"
"Content-Type: text/plain; charset=utf-8\\n"

#, python-format
msgid "Deadline: %(date)s — last day today"
msgstr "Срок: %(date)s — сегодня последний день"

#, python-format
msgid "%(num)s letter sent so far"
msgid_plural "%(num)s letters sent so far"
msgstr[0] "Уже отправлено %(num)s письмо"
msgstr[1] "Уже отправлено %(num)s письма"
msgstr[2] "Уже отправлено %(num)s писем"

msgid "Back"
msgstr "Назад"

msgid "Untranslated %(x)s"
msgstr ""
"""


def write_po(directory: Path, text: str, lang: str = "ru") -> Path:
    path = directory / "locales" / lang / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_catalogue_passes(tmp_path):
    write_case(tmp_path, VALID)
    write_po(tmp_path, PO)
    out = io.StringIO()
    assert run_check(tmp_path, out=out) == 0
    assert out.getvalue().splitlines()[-1] == "OK: 1 cases, 0 templates, 1 catalogues (3 warnings)"


def test_misspelt_placeholder_in_a_translation_is_reported(tmp_path):
    write_case(tmp_path, VALID)
    path = write_po(tmp_path, PO.replace('"Срок: %(date)s', '"Срок: %(dat)s'))
    (problem,) = check_content(tmp_path)
    assert (problem.file, problem.line) == (str(path), 8)
    assert str(problem).startswith(f'{path}:8: msgid "Deadline: %(date)s — last day today": ')
    assert "%(dat)s" in problem.reason and "%(date)s" in problem.reason


@pytest.mark.parametrize(
    "old, new, line, words",
    [
        ('"Уже отправлено %(num)s писем"', '"Уже отправлено %(n)s писем"', 12, ["msgstr[2]", "%(n)s"]),
        ('"Срок: %(date)s — сегодня', '"Срок: сегодня', 8, ["missing", "%(date)s"]),  # the date would be lost
        ('"Назад"', '"Назад %(x)s"', 18, ["unknown", "%(x)s"]),
        ("— сегодня последний", "— 100 % да, последний", 8, ["lone %"]),  # it would break the formatting
        ('"Срок: %(date)s — сегодня', '"Срок: %(date)d — сегодня', 8, ["%(date)d"]),
        ('msgstr[2] "Уже отправлено %(num)s писем"\n', "", 12, ["msgstr[2] is empty"]),
    ],
)
def test_translation_placeholders_must_match_the_msgid(tmp_path, old, new, line, words):
    path = write_po(tmp_path / "content", PO.replace(old, new))
    problems = [p for p in check_content(tmp_path / "content") if p.file == str(path)]
    assert len(problems) == 1, format_report(problems)
    assert problems[0].line == line and problems[0].field.startswith('msgid "'), str(problems[0])
    assert all(word in problems[0].reason for word in words), problems[0].reason


@pytest.mark.parametrize(
    "old, new, line",
    [
        ('msgstr "Назад"', 'msgstr "Назад', 19),  # unclosed quote: babel would silently eat a character
        ('msgstr "Назад"', 'msgstr "На "зад""', 19),  # an inner quote not escaped
        ('msgstr "Назад"', "msgstr Назад", 19),
        ('msgid "Back"', 'msgid "Back"\nmsgtxt "x"', 19),
        ('"Language: ru\\n"', '"Language: ru\\n', 3),
    ],
)
def test_catalogue_syntax_errors_are_reported_with_their_line(tmp_path, old, new, line):
    write_case(tmp_path, VALID)
    path = write_po(tmp_path, PO.replace(old, new, 1))
    (problem,) = check_content(tmp_path)
    assert (problem.file, problem.line, problem.field) == (str(path), line, "po"), str(problem)
    assert "syntax" in problem.reason


def test_structural_catalogue_error_is_reported_with_its_line(tmp_path):
    write_case(tmp_path, VALID)
    path = write_po(tmp_path, PO.replace('msgstr "Назад"\n', "", 1))  # a msgid without msgstr
    (problem,) = check_content(tmp_path)
    assert (problem.file, problem.field) == (str(path), "po") and problem.line == 18, str(problem)


def test_real_catalogues_are_checked(tmp_path):
    import shutil

    shutil.copytree(CONTENT, tmp_path / "content")
    po = tmp_path / "content" / "locales" / "ru" / "LC_MESSAGES" / "messages.po"
    text = po.read_text(encoding="utf-8")
    po.write_text(
        text.replace('"Срок: %(date)s — сегодня последний день"', '"Срок: %(dat)s — сегодня последний день"'),
        encoding="utf-8",
    )
    (problem,) = check_content(tmp_path / "content")
    assert problem.file == str(po) and 'msgid "Deadline: %(date)s — last day today"' in str(problem)
    assert text.splitlines()[problem.line - 1] == 'msgid "Deadline: %(date)s — last day today"'
