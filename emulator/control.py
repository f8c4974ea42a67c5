"""JSON control API under /_emu/, for driving the emulator from another process."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from .server import BotAPIEmulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _fail(status: int, description: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": status, "description": description}, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return dict(request.query)
    if request.content_type == "application/json":
        data = json.loads(await request.read())
        if not isinstance(data, dict):
            raise ValueError("a JSON object is expected")
        return data
    return dict(await request.post())


def _guarded(action: Callable[[web.Request], Awaitable[Any]]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return _ok(await action(request))
        except (KeyError, ValueError, TypeError) as error:
            return _fail(400, f"Bad Request: {type(error).__name__}: {error}")
        except TimeoutError as error:
            return _fail(504, f"Timeout: {error}")

    return handler


def control_routes(emu: BotAPIEmulator) -> list[web.RouteDef]:
    async def users(request: web.Request) -> Any:
        body = await _body(request)
        return emu.add_user(
            int(body["user_id"]),
            first_name=str(body.get("first_name", "Ann")),
            language_code=str(body.get("language_code", "en")),
            username=body.get("username"),
        )

    async def channels(request: web.Request) -> Any:
        body = await _body(request)
        flags = {name: str(body.get(name, True)).lower() in ("true", "1") for name in ("member", "can_post")}
        return emu.add_channel(
            int(body["chat_id"]), str(body.get("title", "Test channel")), body.get("username"), **flags
        )

    async def send(request: web.Request) -> Any:
        body = await _body(request)
        return emu.user_sends(int(body["user_id"]), str(body["text"]))

    async def press(request: web.Request) -> Any:
        body = await _body(request)
        return emu.user_presses(int(body["user_id"]), int(body["message_id"]), str(body["callback_data"]))

    def user_action(name: str) -> Callable[[web.Request], Awaitable[Any]]:
        async def action(request: web.Request) -> Any:
            getattr(emu, name)(int((await _body(request))["user_id"]))
            return True

        return action

    async def messages(request: web.Request) -> Any:
        return emu.messages(int(request.query["chat_id"]))

    async def outbox(request: web.Request) -> Any:
        return [
            {k: v for k, v in entry.items() if k != "file_bytes"} for entry in emu.outbox(int(request.query["chat_id"]))
        ]

    async def calls(request: web.Request) -> Any:
        since = int(request.query.get("since", 0))
        method = request.query.get("method")
        return [dataclasses.asdict(call) for call in emu.calls[since:] if method in (None, call.method)]

    async def stars(request: web.Request) -> Any:
        body = await _body(request)
        if "balance" in body:
            emu.star_balance = float(body["balance"])
        return emu.star_balance

    async def idle(request: web.Request) -> Any:
        await emu.wait_idle(timeout=float((await _body(request)).get("timeout", 5.0)))
        return True

    return [
        web.post("/_emu/users", _guarded(users)),
        web.post("/_emu/channels", _guarded(channels)),
        web.post("/_emu/send", _guarded(send)),
        web.post("/_emu/press", _guarded(press)),
        web.post("/_emu/block", _guarded(user_action("block"))),
        web.post("/_emu/unblock", _guarded(user_action("unblock"))),
        web.post("/_emu/deactivate", _guarded(user_action("deactivate"))),
        web.post("/_emu/idle", _guarded(idle)),
        web.post("/_emu/stars", _guarded(stars)),
        web.get("/_emu/messages", _guarded(messages)),
        web.get("/_emu/outbox", _guarded(outbox)),
        web.get("/_emu/calls", _guarded(calls)),
    ]
