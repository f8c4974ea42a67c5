"""The organisation's Telegram channel: each alert and update is posted there too. No aiogram here.

A post is a broadcast of its own to one chat, through the delivery engine like any other (the shared rate, the
one sender, every process's worker): one send against the global cap, and nothing per person, since the channel
is in no consent set and follows nothing. It is queued after the subscribers' broadcast and taken ahead of it
(bot.delivery.engine.Broadcasts.enqueue_chats); queueing it never fails the alert or the update. A post Telegram
refuses (the bot is not an administrator of the channel) is logged, and coordinators hear of it once, until a
post goes through again (bot.telegram.reporter).

Keys (prefix ``rrb:``), in one hash slot:
  {channel}:bot       the bot's @username as a running bot last read it: posts queued from the CLI link to it too
  {channel}:failing   set while posts fail, so coordinators are told once
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.delivery import Broadcasts, Payload, Progress, Purpose, State
from bot.ground.settings import StoreSettings
from bot.render import Renderer

logger = logging.getLogger(__name__)

KIND = "channel"  # the Purpose kind of a post in the channel


@dataclass(frozen=True)
class Channel:
    chat_id: int
    lang: str  # the language its posts are written in

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> Channel | None:
        """The channel CHANNEL_ID names, or None when there is none."""
        return cls(settings.channel_id, settings.channel_lang) if settings.channel_id is not None else None


def _key(prefix: str, name: str) -> str:
    return prefix + "{channel}:" + name


async def remember_bot(redis: Redis, username: str, prefix: str = "rrb:") -> None:
    """A starting bot records its @username, for the links of posts queued from the command line."""
    if username:
        await redis.set(_key(prefix, "bot"), username)


async def bot_username(redis: Redis, renderer: Renderer, prefix: str = "rrb:") -> str:
    """The bot's @username: the renderer's (a bot process), else the one a bot process recorded (the CLI)."""
    return renderer.bot_username or (await redis.get(_key(prefix, "bot")) or "")


async def post(
    broadcasts: Broadcasts,
    renderer: Renderer,
    channel: Channel,
    build: Callable[[str], Payload],
    purpose: Purpose,
    *,
    created_by: int | None = None,
    send_at: float | None = None,
) -> str | None:
    """Queue a post for the channel, `build` drawing it for the bot's @username; its broadcast id, None when it
    could not be queued. Never raises: the subscribers' broadcast is queued already, and stands.

    `purpose` is what the subscribers' broadcast carries; the post's is the same, of kind "channel".
    """
    try:
        payload = build(await bot_username(broadcasts.redis, renderer, broadcasts.prefix))
        bc_id = await broadcasts.enqueue_chats(
            payload,
            [channel.chat_id],
            created_by=created_by,
            send_at=send_at,
            purpose=Purpose(KIND, purpose.ref, purpose.number),
        )
    except Exception:
        logger.exception("The channel post of %s could not be queued", purpose.ref)
        return None
    logger.info("Channel post of %s (update %r) queued as broadcast %r", purpose.ref, purpose.number, bc_id)
    return bc_id


def is_post(progress: Progress) -> bool:
    return progress.purpose is not None and progress.purpose.kind == KIND


async def post_failed(broadcasts: Broadcasts, progress: Progress) -> bool:
    """Whether a finished post reached nobody, True only the first time while posts keep failing: whoever hears
    of it hears once, not at every alert and update until someone fixes the channel."""
    if progress.state != State.done:
        return False  # cancelled: nobody was refused anything
    failing = _key(broadcasts.prefix, "failing")
    if progress.delivered or progress.uncertain:
        await broadcasts.redis.delete(failing)
        return False
    logger.warning(
        "The channel refused the post of %s (blocked or gone %d, not found %d, failed %d): is the bot an "
        "administrator of the channel, allowed to post messages?",
        progress.purpose.ref if progress.purpose else "?",
        progress.blocked,
        progress.not_found,
        progress.failed,
    )
    return bool(await broadcasts.redis.set(failing, 1, nx=True))
