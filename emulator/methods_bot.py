"""Bot API methods about the bot itself, updates, webhooks, callback queries, chats and files."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from .compose import ensure_can_write, resolve_chat
from .errors import ApiError, bad_request
from .media import file_object
from .params import Params
from .registry import Described, api_method
from .stars import star_amount

if TYPE_CHECKING:
    from .world import World

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_\-]{1,256}")
_LANGUAGE = re.compile(r"[a-z]{2}")


@api_method("getMe")
def get_me(world: World, p: Params) -> dict[str, Any]:
    return {
        **world.bot_user(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@api_method("getMyStarBalance")
def get_my_star_balance(world: World, p: Params) -> dict[str, int]:
    return star_amount(world.nanostars)


@api_method("logOut")
def log_out(world: World, p: Params) -> bool:
    return True


@api_method("close")
def close(world: World, p: Params) -> bool:
    return True


# -- updates and webhooks ------------------------------------------------------------------------


@api_method("getUpdates")
async def get_updates(world: World, p: Params) -> list[dict[str, Any]]:
    if world.webhook.url:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; "
            "use deleteWebhook to delete the webhook first",
        )
    if p.has("allowed_updates"):
        world.updates.set_allowed(p.json_value("allowed_updates", "allowed updates"))
    world.updates.confirm(p.integer("offset"))
    limit = min(max(p.integer("limit", 100), 1), 100)
    timeout = min(max(p.integer("timeout"), 0), 50)
    updates = await world.updates.long_poll(limit, timeout)
    if updates:
        world._touch()
    return updates


@api_method("setWebhook")
def set_webhook(world: World, p: Params) -> Described:
    url = p.string("url").strip()
    if not url:
        return delete_webhook(world, p)
    # Telegram insists on HTTPS; the emulator also accepts http:// so a local bot can be tested.
    if not re.match(r"^https?://[^/\s]+", url, re.IGNORECASE):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = p.string("secret_token")
    if secret and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    max_connections = min(max(p.integer("max_connections", 40), 1), 100)
    allowed = p.json_value("allowed_updates", "allowed updates") if p.has("allowed_updates") else None
    hook = world.webhook
    unchanged = (hook.url, hook.secret_token, hook.max_connections) == (url, secret, max_connections)
    if p.boolean("drop_pending_updates"):
        world.updates.drop_all()
    if allowed is not None:
        world.updates.set_allowed(allowed)
        hook.allowed_updates = sorted(world.updates.allowed) if world.updates.allowed else None
    hook.url, hook.secret_token, hook.max_connections = url, secret, max_connections
    hook.ip_address = p.string("ip_address")
    world.updates.abort_poll("Conflict: terminated by setWebhook request")
    world.on_webhook_changed()
    return Described(True, "Webhook is already set" if unchanged else "Webhook was set")


@api_method("deleteWebhook")
def delete_webhook(world: World, p: Params) -> Described:
    was_set = bool(world.webhook.url)
    if p.boolean("drop_pending_updates"):
        world.updates.drop_all()
    world.webhook.url = ""
    world.webhook.secret_token = ""
    world.on_webhook_changed()
    return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")


@api_method("getWebhookInfo")
def get_webhook_info(world: World, p: Params) -> dict[str, Any]:
    hook = world.webhook
    info: dict[str, Any] = {
        "url": hook.url,
        "has_custom_certificate": False,
        "pending_update_count": len(world.updates.entries),
    }
    if hook.url:
        info["max_connections"] = hook.max_connections
        if hook.ip_address:
            info["ip_address"] = hook.ip_address
        if hook.allowed_updates:
            info["allowed_updates"] = hook.allowed_updates
    if hook.last_error_date:
        info["last_error_date"] = hook.last_error_date
        info["last_error_message"] = hook.last_error_message
    return info


# -- commands, descriptions, names, menu button ---------------------------------------------------


def _language(p: Params) -> str:
    code = p.string("language_code")
    if code and not _LANGUAGE.fullmatch(code):
        raise bad_request("LANG_CODE_INVALID")  # two-letter ISO 639-1 codes only, "en-US" fails
    return code


def _scope(world: World, p: Params) -> tuple[str, Any, Any]:
    scope = p.json_value("scope", "BotCommandScope")
    if scope is None:
        return ("default", None, None)
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    kind = scope["type"]
    if kind not in SCOPE_TYPES:
        raise bad_request("unsupported bot command scope type specified")
    chat_id = user_id = None
    if kind in ("chat", "chat_administrators", "chat_member"):
        chat_id = Params({"chat_id": str(scope.get("chat_id", ""))}).chat_id()
        if chat_id not in world.chats:
            raise bad_request("chat not found")
    if kind == "chat_member":
        user_id = scope.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request('can\'t find field "user_id"')
    return (kind, chat_id, user_id)


@api_method("setMyCommands")
def set_my_commands(world: World, p: Params) -> bool:
    commands = p.json_value("commands", "commands")
    if not isinstance(commands, list):
        raise bad_request(
            'parameter "commands" is required' if commands is None else 'field "commands" must be of type Array'
        )
    if len(commands) > 100:
        raise bad_request("too many commands specified")
    stored = []
    for item in commands:
        if not isinstance(item, dict) or "command" not in item or "description" not in item:
            raise bad_request('can\'t parse BotCommand: Can\'t find field "command" or "description"')
        command, description = str(item["command"]), str(item["description"])
        if not _COMMAND.fullmatch(command):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        stored.append({"command": command, "description": description})
    key = (_scope(world, p), _language(p))
    if stored:
        world.profile.commands[key] = stored
    else:
        world.profile.commands.pop(key, None)
    return True


@api_method("getMyCommands")
def get_my_commands(world: World, p: Params) -> list[dict[str, str]]:
    return list(world.profile.commands.get((_scope(world, p), _language(p)), []))


@api_method("deleteMyCommands")
def delete_my_commands(world: World, p: Params) -> bool:
    world.profile.commands.pop((_scope(world, p), _language(p)), None)
    return True


def _set_text(table: dict[str, str], p: Params, key: str, limit: int, error: str) -> bool:
    value = p.string(key)
    if len(value) > limit:
        raise bad_request(error)
    language = _language(p)
    if value:
        table[language] = value
    else:
        table.pop(language, None)
    return True


@api_method("setMyDescription")
def set_my_description(world: World, p: Params) -> bool:
    return _set_text(world.profile.descriptions, p, "description", 512, "description is too long")


@api_method("getMyDescription")
def get_my_description(world: World, p: Params) -> dict[str, str]:
    return {"description": world.profile.descriptions.get(_language(p), "")}


@api_method("setMyShortDescription")
def set_my_short_description(world: World, p: Params) -> bool:
    return _set_text(world.profile.short_descriptions, p, "short_description", 120, "short description is too long")


@api_method("getMyShortDescription")
def get_my_short_description(world: World, p: Params) -> dict[str, str]:
    return {"short_description": world.profile.short_descriptions.get(_language(p), "")}


@api_method("setMyName")
def set_my_name(world: World, p: Params) -> bool:
    return _set_text(world.profile.names, p, "name", 64, "name is too long")


@api_method("getMyName")
def get_my_name(world: World, p: Params) -> dict[str, str]:
    language = _language(p)
    return {"name": world.profile.names.get(language) or world.profile.names.get("", world.bot_name)}


@api_method("setChatMenuButton")
def set_chat_menu_button(world: World, p: Params) -> bool:
    chat_id = resolve_chat(world, p).chat["id"] if p.has("chat_id") else None
    button = p.json_value("menu_button", "menu button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in ("commands", "web_app", "default"):
        raise bad_request("unsupported menu button type specified")
    if button["type"] == "web_app":
        url = str((button.get("web_app") or {}).get("url", ""))
        if not button.get("text") or not url.lower().startswith("https://"):
            raise bad_request(f"menu button Web App URL '{url}' is invalid: Only HTTPS links are allowed")
    world.profile.menu_buttons[chat_id] = button
    return True


@api_method("getChatMenuButton")
def get_chat_menu_button(world: World, p: Params) -> dict[str, Any]:
    chat_id = resolve_chat(world, p).chat["id"] if p.has("chat_id") else None
    buttons = world.profile.menu_buttons
    return dict(buttons.get(chat_id) or buttons.get(None) or {"type": "default"})


# -- chats, callback queries, files ------------------------------------------------------------------


@api_method("getChat")
def get_chat(world: World, p: Params) -> dict[str, Any]:
    state = resolve_chat(world, p)
    return {
        **state.chat,
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }


@api_method("sendChatAction")
def send_chat_action(world: World, p: Params) -> bool:
    state = resolve_chat(world, p)
    if p.string("action") not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    ensure_can_write(state)
    return True


@api_method("answerCallbackQuery")
def answer_callback_query(world: World, p: Params) -> bool:
    query_id = p.string("callback_query_id")
    query = world._callbacks.get(query_id)
    if query is None or query.answered or time.monotonic() - query.issued > world.callback_timeout:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    if len(p.string("text")) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered = True
    answer: dict[str, Any] = {"callback_query_id": query_id}
    for key in ("text", "url"):
        if p.has(key):
            answer[key] = p.string(key)
    if p.has("show_alert"):
        answer["show_alert"] = p.boolean("show_alert")
    if p.has("cache_time"):
        answer["cache_time"] = p.integer("cache_time")
    world.callback_answers[query_id] = answer
    return True


@api_method("getFile")
def get_file(world: World, p: Params) -> dict[str, Any]:
    file_id = p.string("file_id")
    stored = world.files.get(file_id)
    if stored is None:
        raise bad_request("invalid file_id")
    return file_object(stored, file_id)
