"""A salutation as the case file keeps it: by language, so that each letter opens in its own language.

Appeals give one line for every reader: "Dear Minister/Estimado Señor Secretario de Seguridad" (English
for the writer, Spanish for the letter the appeal prefers), "Monsieur le Ministre / Dear Minister". A
letter that pasted it whole would greet the official twice, in two languages; the case file wants
{en: "Dear Minister", es: "Estimado Señor Secretario de Seguridad"}. Each half is copied as written.
"""

from __future__ import annotations

import re

from bot.content.models import Text
from bot.importer.vocabulary import SALUTATION_WORDS, fold

__all__ = ["by_language", "language_of", "same_language_twice"]

_OPENING = {lang: {fold(word) for word in words} for lang, words in SALUTATION_WORDS.items()}


def language_of(salutation: str) -> str | None:
    """The language a salutation's opening word belongs to ("Dear" en, "Estimado" es), None when unknown."""
    words = re.findall(r"[^\W\d_]+", fold(salutation))
    if not words:
        return None
    return next((lang for lang, opening in _OPENING.items() if words[0] in opening), None)


def _languages(salutation: str) -> tuple[list[str], list[str | None]]:
    """The salutations a "/" joins, and the language of each; one part when a half is a single word
    ("Dear Sir/Madam", "Estimado Señor/Señora": one salutation for a man or a woman)."""
    halves = [part.strip() for part in salutation.split("/")]
    if len(halves) < 2 or any(len(half.split()) < 2 for half in halves):
        halves = [salutation.strip()]
    return halves, [language_of(half) for half in halves]


def by_language(salutation: Text | None) -> Text | None:
    """{lang: salutation} for each language the text greets in; as written when a language cannot be told,
    or when it gives two salutations in one language (a person picks one: see same_language_twice)."""
    if not isinstance(salutation, str) or not salutation.strip():
        return salutation
    halves, languages = _languages(salutation)
    if None in languages or len(set(languages)) < len(languages):
        return salutation
    return {lang: half for lang, half in zip(languages, halves, strict=True) if lang}


def same_language_twice(salutation: Text | None) -> bool:
    """ "Señor Ministro / Estimado Señor Secretario": two salutations in one language, nothing to split by."""
    if not isinstance(salutation, str):
        return False
    _halves, languages = _languages(salutation)
    return None not in languages and len(set(languages)) < len(languages)
