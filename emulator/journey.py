"""A simulated activist driving the bot through the emulator: used by the demo, tests and bench."""

from __future__ import annotations

from typing import Any

from emulator import BotAPIEmulator


class ButtonNotFound(LookupError):
    pass


class Activist:
    def __init__(self, emu: BotAPIEmulator, user_id: int, first_name: str = "Ann", language_code: str = "en") -> None:
        self.emu = emu
        self.user_id = user_id
        self.first_name = first_name
        emu.add_user(user_id, first_name=first_name, language_code=language_code)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.emu.messages(self.user_id)

    @property
    def last(self) -> dict[str, Any]:
        message = self.emu.last_message(self.user_id)
        if message is None:
            raise LookupError("the bot has sent nothing to this user")
        return message

    async def send(self, text: str, timeout: float = 5.0) -> dict[str, Any]:
        """Type a message and wait for the bot to finish answering it."""
        before = len(self.emu.outbox(self.user_id))
        self.emu.user_sends(self.user_id, text)
        await self.emu.wait_for(lambda: len(self.emu.outbox(self.user_id)) > before, timeout=timeout)
        await self.emu.wait_idle()
        return self.last

    async def send_update(self, make: Any, *args: Any) -> None:
        """Send a sticker, photo or raw update through one of the emulator's user_* methods."""
        make(self.user_id, *args)
        await self.emu.wait_idle()

    def buttons(self, message: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        message = message if message is not None else self.last
        rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]

    def button(self, label: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """The first button whose text contains label (case-insensitive)."""
        for button in self.buttons(message):
            if label.lower() in button["text"].lower():
                return button
        texts = [b["text"] for b in self.buttons(message)]
        raise ButtonNotFound(f"no button {label!r} among {texts}")

    async def tap(self, label: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """Press a callback button; returns the bot's answer to the tap (its toast)."""
        message = message if message is not None else self.last
        button = self.button(label, message)
        if "callback_data" not in button:
            raise ButtonNotFound(f"button {button['text']!r} is not a callback button")
        return await self.press(message["message_id"], button["callback_data"])

    async def tap_data(self, prefix: str, message: dict[str, Any] | None = None) -> dict[str, Any]:
        """Press the first button whose callback data starts with prefix: language-independent."""
        message = message if message is not None else self.last
        for button in self.buttons(message):
            if button.get("callback_data", "").startswith(prefix):
                return await self.press(message["message_id"], button["callback_data"])
        raise ButtonNotFound(f"no button with data {prefix!r}* among {self.buttons(message)}")

    async def press(self, message_id: int, data: str) -> dict[str, Any]:
        """Press with any data at all: the way to forge a callback."""
        update = self.emu.user_presses(self.user_id, message_id, data)
        answer = await self.emu.wait_answered(update)
        await self.emu.wait_idle()
        return answer
