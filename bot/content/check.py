"""`rrbot check`: everything wrong with a content directory, before the bot ever serves it."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import jinja2

from bot.content.loader import ContentError, Problem, load_cases, shown_path

logger = logging.getLogger(__name__)

# The same extensions the renderer uses: a tag it knows (`{% trans %}`) must not look like an error here.
TEMPLATE_EXTENSIONS = ["jinja2.ext.i18n"]


@dataclass
class _Result:
    problems: list[Problem] = field(default_factory=list)
    cases: int = 0
    templates: int = 0


def check_content(content_dir: Path) -> list[Problem]:
    """Problems in every case file and every template under content_dir; empty when all is well."""
    return _check(content_dir).problems


def format_report(problems: list[Problem]) -> str:
    return "\n".join(str(problem) for problem in problems)


def run_check(content_dir: Path, out: TextIO = sys.stdout) -> int:
    """Print the report (or an OK line) and return the process exit code."""
    result = _check(content_dir)
    if result.problems:
        print(format_report(result.problems), file=out)
        count = len(result.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found", file=out)
        return 1
    print(f"OK: {result.cases} cases, {result.templates} templates", file=out)
    return 0


def _check(content_dir: Path) -> _Result:
    result = _Result()
    if not content_dir.is_dir():
        result.problems.append(Problem(shown_path(content_dir), None, "-", "no such content directory"))
        return result
    try:
        result.cases = len(load_cases(content_dir))
    except ContentError as exc:
        result.problems.extend(exc.problems)
    templates = sorted((content_dir / "templates").glob("**/*.j2"))
    result.templates = len(templates)
    env = jinja2.Environment(extensions=TEMPLATE_EXTENSIONS)
    for path in templates:
        result.problems.extend(_template_problems(env, path))
    logger.debug("checked %s: %d problems", content_dir, len(result.problems))
    return result


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
