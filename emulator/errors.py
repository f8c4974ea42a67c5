"""Bot API error responses, worded like the official server words them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the emulator answers with instead of a result.

    `description` is the full text (with its "Bad Request: " style prefix),
    because clients (aiogram included) match on it.
    """

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(message: str) -> ApiError:
    return ApiError(400, f"Bad Request: {message}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, f"Forbidden: {message}")
