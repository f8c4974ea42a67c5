"""The officials to write to, read from an Urgent Action's appeal section. Pure: no I/O.

Fax, email, Twitter and salutation lines are copied as written (every fax number and address an
official has, however many lines or separators); a person's name picked out of a block of lines is a
guess, and reported as one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import field, make_dataclass
from typing import Any

from pydantic.fields import FieldInfo

from bot.content.models import MIN_FAX_DIGITS, TARGET_KEYS, Contacts, Target, as_written, contacts
from bot.importer.dates import DATE
from bot.importer.notes import N_, Note
from bot.importer.vocabulary import (
    CONTACT_LABELS,
    COPIES,
    FLAT_SALUTATION_LABEL,
    FLAT_START,
    NAME_LINKERS,
    NAME_PARTICLES,
    NOT_NAME,
    RANK,
    SECTION_END,
    SECTION_START,
    TITLE_LINE,
    flex,
    fold,
)


def _optional(info: FieldInfo) -> tuple[Any, Any]:
    """The type and default of a Target field in a draft, where a required one may still be empty."""
    if info.default_factory is not None:
        return info.annotation, field(default_factory=info.default_factory)
    if info.is_required():
        return info.annotation | None, field(default=None)
    return info.annotation, field(default=info.default)


# A Target being read: Target's fields under their case-file keys (TARGET_KEYS: `copy`, not `copy_`), in
# Target's order, each one optional since a document may lack it; then `head`, the lines of a target's
# block before they are split into name, title and address, which is never written.
# Built from Target rather than written out, so that a field added to Target is in every draft and in
# the YAML written (case_yaml) with no second list to keep in step. A dataclass, not a pydantic model:
# a draft is filled in a bit at a time and checked only as a whole, by Case on the YAML written from it
# (and a pydantic field called `copy` would shadow BaseModel.copy). Slots, so that setting a key Target
# does not have (a contact label in vocabulary.py for a field not yet in Target) fails, rather than
# being kept where nothing reads it.
TargetDraft = make_dataclass(
    "TargetDraft",
    [
        *((key, *_optional(info)) for key, info in zip(TARGET_KEYS, Target.model_fields.values(), strict=True)),
        ("head", list[str], field(default_factory=list)),
    ],
    namespace={"__module__": __name__, "__doc__": "A Target read from a document: any field may be empty."},
    slots=True,
)


_SECTION_START = re.compile(SECTION_START, re.I)
_SECTION_END = re.compile(rf"^{SECTION_END}", re.I)
# "Fax+7 495 ..." has no colon: a fax label may run straight into the number.
_CONTACT = re.compile(
    "^(?:" + "|".join(f"(?P<{name}>{label})" for name, label in CONTACT_LABELS.items()) + ")"
    r"\s*(?::\s*|(?<=fax)(?=[+\d(]))(.*)$",
    re.I,
)
_COPIES = re.compile(rf"^{COPIES}$", re.I)
_FLAT_START = re.compile("(?:" + "|".join(flex(p).replace("{date}", DATE) for p in FLAT_START) + r")\s*:", re.I)
_FLAT_SALUTATION = re.compile(rf"\b{FLAT_SALUTATION_LABEL}\s*:", re.I)
_FLAT_END = re.compile(rf"\b(?:{COPIES}|{SECTION_END})", re.I)


# A number dialled from North America ("011-52-722-…") or most of the world ("00 44 …"): its exit code is the
# caller's, not the number's. A reader elsewhere, and every fax service, needs "+".
_EXIT_CODE = re.compile(r"^(?:011|00)[\s.-]*(?=[1-9])")
# The dialled part of an international number ("+52-722-276-0046", "+44 (0)20 7413 5500"); what follows
# (" ext 2134", " poste 12", " / 2345": an extension or a second number) is kept as written.
_DIALLED = re.compile(r"\+\d[\d\s().-]*\d")


def international(number: str) -> str:
    """The number in international form: "+" for the exit code it was written with, digits grouped by
    spaces, "+52 722 276 0046" for "011-52-722-276-0046". A number without a country code is kept as
    written: which country it is in is not the importer's guess."""
    number = _EXIT_CODE.sub("+", number.strip(), count=1)
    if not (match := _DIALLED.match(number)):
        return number
    # "(0)" is the trunk prefix dialled at home only; brackets round an area code are only grouping.
    dialled = re.sub(r"\(0\)", " ", match.group(0)).replace("(", " ").replace(")", " ")
    dialled = re.sub(r"(?<=\d)[.-](?=\d)", " ", dialled)
    return re.sub(r"\s+", " ", dialled).strip() + number[match.end() :]


# Between two numbers on one fax line ("+7 495 … / +7 495 …"): a slash, semicolon or comma, or a word. Each side
# of it must have a number's digits, or it is part of one number ("030/1234567", "…, ext. 2134").
_FAX_SEPARATOR = re.compile(r"(\s?[/;,]\s?|\s(?:or|and|o|y|ou|et|или|и)\s)", re.I)
# An address is a word with an "@": it starts only where a word does, so a long line is read in one pass.
_ADDRESS_STOP = "\\s,;<>()\\[\\]\"'"
_ADDRESS = re.compile(rf"(?<![^{_ADDRESS_STOP}])[^{_ADDRESS_STOP}@]+@[^{_ADDRESS_STOP}@]+")
# Contact lines that may come more than once, or name several numbers or addresses: every one is kept.
_SEVERAL = ("fax", "email")


def _fax_numbers(value: str) -> list[str]:
    """The numbers of a fax line as written: "011-52-722-276-0046 / 011-52-722-276-0047" gives two."""
    parts = _FAX_SEPARATOR.split(value)
    numbers, digits = [[parts[0]]], [_digit_count(parts[0])]
    for separator, part in zip(parts[1::2], parts[2::2], strict=True):
        if _digit_count(part) >= MIN_FAX_DIGITS and digits[-1] >= MIN_FAX_DIGITS:
            numbers.append([part])
            digits.append(_digit_count(part))
        else:  # counted as it grows: a long line of separators is still read in one pass
            numbers[-1] += [separator, part]
            digits[-1] += _digit_count(part)
    return [number for number in ("".join(pieces).strip() for pieces in numbers) if number]


def _digit_count(text: str) -> int:
    return sum(char.isdecimal() for char in text)


def _email_addresses(value: str) -> tuple[list[str], str]:
    """The addresses of an email line, and any text beside them that is not a word between two of them ("or").

    A line without an "@" is kept whole, as written: Case then says what is wrong with it.
    """
    found = [match.group(0).rstrip(".") for match in _ADDRESS.finditer(value)]
    if not found:
        return [value], ""
    gaps = _ADDRESS.split(value)
    left = [gaps[0], *(gap for gap in gaps[1:-1] if len(re.findall(r"\w+", gap)) > 1), gaps[-1]]
    return found, " ".join(" ".join(gap.split()) for gap in left if re.search(r"\w", gap))


def _add_contacts(target: TargetDraft, name: str, value: str) -> list[Note]:
    """A fax or email line's numbers or addresses added to the draft's (a second "Fax:" line adds to the first)."""
    notes = []
    if name == "fax":
        written = _fax_numbers(value)
        found = [international(number) for number in written]
        # The original of a number written in another form, for the coordinator to check against.
        notes.extend(note for raw, fax in zip(written, found, strict=True) if (note := _rewritten("fax", raw, fax)))
    else:
        found, other = _email_addresses(value)
        if other:
            notes.append(Note("email", N_("only the addresses were copied; left out: %(text)s"), text=repr(other)))
    setattr(target, name, _once([*contacts(getattr(target, name)), *found]))
    return notes


def _once(values: Iterable[str]) -> Contacts:
    """Each value once (a number the document writes twice), in a case file's form: one as a string, several a list."""
    return as_written(list(dict.fromkeys(values)))


def parse_targets(lines: list[str], flat: str, degraded: bool) -> tuple[list[TargetDraft], list[Note]]:
    """The targets and the notes on what was guessed about them."""
    if degraded:
        return _flat_target(flat)
    start = _section_start(lines)
    if start is None:
        return [], []
    targets: list[TargetDraft] = []
    notes: list[Note] = []
    current: TargetDraft | None = None
    seen_contact, copy = False, False
    for line in lines[start + 1 :]:
        if _SECTION_END.match(line):
            break
        if not line:
            continue
        if _COPIES.match(line):
            current, copy = None, True
            continue
        contact = _CONTACT.match(line)
        if current is None or (seen_contact and not contact):
            current, seen_contact = TargetDraft(copy=copy), False
            targets.append(current)
        if contact:
            seen_contact = True
            name = next(key for key in CONTACT_LABELS if contact.group(key))
            value = contact.group(contact.lastindex).strip() or None
            if name not in _SEVERAL:
                setattr(current, name, value)
            elif value:
                notes.extend(note.under(f"targets[{len(targets) - 1}]") for note in _add_contacts(current, name, value))
        else:
            current.head.append(line)
    for i, target in enumerate(targets):
        notes.extend(note.under(f"targets[{i}]") for note in _split_head(target))
    return targets, notes


def _rewritten(where: str, written: str, fax: str) -> Note | None:
    """The number as the document wrote it, when the draft gives it in another form."""
    if re.sub(r"\s+", " ", written.strip()) == fax:
        return None
    return Note(where, N_("written as %(written)s in the document"), written=repr(written.strip()))


def _section_start(lines: list[str]) -> int | None:
    """The index of the appeal heading's last line: a PDF copy may break it ("... DE MAYO DE" / "2012 A:")."""
    for i, line in enumerate(lines):
        if _SECTION_START.search(line):
            return i
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line and following.endswith(":") and _SECTION_START.search(f"{line} {following}"):
            return i + 1
    return None


def _is_name(line: str) -> bool:
    tokens = line.split()
    if not 2 <= len(tokens) <= 6 or re.search(r"[\d,;:()]", line):
        return False
    for token in tokens:
        if fold(token) in NOT_NAME or token.lower() in NAME_LINKERS:
            return False
        if token not in NAME_PARTICLES and not token[0].isupper():
            return False
    return True


def _split_head(target: TargetDraft) -> list[Note]:
    """Name, title, organisation and address from a target's lines: a heuristic, reported as such."""
    notes: list[Note] = []
    index = next((i for i, line in enumerate(target.head) if _is_name(line.split(" - ")[0].strip())), None)
    if index is None:
        # The office they hold is a title, not the first line of an address ("Fiscal General de la República").
        titled = bool(target.head) and _is_title(target.head[0])
        target.title = target.head[0] if titled else None
        target.address = target.head[titled:]
        notes.append(Note("name", N_("no line looks like a person's name: the lines are kept as the address")))
        return notes
    name, _, role = (part.strip() for part in target.head[index].partition(" - "))
    target.name = name
    target.address = target.head[index + 1 :]
    before: list[str] = []
    for line in target.head[:index]:
        # A one-word line after a line without final punctuation is the wrapped end of that line.
        if before and len(line.split()) == 1 and not re.search(r"[\d.,;:]$", before[-1]):
            before[-1] += " " + line
        else:
            before.append(line)
    _place_title(target, before, role)
    notes.extend(_rank(name))
    found = [
        f"{label} {value!r}"
        for label, value in (("name", name), ("title", target.title), ("organisation", target.organisation))
        if value
    ]
    notes.append(Note("name/title", N_("picked by a heuristic: %(found)s"), found=", ".join(found)))
    return notes


_TITLE_LINE = re.compile(rf"^{TITLE_LINE}", re.I)
_RANK = re.compile(rf"^{RANK}\s+(?=\S+\s+\S)", re.I)


def _is_title(line: str) -> bool:
    """An office held ("Minister of Security", "Ministre de l'Intérieur"): no number, no comma, as an
    address line has."""
    return bool(_TITLE_LINE.match(line)) and not re.search(r"[\d,;]", line)


def _place_title(target: TargetDraft, before: list[str], role: str) -> None:
    """The lines above the name: an office held is the title, an institution the organisation. The line
    under the name is the title when it is an office and nothing above gave one ("M. Mustafa Benmansour" /
    "Ministre de l'Intérieur" / "18 rue ...")."""
    offices = [line for line in before if _is_title(line)]
    if len(before) >= 2 and offices:
        target.title = ", ".join([role] * bool(role) + offices)
        target.organisation = ", ".join(line for line in before if line not in offices) or None
    elif len(before) >= 2 or (before and role):
        target.organisation = before[0]
        target.title = ", ".join([role] * bool(role) + before[1:]) or None
    elif before:
        target.title = before[0]
    elif role:
        target.title = role
    if target.title is None and target.address and _is_title(target.address[0]):
        target.title = target.address.pop(0)


def _rank(name: str) -> list[Note]:
    """A rank written in front of the name ("General de División Julián Pacheco") is kept in it: a letter
    addresses the person with it. Where the name ends and the rank begins is for a person to check."""
    if match := _RANK.match(name):
        return [
            Note(
                "name", N_("%(rank)s may be a rank, not part of the name: check it"), rank=repr(match.group(0).strip())
            )
        ]
    return []


def _flat_target(flat: str) -> tuple[list[TargetDraft], list[Note]]:
    """A degraded (joined) text: the first target's text as written, its salutation/fax/e-mail when marked."""
    start = _FLAT_START.search(flat)
    if not start:
        return [], []
    raw = flat[start.end() :].strip()
    if end := _FLAT_END.search(raw):
        raw = raw[: end.start()].strip()
    target = TargetDraft(address=[raw])
    notes = [
        Note(
            "targets[0]",
            N_("the export joined its lines: the text after 'to:' is kept as one address line to split by hand"),
        )
    ]
    # In the print layout a "Salutation:" line closes a target's block: contacts after it are the next target's.
    label = _FLAT_SALUTATION.search(raw)
    first = raw[: label.start()] if label else raw
    if match := re.search(r"salutation(?:\s+for\s+all)?\s*:\s*(dear\b[^\[\]]*?\[[^\]]*\])", raw, re.I):
        target.salutation = match.group(1)
    elif match := re.search(r"\(salutation\)\s*[^()]*\(([^()]+)\)", raw, re.I):
        target.salutation = match.group(1).strip()
    elif label:
        notes.append(Note("targets[0].salutation", N_("the joined text does not show where it ends: copy it by hand")))
    written = [match.group(1).strip() for match in re.finditer(r"\bfax\s*:?\s*([+\d(][\d\s()+-]{5,}\d)", first, re.I)]
    target.fax = _once(international(number) for number in written)
    notes.extend(n for raw in written if (n := _rewritten("targets[0].fax", raw, international(raw))))
    target.email = _once(re.findall(r"[\w.+-]+@[\w-]+\.[\w.-]*\w", first))
    notes.append(Note("targets", N_("only the first target can be read from a joined export: add any others by hand")))
    return [target], notes
