"""The importer's notes on a draft: English where the CLI and the draft file show them, translated in chat.

A note is about a field of the case file ("targets[0].salutation", never translated: it is what the
coordinator edits) and says something about it. The message is a msgid of the UI catalogues (marked
with N_ for extraction) with %(name)s placeholders for what came from the document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def N_(message: str) -> str:
    """Marks a msgid for extraction; translated where it is shown."""
    return message


class Note(str):
    """Reads as its English text (`missing: subject.gender`); `shown` gives its parts in a language."""

    field: str
    message: str
    params: dict[str, str]
    required: bool

    def __new__(cls, field: str = "", message: str = "", *, required: bool = False, **params: str) -> Note:
        note = super().__new__(cls, _compose(field, message % params if params else message, required))
        note.field, note.message, note.params, note.required = field, message, params, required
        return note

    def __reduce__(self) -> Any:
        return _rebuild, (self.to_data(),)

    def under(self, prefix: str) -> Note:
        """The same note about a part of `prefix`: "email" under "targets[1]" is "targets[1].email"."""
        field = f"{prefix}.{self.field}" if self.field else prefix
        return Note(field, self.message, required=self.required, **self.params)

    def shown(self, gettext: Callable[[str], str]) -> dict[str, Any]:
        message = gettext(self.message) % self.params if self.message else ""
        return {"field": self.field, "message": message, "required": self.required}

    def to_data(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "params": self.params, "required": self.required}


def from_data(data: Any) -> str:
    """A note as stored with a draft; a plain string (a validation error, an older draft) stays one."""
    if isinstance(data, dict):
        try:
            params = {str(k): str(v) for k, v in dict(data.get("params") or {}).items()}
            return Note(
                str(data.get("field", "")), str(data.get("message", "")), required=bool(data.get("required")), **params
            )
        except (TypeError, ValueError, KeyError):
            return str(data.get("field", ""))
    return str(data)


def to_data(note: str) -> Any:
    return note.to_data() if isinstance(note, Note) else str(note)


def shown(note: str, gettext: Callable[[str], str]) -> dict[str, Any]:
    """The parts of a note for the report: a plain string (a validation error) is shown as code, untranslated."""
    if isinstance(note, Note):
        return note.shown(gettext)
    return {"field": str(note), "message": "", "required": False}


def _compose(field: str, message: str, required: bool) -> str:
    text = f"{field}: {message}" if field and message else field or message
    return f"{text} (required)" if required else text


def _rebuild(data: dict[str, Any]) -> str:
    return from_data(data)
