"""Warnings about a case that loads but would make weaker letters: `rrbot check` prints them and still says OK.

A warning never stops a case: the bot writes its letters as best it can (plain forms, no facts). It tells the
case author what an official would notice: no facts, a Russian heading not in the dative, an ask that tells the
official to lobby himself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bot.content.models import Case, Inflected, Target, Text, form_of

# Asks are what the writer asks of the official. Appeals write them for activists ("Urge the authorities to
# …"); pasted into a letter, they tell the official to lobby himself. The imperative or gerund that opens such
# an instruction, in the languages appeals come in. The importer (bot.importer.asks) reads this table too, so what
# it turns into requests to the official and what this check warns about are one list.
INSTRUCTION = re.compile(
    r"^(?:\d+[.)]\s*)?(?:"
    # English
    r"urge|urging|call(?:ing)? (?:on|upon|for)|remind(?:ing)?|ask(?:ing)? (?:the|them|him|her)|demand(?:ing)?|"
    r"express(?:ing)? (?:your |our )?(?:concern|support)|write to|appeal(?:ing)? to|encourag(?:e|ing)|insist|"
    r"tell (?:the|them)|noting|note that|welcom(?:e|ing)|"
    # Spanish
    r"inst(?:e|en|ando)|pid(?:a|an|iendo)|recuerd(?:e|en)|recordando|exij(?:a|an)|exigiendo|solicit(?:e|en|ando)|"
    r"exhort(?:e|en|ando)|expres(?:e|en|ando)|manifiest(?:e|en)|"
    r"p[íi]d(?:a|an)les?|[íi]nst(?:e|en)les?|recu[ée]rd(?:e|en)les?|exh[óo]rt(?:e|en)les?|solic[íi]t(?:e|en)les?|"
    # French
    r"pri(?:ez|er|ant)|exhort(?:ez|er|ant)|appel(?:ez|er|ant)|demand(?:ez|er|ant)|rappel(?:ez|er|ant)|"
    r"engag(?:ez|er|eant)|exig(?:ez|er|eant)|exprim(?:ez|er|ant)|invit(?:ez|er|ant)|"
    # Russian
    r"призовите|призывая|напомните|потребуйте|попросите|выразите"
    r")\b",
    re.IGNORECASE,
)
# "Dear Minister/Estimado Señor Secretario": two salutations, in two languages, pasted as one.
TWO_SALUTATIONS = re.compile(r"\S\s*/\s*(?:Dear|Estimad[oa]|Señor|Señora|Monsieur|Madame|Уважаем)", re.IGNORECASE)

# The grammatical forms a letter frame uses: `target.person.form("title", "dat")` and the like.
_FORM_USE = re.compile(r"""\b(target|copy_to|subject)\.person\.(?:form|has)\(\s*["'](\w+)["']\s*,\s*["'](\w+)["']""")
_FRAME = re.compile(r"^letter\.([a-z]{2,3})\.txt\.j2$")


@dataclass(frozen=True)
class Advice:
    field: str  # where in the case file: "facts", "targets[0].title", "asks[1]"
    message: str


def frame_forms(templates_dir: Path) -> dict[str, set[tuple[str, str, str]]]:
    """The forms each letter frame uses: lang -> {(who, field, grammatical case)}."""
    found: dict[str, set[tuple[str, str, str]]] = {}
    for path in sorted((templates_dir / "letters").glob("letter.*.txt.j2")):
        match = _FRAME.match(path.name)
        if match:
            found[match.group(1)] = set(_FORM_USE.findall(path.read_text(encoding="utf-8")))
    return found


def case_advice(case: Case, frames: dict[str, set[tuple[str, str, str]]]) -> list[Advice]:
    """What would make this case's letters weaker than they should be."""
    advice: list[Advice] = []
    letter_langs = [lang for lang in frames if case.asks_in(lang) or lang in case.letter_languages]
    advice.extend(_facts(case, letter_langs))
    advice.extend(_asked_languages(case, frames))
    advice.extend(_asks(case))
    for i, target in enumerate(case.targets):
        where = f"targets[{i}]"
        if target.id_derived:
            advice.append(
                Advice(
                    f"{where}.id",
                    f"no id: pledges and buttons use {target.id!r}, derived from the name; "
                    f"write `id: {target.id}` so a respelt name or a reordered list keeps them",
                )
            )
        if isinstance(target.salutation, str) and TWO_SALUTATIONS.search(target.salutation):
            advice.append(Advice(f"{where}.salutation", "looks like two salutations in one: give one per language"))
        for lang in letter_langs:
            advice.extend(_forms(target, where, lang, frames[lang]))
    if case.subject is not None:
        for lang in letter_langs:
            for who, _field, grammar in sorted(frames[lang]):
                if who == "subject":
                    advice.extend(_missing(case.subject.name, "subject.name", lang, grammar))
    return advice


def _facts(case: Case, letter_langs: list[str]) -> list[Advice]:
    if case.facts is None:
        return [
            Advice(
                "facts",
                "no facts: letters say nothing of what happened; add `facts:` (above `asks:`), two to four "
                "sentences (who, what, when and where, the legal point) in each letter language",
            )
        ]
    if isinstance(case.facts, str):
        return []
    return [
        Advice("facts", f"no {lang} text: letters in {lang} go without the facts")
        for lang in letter_langs
        if not case.facts.get(lang)
    ]


def _asked_languages(case: Case, frames: dict[str, set[tuple[str, str, str]]]) -> list[Advice]:
    """Languages the appeal asks letters in that the bot cannot write: readers get another one."""
    advice = []
    for lang in case.letter_languages:
        if lang not in frames:
            advice.append(
                Advice(
                    "letter_languages",
                    f"the appeal asks for letters in {lang!r}, and there is no letter frame for it "
                    f"(templates/letters/letter.{lang}.txt.j2): readers get a letter in another language",
                )
            )
        elif not case.asks_in(lang) and not all(isinstance(ask.text, str) for ask in case.asks):
            advice.append(Advice("asks", f"the appeal asks for letters in {lang!r}: give every ask a {lang} text"))
    return advice


def _asks(case: Case) -> list[Advice]:
    advice = []
    for i, ask in enumerate(case.asks):
        for lang, text in _texts(ask.text):
            if INSTRUCTION.match(text.strip()):
                words = " ".join(text.split()[:4])
                advice.append(
                    Advice(
                        f"asks[{i}]" + (f".{lang}" if lang else ""),
                        f"reads as an instruction to activists ({words!r} …): write what the letter asks of "
                        'the official ("Release …", «Освободить …»), or a `statement` it says as it is',
                    )
                )
    return advice


def _forms(target: Target, where: str, lang: str, uses: set[tuple[str, str, str]]) -> list[Advice]:
    who = "copy_to" if target.copy_ else "target"
    advice = []
    for used_by, field, grammar in sorted(uses):
        if used_by == who:
            advice.extend(_missing(getattr(target, field), f"{where}.{field}", lang, grammar))
    return advice


def _missing(text: Inflected | None, where: str, lang: str, grammar: str) -> list[Advice]:
    if text is None:
        return []
    value, given = form_of(text, lang, grammar)  # type: ignore[arg-type]
    if given:
        return []
    if isinstance(text, str) or not (isinstance(text, dict) and text.get(lang)):
        return [Advice(where, f"no {lang} text: {lang} letters use it as it is, in another script or language")]
    return [
        Advice(
            where,
            f"{lang} letters use its {grammar!r} form: write `{lang}: {{nom: {value}, {grammar}: …}}`; "
            "until then they use the plain form",
        )
    ]


def _texts(text: Text) -> list[tuple[str | None, str]]:
    return [(None, text)] if isinstance(text, str) else list(text.items())
