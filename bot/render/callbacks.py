"""Callback data: a compact, validated codec that never raises on forged input.

Telegram caps callback_data at 64 bytes and hands back whatever a client sends, so every
payload is parsed strictly on receipt. Format: ``<verb>:<arg>:<arg>...``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.content.actions import ACTION_TABLE, ACTIONS
from bot.content.models import TARGET_ID_PATTERN

MAX_BYTES = 64

_CASE = r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?"
_LANG = r"[a-z]{2,3}"
# An official, by the stable id the case file gives (models.TARGET_ID_PATTERN), never by list position.
_TARGET = TARGET_ID_PATTERN.strip("^$")
_ACTION = "|".join(map(re.escape, ACTIONS))
_QUESTION = r"title|summary|asks|deadline|timezone|(?:name|salutation)\.\d{1,2}"

# verb -> the regex of its arguments, in order; the verbs that open an action's screen come from the action table
_OTHER_VERBS: dict[str, tuple[str, ...]] = {
    "card": (_CASE,),  # alert card
    "act": (_CASE,),  # "What can I do?"
    "bg": (_CASE,),  # background
    "doc": (_CASE, _TARGET, _LANG),  # the whole letter to one official as a .txt file
    "prt": (_CASE, _TARGET, _LANG),  # the letter to one official as an A4 PDF, to print
    # pledge: "I sent it"; for a letter, email or fax, to which official (older buttons name none: per case only)
    "pl": (_CASE, _ACTION, f"(?:{_TARGET})?"),
    "later": (_CASE, _ACTION),  # "Remind me later" about one action
    "sub": (_CASE,),
    "unsub": (_CASE,),
    "cases": (r"\d{1,3}",),  # case list page
    "home": (),  # the welcome screen
    # pick UI language, then show a case (optional): its card, or with "act" its actions (older buttons: the card)
    "lang": (_LANG, f"(?:{_CASE})?", r"(?:act)?"),
    "alerts": (r"on|off",),  # new-case alerts from the welcome screen
    "disc": (r"show|on|1h|1d|off",),  # discreet mode: its menu, or a choice in it
    "forget": (r"yes|no",),
    "sign": (r"clear",),
    "tz": (r"guess|[A-Za-z][A-Za-z0-9_+/-]{0,39}",),  # /settings: a timezone by its name, or back to the guess
    # coordinators: composing a broadcast, then controlling it
    "bca": (r"all|case|na|lang|menu",),  # audience kind (menu: back to the choice)
    "bcc": (r"case|na", _CASE),  # the case for a case audience
    "bcl": (_LANG,),  # the language for "everyone in one language"
    "bcd": (r"send|cancel", r"[0-9a-f]{8}"),  # the previewed draft: send it or drop it
    "bcs": (r"\d{1,12}", r"pause|resume|cancel|stop|refresh"),  # a broadcast under way
    "bcw": (r"[0-9a-f]{8}",),  # the previewed draft: send it later
    "bcu": (r"[0-9a-f]{8}", r"on|off"),  # the previewed draft: urgent (at once, silently at night) or not
    # coordinators: figures
    "sts": (_CASE,),  # one case's chart and figures, from the /stats overview
    "exp": (r"semicolon",),  # /export again, separated by semicolons
    "bct": (r"[0-9a-f]{8}",),  # the previewed draft: send it to me first
    "bcv": (r"add|done|drop", _LANG, r"[0-9a-f]{8}"),  # a language version of the draft: write, preview, remove
    # coordinators: a scheduled send (by its number): preview, change its time, cancel (asked), cancel (yes),
    # keep it after its case changed, or back to the list
    "sch": (r"preview|time|cancel|yes|keep|list", r"\d{1,12}"),
    # coordinators: another's approval of a broadcast (bot.delivery.approvals): approve, decline, or its sender
    # withdraws it; an owner's rule: sends to everyone on or off, no size limit, all off
    "apv": (r"yes|no|drop", r"[0-9a-f]{8}"),
    "apr": (r"all|size|off",),
    # coordinators: history, audit and roles
    "bch": (r"\d{1,5}",),  # /broadcasts: the page starting at this many sends back
    "bco": (r"\d{1,12}",),  # /broadcasts: open one send's progress view (any coordinator may pause or stop it)
    "aud": (r"o|n", r"\d{1,15}-\d{1,10}"),  # /audit: the page older (o) or newer (n) than this entry
    "crd": (r"add|list|rm", r"\d{0,15}"),  # /coordinators: ask for someone to add, the list, remove one
    "drf": (r"open|drop|list", r"[0-9a-f]{8}|"),  # /drafts: resume a message written and not sent, or delete it
    # coordinators: an update of a case
    "upc": (_CASE,),  # which case
    "upk": (r"news|extended|closed", r"r?"),  # what it changes; r: reopen the closed case
    "upd": (r"send|cancel", r"[0-9a-f]{8}"),  # the previewed update: send it or drop it
    "upt": (r"[0-9a-f]{8}",),  # the previewed update: send it to me first
    "upv": (r"add|drop", _LANG, r"[0-9a-f]{8}"),  # a language version of the update: write it, or remove it
    # coordinators: an imported Urgent Action
    # the draft: publish, edit, drop; read the pasted UA text (preview) or case file (yaml) now
    "imp": (r"publish|edit|discard|preview|yaml|ask", r"[0-9a-f]{8}"),
    # a question about the draft (bot.publishing.questions): a time zone tapped (by its IANA name, at most 32
    # characters: an older question's button still writes the zone it shows), or Skip
    "impz": (r"[0-9a-f]{8}", r"timezone", r"[A-Za-z][A-Za-z0-9_+/-]{0,39}"),
    "imps": (r"[0-9a-f]{8}", _QUESTION),
}
# An action for one official names it and the letter's language (`tgt:<case>:<official>:<lang>`); one for the case,
# only the case (`tw:<case>`).
_ACTION_VERBS: dict[str, tuple[str, ...]] = {
    a.verb: (_CASE, _TARGET, _LANG) if a.per_target else (_CASE,) for a in ACTION_TABLE
}
_VERBS: dict[str, tuple[str, ...]] = {**_OTHER_VERBS, **_ACTION_VERBS}
# Verbs whose last argument may be left out; it then decodes as "".
_OPTIONAL_LAST = frozenset({"pl", "lang"})

# A /start payload (t.me/<bot>?start=...): a case's id opens its card; START_ACT and the id, its actions (the "Take
# action" button of a post in the organisation's channel). Telegram allows A-Z, a-z, 0-9, _ and - there, and a
# case id has no "_".
START_ACT = "act_"


def start_payload(case_id: str, *, act: bool = False) -> str:
    return (START_ACT if act else "") + case_id


def parse_start(payload: str) -> tuple[str, bool]:
    """The case a /start payload names, and whether it asks for the case's actions rather than its card."""
    payload = payload.strip().lower()
    if payload.startswith(START_ACT):
        return payload.removeprefix(START_ACT), True
    return payload, False


@dataclass(frozen=True)
class Callback:
    verb: str
    args: tuple[str, ...]

    def pack(self) -> str:
        return encode(self.verb, *self.args)


def encode(verb: str, *args: object) -> str:
    """Build callback data; raises ValueError on our own mistakes, never on user input."""
    data = ":".join([verb, *map(str, args)])
    if decode(data) is None:
        raise ValueError(f"invalid callback data {data!r}")
    return data


@lru_cache(maxsize=4096)
def decode(data: str | None) -> Callback | None:
    """Parse callback data, or None when it is malformed, forged or from an older version."""
    if not data or len(data.encode("utf-8", "replace")) > MAX_BYTES:
        return None
    verb, _, rest = data.partition(":")
    patterns = _VERBS.get(verb)
    if patterns is None:
        return None
    args = tuple(rest.split(":")) if rest else ()
    if verb in _OPTIONAL_LAST and len(args) == len(patterns) - 1:
        args += ("",)
    if len(args) != len(patterns):
        return None
    for arg, pattern in zip(args, patterns):
        if not re.fullmatch(pattern, arg):
            return None
    return Callback(verb, args)
