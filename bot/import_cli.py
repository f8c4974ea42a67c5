"""`rrbot import FILE [-o DIR]`: an Urgent Action as plain text -> a case-file draft DIR/<id>.yaml.

Exit codes: 0 the draft is complete, 1 a required field is missing or invalid (the draft is still
written, with a header listing what to fill in), 2 the input cannot be used (nothing is written).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from bot.importer.draft import case_data, render, required_missing, validation_problems
from bot.importer.parse import NotAnUrgentAction, parse_ua

logger = logging.getLogger(__name__)


def _fail(message: str) -> int:
    print(f"rrbot import: {message}", file=sys.stderr)
    return 2


def read_text(path: Path) -> str:
    """The file as UTF-8 text; ValueError with a one-line reason otherwise."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    if raw.lstrip()[:5] == b"%PDF-":
        raise ValueError(f"{path}: PDF import is not supported yet: save it as text")
    if b"\x00" in raw:
        raise ValueError(f"{path}: a binary file, not text: save the Urgent Action as UTF-8 text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x}): save it as UTF-8") from None


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
    todo = required_missing(parsed)
    if todo or invalid:
        print(f"rrbot import: draft incomplete: fill in {', '.join(todo + invalid)}", file=sys.stderr)
        return 1
    return 0
