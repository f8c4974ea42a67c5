"""The HTTP side: Telegram's webhook, and /healthz and /metrics for operators, on PORT.

aiogram's stock webhook handler answers 200 before the update is handled, so an update whose
handling fails is lost, and a redelivered one is handled again. Here the answer waits for the
handling, and each update id is claimed in Redis first:

* claimed and handled: "done" for 24 h; a redelivery (Telegram retries on a timeout, or another
  replica got it) is answered 200 and not handled again;
* handling failed on Redis: the claim is dropped and the answer is 500, so Telegram delivers it
  again (handlers/errors.py lets those failures through in webhook mode; others, such as a Telegram
  error, are answered to the user and logged, and count as handled: they would fail again);
* claimed by a replica still handling it: 503, try later (the claim lapses if that replica died).
  A claim of this replica's own that it no longer holds (its release failed, as it does when Redis
  went away mid-update) is taken over at once, rather than holding Telegram up for CLAIM_TTL.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.app.intake import HANDLER_GRACE, UPDATES, UPDATES_IN_FLIGHT
from bot.ground.redis_gate import trouble

if TYPE_CHECKING:
    from bot.app.wiring import App

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DONE_TTL = 24 * 3600  # Telegram gives up redelivering an update long before this
CLAIM_TTL = 60  # a replica that dies while handling an update lets it go after this (handling takes ~1 s)
MAX_CONNECTIONS = 40  # Telegram's default: parallel requests per bot across all replicas
UNMARKED = 10_000  # updates handled whose "done" Redis did not take, remembered to mark on redelivery
MAX_BODY = 1024 * 1024  # an update is a few KB; Telegram's own limit for a message is far below this


class UpdateClaims:
    """Once-only handling of update ids across replicas and redeliveries."""

    def __init__(self, redis: Redis, prefix: str = "rrb:") -> None:
        self.redis = redis
        self.prefix = prefix
        self.busy = f"busy:{secrets.token_hex(6)}"  # this replica's claims

    def key(self, update_id: int) -> str:
        return f"{self.prefix}upd:{update_id}"

    async def claim(self, update_id: int) -> str | None:
        """None when this process may handle the update; else "done", "busy", or "mine" (claimed by this process)."""
        if await self.redis.set(self.key(update_id), self.busy, nx=True, ex=CLAIM_TTL):
            return None
        held = await self.redis.get(self.key(update_id)) or "busy"
        return "mine" if held == self.busy else "done" if held == "done" else "busy"

    async def take_over(self, update_id: int) -> None:
        await self.redis.set(self.key(update_id), self.busy, ex=CLAIM_TTL)

    async def done(self, update_id: int) -> None:
        await self.redis.set(self.key(update_id), "done", ex=DONE_TTL)

    async def release(self, update_id: int) -> None:
        await self.redis.delete(self.key(update_id))


class WebServer:
    """An aiohttp server on PORT for the given routes."""

    def __init__(self, port: int, routes: Iterable[web.RouteDef], host: str = "0.0.0.0") -> None:
        self.port = port
        self.host = host
        self.application = web.Application(client_max_size=MAX_BODY)
        self.application.add_routes(list(routes))
        # No access log: it would carry ids. A short shutdown timeout: the handlers were waited for already,
        # and aiohttp's default (60 s) would outlast the container's stop grace period.
        self.runner = web.AppRunner(self.application, access_log=None, shutdown_timeout=2.0)

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port).start()
        logger.info("Serving HTTP on port %r", self.port)

    async def stop(self) -> None:
        if self.runner.server is not None:  # started and not stopped yet
            await self.runner.cleanup()


class WebhookIntake:
    """Updates pushed by Telegram to WEBHOOK_URL; stop() refuses new ones and waits for those being handled."""

    def __init__(self, app: App, extra: Iterable[web.RouteDef] = ()) -> None:
        settings = app.settings
        assert settings.webhook_url is not None and settings.webhook_secret is not None and settings.port
        self.app = app
        self.url = str(settings.webhook_url)
        self.secret = settings.webhook_secret.get_secret_value()
        self.claims = UpdateClaims(app.store.redis)
        self.accepting = False
        self.in_flight = 0
        self.handling: set[int] = set()
        self.unmarked: OrderedDict[int, None] = OrderedDict()
        self.idle = asyncio.Event()
        self.idle.set()
        path = settings.webhook_url.path or "/"
        self.server = WebServer(settings.port, [web.post(path, self.handle), *extra])

    async def start(self) -> None:
        await self.server.start()
        self.accepting = True
        await self.app.bot.set_webhook(
            self.url,
            secret_token=self.secret,
            allowed_updates=UPDATES,
            max_connections=MAX_CONNECTIONS,
            drop_pending_updates=False,
        )
        logger.info("Webhook set; Telegram pushes updates to this replica's port %r", self.server.port)

    async def stop(self) -> None:
        # The webhook stays set: the other replicas go on serving it, and Telegram keeps what nobody took.

        self.accepting = False
        try:
            await asyncio.wait_for(self.idle.wait(), HANDLER_GRACE)
        except TimeoutError:
            # Their claims lapse and Telegram redelivers them: cut short, not lost.
            logger.warning("Stopping with %r update(s) still being handled", self.in_flight)
        await self.server.stop()

    async def handle(self, request: web.Request) -> web.Response:
        """One update from Telegram: checked, claimed, handled, then answered."""
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret.encode()):
            # Never the body: it is somebody's message, or an attacker's payload.
            logger.warning("Webhook request refused: wrong or missing secret token (from %r)", request.remote)
            return web.Response(status=401)

        if not self.accepting or self.in_flight >= UPDATES_IN_FLIGHT or not self.app.gate.is_open:
            # Shutting down, full, or Redis away: Telegram retries, this replica or another takes it then.
            return web.Response(status=503)
        try:
            raw = await request.json()
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth limit
            logger.warning("Webhook: a body that is not a JSON update was refused")
            return web.Response(status=400)
        try:
            update = Update.model_validate(raw, context={"bot": self.app.bot})
        except (ValidationError, RecursionError):
            # JSON, but no update this bot can read: retrying would not help, so Telegram may move on.
            logger.warning("Webhook: an unreadable update was dropped")
            return web.Response(status=200)
        return await self._handle(update)

    async def _handle(self, update: Update) -> web.Response:
        update_id = update.update_id
        if update_id in self.handling:  # a second delivery to this replica while the first is in hand
            return web.Response(status=503)
        if update_id in self.unmarked:  # handled here, but Redis could not be told: tell it now
            return await self._mark_done(update_id)
        # In hand from here, before the claim is made: a concurrent delivery must not take it over.
        self.handling.add(update_id)
        self.in_flight += 1
        self.idle.clear()
        try:
            return await self._claim_and_feed(update)
        finally:
            self.in_flight -= 1
            self.handling.discard(update_id)
            if not self.in_flight:
                self.idle.set()

    async def _claim_and_feed(self, update: Update) -> web.Response:
        update_id = update.update_id
        try:
            taken = await self.claims.claim(update_id)
            if taken == "mine":  # left behind by a release that failed here: not in hand, so free
                await self.claims.take_over(update_id)
                taken = None
        except RedisError as exc:
            self.app.gate.report(exc)
            logger.warning(
                "Webhook: cannot claim update %r (%s); Telegram will retry it", update_id, type(exc).__name__
            )
            return web.Response(status=503)
        if taken == "done":
            logger.info("Webhook: update %r was already handled", update_id)
            return web.Response(status=200)
        if taken is not None:
            return web.Response(status=503)
        try:
            # redeliverable: the error handler lets infrastructure failures through to be retried.
            await self.app.dispatcher.feed_update(self.app.bot, update, redeliverable=True)
        except Exception as exc:
            if trouble(exc) is None:
                logger.exception("Webhook: update %r failed; released for redelivery", update_id)
            else:
                logger.warning(
                    "Webhook: update %r met Redis trouble (%s); released for redelivery", update_id, type(exc).__name__
                )
            await self._release(update_id)
            return web.Response(status=500)
        return await self._mark_done(update_id)

    async def _mark_done(self, update_id: int) -> web.Response:
        try:
            await self.claims.done(update_id)
        except RedisError:
            # Handled, but not marked: should Telegram deliver it again (it timed out on this answer), this
            # replica remembers it, rather than take its own claim over and handle it twice.
            logger.warning("Webhook: update %r handled but not marked done", update_id)
            self.unmarked[update_id] = None
            if len(self.unmarked) > UNMARKED:
                self.unmarked.popitem(last=False)
        else:
            self.unmarked.pop(update_id, None)
        return web.Response(status=200)

    async def _release(self, update_id: int) -> None:
        try:
            await self.claims.release(update_id)
        except RedisError:
            logger.warning("Webhook: update %r could not be released; it lapses in %r s", update_id, CLAIM_TTL)
