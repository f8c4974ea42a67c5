"""Request parameters, read the way the official Bot API server reads them.

The server flattens every request (query string, JSON body, urlencoded or multipart
form) into string arguments: JSON strings stay as they are, other JSON values are
re-encoded as JSON text. Typed values are then parsed per parameter, leniently for
numbers and booleans and strictly (with an error) for JSON objects. Doing the same
here means aiogram's form-encoded requests and a hand-written JSON body behave alike.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import ApiError, bad_request

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")
# Parameters kept as strings when recording calls, even if they look like JSON numbers.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "caption_parse_mode",
        "callback_query_id",
        "url",
        "description",
        "short_description",
        "name",
        "language_code",
        "action",
        "secret_token",
        "file_id",
        "data",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "ip_address",
        "document",
        "photo",
        "sticker",
        "emoji",
        "query",
    }
)


@dataclass
class Upload:
    file_name: str
    content_type: str
    data: bytes


def to_arg(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def read_request(request: web.Request) -> tuple[dict[str, str], dict[str, Upload]]:
    """Collect the string arguments and uploaded files of an API request."""
    args: dict[str, str] = dict(request.query)
    files: dict[str, Upload] = {}
    content_type = request.content_type
    if request.method == "GET" or not request.can_read_body:
        return args, files
    if content_type == "application/json":
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            raise bad_request("can't parse JSON encoded request") from None
        if not isinstance(body, dict):
            raise bad_request("JSON object expected as the request body")
        args.update({k: v for k, v in ((k, to_arg(v)) for k, v in body.items()) if v is not None})
    elif content_type == "multipart/form-data":
        total = 0
        reader = await request.multipart()
        async for part in reader:
            if part.name is None:
                continue
            data = await part.read(decode=True)
            total += len(data)
            if total > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            if part.filename is not None:
                mime = part.headers.get("Content-Type", "application/octet-stream")
                files[part.name] = Upload(part.filename, mime, bytes(data))
            else:
                args[part.name] = bytes(data).decode("utf-8", "replace")
    else:
        form = await request.post()
        args.update({k: v for k, v in form.items() if isinstance(v, str)})
    return args, files


def decoded(args: dict[str, str], files: dict[str, Upload]) -> dict[str, Any]:
    """A readable view of the arguments for `Call.params`: JSON decoded where it looks typed."""
    result: dict[str, Any] = {}
    for key, value in args.items():
        if value.startswith("attach://") and value[len("attach://") :] in files:
            upload = files[value[len("attach://") :]]
            result[key] = {"file_name": upload.file_name, "size": len(upload.data)}
        elif key in _STRING_PARAMS:
            result[key] = value
        else:
            try:
                result[key] = json.loads(value)
            except ValueError:
                result[key] = value
    for key, upload in files.items():
        if not any(v == f"attach://{key}" for v in args.values()):
            result[key] = {"file_name": upload.file_name, "size": len(upload.data)}
    return result


class Params:
    """Typed access to the flattened arguments, with the official server's rules."""

    def __init__(self, args: dict[str, str], files: dict[str, Upload] | None = None):
        self.args = args
        self.files = files or {}

    def has(self, name: str) -> bool:
        return bool(self.args.get(name))

    def string(self, name: str, default: str = "") -> str:
        return self.args.get(name) or default

    def integer(self, name: str, default: int = 0) -> int:
        # Like td::to_integer: leading digits count, garbage reads as 0, never an error.
        value = self.args.get(name, "")
        if not value:
            return default
        match = _LEADING_INT.match(value)
        return int(match.group(1)) if match else 0

    def number(self, name: str, default: float = 0.0) -> float:
        try:
            return float(self.args.get(name) or default)
        except ValueError:
            return 0.0

    def boolean(self, name: str) -> bool:
        return self.args.get(name, "").strip().lower() in ("true", "1")

    def json_value(self, name: str, what: str) -> Any:
        """Decode a JSON-typed parameter; None when absent."""
        value = self.args.get(name)
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {what} JSON object") from None

    def chat_id(self, name: str = "chat_id") -> int | str:
        value = self.args.get(name, "").strip()
        if not value:
            raise bad_request(f"{name} is empty")
        if value.startswith("@"):
            return value
        if re.fullmatch(r"-?\d{1,19}", value):
            return int(value)
        raise bad_request("chat not found")

    def message_id(self, name: str = "message_id") -> int:
        value = self.integer(name)
        return value if value > 0 else 0

    def file(self, name: str) -> Upload | str | None:
        """An uploaded file (direct or via attach://), a file_id/URL string, or None."""
        if name in self.files:
            return self.files[name]
        value = self.args.get(name, "")
        if value.startswith("attach://"):
            upload = self.files.get(value[len("attach://") :])
            if upload is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            return upload
        return value or None
