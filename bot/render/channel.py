"""Posts in the organisation's Telegram channel: an alert or an update as anyone may read it, and a link into the bot.

The channel's readers follow nothing and cannot tap the bot's own buttons there (a tap in a channel reaches the
bot from no private chat), so a post carries one URL button: "Take action", a /start link that opens the case's
actions in the bot.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from bot.content.models import Case, Status
from bot.render.callbacks import start_payload
from bot.render.cases import label
from bot.render.screen import Button, Screen
from bot.render.updates import LifecycleScreens

logger = logging.getLogger(__name__)


class ChannelScreens(LifecycleScreens):
    def action_link(self, case: Case, bot_username: str | None = None) -> str:
        """t.me/<bot>?start=act_<case>: the bot opens the case's actions (and the reader follows the case)."""
        username = (bot_username or self.bot_username).lstrip("@")
        return f"https://t.me/{username}?start={start_payload(case.id, act=True)}"

    def channel_alert(self, case: Case, lang: str, now: dt.datetime, *, letters_sent: int, bot_username: str) -> Screen:
        """A new case's alert as the channel shows it: the card, without the follower's lines and buttons."""
        card = self.card(case, lang, now, subscribed=False, letters_sent=letters_sent)
        return Screen(card.text, self._take_action(case, lang, bot_username))

    def channel_update(self, case: Case, lang: str, now: dt.datetime, *, bot_username: str, **update: Any) -> Screen:
        """An update (case_update's arguments) as the channel shows it; news of a closed case asks for nothing, so
        it has no button."""
        text = self.case_update(case, lang, now, **update).text
        closed = update.get("kind") == "closed" or case.status == Status.closed
        return Screen(text, [] if closed else self._take_action(case, lang, bot_username))

    def _take_action(self, case: Case, lang: str, bot_username: str) -> list[list[Button]]:
        if not (bot_username or self.bot_username):
            # Only before any bot process has started (it records its name): the post still informs.
            logger.warning("The bot's username is unknown: the channel post of %r has no Take action button", case.id)
            return []
        _ = self._gettext(lang)
        return [[Button(label("✍️", _("Take action")), url=self.action_link(case, bot_username))]]
