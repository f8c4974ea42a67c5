"""What a coordinator must know before publishing an imported draft. No aiogram, no I/O.

A draft is YAML text: the importer's output, or the coordinator's corrected version of it. The
review says whether it is a new case, a later update of a case the bot already has, or something
that cannot be published yet, and which requested letter languages have no text.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import yaml

from bot.content import Case, Library, Problem, parse_case
from bot.content.models import contacts
from bot.content.states import MAX_UPDATE, UpdateKind, overlay, state_changes
from bot.importer.vocabulary import CLOSING

logger = logging.getLogger(__name__)

MAX_YAML = 64 * 1024  # a case file is a few KB; more is a mistake, or an attempt to make us work
_REF = re.compile(r"(extra\s*)?(\d{1,4})\s*/\s*(\d{2,4})", re.I)
# Closing words of a final update, in the languages the importer reads: the parser's own (ParsedUA.closes).
_CLOSING = re.compile(CLOSING, re.I)


class Verdict(StrEnum):
    new = "new"  # a valid case the bot does not have: Publish sends its alert to everyone
    update = "update"  # a later update of a case the bot has: Publish sends it to the case's followers
    known = "known"  # this UA, at this update, is already in the bot: nothing to publish
    clash = "clash"  # valid, but another case already has its id
    orphan = "orphan"  # a closing update of an appeal the bot does not have: nothing to close
    invalid = "invalid"  # required fields missing or wrong: Edit


class Letters(Protocol):
    frames: tuple[str, ...]

    def available(self, case: Case) -> list[str]: ...

    def resolve(self, case: Case, wanted: str, ui_lang: str) -> str: ...


@dataclass(frozen=True)
class Gap:
    """A letter language the appeal asks for that the bot cannot write yet."""

    language: str
    missing: str  # "asks": no text of the asks in it; "frame": no letter template in it
    shown: str  # the language letters fall back to


@dataclass
class Review:
    verdict: Verdict
    case: Case | None = None
    existing: Case | None = None
    ua: str | None = None
    update: int | None = None
    problems: list[Problem] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    kind: UpdateKind | None = None  # for an update: what it changes
    deadline: dt.date | None = None  # for an extension: the new deadline
    text: str | None = None  # for an update: the text followers get
    officials: list[dict[str, Any]] = field(default_factory=list)  # as the draft names them, valid or not
    expired: bool = False  # a new case whose deadline has passed
    plain_asks: bool = False  # asks without a language: every letter, whatever its language, uses them as written
    sketch: Case | None = None  # an incomplete draft as a case, what it lacks shown as GAP: for its preview only

    @property
    def publishable(self) -> bool:
        return self.verdict in (Verdict.new, Verdict.update)

    @property
    def updated(self) -> Case | None:
        """The case the bot has, as this update will leave it (for the preview)."""
        if self.existing is None or self.kind is None:
            return None
        return overlay(self.existing, {"update": str(self.update or 0), **state_changes(self.kind, self.deadline)})


def describe(problem: Problem) -> str:
    """A problem of a draft as the coordinator reads it: no file name (it is their message), the line."""
    where = f"line {problem.line}" if problem.line else ""
    field = "" if problem.field == "-" else problem.field
    place = ", ".join(part for part in (where, field) if part)
    return f"{place}: {problem.reason}" if place else problem.reason


def closing(text: str) -> bool:
    """True for the last update of a case ("No further action is requested")."""
    return bool(_CLOSING.search(text))


def ua_number(ua: object) -> str | None:
    """ "UA 84/11", "ua: 84 / 11", "AU 84/11" -> "84/11": one key for the same appeal however written.
    "EXTRA 78/92" -> "EXTRA 78/92": the other series is numbered on its own."""
    match = _REF.search(str(ua)) if ua else None
    return f"{'EXTRA ' if match[1] else ''}{int(match[2])}/{match[3]}" if match else None


def review(
    text: str, library: Library, letters: Letters, today: dt.date, *, closes: bool = False, ui_lang: str = "en"
) -> Review:
    """Assess a draft against the cases the bot has."""
    if len(text.encode("utf-8")) > MAX_YAML:
        too_big = Problem("draft.yaml", None, "-", f"more than {MAX_YAML // 1024} KB: a case file is a few KB")
        return Review(Verdict.invalid, problems=[too_big])
    case, problems = parse_case(text, "draft.yaml")
    fields = fields_of(text)
    number = ua_number(fields.get("ua"))
    existing = next((c for c in library.all() if ua_number(c.ua) == number), None) if number else None
    update = fields.get("update") if isinstance(fields.get("update"), int) else None
    if existing is not None:
        if closes and update is None and existing.status != "closed":
            # A final notice often states no update number; it still comes after every update the bot has.
            # (Once the case is closed, the same notice again is nothing new.)
            update = (existing.update or 0) + 1
        return _against(existing, case, fields, update, today, closes, problems)
    if closes:
        return Review(Verdict.orphan, ua=fields.get("ua"), update=update)
    officials = _officials(fields)
    if case is None:
        return Review(
            Verdict.invalid,
            ua=fields.get("ua"),
            update=update,
            problems=problems,
            officials=officials,
            sketch=sketch(fields),
        )
    gaps = gaps_of(case, letters, ui_lang)
    verdict = Verdict.clash if library.get(case.id) is not None else Verdict.new
    deadline = case.deadline.date() if isinstance(case.deadline, dt.datetime) else case.deadline
    return Review(
        verdict,
        case,
        library.get(case.id),
        case.ua,
        case.update,
        gaps=gaps,
        officials=officials,
        expired=deadline is not None and deadline < today,
        plain_asks=any(isinstance(ask.text, str) for ask in case.asks),
    )


# What a preview shows where a draft still lacks a required text: the same in every language.
GAP = "…"


def sketch(fields: dict[str, Any]) -> Case | None:
    """The draft as a case with GAP for each required text it lacks, so that a blocked draft still shows its
    card and letters (marked as a draft); None when even that does not make a valid case (no officials)."""
    data = {key: value for key, value in fields.items() if key not in ("id", "ua")}
    data["id"] = "draft"
    data["ua"] = fields.get("ua") if isinstance(fields.get("ua"), str) else GAP
    for key in ("title", "summary"):
        data.setdefault(key, GAP)
        data[key] = data[key] or GAP
    data["asks"] = data.get("asks") or [GAP]
    targets = data.get("targets")
    if isinstance(targets, list) and targets:
        data["targets"] = [{**t, "name": t.get("name") or GAP} if isinstance(t, dict) else t for t in targets]
    else:
        data["targets"] = [{"name": GAP}]  # a page that stops before the officials: the card still shows
    try:
        return Case.model_validate(data)
    except (ValueError, TypeError):
        return None


def _officials(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """Who the draft writes to, read from its fields so that an incomplete draft still shows them."""
    targets = fields.get("targets")
    if not isinstance(targets, list):
        return []
    return [
        {
            "name": str(t.get("name") or "?"),
            "is_copy": bool(t.get("copy")),
            # Every number and address, as one line: a draft writes one as a string, several as a list.
            "fax": ", ".join(contacts(t.get("fax"))) or None,
            "email": ", ".join(contacts(t.get("email"))) or None,
        }
        for t in targets
        if isinstance(t, dict)
    ]


def _against(
    existing: Case,
    case: Case | None,
    fields: dict[str, Any],
    update: int | None,
    today: dt.date,
    closes: bool,
    problems: list[Problem],
) -> Review:
    """A draft of an appeal the bot already has: a later update, or nothing new."""
    if update is None or update <= (existing.update or 0):
        return Review(Verdict.known, case, existing, existing.ua, update)
    text = _plain(fields.get("summary")) or _plain(fields.get("title"))
    reason = None
    if not text:
        reason = "an update needs a summary: its text is what followers get"
    elif len(text) > MAX_UPDATE:
        reason = f"{len(text)} characters: followers get the summary as the update, at most {MAX_UPDATE}"
    if reason:
        return Review(
            Verdict.invalid, case, existing, existing.ua, update, [Problem("draft.yaml", None, "summary", reason)]
        )
    deadline = fields.get("deadline") if isinstance(fields.get("deadline"), dt.date) else None
    if isinstance(deadline, dt.datetime):
        deadline = deadline.date()
    current = existing.deadline.date() if isinstance(existing.deadline, dt.datetime) else existing.deadline
    later = deadline is not None and deadline > today and (current is None or deadline > current)
    kind = UpdateKind.closed if closes else UpdateKind.extended if later else UpdateKind.news
    logger.info("Draft is update %r of case %r (%s)", update, existing.id, kind.value)
    return Review(
        Verdict.update,
        case,
        existing,
        existing.ua,
        update,
        kind=kind,
        deadline=deadline if kind == UpdateKind.extended else None,
        text=text.strip(),
    )


def gaps_of(case: Case, letters: Letters, ui_lang: str) -> list[Gap]:
    """The requested letter languages that letters cannot be written in, and what they fall back to."""
    available = set(letters.available(case))
    return [
        Gap(lang, "frame" if case.asks_in(lang) else "asks", letters.resolve(case, lang, ui_lang))
        for lang in case.letter_languages
        if lang not in available
    ]


def fields_of(text: str) -> dict[str, Any]:
    """The draft's top-level fields, even when the case as a whole is not valid yet."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def _plain(value: object) -> str | None:
    if isinstance(value, dict):
        value = next((v for v in value.values() if isinstance(v, str) and v.strip()), None)
    return value if isinstance(value, str) and value.strip() else None
