"""reply_markup validation with the official server's error texts."""

from __future__ import annotations

from typing import Any

from bot.render.telegram_urls import check_button_url, check_link

from .errors import bad_request

# Every field an InlineKeyboardButton may carry besides the action.
_BUTTON_EXTRAS = ("text", "icon_custom_emoji_id", "style")
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_REPLY_KEYBOARD_FLAGS = ("is_persistent", "resize_keyboard", "one_time_keyboard", "selective")
MAX_BUTTONS = 100


def _button_error(message: str) -> Exception:
    return bad_request(f"can't parse inline keyboard button: {message}")


def _check_bool(obj: dict, key: str, prefix: str = "") -> None:
    if key in obj and not isinstance(obj[key], bool):
        # The server lowercases the first letter of a message only when nothing precedes it.
        message = f'Field "{key}" must be of type Boolean'
        raise bad_request(prefix + message if prefix else "f" + message[1:])


def validate_reply_markup(markup: Any, *, strict: bool) -> dict[str, Any] | None:
    """Check reply_markup; return the InlineKeyboardMarkup to store on the message, if any.

    Only inline keyboards are part of a Message object; reply keyboards, keyboard
    removal and force-reply only affect the user's client.
    """
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        return {"inline_keyboard": _inline_keyboard(markup["inline_keyboard"], strict)}
    if "keyboard" in markup:
        _reply_keyboard(markup)
    elif "remove_keyboard" in markup:
        _check_bool(markup, "remove_keyboard")
        _check_bool(markup, "selective")
    elif "force_reply" in markup:
        _check_bool(markup, "force_reply")
        _check_bool(markup, "selective")
    else:
        raise bad_request("can't parse reply keyboard markup JSON object")
    return None


def _inline_keyboard(rows: Any, strict: bool) -> list[list[dict[str, Any]]]:
    if not isinstance(rows, list):
        raise bad_request('field "inline_keyboard" must be of type Array')
    result = []
    count = 0
    for row in rows:
        if not isinstance(row, list):
            raise bad_request('field "inline_keyboard" must be an Array of Arrays')
        count += len(row)
        result.append([_inline_button(button, strict) for button in row])
    if count > MAX_BUTTONS:
        raise bad_request("reply markup is too long")
    return result


def _inline_button(button: Any, strict: bool) -> dict[str, Any]:
    if not isinstance(button, dict):
        raise _button_error("InlineKeyboardButton must be an Object")
    if "text" not in button:
        raise _button_error('Can\'t find field "text"')
    if not isinstance(button["text"], str):
        raise _button_error('Field "text" must be of type String')
    if not button["text"].strip():
        raise bad_request("BUTTON_TEXT_INVALID")
    # The server treats empty strings as absent (callback_data "" is a plain text button).
    actions = [key for key in _BUTTON_ACTIONS if key in button and button[key] not in ("", None, False)]
    for key in ("switch_inline_query", "switch_inline_query_current_chat"):
        if button.get(key) == "" and key not in actions:
            actions.append(key)  # an empty inline query is a valid action
    if not actions:
        raise _button_error("Text buttons are unallowed in the inline keyboard")
    if strict and len(actions) > 1:
        raise _button_error(
            f"exactly one of the optional fields must be used, got {', '.join(actions)} "
            "(emulator strict mode: Telegram would silently use the first one)"
        )
    action = actions[0]
    _check_action(action, button[action])
    return {key: button[key] for key in (*_BUTTON_EXTRAS, action) if key in button}


def _check_action(action: str, value: Any) -> None:
    if action == "callback_data":
        if not isinstance(value, str):
            raise _button_error('Field "callback_data" must be of type String')
        if not 1 <= len(value.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    elif action == "url":
        reason = check_button_url(str(value))
        if reason:
            raise bad_request(f"inline keyboard button URL '{value}' is invalid: {reason}")
    elif action == "copy_text":
        if not isinstance(value, dict):
            raise _button_error('Field "copy_text" must be of type Object')
        text = value.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= 256:
            raise bad_request("BUTTON_COPY_TEXT_INVALID")
    elif action == "web_app":
        url = value.get("url", "") if isinstance(value, dict) else ""
        if not str(url).lower().startswith("https://") or check_link(str(url))[1]:
            raise bad_request(f"inline keyboard button Web App URL '{url}' is invalid: Only HTTPS links are allowed")
    elif action == "login_url":
        if not isinstance(value, dict) or "url" not in value:
            raise _button_error('Can\'t find field "url"')
        reason = check_link(str(value["url"]))[1]
        if reason:
            raise bad_request(f"inline keyboard button login URL '{value['url']}' is invalid: {reason}")
        _check_bool(value, "request_write_access", "can't parse inline keyboard button: ")
    elif action == "switch_inline_query_chosen_chat":
        if not isinstance(value, dict):
            raise _button_error('Field "switch_inline_query_chosen_chat" must be of type Object')
        for key in ("allow_user_chats", "allow_bot_chats", "allow_group_chats", "allow_channel_chats"):
            _check_bool(value, key, "can't parse inline keyboard button: ")
    elif action in ("callback_game", "pay"):
        # Only valid on game / invoice messages, which the emulator does not send.
        raise bad_request("BUTTON_TYPE_INVALID")


def _reply_keyboard(markup: dict[str, Any]) -> None:
    rows = markup["keyboard"]
    if not isinstance(rows, list):
        raise bad_request('field "keyboard" must be of type Array')
    for key in _REPLY_KEYBOARD_FLAGS:
        _check_bool(markup, key)
    for row in rows:
        if not isinstance(row, list):
            raise bad_request('field "keyboard" must be an Array of Arrays')
        for button in row:
            if isinstance(button, str):
                continue
            if not isinstance(button, dict):
                raise bad_request("can't parse keyboard button: KeyboardButton must be a String or an Object")
            if not isinstance(button.get("text"), str):
                raise bad_request("can't parse keyboard button: Can't find field \"text\"")
            web_app = button.get("web_app")
            if isinstance(web_app, dict) and not str(web_app.get("url", "")).lower().startswith("https://"):
                raise bad_request(
                    f"keyboard button Web App URL '{web_app.get('url', '')}' is invalid: Only HTTPS links are allowed"
                )
