"""Shared steps of the message methods: resolving the chat, formatting text, building Messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.render.telegram_html import ParseError, parse_html

from .entities import finalize, validate_entities
from .errors import ApiError, bad_request, forbidden
from .markup import validate_reply_markup
from .params import Params
from .stars import PAID_SEND_PRICE, balance_too_low
from .state import ChatState, clone, now

if TYPE_CHECKING:
    from .world import World

MAX_TEXT = 4096
MAX_CAPTION = 1024
_PREVIEW_FLAGS = ("is_disabled", "prefer_small_media", "prefer_large_media", "show_above_text")


def resolve_chat(world: World, p: Params, name: str = "chat_id") -> ChatState:
    chat_id = p.chat_id(name)
    state = world.chats.get(chat_id)
    if state is None:
        raise bad_request("chat not found")
    return state


def ensure_can_write(state: ChatState) -> None:
    if state.chat.get("type") == "channel":
        # Telegram's answers to a bot that was removed from a channel, or may not post in it.
        if not state.member:
            raise forbidden("bot is not a member of the channel chat")
        if not state.can_post:
            raise bad_request("need administrator rights in the channel chat")
    if state.deactivated:
        raise forbidden("user is deactivated")
    if state.blocked:
        raise forbidden("bot was blocked by the user")


def spend_flood(world: World, state: ChatState, *, paid: bool = False) -> None:
    retry_after = world.flood.acquire(state.chat["id"], paid=paid)
    if retry_after is not None:
        raise ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def paid_broadcast(p: Params) -> bool:
    """Whether the send asks to go past the free broadcast limit, for 0.1 Star."""
    return p.boolean("allow_paid_broadcast")


def admit_send(world: World, state: ChatState, *, paid: bool = False) -> None:
    """The last checks of a new message: the Stars of a paid send, the recipient can be written to, and the
    flood limit; then a paid send is charged.

    A send to a user who blocked the bot reached Telegram all the same, so the flood
    statistics count it. In the strict (window) mode it also spends from the limit and is
    checked against it first; the bucket mode answers 403 for free, as it always did.
    A paid send the balance cannot pay for is refused before anything else and spends nothing;
    only a message that is delivered is charged.
    """
    if paid and world.nanostars < PAID_SEND_PRICE:
        raise balance_too_low()
    flood = world.flood
    if flood.counts_forbidden_sends:
        spend_flood(world, state, paid=paid)
        ensure_can_write(state)
    else:
        try:
            ensure_can_write(state)
        except ApiError:
            flood.note_forbidden_send()
            raise
        spend_flood(world, state, paid=paid)
    if paid:
        world.nanostars -= PAID_SEND_PRICE


def reply_markup(world: World, p: Params) -> dict[str, Any] | None:
    return validate_reply_markup(p.json_value("reply_markup", "reply keyboard markup"), strict=world.strict)


def formatted_text(
    world: World, p: Params, text_key: str, mode_key: str, entities_key: str, *, caption: bool
) -> tuple[str, list[dict[str, Any]]]:
    """Parse text or caption with its parse mode / explicit entities, as Telegram stores it."""
    text = p.string(text_key)
    if not text:
        if caption:
            return "", []
        raise bad_request("message text is empty")
    mode = p.string(mode_key).lower()
    try:
        if mode == "html":
            plain, entities = parse_html(text, strict=world.strict)
        elif mode in ("markdown", "markdownv2"):
            raise bad_request(
                f"can't parse entities: parse_mode {p.string(mode_key)} is not implemented by the "
                "Bot API emulator; use HTML"
            )
        elif mode in ("", "none"):
            plain = text
            raw = p.json_value(entities_key, "entities")
            users = {chat_id for chat_id, state in world.chats.items() if state.user is not None}
            entities = validate_entities(text, raw, users) if raw is not None else []
        else:
            raise bad_request("unsupported parse_mode")
        plain, entities = finalize(plain, entities, allow_empty=caption)
    except ParseError as error:
        if str(error) == "Message must be non-empty":
            raise bad_request("text must be non-empty") from None
        raise bad_request(f"can't parse entities: {error}") from None
    entities = _fill_mentions(world, entities)
    if len(plain) > (MAX_CAPTION if caption else MAX_TEXT):
        raise bad_request("message caption is too long" if caption else "message is too long")
    return plain, entities


def _fill_mentions(world: World, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # text_mention carries the full User; mentions of users the bot cannot see are dropped.
    result = []
    for entity in entities:
        if entity["type"] == "text_mention":
            state = world.chats.get(entity["user"]["id"])
            if state is None or state.user is None:
                continue
            entity = {**entity, "user": dict(state.user)}
        result.append(entity)
    return result


def link_preview(p: Params) -> dict[str, Any] | None:
    options = p.json_value("link_preview_options", "link preview options")
    if options is None:
        return {"is_disabled": True} if p.boolean("disable_web_page_preview") else None
    if not isinstance(options, dict):
        raise bad_request("can't parse link preview options JSON object")
    for key in _PREVIEW_FLAGS:
        if key in options and not isinstance(options[key], bool):
            raise bad_request(f'field "{key}" must be of type Boolean')
    kept = {k: v for k, v in options.items() if k in (*_PREVIEW_FLAGS, "url") and v not in (False, None, "")}
    return kept or None


def check_send_options(p: Params) -> None:
    """Options the emulated private chats cannot honour fail like they do on Telegram."""
    if p.integer("message_thread_id"):
        raise bad_request("message thread not found")
    if p.has("business_connection_id"):
        raise bad_request("business connection not found")


def replied_message(state: ChatState, p: Params) -> dict[str, Any] | None:
    params = p.json_value("reply_parameters", "reply parameters")
    if params is None:
        if not p.integer("reply_to_message_id"):
            return None
        params = {
            "message_id": p.integer("reply_to_message_id"),
            "allow_sending_without_reply": p.boolean("allow_sending_without_reply"),
        }
    if not isinstance(params, dict) or "message_id" not in params:
        raise bad_request('can\'t find field "message_id"')
    message = state.snapshot(int(params["message_id"]) if str(params["message_id"]).isdigit() else 0)
    if message is None:
        if params.get("allow_sending_without_reply"):
            return None
        raise bad_request("message to be replied not found")
    message.pop("reply_to_message", None)  # Telegram does not nest replies further
    return message


def new_bot_message(
    world: World,
    state: ChatState,
    p: Params,
    content: dict[str, Any],
    markup: dict[str, Any] | None,
    reply: dict[str, Any] | None,
) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": state.new_message_id()}
    if state.chat.get("type") == "channel":
        message["sender_chat"] = dict(state.chat)  # a post in a channel is the channel's: it has no "from"
    else:
        message["from"] = world.bot_user()
    message.update({"chat": dict(state.chat), "date": now()})
    if reply is not None:
        message["reply_to_message"] = reply
    message.update(content)
    if p.boolean("protect_content"):
        message["has_protected_content"] = True
    if markup is not None:
        message["reply_markup"] = markup
    state.messages[message["message_id"]] = message
    return message


def record(state: ChatState, method: str, message: dict[str, Any], file_bytes: bytes | None = None) -> None:
    entry: dict[str, Any] = {"method": method, "message": clone(message)}
    if file_bytes is not None:
        entry["file_bytes"] = file_bytes
    state.outbox.append(entry)


def text_content(text: str, entities: list[dict[str, Any]], key: str = "text") -> dict[str, Any]:
    content: dict[str, Any] = {key: text} if text else {}
    if entities:
        content["entities" if key == "text" else "caption_entities"] = entities
    return content
