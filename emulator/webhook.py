"""Pushing updates to the bot's webhook while one is set, the way Telegram does.

Updates go out one at a time, in order, with the X-Telegram-Bot-Api-Secret-Token
header when a secret was set. A non-2xx answer or a connection error is recorded
in getWebhookInfo's last_error_* fields and the update is retried. A JSON reply
with a "method" field is executed as an API call, as Telegram allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from .state import now

if TYPE_CHECKING:
    from .server import BotAPIEmulator

logger = logging.getLogger(__name__)
RETRY_DELAY = 0.5


class WebhookPusher:
    def __init__(self, emulator: BotAPIEmulator):
        self.emulator = emulator
        self.task: asyncio.Task[None] | None = None

    def sync(self) -> None:
        """Start or stop pushing to match the current webhook setting."""
        if self.emulator.webhook.url and (self.task is None or self.task.done()):
            self.task = asyncio.get_running_loop().create_task(self._run())
        elif not self.emulator.webhook.url and self.task is not None:
            self.task.cancel()

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None

    async def _run(self) -> None:
        queue = self.emulator.updates
        wakeup = queue.listen()
        try:
            async with aiohttp.ClientSession() as session:
                while self.emulator.webhook.url:
                    if not queue.entries:
                        wakeup.clear()
                        await wakeup.wait()
                        continue
                    if not await self._push(session, queue.entries[0]):
                        await asyncio.sleep(RETRY_DELAY)
        finally:
            queue.unlisten(wakeup)

    async def _push(self, session: aiohttp.ClientSession, entry: Any) -> bool:
        emulator, hook = self.emulator, self.emulator.webhook
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook.secret_token} if hook.secret_token else {}
        entry.delivered = True
        emulator._inflight += 1
        error, reply = None, None
        try:
            async with session.post(
                hook.url, json=entry.update, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as response:
                if 200 <= response.status < 300:
                    if response.content_type == "application/json":
                        reply = await response.json()
                else:
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            error = f"Connection failed: {type(exc).__name__}: {exc}"
        finally:
            emulator._inflight -= 1
            emulator._touch()
        if error is not None:
            logger.info("webhook delivery of update %r failed: %s", entry.update.get("update_id"), error)
            entry.delivered = False
            hook.last_error_date, hook.last_error_message = now(), error
            return False
        if entry in emulator.updates.entries:
            emulator.updates.entries.remove(entry)
        if isinstance(reply, dict) and isinstance(reply.get("method"), str):
            args = {k: v for k, v in reply.items() if k != "method"}
            await emulator.execute(reply["method"], args)
        return True
