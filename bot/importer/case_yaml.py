"""Turn a parsed Urgent Action into the YAML text of a case-file draft, and check it against `Case`."""

from __future__ import annotations

import logging
from typing import Any

import yaml
from pydantic import ValidationError

from bot.content.models import TARGET_KEYS, Case, unique_ids
from bot.importer.asks import ask_entry
from bot.importer.parse import ParsedUA, TargetDraft
from bot.importer.salutations import by_language

logger = logging.getLogger(__name__)


class _Dumper(yaml.SafeDumper):
    """Multi-line texts as `|` blocks, the way the hand-written case files keep paragraphs."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def case_data(parsed: ParsedUA) -> dict[str, Any]:
    """The fields that were found, in the order of the hand-written case files; nothing else."""
    data: dict[str, Any] = {}
    for key in ("id", "ua", "update", "deadline", "timezone", "letter_languages", "issued"):
        value = getattr(parsed, key)
        if value not in (None, []):
            data[key] = value
    if parsed.subject_name:
        data["subject"] = {"name": parsed.subject_name}
        if parsed.subject_gender:
            data["subject"]["gender"] = parsed.subject_gender
    for key in ("title", "summary", "background", "tweet"):
        value = getattr(parsed, key)
        if value:
            data[key] = value
    # Keyed by the document's language: a letter in another language must not be written with
    # these words, and the preview says which translations the appeal still needs.
    language = getattr(parsed, "language", "en")
    if parsed.facts:
        data["facts"] = {language: parsed.facts}
    if parsed.asks:
        data["asks"] = [ask_entry(ask, language) for ask in parsed.asks]
    if parsed.targets:
        # Every official gets an id in the file, so that pledges and buttons survive a respelt name or a new order.
        ids = unique_ids([(t.id, t.name) for t in parsed.targets])
        data["targets"] = [_target(t, target_id) for t, target_id in zip(parsed.targets, ids, strict=True)]
        for target in data["targets"]:
            # "Dear Minister/Estimado Señor Secretario" is two salutations: each letter takes its language's.
            if "salutation" in target:
                target["salutation"] = by_language(target["salutation"])
    if parsed.links:
        data["links"] = [dict(link) for link in parsed.links]
    return data


def _target(target: TargetDraft, target_id: str) -> dict[str, Any]:
    """The draft's filled-in fields, in Target's order: an empty one (or copy: false) is left for Case's default."""
    return {key: value for key in TARGET_KEYS if (value := target_id if key == "id" else getattr(target, key))}


def validation_problems(data: dict[str, Any]) -> list[str]:
    """What `Case` rejects in the draft, apart from the fields already reported missing."""
    try:
        Case.model_validate(data)
    except ValidationError as exc:
        return [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            for error in exc.errors()
            if error["type"] != "missing"
        ]
    return []


def required_missing(parsed: ParsedUA) -> list[str]:
    return _required(parsed.missing)


def _required(missing: list[str]) -> list[str]:
    return [item.removesuffix(" (required)") for item in missing if item.endswith("(required)")]


def render(parsed: ParsedUA, source: str, invalid: list[str] | None = None) -> str:
    """The draft's YAML text, with a header saying where it came from and what is left to do."""
    closes = (parsed.ua or "the appeal") if parsed.closes else None
    return written(case_data(parsed), source, parsed.missing, [*parsed.uncertain, *(invalid or [])], closes)


def written(
    data: dict[str, Any], source: str, missing: list[str], uncertain: list[str], closes: str | None = None
) -> str:
    """Case fields as a draft's YAML text under its header: also a draft completed in chat.

    `closes`: the UA that this closing update closes.
    """
    header = [
        f"# Draft imported from {source}.",
        "# Every value was copied from the document; check them against it before publishing.",
    ]
    if closes:
        header.append(f"# A closing update of {closes}: it closes the case and asks nothing more.")
    todo = _required(missing)
    if todo:
        header.append("# TO FILL IN (required, not found in the document): " + ", ".join(todo))
    header.extend(f"# missing: {item}" for item in missing if not item.endswith("(required)"))
    header.extend(f"# uncertain: {item}" for item in uncertain)
    body = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return "\n".join(line.rstrip() for line in header) + "\n\n" + body
