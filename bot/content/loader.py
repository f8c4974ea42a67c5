"""Read case files, and turn every mistake in them into a `file:line: field: reason` problem.

The people who write case files are campaign coordinators, not programmers: each problem names the
line to look at and says in plain words what is wrong, and one run reports every problem at once.
"""

from __future__ import annotations

import difflib
import logging
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.content.models import CASE_ID_PATTERN, LANG_PATTERN, Case

logger = logging.getLogger(__name__)

CASE_SUFFIXES = (".yaml", ".yml")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the content; `line` is 1-based, None when no line applies."""

    file: str
    line: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        # Line 0 keeps the `file:line:` shape that editors and grep users expect.
        return f"{self.file}:{self.line or 0}: {self.field}: {self.reason}"


class ContentError(Exception):
    """Raised with every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def shown_path(path: Path) -> str:
    """The path as given, made relative to the working directory when it lies below it."""
    if path.is_absolute():
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            pass
    return str(path)


def case_files(content_dir: Path) -> list[Path]:
    cases_dir = content_dir / "cases"
    return sorted(p for p in cases_dir.iterdir() if p.is_file() and p.suffix in CASE_SUFFIXES)


def load_case(path: Path) -> Case:
    """Load one case file; raise ContentError listing everything wrong with it."""
    case, problems, _ = _load(path)
    if problems or case is None:
        raise ContentError(problems)
    return case


def load_cases(content_dir: Path) -> dict[str, Case]:
    """Load every case under content_dir/cases, keyed by id; raise ContentError for all files at once."""
    cases_dir = content_dir / "cases"
    if not cases_dir.is_dir():
        raise ContentError([Problem(shown_path(cases_dir), None, "-", "no cases/ directory here")])
    cases: dict[str, Case] = {}
    first_file: dict[str, str] = {}
    problems: list[Problem] = []
    for path in case_files(content_dir):
        case, file_problems, id_line = _load(path)
        problems.extend(file_problems)
        if case is None:
            continue
        shown = shown_path(path)
        if case.id in first_file:
            # Possible despite the id/file name rule: ua-1.yaml next to ua-1.yml.
            problems.append(Problem(shown, id_line, "id", f"duplicate id, already used in {first_file[case.id]}"))
            continue
        first_file[case.id] = shown
        if not file_problems:
            cases[case.id] = case
    if problems:
        raise ContentError(problems)
    logger.info("loaded %d cases from %s", len(cases), cases_dir)
    return cases


def parse_case(text: str, shown: str, stem: str | None = None) -> tuple[Case | None, list[Problem]]:
    """A case from YAML text (a draft sent in chat); the problems read like those of a file.

    With `stem`, the id must match it, as a file's id must match the file name.
    """
    case, problems, _ = _load_text(text, shown, stem)
    return (case if not problems else None), problems


def _load(path: Path) -> tuple[Case | None, list[Problem], int | None]:
    """Return the case (when the model accepts it), the problems of the file, and the line of its id."""
    shown = shown_path(path)
    text, problems = _read_text(path, shown)
    if text is None:
        return None, problems, None
    return _load_text(text, shown, path.stem, path.suffix)


def _load_text(
    text: str, shown: str, stem: str | None, suffix: str = ".yaml"
) -> tuple[Case | None, list[Problem], int | None]:
    root, data, problems = _read_yaml(text, shown)
    if root is None:
        return None, problems, None
    if not isinstance(root, MappingNode) or not isinstance(data, dict):
        kind = "a list" if isinstance(root, SequenceNode) else "a single value"
        reason = f"the file should be a mapping of fields (id: ..., title: ...), not {kind}"
        return None, [*problems, Problem(shown, _line(root), "-", reason)], None

    id_key = _find_key(root, "id")
    id_line = _line(id_key[0]) if id_key else None
    case_id = data.get("id")
    case_id = case_id.strip() if isinstance(case_id, str) else None
    # The file name is how people find a case; a malformed id is reported by the model instead.
    if stem is not None and case_id and re.fullmatch(CASE_ID_PATTERN, case_id) and case_id != stem:
        reason = f"id {case_id!r} does not match the file name; rename the file to {case_id}{suffix}"
        problems.append(Problem(shown, id_line, "id", reason))

    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, root, shown))
        case = None
    problems.sort(key=lambda p: p.line or 0)
    if case is not None:
        logger.debug("read case %s from %s", case.id, shown)
    return case, problems, id_line


# --- YAML --------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps an impossible date (2012-02-30) as text instead of failing the whole file.

    The model then rejects the text with the field's line, alongside every other problem of the file.
    """

    def construct_yaml_timestamp(self, node: ScalarNode):  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return node.value


_Loader.add_constructor(_TIMESTAMP_TAG, _Loader.construct_yaml_timestamp)

# PyYAML's wording is exact but cryptic; these say what a coordinator most likely did.
_SYNTAX_HINTS = {
    "found character '@'": "a value starting with @ must be in quotes",
    "found character '`'": "a value starting with ` must be in quotes",
    "found character '\\t'": "indent with spaces, not tabs",
    "mapping values are not allowed here": "text containing ': ' must be in quotes",
    "found undefined alias": "text starting with * must be in quotes",
    "but found another document": "a case file holds one case; remove the '---' line",
    "expected <block end>": "check the indentation of this line",
}


def _read_text(path: Path, shown: str) -> tuple[str | None, list[Problem]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(shown, None, "-", f"cannot read file: {exc.strerror or exc}")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        reason = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        return None, [Problem(shown, line, "-", reason)]


def _read_yaml(text: str, shown: str) -> tuple[Node | None, object, list[Problem]]:
    """Compose and construct the text; the node tree keeps the line numbers that the data loses."""
    loader = _Loader(text)
    root: Node | None = None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None, [Problem(shown, 1, "-", "the file is empty")]
        # Duplicate keys must be looked for before construction, which merges `<<` keys into the node.
        problems = _duplicate_keys(root, shown)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        return None, None, [_syntax_problem(exc, text, shown, root)]
    except yaml.YAMLError as exc:
        # ReaderError (control characters) carries a character offset, not a mark.
        position = getattr(exc, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        return None, None, [Problem(shown, line, "-", f"YAML error: {exc}")]
    finally:
        loader.dispose()
    return root, data, problems


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str, shown: str, root: Node | None) -> Problem:
    # The scanner notices an unclosed quote or a missing ':' lines later; its context mark is where
    # the mistake was made. The parser's context is an enclosing block, so its problem mark is better.
    problem = exc.problem or str(exc)
    from_context = isinstance(exc, yaml.scanner.ScannerError) and exc.context_mark is not None
    mark, other = (exc.context_mark, exc.problem_mark) if from_context else (exc.problem_mark, exc.context_mark)
    mark = mark or other
    line = mark.line + 1 if mark else None
    elsewhere = f" on line {other.line + 1}" if other and mark and other.line != mark.line else ""
    if from_context:
        reason = f"YAML syntax error {exc.context}: {problem}{elsewhere}"
    elif isinstance(exc, (yaml.parser.ParserError, yaml.composer.ComposerError, yaml.scanner.ScannerError)):
        reason = f"YAML syntax error: {problem}" + (f" ({exc.context}{elsewhere})" if exc.context and elsewhere else "")
    else:
        reason = f"YAML error: {problem}"
    hint = next((h for needle, h in _SYNTAX_HINTS.items() if needle in problem), None)
    quote_line = _unclosed_quote(text, line) if line else None
    if quote_line:
        # A forgotten closing quote swallows lines up to the next quote, and the error shows up there.
        hint = f"is the quote on line {quote_line} closed?"
    if hint:
        reason += f"; {hint}"
    field = "-"
    if root is not None and line is not None:
        # Construction errors happen in a well-formed tree, so the field can still be named.
        field = next((path for path, key, _ in _walk(root) if _line(key) == line), "-")
    return Problem(shown, line, field, reason)


_QUOTED_VALUE = re.compile(r"""^\s*(?:-\s+)?(?:[^\s#"'][^#]*?:\s+)?(["'])(.*)$""")


def _unclosed_quote(text: str, before: int) -> int | None:
    """The first line before `before` that opens a quoted value without closing it."""
    for number, line in enumerate(text.splitlines()[: before - 1], start=1):
        match = _QUOTED_VALUE.match(line)
        if not match:
            continue
        quote, rest = match.groups()
        closing = r'(?<!\\)"' if quote == '"' else r"'(?!')"
        if not re.search(closing, rest.replace("''", "")):
            return number
    return None


def field_line(text: str, field: str) -> int | None:
    """The line of a field ("targets[0].title", "asks[1].en") in a case file's text, or of its nearest parent."""
    root, _, _ = _read_yaml(text, "-")
    if root is None:
        return None
    lines = {path: _line(key) for path, key, _ in _walk(root)}
    parts = re.sub(r"\[(\d+)\]", r".\1", field).split(".")
    for end in range(len(parts), 0, -1):
        line = lines.get(".".join(parts[:end]))
        if line is not None:
            return line
    return None


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _walk(node: Node, path: str = "", seen: set[int] | None = None) -> Iterator[tuple[str, Node, Node]]:
    """Yield (dotted path, key or item node, value node) for everything below node."""
    seen = set() if seen is None else seen
    if id(node) in seen:  # anchors can make the tree recursive
        return
    seen.add(id(node))
    if isinstance(node, MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else "?"
            child = f"{path}.{name}" if path else name
            yield child, key, value
            yield from _walk(value, child, seen)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            child = f"{path}.{index}" if path else str(index)
            yield child, item, item
            yield from _walk(item, child, seen)


def _duplicate_keys(root: Node, shown: str) -> list[Problem]:
    """PyYAML silently keeps the last of two equal keys, so a coordinator would lose the first value."""
    problems = []
    mappings = [("", root), *((path, value) for path, _, value in _walk(root))]
    for path, node in mappings:
        if not isinstance(node, MappingNode):
            continue
        first_line: dict[str, int] = {}
        for key, _ in node.value:
            if not isinstance(key, ScalarNode) or key.value == "<<":
                continue
            if key.value in first_line:
                field = f"{path}.{key.value}" if path else key.value
                reason = f"duplicate key (first on line {first_line[key.value]}); keep only one of them"
                problems.append(Problem(shown, _line(key), field, reason))
            else:
                first_line[key.value] = _line(key)
    return problems


def _find_key(node: MappingNode, name: object) -> tuple[Node, Node] | None:
    # The last pair wins, as in PyYAML's own construction.
    for key, value in reversed(node.value):
        if isinstance(key, ScalarNode) and key.value == str(name):
            return key, value
    return None


# --- pydantic errors -> problems ---------------------------------------------------------------

_PATTERN_REASONS = {
    CASE_ID_PATTERN: "should be lowercase letters, digits and hyphens, at most 32 characters (like ua-84-11)",
    LANG_PATTERN: "should be a language code of 2-3 lowercase letters (like en or ru)",
}
_TEXT_REASON = "should be text, or one text per language (en: ..., ru: ...)"
_QUOTE_REASON = "should be text; put the value in quotes"
_TEXTS_REASON = "should be text, or a list of texts (one '- ' line each)"
_DATE_REASON = "should be a date like 2012-05-15"
_DATETIME_REASON = "should be a date like 2012-05-15, or a date and time like 2012-05-15 18:00:00+03:00"


@dataclass
class _Located:
    field: str
    line: int
    node: Node
    through_union: bool  # the location passed a union branch (Text is str | dict)
    error: dict


def _validation_problems(exc: ValidationError, root: MappingNode, shown: str) -> list[Problem]:
    located = [_locate(root, error) for error in exc.errors()]
    # A union reports one error per branch; when one branch got further into the value
    # (title: {en: 5} fails deeper as a dict than as a string) only that branch is meant.
    fields = {item.field for item in located}
    located = [
        item for item in located if not (item.through_union and any(f.startswith(item.field + ".") for f in fields))
    ]
    grouped: dict[str, list[_Located]] = {}
    for item in located:
        grouped.setdefault(item.field, []).append(item)
    return [Problem(shown, items[0].line, field, _reason(items)) for field, items in grouped.items()]


def _locate(root: MappingNode, error: dict) -> _Located:
    """Follow the error's location through the node tree, skipping pydantic's union branch names."""
    node: Node = root
    line = _line(root)
    parts: list[str] = []
    through_union = False
    loc = error["loc"]
    for index, elem in enumerate(loc):
        if elem == "[key]":
            continue  # an invalid mapping key: the key's own line is already the current line
        if isinstance(node, MappingNode):
            pair = _find_key(node, elem)
            if pair is not None:
                key, node = pair
                line = _line(key)
                parts.append(str(elem))
                continue
            if error["type"] == "missing" and index == len(loc) - 1:
                parts.append(str(elem))  # stays on the line of the enclosing mapping
                continue
        elif isinstance(node, SequenceNode) and isinstance(elem, int) and 0 <= elem < len(node.value):
            node = node.value[elem]
            line = _line(node)
            parts.append(str(elem))
            continue
        through_union = True
    return _Located(".".join(parts) or "-", line, node, through_union, error)


def _reason(items: list[_Located]) -> str:
    types = {item.error["type"] for item in items}
    if len(items) > 1:
        if {"string_type", "dict_type"} <= types:
            return _TEXT_REASON
        if types == {"string_type", "list_type"}:  # a fax or email: one, or a list (Contacts)
            scalar = isinstance(items[0].node, ScalarNode)
            return _QUOTE_REASON if scalar else _TEXTS_REASON
        if all(t.startswith(("date", "datetime")) for t in types):
            reason = _DATETIME_REASON if any(t.startswith("datetime") for t in types) else _DATE_REASON
            detail = (items[0].error.get("ctx") or {}).get("error")
            return f"{reason} ({detail})" if detail else reason
    reasons = list(dict.fromkeys(_one_reason(item) for item in items))
    return " or ".join(reasons)


def _one_reason(item: _Located) -> str:
    error = item.error
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return _unknown_field(error["loc"])
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    if kind == "string_type":
        if isinstance(item.node, ScalarNode):
            return _QUOTE_REASON
        return "should be text, not a list or mapping"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if pattern in _PATTERN_REASONS:
            return _PATTERN_REASONS[pattern]
        if pattern.startswith("^https?"):
            return "should be a web address starting with https://"
        return f"does not have the expected form ({pattern})"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return f"needs at least {count} item{'s' if count != 1 else ''}"
    if kind in ("list_type", "tuple_type"):
        return "should be a list (one '- ' line per item)"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "should be a mapping of fields (name: value lines)"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "should be a whole number"
    if kind in ("bool_type", "bool_parsing"):
        return "should be true or false"
    if kind == "enum":
        return _enum_reason(str(error.get("input")), str(ctx.get("expected", "")))
    if kind == "greater_than_equal":
        return f"should be at least {ctx.get('ge')}"
    if kind == "date_from_datetime_inexact":
        return "should be a date without a time of day"
    if kind.startswith(("date", "datetime")):
        reason = _DATETIME_REASON if kind.startswith("datetime") else _DATE_REASON
        return f"{reason} ({ctx['error']})" if ctx.get("error") else reason
    message = error["msg"]
    return message[:1].lower() + message[1:]


def _enum_reason(value: str, expected: str) -> str:
    choices = re.findall(r"'([^']*)'", expected)
    close = difflib.get_close_matches(value.lower(), choices, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"should be one of {expected}{hint}"


def _unknown_field(loc: tuple) -> str:
    name = str(loc[-1])
    known = _known_fields(loc[:-1])
    if not known:
        return "unknown field"
    by_lower = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.5)
    if close:
        return f"unknown field (did you mean {by_lower[close[0]]}?)"
    return f"unknown field (known fields: {', '.join(known)})"


def _known_fields(loc: tuple) -> list[str]:
    """Field names, as written in YAML, of the model found at loc."""
    model: type[BaseModel] = Case
    for elem in loc:
        if isinstance(elem, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == elem), None)
        inner = _inner_model(field.annotation) if field else None
        if inner is None:
            return []
        model = inner
    return [f.alias or n for n, f in model.model_fields.items()]


def _inner_model(annotation: object) -> type[BaseModel] | None:
    """The model inside list[Target], Subject | None and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None
