"""The Renderer: case screens, action screens, short texts and coordinator screens over one core."""

from __future__ import annotations

from bot.render.actions import ActionScreens
from bot.render.approval import ApprovalScreens
from bot.render.cases import CaseScreens
from bot.render.channel import ChannelScreens
from bot.render.coordinator import CoordinatorScreens
from bot.render.history import HistoryScreens
from bot.render.imports import ImportScreens
from bot.render.schedule import ScheduleScreens
from bot.render.texts import TextScreens
from bot.render.updates import LifecycleScreens
from bot.render.when import WhenScreens


class Renderer(
    ScheduleScreens,
    ImportScreens,
    ChannelScreens,
    HistoryScreens,
    LifecycleScreens,
    ApprovalScreens,
    CoordinatorScreens,
    WhenScreens,
    CaseScreens,
    TextScreens,
    ActionScreens,
):
    """Turns cases and user state into Screens (Telegram HTML + button specs); no aiogram here."""
