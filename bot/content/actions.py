"""The action table: every kind of action an activist can take for a case, one row each.

Callbacks, pledges, reminders, charts, screens and handlers derive from these rows, so adding an action
is a row here, its templates (content/templates/ui/) and its catalogue entries (content/locales/); see
tests/test_actions.py for what a row must have. No aiogram and no rendering here: the wordings are msgids,
marked for pybabel and translated where a screen is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from bot.ground.i18n import N_, N_context, N_plural, Plural, Wording


@dataclass(frozen=True)
class Action:
    """One kind of action: what it is called, how it is reached and counted, and what it says."""

    # Stored in Redis keys and hashes, callback data, `rrbot stats` and the CSV export: never renamed.
    key: str
    # The callback verb that opens its screen; a per-target verb carries the official's index and the letter
    # language (`tgt:<case>:<i>:<lang>`), a case-wide one only the case (`tw:<case>`). Stored in old
    # messages' buttons, so never renamed either.
    verb: str
    emoji: str
    colour: str  # its bars in the coordinators' pledge chart
    # Writing to an official: what deadline reminders ask for ("not-written" audience) and "letters sent" counts.
    writing: bool
    per_target: bool  # one screen per official rather than one per case
    template: str  # its screen, under content/templates/
    # The Target field an official must have for the action to be offered (None: every official).
    needs: str | None
    # Wordings (msgids). name: the noun in /mydata, stats, the chart legend and reminders; button: the label
    # that opens it (None for the letter, opened by each official's name on the act menu); done: "I did it".
    name: str
    button: str | None
    done: Wording
    # The answers to "I did it": the first one ever, with and without "Counted", and the running totals.
    first_counted: str
    first: str
    so_far: Plural
    together: Plural

    def offered_to(self, target: object) -> bool:
        """True when the official (a Target) has what the action needs."""
        return self.needs is None or bool(getattr(target, self.needs, None))


ACTION_TABLE: tuple[Action, ...] = (
    Action(
        key="letter",
        verb="tgt",
        emoji="✉️",
        colour="#1f5fa8",
        writing=True,
        per_target=True,
        template="ui/letter.html.j2",
        needs=None,
        name=N_("letter"),
        button=None,
        done=N_("I sent the letter"),
        first_counted=N_("Counted — you are the first to write!"),
        first=N_("You are the first to write!"),
        so_far=N_plural("%(num)s person has written so far.", "%(num)s people have written so far."),
        together=N_plural(
            "Together with you, %(num)s person has written.", "Together with you, %(num)s people have written."
        ),
    ),
    Action(
        key="email",
        verb="eml",
        emoji="📧",
        colour="#f2a900",
        writing=True,
        per_target=True,
        template="ui/email.html.j2",
        needs="email",
        name=N_("email"),
        button=N_("Email"),
        done=N_("I sent the email"),
        first_counted=N_("Counted — you are the first to send an email!"),
        first=N_("You are the first to send an email!"),
        so_far=N_plural("%(num)s person has sent an email so far.", "%(num)s people have sent an email so far."),
        together=N_plural(
            "Together with you, %(num)s person has sent an email.",
            "Together with you, %(num)s people have sent an email.",
        ),
    ),
    Action(
        key="fax",
        verb="fax",
        emoji="📠",
        colour="#6b7b8c",
        writing=True,
        per_target=True,
        template="ui/fax.html.j2",
        needs="fax",
        name=N_("fax"),
        button=N_("Fax"),
        done=N_("I sent the fax"),
        first_counted=N_("Counted — you are the first to send a fax!"),
        first=N_("You are the first to send a fax!"),
        so_far=N_plural("%(num)s person has sent a fax so far.", "%(num)s people have sent a fax so far."),
        together=N_plural(
            "Together with you, %(num)s person has sent a fax.", "Together with you, %(num)s people have sent a fax."
        ),
    ),
    Action(
        key="tweet",
        verb="tw",
        emoji="🐦",
        colour="#111111",
        writing=False,
        per_target=False,
        template="ui/tweet.html.j2",
        needs=None,
        name=N_("post on X"),
        button=N_("Post on X"),
        done=N_context("tweet", "I posted it"),
        first_counted=N_("Counted — you are the first to post on X!"),
        first=N_("You are the first to post on X!"),
        so_far=N_plural("%(num)s person has posted on X so far.", "%(num)s people have posted on X so far."),
        together=N_plural(
            "Together with you, %(num)s person has posted on X.", "Together with you, %(num)s people have posted on X."
        ),
    ),
    Action(
        key="share",
        verb="sh",
        emoji="🔗",
        colour="#3fa34d",
        writing=False,
        per_target=False,
        template="ui/share.html.j2",
        needs=None,
        name=N_("share"),
        button=N_("Share"),
        done=N_("I shared it"),
        first_counted=N_("Counted — you are the first to share this case!"),
        first=N_("You are the first to share this case!"),
        so_far=N_plural("%(num)s person has shared this case so far.", "%(num)s people have shared this case so far."),
        together=N_plural(
            "Together with you, %(num)s person has shared this case.",
            "Together with you, %(num)s people have shared this case.",
        ),
    ),
)

# Derived views. The order of the table is the order everywhere: stats columns, chart bars, /mydata, buttons.
ACTIONS: tuple[str, ...] = tuple(a.key for a in ACTION_TABLE)
WRITING_ACTIONS: tuple[str, ...] = tuple(a.key for a in ACTION_TABLE if a.writing)
ACTION_BY_KEY = MappingProxyType({a.key: a for a in ACTION_TABLE})
ACTION_BY_VERB = MappingProxyType({a.verb: a for a in ACTION_TABLE})
# The letter is the official's own screen: the act menu opens it, the other per-target actions hang off it.
LETTER = ACTION_BY_KEY["letter"]
