"""What the emulated Telegram knows: chats and their messages, stored files, the update queue."""

from __future__ import annotations

import asyncio
import base64
import itertools
import mimetypes
import pickle
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError

# Telegram's file_id prefixes differ per file type; clients sometimes sniff them.
_FILE_ID_PREFIX = {"document": "BQACAgIAAxkBAAI", "photo": "AgACAgIAAxkBAAI", "sticker": "CAACAgIAAxkBAAI"}
_FILE_DIRS = {"document": "documents", "photo": "photos", "sticker": "stickers"}
# Update types a bot receives when it never said otherwise (Bot API: allowed_updates).
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def now() -> int:
    return int(time.time())


def clone(data: Any) -> Any:
    """A deep copy of JSON-like data: what a client gets never aliases the emulator's own state.

    Through pickle, four times faster than copy.deepcopy: on the benchmarks' two cores the emulator
    copies every message it stores and hands out, and its CPU is taken from the bot under test.
    """
    return pickle.loads(pickle.dumps(data, pickle.HIGHEST_PROTOCOL))


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str
    data: bytes | None
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    url: str | None = None
    sizes: list[dict[str, Any]] | None = None  # photos: every PhotoSize of the set


class FileStore:
    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._counter = itertools.count(1)

    def add(self, kind: str, data: bytes | None, **meta: Any) -> StoredFile:
        token = base64.urlsafe_b64encode(secrets.token_bytes(30)).decode().rstrip("=")
        number = next(self._counter)
        name = meta.get("file_name") or ""
        ext = (
            ("." + name.rsplit(".", 1)[1])
            if "." in name
            else (mimetypes.guess_extension(meta.get("mime_type") or "") or "")
        )
        stored = StoredFile(
            file_id=_FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + token,
            file_unique_id="AgAD" + base64.urlsafe_b64encode(secrets.token_bytes(9)).decode(),
            kind=kind,
            data=data,
            file_path=f"{_FILE_DIRS.get(kind, 'documents')}/file_{number}{ext}",
            **meta,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, path: str) -> StoredFile | None:
        return self._by_path.get(path)


@dataclass
class ChatState:
    chat: dict[str, Any]
    user: dict[str, Any] | None = None
    blocked: bool = False
    deactivated: bool = False
    # A channel: whether the bot is in it (an administrator: Telegram lets a bot into a channel as nothing
    # else) and may post there.
    member: bool = True
    can_post: bool = True
    next_message_id: int = 1
    # message_id -> Message, in sending order; deleted messages are removed.
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def snapshot(self, message_id: int) -> dict[str, Any] | None:
        message = self.messages.get(message_id)
        return clone(message) if message is not None else None


def update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


@dataclass
class _Entry:
    update: dict[str, Any]
    delivered: bool = False


class _Poll:
    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.conflict: str | None = None  # set when another request ends this long poll


class UpdateQueue:
    """Pending updates plus the long-polling machinery of getUpdates."""

    def __init__(self) -> None:
        self.entries: list[_Entry] = []
        self.next_update_id = 1
        self.allowed: frozenset[str] | None = None  # None: everything but DEFAULT_EXCLUDED_UPDATES
        self._poll: _Poll | None = None
        self._listeners: set[asyncio.Event] = set()
        self.closing = False

    def is_allowed(self, kind: str) -> bool:
        if self.allowed is None:
            return kind not in DEFAULT_EXCLUDED_UPDATES
        return kind in self.allowed or not kind

    def set_allowed(self, value: Any) -> None:
        if isinstance(value, list):
            names = frozenset(str(v).lower() for v in value)
            self.allowed = names or None

    def put(self, update: dict[str, Any], *, filtered: bool = True) -> dict[str, Any] | None:
        """Queue an update; one without update_id gets the next id. Returns it, or None if filtered."""
        if filtered and not self.is_allowed(update_type(update)):
            return None
        if not isinstance(update.get("update_id"), int):
            update = {"update_id": self.next_update_id, **{k: v for k, v in update.items() if k != "update_id"}}
        self.next_update_id = max(self.next_update_id, update["update_id"] + 1)
        self.entries.append(_Entry(update))
        self._wake()
        return update

    def _wake(self) -> None:
        if self._poll is not None:
            self._poll.event.set()
        for event in self._listeners:
            event.set()

    def confirm(self, offset: int) -> None:
        if offset > 0:
            self.entries = [e for e in self.entries if e.update.get("update_id", 0) >= offset]
        elif offset < 0:
            self.entries = self.entries[offset:]

    def drop_all(self) -> None:
        self.entries.clear()

    def take(self, limit: int) -> list[dict[str, Any]]:
        batch = self.entries[:limit]
        for entry in batch:
            entry.delivered = True
        return [clone(entry.update) for entry in batch]

    def undelivered(self) -> int:
        return sum(not entry.delivered for entry in self.entries)

    def listen(self) -> asyncio.Event:
        event = asyncio.Event()
        self._listeners.add(event)
        return event

    def unlisten(self, event: asyncio.Event) -> None:
        self._listeners.discard(event)

    async def long_poll(self, limit: int, timeout: float) -> list[dict[str, Any]]:
        """Return queued updates, waiting up to `timeout` seconds for the first one.

        A newer getUpdates call ends this one with 409, as on Telegram, so two bot
        instances polling the same token keep tripping over each other.
        """
        self.abort_poll(
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
        )
        poll = self._poll = _Poll()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                if poll.conflict:
                    raise ApiError(409, poll.conflict)
                if self.entries:
                    return self.take(limit)
                remaining = deadline - loop.time()
                if remaining <= 0 or self.closing:
                    return []
                poll.event.clear()
                try:
                    await asyncio.wait_for(poll.event.wait(), remaining)
                except TimeoutError:
                    pass
        finally:
            if self._poll is poll:
                self._poll = None

    def abort_poll(self, conflict: str) -> None:
        if self._poll is not None:
            self._poll.conflict = conflict
            self._poll.event.set()

    def close(self) -> None:
        self.closing = True
        self._wake()
