"""Read an Urgent Action text into a draft case: pure functions, no I/O, nothing invented.

Every value is copied from the document. A value found by a heuristic (a person's name in a
block of lines, a sentence-cased title) is kept but listed in `uncertain`; a field that is not
in the document is left empty and listed in `missing`.

English, Spanish and French documents go through the same steps: the wording of each language is
in vocabulary.py. The reports (`missing`, `uncertain`) are Notes: English text, translated in chat.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field

from bot.importer import vocabulary as v
from bot.importer.asks import SampleLetter, address_the_official, from_letter, read_letter
from bot.importer.dates import DATE, find_date
from bot.importer.notes import N_, Note
from bot.importer.targets import TargetDraft, parse_targets
from bot.importer.zones import country_name, country_of, zone_in, zones_of

logger = logging.getLogger(__name__)

__all__ = ["NotAnUrgentAction", "ParsedUA", "TargetDraft", "parse_ua"]


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
    facts: str | None = None  # what every letter states: the sample letter's own, else the summary
    asks: list[str] = field(default_factory=list)
    letter_languages: list[str] = field(default_factory=list)
    deadline: dt.date | None = None
    targets: list[TargetDraft] = field(default_factory=list)
    links: list[dict[str, str]] = field(default_factory=list)
    subject_name: str | None = None
    subject_gender: str | None = None
    country: str | None = None  # ISO code of the officials' country, when the document names it
    timezone: str | None = None  # the country's zone, when it has only one
    language: str = "en"  # the document's own: "en", "es" or "fr"
    degraded: bool = False
    missing: list[Note] = field(default_factory=list)
    uncertain: list[Note] = field(default_factory=list)


def _re(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, re.I | flags)


_ORD = rf"({v.ORDINALS.pattern}|{v.NUMERIC_ORDINAL})"
# Spanish and French write "AU" (Acción/Action Urgente) where English writes "UA".
_REF = r"\b(?:UA|AU)\s*:?\s*(\d{1,4})\s*/\s*(\d{2,4})\b"
_UPDATE_OF = _re(rf"\b{_ORD}\s+{v.UPDATE}\s+{v.UPDATE_OF}\s*{_REF}")
_ORDINAL_UA = _re(rf"\b{_ORD}\s+{_REF}")
_FURTHER = _re(rf"{v.FURTHER_ON}\s*{_REF}")
_PLAIN = _re(_REF)
_UA_WORDS = _re(rf"{v.HEADING}|{v.SPACED_HEADING}|\bua\b|{_REF}")
_APPEAL_WORDS = _re(v.APPEAL)
_DEADLINES = [_re(rf"{v.DEADLINE}\s*{DATE}")]
_ISSUED = _re(rf"{v.ISSUED}\s*:?\s*{DATE}")
_WRITE_IN = [_re(pattern, re.S) for pattern in v.WRITE_IN]
_PREFERRED = _re(rf"{v.PREFERRED_LANGUAGE}[^:\n]*:\s*([^\n]+)")
_OWN_WORDS = _re(v.OWN_WORDS)
_ASKS_START = _re(v.ASKS_START)
_ASKS_END = _re(v.ASKS_END)
_BULLET = re.compile(r"[\uf06e\uf0a7\uf0b7\u2022\u25cf\u25aa]|(?:^|(?<=\s))[-\u2013]\s+(?=\w)")
_HEADING = _re(v.HEADING)
_TITLE_LABEL = _re(rf"^{v.TITLE_LABEL}\s*:\s*(.+)$")
_SUMMARY_LABEL = _re(rf"^{v.SUMMARY_LABEL}\s*:\s*(.*)$")
_TWEET = _re(rf"^{v.TWEET_LABEL}\s*:\s*(.*)$")
_BACKGROUND = _re(rf"^{v.BACKGROUND}[^:]*:?\s*(.*)$")
_BACKGROUND_END = _re(rf"^{v.BACKGROUND_END}")
_BACKGROUND_FLAT = _re(rf"{v.BACKGROUND}[^:]*?:?\s*(.+?)\s*(?:{v.BACKGROUND_FLAT_END}|$)")
_NAME = _re(rf"^{v.NAME_LABEL}\s*:\s*(.+)$")
# "Gender m/f: M", "Sexo h/m: h", "Genre (h/f) : F"
_GENDER = _re(rf"^({v.GENDER_LABEL})\s*\(?\s*(?:([a-z])\s*/\s*([a-z]))?\s*\)?\s*:\s*([^\W\d_]+)")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_URL_LABEL = re.compile(r"(?:^|[.!?(]\s*)([A-ZÀ-ÖØ-Þ][^.:!?()\[\]]{2,50}):\s*$")
_LETTER = _re(rf"^{v.LETTER_LABEL}\b", re.M)
# A PDF's page number on a line of its own ("2", "- 2 -", "Page 2 of 3", "Página 2 de 3").
_PAGE_NUMBER = _re(
    r"^(?:[-\u2013]\s*)?(?:(?:page|página|p\.)\s*)?\d{1,2}(?:\s*(?:of|de|sur|/)\s*\d{1,2})?(?:\s*[-\u2013])?$"
)


def looks_like_ua(text: str) -> bool:
    return bool(_UA_WORDS.search(text) or _APPEAL_WORDS.search(text))


def ua_references(text: str) -> set[str]:
    """Every "UA 84/11" the text names, as "84/11"."""
    return {f"{int(number)}/{year}" for number, year in _PLAIN.findall(text)}


def names_an_update(text: str) -> bool:
    """ "This is the third update of UA 84/11": a short notice that is still an Urgent Action."""
    return bool(_UPDATE_OF.search(text) or _FURTHER.search(text))


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
    result.language = v.detect_language(flat)
    if result.degraded:
        result.uncertain.append(
            Note("", N_("the text is a degraded export (lowercased, lines joined): check every text field"))
        )
    _reference(flat, result)
    result.deadline = find_date(_DEADLINES, flat)
    result.issued = find_date([_ISSUED], flat)
    _languages(flat, body, result)
    letter = read_letter(lines)
    _asks(flat, body, result, letter)
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
    address_the_official(result, letter)
    _zone(result)
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
            r.update = _ordinal(match.group(1))
        elif kind == "further":
            r.uncertain.append(
                Note("update", N_("%(ua)s is a further-information UA but the update number is not stated"), ua=r.ua)
            )
        else:
            r.uncertain.append(Note("update", N_("no update mentioned (the original UA?): left out")))
        return


def _ordinal(word: str) -> int:
    digits = re.match(r"\d+", word)
    return int(digits.group(0)) if digits else int(v.ORDINALS.get(word))


def _languages(flat: str, body: str, r: ParsedUA) -> None:
    match = next(filter(None, (pattern.search(flat) for pattern in _WRITE_IN)), None) or _PREFERRED.search(body)
    if not match:
        if _OWN_WORDS.search(flat):
            r.uncertain.append(Note("letter_languages", N_("the text only says 'in your own words/language'")))
        return
    for name in re.split(v.LANGUAGE_JOINERS, match.group(1), flags=re.I):
        name = re.sub(v.LANGUAGE_PREFIX, "", name.strip(" .;:"), flags=re.I).lower()
        if not name:
            continue
        if code := v.LANGUAGES.get(name):
            if code not in r.letter_languages:
                r.letter_languages.append(code)
        else:
            r.uncertain.append(Note("letter_languages", N_("unknown language name %(name)s"), name=repr(name)))


def _asks(flat: str, body: str, r: ParsedUA, letter: SampleLetter | None) -> None:
    start = _ASKS_START.search(flat)
    if not start:
        if _LETTER.search(body) and not from_letter(letter, r):
            r.uncertain.append(
                Note("asks", N_("found no request to the official in the sample letter: copy them from it by hand"))
            )
        return
    end = _ASKS_END.search(flat, start.end())
    segment = flat[start.end() : end.start() if end else len(flat)]
    first = _BULLET.search(segment)
    if not first:
        if not from_letter(letter, r):
            r.uncertain.append(Note("asks", N_("an appeal section without bullet points: write the asks by hand")))
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
            if _HEADING.fullmatch(line):
                heading = next((x for x in lines[i + 1 :] if x), "")
                if heading and heading.isupper() and not _PLAIN.search(heading):
                    r.title = heading[0] + heading[1:].lower()
                    r.uncertain.append(
                        Note(
                            "title",
                            N_("sentence-cased from %(heading)s: restore capitals of names"),
                            heading=repr(heading),
                        )
                    )
                    if r.summary is None:
                        first = lines.index(heading, i + 1)
                        r.summary = _paragraph(lines, first + 1, "")
                        r.uncertain.append(Note("summary", N_("the first paragraph of the document, as written")))
                break


def _paragraph(lines: list[str], start: int, head: str) -> str | None:
    parts = [head] if head else []
    i = start
    while i < len(lines) and not lines[i] and not parts:
        i += 1
    while i < len(lines) and lines[i]:
        parts.append(lines[i])
        i += 1
        if _ends_paragraph(parts):
            break
    return " ".join(parts) or None


def _ends_paragraph(parts: list[str]) -> bool:
    """A sentence ending on a line much shorter than the lines before it: the paragraph's last line.

    Text extracted from a PDF has no blank lines between paragraphs; this is where they were.
    """
    if len(parts) < 2 or not re.search(r"[.!?][\"”’)]?$", parts[-1]):
        return False
    return len(parts[-1]) < 0.75 * max(len(part) for part in parts[:-1])


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
            r.subject_gender = _gender(*match.groups())


def _gender(label: str, first: str | None, second: str | None, value: str) -> str | None:
    """m/f/x from the letter or word given. The letters depend on the language: Spanish "h/m" means
    hombre/mujer, so "m" is a woman there, a man in "m/f"; the label's own letters decide."""
    value = v.fold(value)
    if len(value) > 1:
        return v.GENDER_WORDS.get(value)
    letters = (first + second).lower() if first and second else v.GENDER_LETTERS.get(v.fold(label), "mf")
    if value in letters:
        return "mf"[letters.index(value)]
    return "x" if value == "x" else None


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
                r.uncertain.append(Note("links", N_("no label before %(url)s: the URL is its title"), url=url))
        previous, seen_ref = line or previous, seen_ref or bool(_PLAIN.search(line))


def _report_missing(r: ParsedUA) -> None:
    required = {"id": r.id, "ua": r.ua, "title": r.title, "summary": r.summary, "asks": r.asks, "targets": r.targets}
    optional = {
        "deadline": r.deadline,
        "issued": r.issued,
        "letter_languages": r.letter_languages,
        "background": r.background,
        "facts": r.facts,
        "tweet": r.tweet,
        "subject": r.subject_name,
        "links": r.links,
    }
    r.missing.extend(Note(name, required=True) for name, value in required.items() if not value)
    for i, target in enumerate(r.targets):
        if not target.name:
            r.missing.append(Note(f"targets[{i}].name", required=True))
        if not target.copy and not target.salutation:
            r.missing.append(Note(f"targets[{i}].salutation"))
        if not (target.fax or target.email or target.twitter):
            r.missing.append(Note(f"targets[{i}].fax/email/twitter"))
    if r.targets and all(t.copy for t in r.targets):
        r.missing.append(Note("targets", N_("a target that is not a copy"), required=True))
    r.missing.extend(Note(name) for name, value in optional.items() if not value)
    if r.subject_name and not r.subject_gender:
        r.missing.append(Note("subject.gender"))
    if r.timezone is None:
        r.missing.append(_zone_note(r.country))


def _zone(r: ParsedUA) -> None:
    """The deadline's zone: the officials' country's, when it has one zone (the chat asks for the rest)."""
    addresses = [t.address for t in r.targets if not t.copy]
    r.country = country_of(addresses, r.title)
    zones = zones_of(r.country)
    if len(zones) == 1:
        r.timezone = zones[0]
        r.uncertain.append(
            Note("timezone", N_("%(zone)s, the time zone of %(country)s"), zone=zones[0], country=_country(r.country))
        )
    elif zone := zone_in(zones, addresses):
        r.timezone = zone
        r.uncertain.append(Note("timezone", N_("%(zone)s, from the officials' address"), zone=zone))


def _zone_note(country: str | None) -> Note:
    if country is None:
        return Note("timezone", N_("the document does not name the officials' country: choose the deadline's zone"))
    return Note("timezone", N_("%(country)s has several time zones: choose the deadline's"), country=_country(country))


def _country(code: str | None) -> str:
    return country_name(code, "en") if code else ""


# --- text helpers ------------------------------------------------------------------------------


def clean_lines(text: str) -> list[str]:
    """The document's lines, stripped; a SOURCE:/NOTE: preamble (up to its blank line) is skipped.

    A PDF copy's doubled spaces are single ones and its page numbers are dropped: neither is part of
    what the document says. French typesetting puts a (narrow) no-break space before colons.
    """
    text = re.sub(r"[\u00a0\u202f\u2009\t]", " ", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    if lines and lines[0].startswith("SOURCE:"):
        end = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
        lines = lines[end + 1 :]
    lines = [re.sub(r" {2,}", " ", line.strip()) for line in lines]
    return [line for line in lines if not _PAGE_NUMBER.match(line)]


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
