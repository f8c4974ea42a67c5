"""The HTTP side: an aiohttp server speaking the Bot API at {base}/bot{token}/{method}."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from typing import Any

from aiohttp import web

from . import methods_bot, methods_messages  # noqa: F401  (they register the API methods)
from .control import control_routes
from .errors import ApiError
from .params import Params, Upload, decoded, read_request, to_arg
from .registry import REGISTRY, ApiMethod, Described
from .webhook import WebhookPusher
from .world import Call, World

logger = logging.getLogger(__name__)


class BotAPIEmulator(World):
    """A Telegram Bot API server for tests, benchmarks and offline demos.

    >>> async with BotAPIEmulator(token="123456:TEST") as emu:
    ...     emu.add_user(42)
    ...     bot = Bot(emu.token, session=AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url)))
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._webhook = WebhookPusher(self)

    async def __aenter__(self) -> BotAPIEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 picks a free port) and return the base URL."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.add_routes(control_routes(self))
        app.add_routes(
            [
                web.route("*", "/bot{token}/{method}", self._handle_api),
                web.get("/file/bot{token}/{path:.+}", self._handle_file),
                web.route("*", "/{tail:.*}", self._handle_unknown),
            ]
        )
        self._closing = asyncio.Event()
        self.updates.closing = False
        # Cancelling handlers when the client goes away ends abandoned long polls, like Telegram.
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        logger.info("Bot API emulator listening on %s", self.base_url)
        return self.base_url

    async def stop(self) -> None:
        if self._runner is None:
            return
        self.updates.close()
        if self._closing is not None:
            self._closing.set()
        await self._webhook.stop()
        await self._runner.cleanup()
        self._runner = None
        logger.info("Bot API emulator at %s stopped", self.base_url)

    def on_webhook_changed(self) -> None:
        self._webhook.sync()

    async def execute(
        self, method_name: str, args: dict[str, Any], files: dict[str, Upload] | None = None
    ) -> dict[str, Any]:
        """Run an API method as if it came over HTTP (used for webhook replies); returns the body."""
        method = REGISTRY.get(method_name.lower())
        flat = {k: arg for k, v in args.items() if (arg := to_arg(v)) is not None}
        at = time.time()
        if method is None:
            status, body = 404, ApiError(404, "Not Found").payload()
        else:
            status, body = await self._invoke(method, flat, files or {})
        self.calls.append(Call(method.name if method else method_name, decoded(flat, files or {}), status, body, at))
        return body

    async def _invoke(self, method: ApiMethod, args: dict[str, str], files: dict[str, Upload]) -> tuple[int, dict]:
        fault = self._take(self._faults, method.name)
        if fault is not None:
            return fault.error.status, fault.error.payload()
        try:
            result = method.func(self, Params(args, files))
            if inspect.isawaitable(result):
                result = await result
        except ApiError as error:
            return error.status, error.payload()
        except Exception:
            logger.exception("emulator failed while handling %s", method.name)
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        if isinstance(result, Described):
            return 200, {"ok": True, "result": result.result, "description": result.description}
        return 200, {"ok": True, "result": result}

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        method = REGISTRY.get(name.lower())
        # An idle long poll is not activity: wait_idle must not wait for it to end.
        long_poll = method is not None and method.name == "getUpdates"
        at = time.time()
        args: dict[str, str] = {}
        files: dict[str, Upload] = {}
        if not long_poll:
            self._inflight += 1
            self._touch()
        try:
            try:
                if request.match_info["token"] != self.token:
                    raise ApiError(401, "Unauthorized")
                if method is None:
                    raise ApiError(404, "Not Found")
                args, files = await self._read(request)
            except ApiError as error:
                status, body = error.status, error.payload()
            else:
                status, body = await self._invoke(method, args, files)
            self.calls.append(Call(method.name if method else name, decoded(args, files), status, body, at))
            logger.debug("%s -> %r", name, status)
            delay = self._take(self._delays, method.name) if method else None
            if delay is not None:
                await self._hold(delay.seconds)
            return web.json_response(body, status=status)
        finally:
            if not long_poll:
                self._inflight -= 1
                self._touch()

    @staticmethod
    async def _read(request: web.Request) -> tuple[dict[str, str], dict[str, Upload]]:
        try:
            return await read_request(request)
        except web.HTTPRequestEntityTooLarge:
            raise ApiError(413, "Request Entity Too Large") from None
        except (ValueError, UnicodeDecodeError) as error:
            raise ApiError(400, f"Bad Request: can't parse the request: {error}") from None

    async def _hold(self, seconds: float) -> None:
        assert self._closing is not None
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self.files.by_path(request.match_info["path"])
        if stored is None or stored.data is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return web.json_response(ApiError(404, "Not Found").payload(), status=404)
