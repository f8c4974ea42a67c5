"""`rrbot check`: everything wrong with a content directory, before the bot ever serves it."""

from __future__ import annotations

import logging
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import TextIO

import jinja2
from babel import UnknownLocaleError
from babel.messages.catalog import PYTHON_FORMAT, Catalog, Message, TranslationError
from babel.messages.checkers import num_plurals
from babel.messages.pofile import PoFileError, read_po

from bot.content.advice import case_advice, frame_forms
from bot.content.library import Library
from bot.content.loader import ContentError, Problem, case_files, field_line, load_cases, shown_path
from bot.content.models import Case

logger = logging.getLogger(__name__)

# The same extensions the renderer uses: a tag it knows (`{% trans %}`) must not look like an error here.
TEMPLATE_EXTENSIONS = ["jinja2.ext.i18n"]


@dataclass
class _Result:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    cases: int = 0
    loaded: dict[str, Case] = field(default_factory=dict)
    templates: int = 0
    catalogues: int = 0


def check_content(content_dir: Path) -> list[Problem]:
    """Problems in every case file, template and translation catalogue under content_dir; empty when all is well."""
    return _check(content_dir).problems


def load_checked(content_dir: Path) -> tuple[list[Problem], Library | None]:
    """check_content, and the library of the cases it read on the way when there is no problem: start-up reads
    every case file once, not once to check and again to load."""
    result = _check(content_dir)
    if result.problems:
        return result.problems, None
    return [], Library(result.loaded, content_dir)


def content_warnings(content_dir: Path) -> list[Problem]:
    """What would make the letters of valid cases weaker (bot.content.advice): never a reason to refuse them."""
    return _check(content_dir).warnings


def format_report(problems: list[Problem]) -> str:
    return "\n".join(str(problem) for problem in problems)


def run_check(content_dir: Path, out: TextIO = sys.stdout) -> int:
    """Print the report (or an OK line) and return the process exit code."""
    result = _check(content_dir)
    for warning in result.warnings:
        print(f"warning: {warning}", file=out)
    if result.problems:
        print(format_report(result.problems), file=out)
        count = len(result.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found", file=out)
        return 1
    catalogues = f", {result.catalogues} catalogues" if result.catalogues else ""
    warned = f" ({len(result.warnings)} warning{'s' if len(result.warnings) != 1 else ''})" if result.warnings else ""
    print(f"OK: {result.cases} cases, {result.templates} templates{catalogues}{warned}", file=out)
    return 0


def _check(content_dir: Path) -> _Result:
    result = _Result()
    if not content_dir.is_dir():
        result.problems.append(Problem(shown_path(content_dir), None, "-", "no such content directory"))
        return result
    try:
        cases = load_cases(content_dir)
    except ContentError as exc:
        result.problems.extend(exc.problems)
    else:
        result.cases = len(cases)
        result.loaded = cases
        result.warnings.extend(_advice(content_dir, cases))
    templates = sorted((content_dir / "templates").glob("**/*.j2"))
    result.templates = len(templates)
    env = jinja2.Environment(extensions=TEMPLATE_EXTENSIONS)
    for path in templates:
        result.problems.extend(_template_problems(env, path))
    catalogues = sorted((content_dir / "locales").glob("*/LC_MESSAGES/*.po"))
    result.catalogues = len(catalogues)
    for path in catalogues:
        result.problems.extend(catalogue_problems(path))
    logger.debug("checked %s: %d problems", content_dir, len(result.problems))
    return result


def _advice(content_dir: Path, cases: dict[str, Case]) -> list[Problem]:
    frames = frame_forms(content_dir / "templates")
    warnings = []
    for path in case_files(content_dir):
        case = cases.get(path.stem)
        if case is None:
            continue
        text = path.read_text(encoding="utf-8")
        shown = shown_path(path)
        for advice in case_advice(case, frames):
            # A field the file lacks (facts) is pointed at where it goes: by the asks.
            line = field_line(text, advice.field) or field_line(text, "asks")
            warnings.append(Problem(shown, line, advice.field, advice.message))
    return warnings


def _template_problems(env: jinja2.Environment, path: Path) -> list[Problem]:
    shown = shown_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [Problem(shown, None, "template", f"cannot read file: {exc.strerror or exc}")]
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [Problem(shown, line, "template", "not UTF-8 text; save the file as UTF-8")]
    try:
        # Parsing only: undefined variables and filters are the renderer's tests' business.
        env.parse(source, name=path.name, filename=shown)
    except jinja2.TemplateSyntaxError as exc:
        return [Problem(shown, exc.lineno, "template", exc.message or str(exc))]
    return []


# --- translation catalogues -------------------------------------------------------------------

_PO_KEYWORD = re.compile(r"^(?:msgctxt|msgid|msgid_plural|msgstr|msgstr\[\d+\])\s+(.*)$")
_PO_STRING = re.compile(r'^"(?:[^"\\]|\\.)*"$')


def catalogue_problems(path: Path) -> list[Problem]:
    """A .po file as the bot reads it: valid syntax, and translations that format like their msgid.

    Syntax errors stop the check of that file (the rest would be guesswork). A translation whose
    placeholders differ from its msgid's is reported as `file:line: msgid "…": reason`.
    """
    shown = shown_path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [Problem(shown, None, "po", f"cannot read file: {exc.strerror or exc}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [Problem(shown, raw[: exc.start].count(b"\n") + 1, "po", "not UTF-8 text; save the file as UTF-8")]
    syntax = _po_syntax_problem(shown, text)
    if syntax:
        return [syntax]
    locale = path.parent.parent.name
    try:
        catalog = read_po(BytesIO(raw), locale=locale, abort_invalid=True)
    except PoFileError as exc:
        return [Problem(shown, exc.lineno + 1, "po", f"invalid syntax: {exc.args[0] if exc.args else exc}")]
    except (ValueError, UnknownLocaleError) as exc:  # the directory name is not a locale
        return [Problem(shown, None, "po", str(exc))]
    problems = []
    for message in catalog:
        if not message.id or message.fuzzy or not _translated(message):
            continue  # untranslated and fuzzy entries fall back to the msgid: nothing can break
        reason = _message_problem(catalog, message)
        if reason:
            problems.append(Problem(shown, message.lineno, f"msgid {_quoted(message)}", reason))
    return problems


def _po_syntax_problem(shown: str, text: str) -> Problem | None:
    """What babel's parser lets through: a string with a missing or stray quote."""
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line.startswith("#~"):
            line = line[2:].strip()  # obsolete entries: same syntax
        elif not line or line.startswith("#"):
            continue
        keyword = _PO_KEYWORD.match(line)
        string = keyword.group(1).strip() if keyword else line
        if not string.startswith('"'):
            if keyword:
                return Problem(shown, number, "po", "invalid syntax: the text must be in double quotes")
            return Problem(shown, number, "po", "invalid syntax: unknown keyword or text outside quotes")
        if not _PO_STRING.match(string):
            reason = 'invalid syntax: unclosed quote, or a " inside the text not written as \\"'
            return Problem(shown, number, "po", reason)
    return None


def _translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    return any(strings)


def _quoted(message: Message) -> str:
    msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    msgid = msgid if len(msgid) <= 60 else msgid[:59] + "…"
    return '"' + msgid.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _placeholders(text: str) -> Counter[str]:
    """The python-format placeholders of a string ("%(date)s", "%d"), "%%" left out."""
    return Counter(m.group(0) for m in PYTHON_FORMAT.finditer(text) if m.group(0) != "%%")


def _describe(placeholders: Counter[str]) -> str:
    return ", ".join(sorted(placeholders.elements())) or "none"


def _message_problem(catalog: Catalog, message: Message) -> str | None:
    try:
        num_plurals(catalog, message)
    except TranslationError as exc:
        return str(exc)
    msgids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
    strings = message.string if isinstance(message.string, (list, tuple)) else (message.string,)
    # Every translation is formatted with the msgid's values (templates always format), so it
    # must use exactly the msgid's placeholders: a misspelt one fails at runtime, a missing one loses text.
    expected = _placeholders(msgids[-1]) | _placeholders(msgids[0])
    for index, string in enumerate(strings):
        where = f"msgstr[{index}]" if message.pluralizable else "msgstr"
        if not string:
            # Only some plural forms translated: the others would show an empty message.
            return f"{where} is empty while other plural forms are translated"
        if expected and "%" in PYTHON_FORMAT.sub("", string):  # what is left after placeholders and %%
            return f"{where}: a lone % (write %% for a percent sign)"
        found = _placeholders(string)
        # Named placeholders may repeat; positional ones must also come as often as in the msgid.
        positional = [found[k] for k in found if "(" not in k] != [expected[k] for k in found if "(" not in k]
        if set(found) != set(expected) or positional:
            unknown = set(found) - set(expected)
            missing = set(expected) - set(found)
            parts = []
            if unknown:
                parts.append("unknown placeholder " + ", ".join(sorted(unknown)))
            if missing:
                parts.append("missing placeholder " + ", ".join(sorted(missing)))
            if not parts:
                parts.append("a different number of positional placeholders")
            return f"{where}: " + "; ".join(parts) + f" (the msgid has {_describe(expected)})"
    return None
