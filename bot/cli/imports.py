"""`rrbot import FILE [-o DIR]`: an Urgent Action (PDF or text) -> a case-file draft DIR/<id>.yaml.

Exit codes: 0 the draft is complete, 1 a required field is missing or invalid (the draft is still
written, with a header listing what to fill in), 2 the input cannot be used (nothing is written).
A closing update (no further action requested) is complete with its reference and its text: it closes
the case, it asks nothing of anyone.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from bot.importer.case_yaml import case_data, render, required_missing, validation_problems
from bot.importer.parse import NotAnUrgentAction, parse_ua
from bot.importer.source import MAX_BYTES, UnusableDocument, document_text

logger = logging.getLogger(__name__)


def _fail(message: str) -> int:
    print(f"rrbot import: {message}", file=sys.stderr)
    return 2


def read_text(path: Path) -> str:
    """The text of the document at `path` (UTF-8/UTF-16 text or a PDF, see bot.importer.source);
    ValueError with a one-line reason otherwise. A file over MAX_BYTES is refused before it is read."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UnusableDocument("too_big", size=size, limit=MAX_BYTES)
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # bounded: the file may grow, or be a pipe or a device
    except UnusableDocument as exc:
        raise ValueError(f"{path}: {exc}") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return document_text(raw, path.name)
    except UnusableDocument as exc:
        raise ValueError(f"{path}: {exc}") from None


def main_import(args: argparse.Namespace) -> int:
    source = Path(args.file)
    try:
        text = read_text(source)
        parsed = parse_ua(text)
    except NotAnUrgentAction as exc:
        return _fail(f"{source}: {exc}")
    except ValueError as exc:
        return _fail(str(exc))
    out_dir = Path(args.output_dir)
    stem = parsed.id or "draft-" + (re.sub(r"[^a-z0-9]+", "-", source.stem.lower()).strip("-") or "ua")
    target = out_dir / f"{stem}.yaml"
    if target.exists() and not args.force:
        return _fail(f"{target} exists: pass --force to overwrite it")
    invalid = validation_problems(case_data(parsed))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        target.write_text(render(parsed, source.name, invalid), encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot write {target}: {exc.strerror or exc}")
    logger.info("import %r -> %r", str(source), str(target))
    print(f"rrbot import: wrote {target}", file=sys.stderr)
    for item in parsed.missing:
        print(f"missing: {item}", file=sys.stderr)
    for item in parsed.uncertain:
        print(f"uncertain: {item}", file=sys.stderr)
    for item in invalid:
        print(f"uncertain/invalid: {item}", file=sys.stderr)
    for lang in parsed.letter_languages:
        if lang != parsed.language:
            # Translation is not automatic: without it, letters fall back to another language.
            print(
                f"translation: letters are asked for in {lang!r} but the asks are in {parsed.language!r}: "
                f"add `{lang}:` under each ask",
                file=sys.stderr,
            )
    if parsed.closes:
        case = parsed.id or "<case>"
        print(
            f"rrbot import: this is a closing update of {parsed.ua or 'an Urgent Action'}: "
            f"propose to close the case (`rrbot update {case} --close --text-file <its summary>`)",
            file=sys.stderr,
        )
    todo = required_missing(parsed)
    if todo or invalid:
        print(f"rrbot import: draft incomplete: fill in {', '.join(todo + invalid)}", file=sys.stderr)
        return 1
    return 0
