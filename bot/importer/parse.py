"""Read an Urgent Action text into a draft case: pure functions, no I/O, nothing invented.

Every value is copied from the document. A value found by a heuristic (a person's name in a
block of lines, a sentence-cased title) is kept but listed in `uncertain`; a field that is not
in the document is left empty and listed in `missing`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from bot.importer.dates import DATE, MONTHS
from bot.importer.targets import TargetDraft, parse_targets

logger = logging.getLogger(__name__)

__all__ = ["NotAnUrgentAction", "ParsedUA", "TargetDraft", "parse_ua"]

ORDINALS = dict(zip("first second third fourth fifth sixth seventh eighth ninth tenth".split(), range(1, 11)))
LANGUAGES = {
    "english": "en", "russian": "ru", "persian": "fa", "farsi": "fa", "arabic": "ar", "french": "fr",
    "spanish": "es", "portuguese": "pt", "chinese": "zh", "mandarin": "zh", "german": "de", "italian": "it",
    "turkish": "tr", "ukrainian": "uk", "belarusian": "be", "uzbek": "uz", "kazakh": "kk", "tajik": "tg",
    "azerbaijani": "az", "armenian": "hy", "georgian": "ka", "hebrew": "he", "indonesian": "id",
    "japanese": "ja", "korean": "ko", "thai": "th", "vietnamese": "vi", "urdu": "ur", "hindi": "hi",
    "bengali": "bn", "nepali": "ne", "burmese": "my", "greek": "el", "dutch": "nl", "polish": "pl",
    "serbian": "sr", "croatian": "hr", "tamil": "ta", "sinhala": "si", "swahili": "sw", "amharic": "am",
}


class NotAnUrgentAction(ValueError):
    """The text is empty or does not look like an Urgent Action (one-line reason in str())."""


@dataclass
class ParsedUA:
    id: str | None = None
    ua: str | None = None
    update: int | None = None
    issued: dt.date | None = None
    title: str | None = None
    summary: str | None = None
    background: str | None = None
    tweet: str | None = None
    asks: list[str] = field(default_factory=list)
    letter_languages: list[str] = field(default_factory=list)
    deadline: dt.date | None = None
    targets: list[TargetDraft] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    subject_name: str | None = None
    subject_gender: str | None = None
    degraded: bool = False
    missing: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)


_ORD = "|".join(ORDINALS)
_REF = r"UA\s*:?\s*(\d{1,4})\s*/\s*(\d{2,4})\b"
_UPDATE_OF = re.compile(rf"\b({_ORD})\s+update\s+(?:of|on|to)\s+{_REF}", re.I)
_ORDINAL_UA = re.compile(rf"\b({_ORD})\s+{_REF}", re.I)
_FURTHER = re.compile(rf"further\s+information\s+on\s+{_REF}", re.I)
_PLAIN = re.compile(rf"\b{_REF}", re.I)
_UA_WORDS = re.compile(r"urgent\s+action|u\s+r\s+g\s+e\s+n\s+t\s+a\s+c\s+t\s+i\s+o\s+n|\bua\b", re.I)
_APPEAL_WORDS = re.compile(r"please\s+write|send\s+appeals|appeals\s+to\s*:|recommended\s+action", re.I)
_DEADLINES = [
    re.compile(rf"send\s+appeals\s+(?:before|by)\s+{DATE}", re.I),
    re.compile(rf"appeal\s+deadline(?:\s+notice)?\s*:?\s*{DATE}", re.I),
]
_ISSUED = re.compile(rf"(?:issue\s+date|publication\s+date|date\s+of\s+issue)\s*:?\s*{DATE}", re.I)
_WRITE_IN = re.compile(r"write\s+immediately\s+in\s+(.+?)\s+or\s+(?:in\s+)?your\s+own\s+language", re.I | re.S)
_PREFERRED = re.compile(r"preferred\s+language[^:\n]*:\s*([^\n]+)", re.I)
_OWN_WORDS = re.compile(r"in\s+your\s+own\s+(?:words|language)", re.I)
_ASKS_START = re.compile(r"please\s+write\s+immediately|recommended\s+action", re.I)
_ASKS_END = re.compile(r"please\s+send\s+appeals|appeals\s+to\s*:|target.s\s+contact\s+details", re.I)
_BULLET = re.compile(r"[\uf06e\uf0a7\uf0b7\u2022\u25cf\u25aa]|(?:^|(?<=\s))[-\u2013]\s+(?=\w)")
_TITLE_LABEL = re.compile(r"^urgent\s+action\s+title\s*:\s*(.+)$", re.I)
_SUMMARY_LABEL = re.compile(r"^urgent\s+action\s+summary\s*:\s*(.*)$", re.I)
_TWEET = re.compile(r"^suggested\s+(?:message|tweet)(?:\s+on\s+twitter)?\s*:\s*(.*)$", re.I)
_BACKGROUND = re.compile(r"^(?:additional|background)\s+information\b[^:]*:?\s*(.*)$", re.I)
_BACKGROUND_END = re.compile(r"^(?:name\s*:|gender\b|ua\s*:|further\s+information\s+on\s+ua)", re.I)
_BACKGROUND_FLAT = re.compile(r"background\s+information\s*(.+?)\s*(?:recommended\s+action|please\s+write|$)", re.I)
_NAME = re.compile(r"^name\s*:\s*(.+)$", re.I)
_GENDER = re.compile(r"^gender(?:\s*m\s*/\s*f)?\s*:\s*([mfx])\b", re.I)
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_URL_LABEL = re.compile(r"(?:^|[.!?(]\s*)([A-Z][^.:!?()\[\]]{2,50}):\s*$")
_LETTER = re.compile(r"^urgent\s+action\s+letter\b", re.I | re.M)


def looks_like_ua(text: str) -> bool:
    return bool(_UA_WORDS.search(text) or _APPEAL_WORDS.search(text))


def parse_ua(text: str) -> ParsedUA:
    """Parse the text of an Urgent Action; raise NotAnUrgentAction for an empty or unrelated text."""
    lines = clean_lines(text)
    body = "\n".join(lines).strip()
    if not body:
        raise NotAnUrgentAction("the file is empty")
    if not looks_like_ua(body):
        raise NotAnUrgentAction('not an Urgent Action: no "urgent action"/"UA" reference and no appeal section')
    flat = re.sub(r"\s+", " ", body)
    result = ParsedUA(degraded=not any(c.isupper() for c in body) or len([x for x in lines if x]) <= 2)
    if result.degraded:
        result.uncertain.append("the text is a degraded export (lowercased, lines joined): check every text field")
    _reference(flat, result)
    result.deadline = find_date(_DEADLINES, flat)
    result.issued = find_date([_ISSUED], flat)
    _languages(flat, body, result)
    _asks(flat, body, result)
    result.targets, notes = parse_targets(lines, flat, result.degraded)
    result.uncertain.extend(notes)
    if not result.degraded:
        _title_summary(lines, result)
        _tweet(lines, result)
        _subject(lines, result)
        result.background = _background(lines)
    else:
        match = _BACKGROUND_FLAT.search(flat)
        result.background = match.group(1) if match else None
    _links(lines, result)
    _report_missing(result)
    logger.debug("parsed %r: missing=%r", result.id, result.missing)
    return result


def _reference(flat: str, r: ParsedUA) -> None:
    for pattern, kind in ((_UPDATE_OF, "update"), (_ORDINAL_UA, "update"), (_FURTHER, "further"), (_PLAIN, "plain")):
        match = pattern.search(flat)
        if not match:
            continue
        number, year = match.group(match.lastindex - 1), match.group(match.lastindex)
        r.ua = f"UA {int(number)}/{year}"
        r.id = f"ua-{int(number)}-{year}"
        if kind == "update":
            r.update = ORDINALS[match.group(1).lower()]
        elif kind == "further":
            r.uncertain.append(f"update: {r.ua} is a further-information UA but the update number is not stated")
        else:
            r.uncertain.append("update: no update mentioned (the original UA?): left out")
        return


def _languages(flat: str, body: str, r: ParsedUA) -> None:
    match = _WRITE_IN.search(flat) or _PREFERRED.search(body)
    if not match:
        if _OWN_WORDS.search(flat):
            r.uncertain.append("letter_languages: the text only says 'in your own words/language'")
        return
    for name in re.split(r",|/|\band\b|\bor\b", match.group(1)):
        name = name.strip(" .;:").lower()
        if not name:
            continue
        if name in LANGUAGES:
            if LANGUAGES[name] not in r.letter_languages:
                r.letter_languages.append(LANGUAGES[name])
        else:
            r.uncertain.append(f"letter_languages: unknown language name {name!r}")


def _asks(flat: str, body: str, r: ParsedUA) -> None:
    start = _ASKS_START.search(flat)
    if not start:
        if _LETTER.search(body):
            r.uncertain.append("asks: the document has a sample letter, no bullet points: write the asks from it")
        return
    end = _ASKS_END.search(flat, start.end())
    segment = flat[start.end() : end.start() if end else len(flat)]
    first = _BULLET.search(segment)
    if not first:
        r.uncertain.append("asks: an appeal section without bullet points: write the asks by hand")
        return
    for part in _BULLET.split(segment[first.start() :]):
        ask = part.strip().rstrip(";").strip()
        if ask:
            r.asks.append(ask)


def _title_summary(lines: list[str], r: ParsedUA) -> None:
    for i, line in enumerate(lines):
        if match := _TITLE_LABEL.match(line):
            r.title = match.group(1)
        elif match := _SUMMARY_LABEL.match(line):
            r.summary = _paragraph(lines, i + 1, match.group(1))
    if r.title is None:
        for i, line in enumerate(lines):
            if re.fullmatch(r"urgent\s+action", line, re.I):
                heading = next((x for x in lines[i + 1 :] if x), "")
                if heading and heading.isupper() and not _PLAIN.search(heading):
                    r.title = heading[0] + heading[1:].lower()
                    r.uncertain.append(f"title: sentence-cased from {heading!r}: restore capitals of names")
                    if r.summary is None:
                        first = lines.index(heading, i + 1)
                        r.summary = _paragraph(lines, first + 1, "")
                        r.uncertain.append("summary: the first paragraph of the document, as written")
                break


def _paragraph(lines: list[str], start: int, head: str) -> str | None:
    parts = [head] if head else []
    i = start
    while i < len(lines) and not lines[i] and not parts:
        i += 1
    while i < len(lines) and lines[i]:
        parts.append(lines[i])
        i += 1
    return " ".join(parts) or None


def _tweet(lines: list[str], r: ParsedUA) -> None:
    for i, line in enumerate(lines):
        if match := _TWEET.match(line):
            parts = [match.group(1)]
            for nxt in lines[i + 1 : i + 8]:
                if re.search(r"[.!?]$", parts[-1]) and parts[-1]:
                    break
                if nxt:
                    parts.append(nxt)
            r.tweet = " ".join(p for p in parts if p) or None
            return


def _subject(lines: list[str], r: ParsedUA) -> None:
    for line in lines:
        if match := _NAME.match(line):
            r.subject_name = match.group(1)
        elif match := _GENDER.match(line):
            r.subject_gender = match.group(1).lower()


def _background(lines: list[str]) -> str | None:
    for i, line in enumerate(lines):
        if match := _BACKGROUND.match(line):
            body = [match.group(1)] if match.group(1) else []
            for nxt in lines[i + 1 :]:
                if _BACKGROUND_END.match(nxt):
                    break
                body.append(nxt)
            return join_paragraphs(body)
    return None


def _links(lines: list[str], r: ParsedUA) -> None:
    seen_ref = False
    previous = ""
    for line in lines:
        for match in _URL.finditer(line):
            url = match.group(0).rstrip(".,;:")
            if r.degraded and not (seen_ref or _PLAIN.search(line[: match.start()])):
                continue  # the letterhead of a fax-era UA, not a link about the case
            if any(link["url"] == url for link in r.links):
                continue
            before = line[: match.start()].strip() or previous
            label = _URL_LABEL.search(before)
            if label:
                r.links.append({"title": label.group(1).strip(), "url": url})
            else:
                r.links.append({"title": url, "url": url})
                r.uncertain.append(f"links: no label before {url}: the URL is its title")
        previous, seen_ref = line or previous, seen_ref or bool(_PLAIN.search(line))


def _report_missing(r: ParsedUA) -> None:
    required = {"id": r.id, "ua": r.ua, "title": r.title, "summary": r.summary, "asks": r.asks, "targets": r.targets}
    optional = {
        "deadline": r.deadline,
        "issued": r.issued,
        "letter_languages": r.letter_languages,
        "background": r.background,
        "tweet": r.tweet,
        "subject": r.subject_name,
        "links": r.links,
    }
    r.missing.extend(f"{name} (required)" for name, value in required.items() if not value)
    for i, target in enumerate(r.targets):
        if not target.name:
            r.missing.append(f"targets[{i}].name (required)")
        if not target.copy and not target.salutation:
            r.missing.append(f"targets[{i}].salutation")
        if not (target.fax or target.email or target.twitter):
            r.missing.append(f"targets[{i}].fax/email/twitter")
    if r.targets and all(t.copy for t in r.targets):
        r.missing.append("targets: a target that is not a copy (required)")
    r.missing.extend(name for name, value in optional.items() if not value)
    if r.subject_name and not r.subject_gender:
        r.missing.append("subject.gender")
    r.missing.append("timezone (never in the document: set the target country's zone)")


# --- text helpers ------------------------------------------------------------------------------


def clean_lines(text: str) -> list[str]:
    """The document's lines, stripped; a SOURCE:/NOTE: preamble (up to its blank line) is skipped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ").split("\n")
    if lines and lines[0].startswith("SOURCE:"):
        end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
        lines = lines[end + 1 :]
    return [line.strip() for line in lines]


def find_date(patterns: list[re.Pattern[str]], flat: str) -> dt.date | None:
    for pattern in patterns:
        if match := pattern.search(flat):
            day, month, year = match.group(1), match.group(2), match.group(3)
            try:
                return dt.date(int(year), MONTHS.index(month.lower()) + 1, int(day))
            except ValueError:
                return None
    return None


def join_paragraphs(lines: list[str]) -> str | None:
    """Wrapped lines joined with spaces; paragraphs (split by blank lines) joined by an empty line."""
    paragraphs, current = [], []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    return "\n\n".join(paragraphs) or None
