"""Text helpers every floor may use: ASCII slugs for file names and ids."""

from __future__ import annotations

import re
import unicodedata

_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґўқғҳҷӣӯ",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya i yi ye g u q gh h j i u".split(),
    )
)


def ascii_slug(text: str, limit: int = 32) -> str:
    """Lower-case ASCII letters, digits and dashes (Cyrillic transliterated), for file names."""
    text = "".join(_CYRILLIC.get(ch, ch) for ch in text.lower()).replace("-", " ")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = "-".join(re.findall(r"[a-z0-9]+", text))
    return slug[:limit].strip("-")
