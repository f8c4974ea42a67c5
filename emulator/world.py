"""The emulated Telegram as tests see it: simulated users, what the bot did, waits, faults.

`BotAPIEmulator` (server.py) adds the HTTP side on top of this class.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .entities import find_entities
from .errors import ApiError
from .limits import FloodControl, FloodLimits
from .media import document_object, photo_object, sample_png, sticker_object, store_photo
from .stars import DEFAULT_STAR_BALANCE, NANOSTARS, to_nanostars
from .state import ChatState, FileStore, UpdateQueue, clone, now

logger = logging.getLogger(__name__)


@dataclass
class Call:
    """One API request as the emulator saw it and answered it."""

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float  # time.time() when the request arrived


@dataclass
class _Fault:
    error: ApiError
    times: int


@dataclass
class _Delay:
    seconds: float
    times: int


@dataclass
class _CallbackQuery:
    issued: float  # time.monotonic()
    answered: bool = False


@dataclass
class WebhookState:
    url: str = ""
    secret_token: str = ""
    allowed_updates: list[str] | None = None
    max_connections: int = 40
    ip_address: str = ""
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class BotProfile:
    names: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    short_descriptions: dict[str, str] = field(default_factory=dict)
    # (scope type, chat_id, user_id), language_code -> BotCommand list
    commands: dict[tuple[tuple[str, Any, Any], str], list[dict[str, str]]] = field(default_factory=dict)
    menu_buttons: dict[int | None, dict[str, Any]] = field(default_factory=dict)


def _bot_id_from_token(token: str) -> int:
    prefix = token.split(":", 1)[0]
    return int(prefix) if prefix.isdigit() else 1_000_000


class World:
    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "rrbot_test_bot",
        limits: FloodLimits | None = None,
        *,
        bot_name: str = "Test Bot",
        strict: bool = True,
        callback_timeout: float = 15.0,
        star_balance: float = DEFAULT_STAR_BALANCE,
    ):
        self.token = token
        self.bot_id = _bot_id_from_token(token)
        self.bot_username = bot_username
        self.bot_name = bot_name
        # Emulator-only checks Telegram does not make (see html.py, markup.py); off = Telegram's leniency.
        self.strict = strict
        self.callback_timeout = callback_timeout
        self.flood = FloodControl(limits or FloodLimits())
        # The bot's Telegram Stars, in nanostars: each send with allow_paid_broadcast takes 0.1 Star (stars.py).
        self.nanostars = to_nanostars(star_balance)
        self.chats: dict[int | str, ChatState] = {}
        self.files = FileStore()
        self.updates = UpdateQueue()
        self.profile = BotProfile()
        self.webhook = WebhookState()
        self.calls: list[Call] = []
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self._callbacks: dict[str, _CallbackQuery] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, list[_Delay]] = {}
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._query_ids = itertools.count(secrets.randbelow(10**17) + 10**18, 7919)

    @property
    def limits(self) -> FloodLimits:
        return self.flood.limits

    @limits.setter
    def limits(self, value: FloodLimits) -> None:
        """Replacing the limits also refills every bucket."""
        self.flood.limits = value
        self.flood.reset()

    @property
    def star_balance(self) -> float:
        """The bot's Star balance in Stars (getMyStarBalance); set it to top up or drain it."""
        return self.nanostars / NANOSTARS

    @star_balance.setter
    def star_balance(self, stars: float) -> None:
        self.nanostars = to_nanostars(stars)

    def flood_stats(self) -> dict[str, Any]:
        """What the flood limiter saw of the message sends (see limits.FloodStats).

        {accepted, refused_429, spurious_429, penalty_429, max_in_any_window, first_send,
        last_send, per_second, refused_per_second}; times are on the limiter's monotonic
        clock. Accepted counts every send Telegram would count, those answered 403
        included. Injected faults (inject()) are not the limiter's and are not counted.
        Replacing the limits keeps the statistics; reset_flood_stats() clears them.
        """
        return self.flood.stats.as_dict()

    def reset_flood_stats(self) -> None:
        self.flood.reset_stats()

    def _queue(self, update: dict[str, Any]) -> dict[str, Any]:
        queued = self.updates.put(update)
        if queued is None:
            logger.debug("dropped a %r update: not in the bot's allowed_updates", next(iter(update), None))
            return update
        return queued

    # -- identity ---------------------------------------------------------------------------

    @property
    def descriptions(self) -> dict[str, str]:
        return self.profile.descriptions

    @property
    def short_descriptions(self) -> dict[str, str]:
        return self.profile.short_descriptions

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.profile.names.get("", self.bot_name),
            "username": self.bot_username,
        }

    # -- chats and users --------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        first_name: str = "Ann",
        language_code: str = "en",
        username: str | None = None,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """Create (or update) a user who has started the bot; their private chat id is user_id."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: dict[str, Any] = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value:
                user[key] = chat[key] = value
        if language_code:
            user["language_code"] = language_code
        state = self.chats.get(user_id)
        if state is None:
            self.chats[user_id] = ChatState(chat=chat, user=user)
        else:
            state.chat, state.user = chat, user
        return dict(user)

    def add_group(self, chat_id: int, title: str = "Test group", type: str = "supergroup") -> dict[str, Any]:
        """Create a group the bot is a member of (chat_id must be negative)."""
        chat = {"id": chat_id, "type": type, "title": title}
        self.chats.setdefault(chat_id, ChatState(chat=chat)).chat = chat
        return dict(chat)

    def add_channel(
        self,
        chat_id: int,
        title: str = "Test channel",
        username: str | None = None,
        *,
        member: bool = True,
        can_post: bool = True,
    ) -> dict[str, Any]:
        """Create a channel (its id is -100 and its number, like -1001234567890) with the bot as an administrator
        that may post; `member=False`: the bot is not in it (403), `can_post=False`: it may not post (400)."""
        if not str(chat_id).startswith("-100"):
            raise ValueError(f"a channel's id starts with -100, not {chat_id}")
        chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": title}
        if username:
            chat["username"] = username
        state = self.chats.setdefault(chat_id, ChatState(chat=chat))
        state.chat, state.member, state.can_post = chat, member, can_post
        return dict(chat)

    def channel_rights(self, chat_id: int, *, member: bool = True, can_post: bool = True) -> None:
        """The bot is made an administrator of a channel, loses the right to post, or is removed from it."""
        state = self.chats[chat_id]
        state.member, state.can_post = member, can_post

    def chat_state(self, chat_id: int | str) -> ChatState | None:
        return self.chats.get(chat_id)

    def _user_chat(self, user_id: int) -> ChatState:
        if user_id not in self.chats:
            self.add_user(user_id, first_name=f"User{user_id}")
        state = self.chats[user_id]
        if state.user is None:
            raise ValueError(f"chat {user_id} is not a private chat")
        return state

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends to them fail with 403 until unblock()."""
        state = self._user_chat(user_id)
        if not state.blocked:
            state.blocked = True
            self._queue_member_update(state, "member", "kicked")

    def unblock(self, user_id: int) -> None:
        state = self._user_chat(user_id)
        if state.blocked:
            state.blocked = False
            self._queue_member_update(state, "kicked", "member")

    def deactivate(self, user_id: int) -> None:
        """The user deleted their account: sends to them fail with 403 "user is deactivated"."""
        self._user_chat(user_id).deactivated = True

    def _queue_member_update(self, state: ChatState, old: str, new: str) -> None:
        def member(status: str) -> dict[str, Any]:
            result: dict[str, Any] = {"status": status, "user": self.bot_user()}
            if status == "kicked":
                result["until_date"] = 0
            return result

        self._queue(
            {
                "my_chat_member": {
                    "chat": dict(state.chat),
                    "from": dict(state.user or {}),
                    "date": now(),
                    "old_chat_member": member(old),
                    "new_chat_member": member(new),
                }
            }
        )

    # -- simulated user actions ---------------------------------------------------------------

    def _user_message(self, user_id: int, **content: Any) -> dict[str, Any]:
        state = self._user_chat(user_id)
        message = {
            "message_id": state.new_message_id(),
            "from": dict(state.user or {}),
            "chat": dict(state.chat),
            "date": now(),
            **content,
        }
        state.messages[message["message_id"]] = message
        return self._queue({"message": clone(message)})

    def user_sends(self, user_id: int, text: str) -> dict[str, Any]:
        """The user sends a text message; returns the queued Update."""
        content: dict[str, Any] = {"text": text}
        entities = find_entities(text, [])
        if entities:
            content["entities"] = sorted(entities, key=lambda e: e["offset"])
        return self._user_message(user_id, **content)

    def user_sends_sticker(self, user_id: int, emoji: str = "👍") -> dict[str, Any]:
        stored = self.files.add("sticker", sample_png(512, 512), mime_type="image/webp", width=512, height=512)
        return self._user_message(user_id, sticker=sticker_object(stored, emoji))

    def user_sends_photo(self, user_id: int, caption: str | None = None) -> dict[str, Any]:
        data = sample_png()
        stored = store_photo(self.files, data, 64, 48)
        content: dict[str, Any] = {"photo": photo_object(stored)}
        if caption:
            content["caption"] = caption
            entities = find_entities(caption, [])
            if entities:
                content["caption_entities"] = entities
        return self._user_message(user_id, **content)

    def user_sends_document(
        self, user_id: int, file_name: str, content: bytes, mime_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        stored = self.files.add("document", content, file_name=file_name, mime_type=mime_type)
        return self._user_message(user_id, document=document_object(stored))

    def user_presses(self, user_id: int, message_id: int, callback_data: str) -> dict[str, Any]:
        """The user presses an inline button on message_id; returns the queued callback_query Update.

        The data is not checked against the keyboard, so tests can forge presses. A message that
        no longer exists is sent as an InaccessibleMessage (date 0), as Telegram does.
        """
        state = self._user_chat(user_id)
        message = state.snapshot(message_id) or {"chat": dict(state.chat), "message_id": message_id, "date": 0}
        query_id = str(next(self._query_ids))
        self._callbacks[query_id] = _CallbackQuery(issued=time.monotonic())
        chat_instance = str(abs(hash((self.bot_id, user_id))) % 10**19)
        update = {
            "callback_query": {
                "id": query_id,
                "from": dict(state.user or {}),
                "message": message,
                "chat_instance": chat_instance,
                "data": callback_data,
            }
        }
        return self._queue(update)

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update. Missing update_id gets the next one; a given one is kept (duplicates allowed)."""
        return self._queue(clone(update))

    # -- what the bot did ----------------------------------------------------------------------

    def messages(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Current state of the bot's messages in the chat (edits applied, deletions removed)."""
        state = self.chats.get(chat_id)
        if state is None:
            return []
        # In a channel every post is the bot's (it has the channel as its sender, and no "from").
        mine = state.chat.get("type") == "channel"
        return [clone(m) for m in state.messages.values() if mine or m.get("from", {}).get("id") == self.bot_id]

    def last_message(self, chat_id: int | str) -> dict[str, Any] | None:
        messages = self.messages(chat_id)
        return messages[-1] if messages else None

    def outbox(self, chat_id: int | str) -> list[dict[str, Any]]:
        """Every send and edit in the chat, in order: {"method", "message"[, "file_bytes"]}."""
        state = self.chats.get(chat_id)
        return clone(state.outbox) if state else []

    def file_bytes(self, file_id: str) -> bytes | None:
        stored = self.files.get(file_id)
        return stored.data if stored else None

    def commands(
        self,
        scope_type: str = "default",
        language_code: str = "",
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> list[dict[str, str]]:
        key = ((scope_type, chat_id, user_id), language_code)
        return clone(self.profile.commands.get(key, []))

    # -- waiting -------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Poll until predicate() is truthy and return its value."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if inspect.isawaitable(value):
                value = await value
            if value:
                return value
            if loop.time() >= deadline:
                name = getattr(predicate, "__name__", repr(predicate))
                raise TimeoutError(f"{name} still false after {timeout}s; {self.describe_activity()}")
            await asyncio.sleep(0.01)

    async def wait_answered(self, callback_update: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        query_id = callback_update["callback_query"]["id"]

        def callback_answered() -> dict[str, Any] | None:
            return self.callback_answers.get(query_id)

        return await self.wait_for(callback_answered, timeout)

    async def wait_idle(self, timeout: float = 5.0, quiet: float = 0.1) -> None:
        """Wait until every queued update was fetched and no API call happened for `quiet` seconds."""

        def bot_idle() -> bool:
            return (
                self.updates.undelivered() == 0
                and self._inflight == 0
                and time.monotonic() - self._last_activity >= quiet
            )

        await self.wait_for(bot_idle, timeout)

    def describe_activity(self) -> str:
        recent = ", ".join(f"{c.method}->{c.status}" for c in self.calls[-8:]) or "none"
        return (
            f"{self.updates.undelivered()} queued update(s) not fetched by the bot, "
            f"{self._inflight} request(s) in flight, last API calls: {recent}"
        )

    def on_webhook_changed(self) -> None:
        """Hook for the HTTP layer, which pushes updates while a webhook is set."""

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    # -- fault injection -----------------------------------------------------------------------

    def inject(
        self,
        method: str,
        status: int,
        description: str,
        times: int = 1,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` ("*" for any) with this error instead."""
        parameters: dict[str, Any] = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        fault = _Fault(ApiError(status, description, parameters or None), times)
        self._faults.setdefault(method.lower(), []).append(fault)

    def delay(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the response of the next `times` calls of `method` ("*" for any) for `seconds`.

        The call takes effect first; only the answer is late, as when Telegram is slow.
        """
        self._delays.setdefault(method.lower(), []).append(_Delay(seconds, times))

    def _take(self, table: dict[str, list[Any]], method: str) -> Any:
        for key in (method.lower(), "*"):
            queue = table.get(key)
            if queue:
                item = queue[0]
                item.times -= 1
                if item.times <= 0:
                    queue.pop(0)
                return item
        return None
