"""Asks that read as the writer's own words to the official, and the facts every letter states.

Appeals write their asks for activists: "Urge the authorities to release him". Pasted into a letter, that
tells the official to lobby himself. Where the pattern is certain (the one asked is the authorities, "them",
or the one official every letter goes to) the instruction becomes the writer's request: "I urge you to
release him"; the rest of the sentence is kept as written, its object pronouns included. Where it is not
certain, the coordinator is told to rewrite it. What counts as instruction phrasing is one table, the one
`rrbot check` warns with (bot.content.advice.INSTRUCTION).

The 2017 template has no list of asks, only a sample letter: its sentences addressed to the official ("I
urge you to …", "Le insto a …", "Je vous demande de …") are the asks, its other paragraphs the facts.
Everything is copied as written, apart from the few words that turn an instruction into a request.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.content.advice import INSTRUCTION
from bot.importer import vocabulary as v
from bot.importer.notes import N_, Note
from bot.importer.salutations import language_of, same_language_twice

if TYPE_CHECKING:
    from bot.importer.parse import ParsedUA

logger = logging.getLogger(__name__)

__all__ = ["SampleLetter", "address_the_official", "as_request", "ask_entry", "from_letter", "read_letter"]


# --- the sample letter -----------------------------------------------------------------------------

_LETTER = re.compile(rf"^{v.LETTER_LABEL}\b[^:]{{0,40}}:?\s*(.*)$", re.I)
_SIGN_OFF = re.compile(rf"^{v.SIGN_OFF}\b", re.I)
_REQUEST = re.compile(v.REQUEST_SENTENCE, re.I)
_LETTER_END = re.compile(rf"^(?:{v.ASKS_END}|{v.SECTION_START}|{v.SECTION_END})", re.I)
_SALUTATION = re.compile(r"^[^\W\d_][^.!?]{1,60}[,:]$")
# Where one sentence ends and the next begins: ". O", ".” A", "? ¿".
_SENTENCE_END = re.compile(r"[.!?…][\"”’»)]*\s+(?=[\"“«¿¡(]?[A-ZÀ-ÖØ-Þ0-9])")
# A full stop after these is not a sentence's end ("Mr. Smith", "Sra. Ruiz", "M. A. Peshkov").
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "st", "gen", "col", "lt", "capt", "jr", "no", "nos", "art", "arts", "vol", "p", "pp",
    "sr", "sra", "srta", "dra", "dña", "lic", "ing", "núm", "mme", "mlle", "me", "av", "etc",
}  # fmt: skip
_MAX_LETTER_LINES = 150


@dataclass(frozen=True)
class SampleLetter:
    """The 2017 template's "URGENT ACTION LETTER": its parts, each as written."""

    salutation: str | None
    requests: list[str]  # the sentences addressed to the official
    facts: str | None  # the other sentences, by paragraph ("\n\n" between them)


def read_letter(lines: list[str]) -> SampleLetter | None:
    """The document's sample letter, from its label to the closing formula; None when it has none."""
    start = next((i for i, line in enumerate(lines) if _LETTER.match(line)), None)
    if start is None:
        return None
    first = _LETTER.match(lines[start])
    body = ([first.group(1)] if first and first.group(1) else []) + _until_the_end(lines[start + 1 :])
    salutation = None
    opening = next((i for i, line in enumerate(body) if line), None)
    if opening is not None and _salutation(body[opening]):
        salutation = body[opening].rstrip(",:").strip()
        body = body[opening + 1 :]
    requests: list[str] = []
    facts: list[str] = []
    for paragraph in _paragraphs(body):
        sentences = split_sentences(paragraph)
        asked = [_REQUEST.match(s) is not None for s in sentences]
        requests.extend(s for s, request in zip(sentences, asked, strict=True) if request)
        if not any(asked):
            facts.append(paragraph)
        elif rest := [s for s, request in zip(sentences, asked, strict=True) if not request]:
            facts.append(" ".join(rest))
    return SampleLetter(salutation, requests, "\n\n".join(facts) or None)


def _salutation(line: str) -> bool:
    """ "Dear Minister,": a short line opening with a salutation's word, or a few words ending in a comma
    (a body line the page wrapped after a comma is longer)."""
    words = len(line.split())
    if language_of(line) is not None:
        return words <= 10 and not line.endswith((".", "!", "?"))
    return bool(_SALUTATION.match(line)) and words <= 6


def _until_the_end(lines: list[str]) -> list[str]:
    """The letter's lines: they stop at the closing formula, or at the next section's heading."""
    kept: list[str] = []
    for line in lines[:_MAX_LETTER_LINES]:
        sign_off = _SIGN_OFF.match(line)
        # "Respectfully," ends a letter; "Respectfully, I urge you …" does not. French closes with a sentence.
        if sign_off and (len(line) <= 40 or "agr" in v.fold(sign_off.group(0))):
            break
        if _LETTER_END.match(line) or (line.isupper() and len(line.split()) >= 2):
            break
        kept.append(line)
    return kept


def _paragraphs(lines: list[str]) -> list[str]:
    """Wrapped lines joined with spaces, one string per paragraph (blank lines between them)."""
    text = "\n".join(lines)
    return [" ".join(block.split()) for block in re.split(r"\n\s*\n", text) if block.strip()]


def split_sentences(text: str) -> list[str]:
    """The sentences of a paragraph, as written. A full stop after an initial or an abbreviation is kept."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        words = text[max(start, match.start() - 40) : match.start()].split()
        word = words[-1].strip('("“«') if words else ""
        if len(word) <= 1 or "." in word or v.fold(word) in _ABBREVIATIONS:
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def from_letter(letter: SampleLetter | None, r: ParsedUA) -> bool:
    """Take the sample letter's requests as the asks (reported for checking); False when it has none."""
    if letter is None or not letter.requests:
        return False
    r.asks.extend(letter.requests)
    r.uncertain.append(Note("asks", N_("taken from the sample letter: check them")))
    return True


# --- instructions turned into requests -------------------------------------------------------------

_THEM = {"them", "les", "leur"}
_AUTHORITIES = re.compile(r"\b(?:authorities|government|autoridades|gobierno|autorites|gouvernement)\b")
_ARTICLE = re.compile(r"^(?:(?:the|a las?|a los?|al|aux?|les?|la|a la)\s+|(?:a )?l')")


def _addressed(subject: str | None, official: list[str]) -> bool:
    """Whether the one asked is whom every letter goes to: the authorities, "them", or the one official."""
    if subject is None:
        return True  # "Urge that …", "Pidan que …": nobody else is named
    folded = " ".join(v.fold(subject).split())
    if folded in _THEM or _AUTHORITIES.search(folded):
        return True
    named = _ARTICLE.sub("", folded)
    return len(named) >= 3 and any(named in v.fold(text) for text in official)


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    turn: Callable[[re.Match[str]], str | None]  # the words that replace the match, None when not certain
    asks_someone: bool = True  # the match names whom it asks (group "subject" or "clitic")


def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


def _said(pattern: str, words: str, adverbs: dict[str, str] | None = None) -> _Rule:
    """A rule for words that ask nobody in particular ("Expressing concern that" → "I am concerned that"):
    `words` may use the match's {adj}ective (an adverb in English: "deep" → "deeply"), {noun} and {link}."""

    def turn(m: re.Match[str]) -> str:
        groups = m.groupdict()
        adj = groups.get("adj") or ""
        shown = (adverbs or {}).get(adj.lower(), adj) + " " if adj else ""
        return words.format(adj=shown, noun=groups.get("noun") or "", link=groups.get("link") or "")

    return _Rule(_compile(pattern), turn, asks_someone=False)


# English -------------------------------------------------------------------------------------------
_EN_VERBS = {"urg": "urge", "cal": "call", "ask": "ask", "app": "appeal to", "enc": "encourage", "rem": "remind"}
_EN_LINKS = {"remind": {"of", "that"}}
_EN_THEY = _compile(r"^\s+they\s+(?=(?:are|have|must|should|cannot|can|will|were|had|do|did)\b)")
_EN_THEIR = _compile(r"^\s+their\b")


def _en_request(m: re.Match[str]) -> str | None:
    verb = _EN_VERBS[m["verb"][:3].lower()]
    if verb == "call":
        verb = "call " + m["verb"].split()[-1].lower()  # "on" or "upon", as written
    link = " ".join(m["link"].split())
    if link.lower() not in _EN_LINKS.get(verb, {"to", "not to"}):
        return None
    return f"I {verb} you {link}"


def _en_rest(rest: str, m: re.Match[str]) -> str:
    """ "Remind them of their obligation" is the official's obligation: "I remind you of your obligation"."""
    if not m["verb"].lower().startswith("remind"):
        return rest
    if m["link"].lower() == "of":
        return _EN_THEIR.sub(" your", rest)
    return _EN_THEY.sub(" you ", rest)


_CONCERNED = {"deep": "deeply", "grave": "gravely", "serious": "seriously", "great": "greatly"}

_ENGLISH = [
    _Rule(
        _compile(
            r"(?P<verb>urg(?:e|ing)|call(?:ing)?\s+(?:on|upon)|ask(?:ing)?|appeal(?:ing)?\s+to|encourag(?:e|ing)"
            r"|remind(?:ing)?)\s+(?P<subject>them|the\s[^,;:.]{1,80}?)\s+(?P<link>not\s+to|to|of|that)\b"
        ),
        _en_request,
    ),
    _said(r"urg(?:e|ing)\s+that\b", "I urge that"),
    _said(r"call(?:ing)?\s+for\b", "I call for"),
    _said(
        r"express(?:ing)?\s+(?:(?:your|our)\s+)?(?:(?P<adj>deep|grave|serious|great)\s+)?concern\s+"
        r"(?P<link>that|at|about|for|over|regarding)\b",
        "I am {adj}concerned {link}",
        _CONCERNED,
    ),
    _said(r"express(?:ing)?\s+(?:(?:your|our)\s+)?support\s+for\b", "I express my support for"),
    _said(r"not(?:ing\b|e(?=\s+that\b))", "I note"),
    _said(r"welcom(?:e|ing)\b", "I welcome"),
]

# Spanish -------------------------------------------------------------------------------------------
_ES_VERBS = {
    "pid": ("Le pido", {"que"}),
    "ins": ("Le insto", {"a que", "a"}),
    "exh": ("Le exhorto", {"a que", "a"}),
    "sol": ("Le solicito", {"que"}),
    "rec": ("Le recuerdo", {"que", "su", "sus"}),
}


def _es_request(m: re.Match[str]) -> str | None:
    head, links = _ES_VERBS[v.fold(m["verb"])[:3]]
    link = " ".join(m["link"].split())
    if link.lower() not in links:
        return None
    return f"{head} {link}"


_SPANISH = [
    _Rule(
        _compile(
            r"(?P<verb>p[íi]d(?:a|an|iendo)|[íi]nst(?:e|en|ando)|exh[óo]rt(?:e|en|ando)|solic[íi]t(?:e|en|ando)"
            r"|recu[ée]rd(?:e|en)|record(?:ando))"
            # "Pídanles que", "a las autoridades rusas", "al Fiscal General"; or nobody named: "Pidan que …"
            r"(?:(?P<clitic>les?)\b|\s+(?P<subject>(?:a\s+(?:las?|los?)|al)\s[^,;:.]{1,80}?))?"
            r"\s+(?P<link>a\s+que|que|a|sus|su)\b"
        ),
        _es_request,
    ),
    _said(
        r"(?:expres(?:e|en|ando)|manifiest(?:e|en|ando))\s+(?:su\s+)?(?:(?P<adj>profunda|honda|grave|seria)\s+)?"
        r"preocupaci[óo]n\s+(?P<link>porque|por|de\s+que|ante|sobre)\b",
        "Expreso mi {adj}preocupación {link}",
    ),
]

# French --------------------------------------------------------------------------------------------
_FR_VERBS = {
    "dem": ("demande", {"de", "d'"}),
    "pri": ("prie", {"de", "d'"}),
    "exh": ("exhorte", {"à"}),
    "app": ("appelle", {"à"}),
    "eng": ("engage", {"à"}),
    "inv": ("invite", {"à"}),
    "rap": ("rappelle", {"que", "qu'", "leur", "leurs"}),
}
_FR_YOUR = {"leur": "votre", "leurs": "vos"}
# "Rappelez-leur qu'elles ont l'obligation …": the authorities are the official now.
_FR_THEY = _compile(r"^(?:elles|ils)\s+(?P<neg>ne\s+|n['’])?(?P<verb>ont|sont|doivent|peuvent)\b")
_FR_YOU = {"ont": "avez", "sont": "êtes", "doivent": "devez", "peuvent": "pouvez"}


def _fr_request(m: re.Match[str]) -> str | None:
    word, links = _FR_VERBS[m["verb"][:3].lower()]
    link = m["link"].replace("’", "'").lower()
    if link not in links:
        return None
    head = f"Je vous {word}" + (" instamment" if m["adv"] else "")
    if link in _FR_YOUR:
        return f"{head} {_FR_YOUR[link]}"
    return f"{head} {m['link']}"


def _fr_rest(rest: str, m: re.Match[str]) -> tuple[str, str] | None:
    """(link, rest) for "qu'elles ont …" → "que vous avez …"; None to keep both as written."""
    they = _FR_THEY.match(rest)
    if not (m["verb"].lower().startswith("rappel") and m["link"][:2].lower() == "qu" and they):
        return None
    negation = "n’" if they["verb"] == "sont" and they["neg"] else they["neg"] or ""
    return "que", f" vous {negation}{_FR_YOU[they['verb']]}{rest[they.end() :]}"


_FRENCH = [
    _Rule(
        _compile(
            r"(?P<verb>demand(?:ez|er|ant)|pri(?:ez|er|ant)|exhort(?:ez|er|ant)|appel(?:ez|er|ant)"
            r"|engag(?:ez|er|eant)|invit(?:ez|er|ant)|rappel(?:ez|er|ant))"
            r"(?:-(?P<clitic>leur|les)\b|\s+(?:(?P<adv>instamment)\s+)?"
            r"(?P<subject>(?:aux|au|les|le|la|à\s+la|à\s+l['’]|l['’])\s*[^,;:.]{1,80}?))"
            r"\s+(?P<link>d['’]|qu['’]|de\b|à\b|que\b|leurs?\b)"
        ),
        _fr_request,
    ),
    _said(
        r"exprim(?:ez|er|ant)\s+(?:votre\s+)?(?:(?P<adj>vive|profonde|grave)\s+)?(?P<noun>préoccupation|inquiétude)"
        r"\s+(?P<link>quant\s+à|au\s+sujet\s+d(?:e|u|es|['’])|concernant|face\s+à|devant|sur|pour)",
        "J’exprime ma {adj}{noun} {link}",
    ),
]

_RULES = [*_ENGLISH, *_SPANISH, *_FRENCH]
# An ask is a sentence or two: a longer one, or one that goes on giving instructions, is a person's to rewrite
# (and the work stays linear in the document's length).
_LONGEST = 2000
_MOST_CLAUSES = 4
_LEAD = _compile(r"^(?:and|y|et)\s+")
# Where an instruction may go on inside an ask: "expressing concern at …, and urging the authorities to …".
_CLAUSE = _compile(r"(?:\b(?:and|y|et)|[,;])\s+")
# The table's phrasing where a clause starts, not only at the start of the text (its "^" left out).
_INSTRUCTION_HERE = re.compile(INSTRUCTION.pattern.removeprefix("^"), INSTRUCTION.flags)


def _turn(text: str, official: list[str]) -> str | None:
    """The clause that opens text as a request to the official; None when no rule is certain of it."""
    for rule in _RULES:
        match = rule.pattern.match(text)
        if not match:
            continue
        groups: dict[str, Any] = match.groupdict()
        subject = groups.get("subject") or groups.get("clitic")
        if rule.asks_someone and not _addressed(subject, official):
            return None
        head = rule.turn(match)
        if head is None:
            return None
        rest = text[match.end() :]
        if rule is _ENGLISH[0]:
            rest = _en_rest(rest, match)
        elif rule is _FRENCH[0] and (turned := _fr_rest(rest, match)):
            head = head.rsplit(" ", 1)[0] + " " + turned[0]
            rest = turned[1]
        return head + rest
    return None


def as_request(ask: str, official: list[str]) -> tuple[str, bool | None]:
    """(the ask as the letter says it, what happened): True rewritten as a request, False left as written
    (not an instruction), None an instruction that could not be turned (left as written).

    `official`: the titles, names and salutations of the one official every letter goes to; empty when
    letters go to several, so that "Urge the Prosecutor General to …" is not turned into a request to
    somebody else.
    """
    text = _LEAD.sub("", ask.strip(), count=1)
    turned = _turn(text, official) if len(text) <= _LONGEST else None
    if turned is None:
        return ask, (None if INSTRUCTION.match(text) else False)
    # An instruction that goes on inside the ask is turned too, or the ask is not certain.
    position = clauses = 0
    while clause := _CLAUSE.search(turned, position):
        if not _INSTRUCTION_HERE.match(turned, clause.end()):
            position = clause.end()
            continue
        clauses += 1
        inner = _turn(turned[clause.end() :], official) if clauses <= _MOST_CLAUSES else None
        if inner is None:
            return ask, None
        turned = turned[: clause.end()] + inner
        position = clause.end() + 1
    return turned, True


def ask_entry(ask: str, language: str) -> dict[str, Any]:
    """An ask as the case file writes it: a full sentence to the official ("I urge you to …") is a
    `statement` the letter says as it is; anything else a request the letter's frame leads into."""
    text = {language: ask}
    return {"statement": text} if is_sentence(ask) else text


_FIRST_PERSON = _compile(
    r"(?:I|we)\s|"
    + v.REQUEST_SENTENCE
    + r"|(?:le|les|me)\s+(?:recuerdo|recordamos|preocupa)\b|expreso\b|j['’]exprime\b|je\s+vous\s+rappelle\b"
)


def is_sentence(ask: str) -> bool:
    """Whether the ask is the writer's own sentence to the official, not a request for the frame to lead into."""
    return bool(_FIRST_PERSON.match(ask.strip()))


# --- the draft, addressed to the official ----------------------------------------------------------


def address_the_official(r: ParsedUA, letter: SampleLetter | None) -> None:
    """Asks turned into requests to the official, the facts filled in, salutations checked: each reported."""
    addressees = [t for t in r.targets if not t.copy]
    official = _official_texts(addressees[0]) if len(addressees) == 1 else []
    for i, ask in enumerate(r.asks):
        r.asks[i], turned = as_request(ask, official)
        if turned:
            r.uncertain.append(Note(f"asks[{i}]", N_("rewritten as a request: check it")))
        elif turned is None:
            r.uncertain.append(Note(f"asks[{i}]", N_("could not turn into a request to the official: rewrite it")))
    if letter is not None and letter.facts:
        r.facts = letter.facts
        r.uncertain.append(Note("facts", N_("taken from the sample letter: check them")))
    elif r.summary:
        r.facts = r.summary
        r.uncertain.append(Note("facts", N_("taken from the summary: check them")))
    logger.debug("%s: %d asks, facts from %s", r.id, len(r.asks), "the letter" if letter and letter.facts else "-")
    for i, target in enumerate(r.targets):
        if same_language_twice(target.salutation):
            r.uncertain.append(Note(f"targets[{i}].salutation", N_("two salutations in one language: keep one")))


def _official_texts(target: Any) -> list[str]:
    texts = [target.title, target.name, target.organisation, target.salutation]
    return [text for text in texts if isinstance(text, str) and text]
