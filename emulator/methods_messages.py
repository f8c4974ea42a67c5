"""Bot API methods that send, edit, copy, forward and delete messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .compose import (
    admit_send,
    check_send_options,
    ensure_can_write,
    formatted_text,
    link_preview,
    new_bot_message,
    paid_broadcast,
    record,
    replied_message,
    reply_markup,
    resolve_chat,
    text_content,
)
from .errors import bad_request
from .media import document_object, photo_object, resolve_input_file
from .params import Params
from .registry import api_method
from .state import ChatState, clone, now

if TYPE_CHECKING:
    from .world import World

_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


@api_method("sendMessage")
def send_message(world: World, p: Params) -> dict[str, Any]:
    # The official server checks the parameters in this order; tests of error precedence rely on it.
    if not p.string("text"):
        raise bad_request("message text is empty")
    p.chat_id()
    markup = reply_markup(world, p)
    state = resolve_chat(world, p)
    check_send_options(p)
    text, entities = formatted_text(world, p, "text", "parse_mode", "entities", caption=False)
    reply = replied_message(state, p)
    content = text_content(text, entities)
    preview = link_preview(p)
    if preview:
        content["link_preview_options"] = preview
    admit_send(world, state, paid=paid_broadcast(p))
    message = new_bot_message(world, state, p, content, markup, reply)
    record(state, "sendMessage", message)
    return clone(message)


def _send_file(world: World, p: Params, method: str, kind: str) -> dict[str, Any]:
    p.chat_id()
    value = p.file(kind)
    if value is None:
        raise bad_request(f"there is no {kind} in the request")
    markup = reply_markup(world, p)
    state = resolve_chat(world, p)
    check_send_options(p)
    caption, entities = formatted_text(world, p, "caption", "parse_mode", "caption_entities", caption=True)
    reply = replied_message(state, p)
    stored = resolve_input_file(world.files, value, kind)
    content: dict[str, Any] = {kind: document_object(stored) if kind == "document" else photo_object(stored)}
    content.update(text_content(caption, entities, key="caption"))
    if p.boolean("has_spoiler") and kind == "photo":
        content["has_media_spoiler"] = True
    admit_send(world, state, paid=paid_broadcast(p))
    message = new_bot_message(world, state, p, content, markup, reply)
    record(state, method, message, stored.data)
    return clone(message)


@api_method("sendDocument")
def send_document(world: World, p: Params) -> dict[str, Any]:
    return _send_file(world, p, "sendDocument", "document")


@api_method("sendPhoto")
def send_photo(world: World, p: Params) -> dict[str, Any]:
    return _send_file(world, p, "sendPhoto", "photo")


def _source_message(world: World, p: Params, verb: str) -> dict[str, Any]:
    source = resolve_chat(world, p, "from_chat_id")
    message_id = p.message_id()
    message = source.snapshot(message_id) if message_id else None
    if message is None:
        raise bad_request(f"message to {verb} not found")
    if message.get("has_protected_content"):
        raise bad_request("message has protected content and can't be forwarded")
    return message


_COPIED_KEYS = (
    "text",
    "entities",
    "link_preview_options",
    "document",
    "photo",
    "sticker",
    "caption",
    "caption_entities",
    "has_media_spoiler",
)


@api_method("copyMessage")
def copy_message(world: World, p: Params) -> dict[str, Any]:
    p.chat_id()
    markup = reply_markup(world, p)
    state = resolve_chat(world, p)
    source = _source_message(world, p, "copy")
    check_send_options(p)
    content = {k: v for k, v in source.items() if k in _COPIED_KEYS}
    if p.has("caption") and "text" not in content:
        caption, entities = formatted_text(world, p, "caption", "parse_mode", "caption_entities", caption=True)
        content.pop("caption", None)
        content.pop("caption_entities", None)
        content.update(text_content(caption, entities, key="caption"))
    reply = replied_message(state, p)
    admit_send(world, state, paid=paid_broadcast(p))
    message = new_bot_message(world, state, p, content, markup, reply)
    record(state, "copyMessage", message)
    return {"message_id": message["message_id"]}


@api_method("forwardMessage")
def forward_message(world: World, p: Params) -> dict[str, Any]:
    p.chat_id()
    state = resolve_chat(world, p)
    source = _source_message(world, p, "forward")
    check_send_options(p)
    content = {k: v for k, v in source.items() if k in _COPIED_KEYS}
    content["forward_origin"] = {"type": "user", "sender_user": source["from"], "date": source["date"]}
    markup = None
    if source.get("reply_markup", {}).get("inline_keyboard"):
        # Only URL buttons survive a forward; callback buttons would talk to the wrong bot.
        rows = [[b for b in row if "url" in b] for row in source["reply_markup"]["inline_keyboard"]]
        if any(rows):
            markup = {"inline_keyboard": [row for row in rows if row]}
    admit_send(world, state)
    message = new_bot_message(world, state, p, content, markup, None)
    record(state, "forwardMessage", message)
    return clone(message)


def _message_to_edit(world: World, p: Params) -> tuple[ChatState, dict[str, Any]]:
    if p.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # the emulator never issues inline messages
    state = resolve_chat(world, p)
    message_id = p.message_id()
    if not message_id:
        raise bad_request("message identifier is not specified")
    message = state.messages.get(message_id)
    if message is None:
        raise bad_request("message to edit not found")
    # The bot's posts in a channel carry the channel as their sender (every post there is the bot's here).
    if message.get("from", {}).get("id") != world.bot_id and "sender_chat" not in message:
        raise bad_request("message can't be edited")
    return state, message


def _apply_edit(state: ChatState, message: dict[str, Any], method: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply field changes (None removes a field); identical content is Telegram's 400."""
    if all(message.get(key) == value for key, value in changes.items()):
        raise bad_request(_NOT_MODIFIED)
    ensure_can_write(state)
    for key, value in changes.items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    message["edit_date"] = now()
    record(state, method, message)
    return clone(message)


@api_method("editMessageText")
def edit_message_text(world: World, p: Params) -> dict[str, Any]:
    if not p.string("text"):
        raise bad_request("message text is empty")
    if not p.has("inline_message_id"):
        p.chat_id()
    markup = reply_markup(world, p)
    state, message = _message_to_edit(world, p)
    if "text" not in message:
        raise bad_request("there is no text in the message to edit")
    text, entities = formatted_text(world, p, "text", "parse_mode", "entities", caption=False)
    # Leaving reply_markup out of an edit removes the inline keyboard, as on Telegram.
    changes = {"text": text, "entities": entities or None, "reply_markup": markup}
    if p.has("link_preview_options"):
        changes["link_preview_options"] = link_preview(p)
    return _apply_edit(state, message, "editMessageText", changes)


@api_method("editMessageCaption")
def edit_message_caption(world: World, p: Params) -> dict[str, Any]:
    if not p.has("inline_message_id"):
        p.chat_id()
    markup = reply_markup(world, p)
    state, message = _message_to_edit(world, p)
    if "text" in message:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = formatted_text(world, p, "caption", "parse_mode", "caption_entities", caption=True)
    changes = {"caption": caption or None, "caption_entities": entities or None, "reply_markup": markup}
    return _apply_edit(state, message, "editMessageCaption", changes)


@api_method("editMessageReplyMarkup")
def edit_message_reply_markup(world: World, p: Params) -> dict[str, Any]:
    if not p.has("inline_message_id"):
        p.chat_id()
    markup = reply_markup(world, p)
    state, message = _message_to_edit(world, p)
    return _apply_edit(state, message, "editMessageReplyMarkup", {"reply_markup": markup})


@api_method("deleteMessage")
def delete_message(world: World, p: Params) -> bool:
    p.chat_id()
    state = resolve_chat(world, p)
    message_id = p.message_id()
    if not message_id:
        raise bad_request("message identifier is not specified")
    if state.messages.pop(message_id, None) is None:
        raise bad_request("message to delete not found")
    return True


@api_method("deleteMessages")
def delete_messages(world: World, p: Params) -> bool:
    p.chat_id()
    state = resolve_chat(world, p)
    ids = p.json_value("message_ids", "message identifiers")
    if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
        raise bad_request("message_ids must be non-empty and contain at most 100 identifiers")
    for message_id in ids:
        if isinstance(message_id, int):
            state.messages.pop(message_id, None)
    return True
