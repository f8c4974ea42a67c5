"""Tweet length as X/Twitter counts it (twitter-text v3 config) and trimming to fit.

twitter-text v3: every code point weighs 200 except the ranges below (100); a URL counts
as 23 characters whatever its length; an emoji counts 2. Limit 280 = 28000 weight units.
We only need a bound that is never lower than Twitter's own count, so where the exact rule
is too elaborate (emoji sequences, bare domains) we err on the long side.
"""

from __future__ import annotations

import logging
import re
import unicodedata

logger = logging.getLogger(__name__)

MAX_WEIGHTED = 280
URL_LENGTH = 23
_SCALE = 100
_DEFAULT_WEIGHT = 200
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
ELLIPSIS = "…"

# Emoji: a pictographic base plus its modifiers (variation selector, skin tone, keycap, tags),
# or a pair of regional indicators (a flag). ZWJ sequences are deliberately NOT joined:
# counting their parts separately can only overestimate.
_EMOJI = re.compile(
    "(?:[\U0001f1e6-\U0001f1ff]{2})"
    "|(?:[\U0001f000-\U0001faff\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff\u2190-\u21ff"
    "\u2934\u2935\u3030\u303d\u3297\u3299\u00a9\u00ae\u203c\u2049\u2122\u2139]"
    "[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff\u20e3\U000e0020-\U000e007f]*)"
    "|(?:[0-9#*]\ufe0f?\u20e3)"
)
_URL_WITH_SCHEME = re.compile(r"https?://[^\s/?#]+\.[^\s/?#]+[^\s]*", re.IGNORECASE)
# Twitter also links bare domains ("t.me/x"); it then counts 23 even for a short one.
_BARE_DOMAIN = re.compile(r"(?<![\w@.])(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/[^\s]*)?", re.IGNORECASE)


def _code_point_weight(char: str) -> int:
    cp = ord(char)
    for low, high in _LIGHT_RANGES:
        if low <= cp <= high:
            return 100
    return _DEFAULT_WEIGHT


def _plain_weight(text: str) -> int:
    total = 0
    pos = 0
    for match in _EMOJI.finditer(text):
        total += sum(_code_point_weight(c) for c in text[pos : match.start()])
        total += _DEFAULT_WEIGHT  # any emoji counts as 2
        pos = match.end()
    return total + sum(_code_point_weight(c) for c in text[pos:])


def _weight(text: str) -> int:
    total = 0
    pos = 0
    for match in _URL_WITH_SCHEME.finditer(text):
        total += _bare_weight(text[pos : match.start()])
        total += URL_LENGTH * _SCALE
        pos = match.end()
    return total + _bare_weight(text[pos:])


def _bare_weight(text: str) -> int:
    total = 0
    pos = 0
    for match in _BARE_DOMAIN.finditer(text):
        total += _plain_weight(text[pos : match.start()])
        # Linked or not, this never undercounts: linked = 23, unlinked = its own weight.
        total += max(URL_LENGTH * _SCALE, _plain_weight(match.group()))
        pos = match.end()
    return total + _plain_weight(text[pos:])


def weighted_length(text: str) -> int:
    """Length of a tweet as Twitter counts it (NFC-normalised, weighted, URLs as 23)."""
    return -(-_weight(unicodedata.normalize("NFC", text)) // _SCALE)


def _join(text: str, handles: list[str], url: str | None) -> str:
    return " ".join(part for part in (text, " ".join(handles), url or "") if part)


def _trim(text: str, room: int) -> str:
    """Longest word-boundary prefix of text (plus "…") whose weighted length is <= room."""
    if weighted_length(text) <= room:
        return text
    words = text.split(" ")
    while words:
        words.pop()
        candidate = " ".join(words).rstrip(" ,;:-—") + ELLIPSIS
        if weighted_length(candidate) <= room and words:
            return candidate
    # A single enormous word: cut characters instead.
    cut = text
    while cut and weighted_length(cut + ELLIPSIS) > room:
        cut = cut[:-1]
    return cut + ELLIPSIS if cut else ""


def fit_tweet(text: str, handles: list[str] | tuple[str, ...], url: str | None, limit: int = MAX_WEIGHTED) -> str:
    """text + handles + url, trimming the text (never the link) so the tweet stays <= limit.

    Handles are what puts the appeal in front of the officials, so they are kept while the
    text keeps a readable share of the room; those that do not fit are dropped.
    """
    text = " ".join(text.split())
    unique = list(dict.fromkeys(h for h in handles if h))
    tail_url = weighted_length(" " + url) if url else 0
    min_text = min(weighted_length(text), 100)
    kept: list[str] = []
    for handle in unique:
        trial = weighted_length(" " + " ".join([*kept, handle]))
        if min_text + trial + tail_url <= limit:
            kept.append(handle)
    if len(kept) < len(unique):
        logger.info("tweet: dropped %d handle(s) to stay within %d", len(unique) - len(kept), limit)
    suffix = _join("", kept, url)
    room = limit - (weighted_length(" " + suffix) if suffix else 0)
    return _join(_trim(text, room), kept, url)
