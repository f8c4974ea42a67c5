"""Tests of the Bot API emulator (bot/emulator), driven through the real aiogram client."""

from __future__ import annotations

import asyncio
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiohttp import web

from bot.render.telegram_html import ParseError, parse_html
from emulator import BotAPIEmulator, FloodLimits
from emulator.entities import finalize

TOKEN = "123456:TEST"
USER = 42
SPEC_PATH = Path("/work/shared/telegram/bot-api.json")


class _PlainHttpSession(AiohttpSession):
    # AiohttpSession.close() sleeps 250 ms for TLS shutdown; the emulator speaks plain HTTP.
    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(emu: BotAPIEmulator, parse_mode: ParseMode | None = ParseMode.HTML) -> Bot:
    session = _PlainHttpSession(api=TelegramAPIServer.from_base(emu.base_url))
    return Bot(emu.token, session=session, default=DefaultBotProperties(parse_mode=parse_mode))


@pytest.fixture
async def emu():
    async with BotAPIEmulator(
        token=TOKEN, bot_username="rrbot_test_bot", limits=FloodLimits(enabled=False)
    ) as emulator:
        emulator.add_user(USER, first_name="Ann")
        yield emulator


@pytest.fixture
async def bot(emu):
    client = make_bot(emu)
    yield client
    await client.session.close()


def keyboard(**button: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Go", **button)]])


async def raw_call(emu: BotAPIEmulator, method: str, token: str = TOKEN, **kwargs: Any) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{emu.base_url}/bot{token}/{method}", **kwargs) as response:
            return response.status, await response.json()


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = (b"\x00" + b"\xff\x00\x00" * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


# -- basics -------------------------------------------------------------------------------------------


async def test_get_me(emu, bot):
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "rrbot_test_bot")
    assert emu.bot_id == 123456 and emu.base_url.startswith("http://127.0.0.1:")


async def test_unknown_method_and_wrong_token(emu):
    status, body = await raw_call(emu, "sendTelepathy", json={})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await raw_call(emu, "getMe", token="1:WRONG")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await raw_call(emu, "GETME")  # method names are case-insensitive
    assert status == 200 and body["result"]["id"] == emu.bot_id


async def test_json_and_form_bodies_are_read_alike(emu):
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    status, body = await raw_call(emu, "sendMessage", json={"chat_id": USER, "text": "json", "reply_markup": markup})
    assert status == 200 and body["result"]["reply_markup"] == markup
    form = {"chat_id": str(USER), "text": "form", "reply_markup": json.dumps(markup)}
    status, body = await raw_call(emu, "sendMessage", data=form)
    assert status == 200 and body["result"]["reply_markup"] == markup
    status, body = await raw_call(emu, "sendMessage", json={"chat_id": [USER], "text": "x"})
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    status, body = await raw_call(emu, "sendMessage", json={"text": "x"})
    assert body["description"] == "Bad Request: chat_id is empty"
    assert emu.calls[0].params["chat_id"] == USER and emu.calls[0].params["text"] == "json"


async def test_unknown_chat(emu, bot):
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(777, "hello")


# -- updates ------------------------------------------------------------------------------------------


async def test_long_polling_returns_as_soon_as_an_update_arrives(emu, bot):
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    sent = emu.user_sends(USER, "/start ref_1")
    updates = await asyncio.wait_for(poll, 2)
    assert loop.time() - started < 1.0
    assert [u.update_id for u in updates] == [sent["update_id"]]
    message = updates[0].message
    assert message.text == "/start ref_1" and message.chat.id == USER
    assert message.entities[0].type == "bot_command" and message.entities[0].length == 6

    # Not confirmed yet: the same update comes again; an offset confirms it.
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [sent["update_id"]]
    assert await bot.get_updates(offset=sent["update_id"] + 1, timeout=0) == []
    assert emu.updates.entries == []


async def test_queue_update_keeps_given_ids_and_limit(emu, bot):
    first = emu.queue_update({"update_id": 500, "message": emu.user_sends(USER, "a")["message"]})
    dup = emu.queue_update({"update_id": 500, "message": first["message"]})
    auto = emu.queue_update({"message": first["message"]})
    assert dup["update_id"] == 500 and auto["update_id"] == 501
    updates = await bot.get_updates(offset=2, limit=2, timeout=0)
    assert [u.update_id for u in updates] == [500, 500]


async def test_second_get_updates_terminates_the_first(emu, bot):
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    second = asyncio.create_task(bot.get_updates(timeout=5))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 2)
    emu.user_sends(USER, "hi")
    assert len(await asyncio.wait_for(second, 2)) == 1


# -- sendMessage and HTML -------------------------------------------------------------------------------


async def test_send_message_html_gives_plain_text_and_entities(emu, bot):
    html = (
        '😀 <b>bold <i>both</i></b> <a href="https://Example.com">link</a> &lt;x&gt; &amp; &#33;&#x21;\n'
        '<pre><code class="language-python">x = 1</code></pre><tg-spoiler>s</tg-spoiler> '
        "<blockquote expandable>q</blockquote><u>u</u><s>s</s><code>c</code>"
    )
    sent = await bot.send_message(USER, html)
    assert sent.text == "😀 bold both link <x> & !!\nx = 1s qusc"
    got = [e.model_dump(exclude_none=True) for e in sent.entities]
    assert got == [
        {"type": "bold", "offset": 3, "length": 9},
        {"type": "italic", "offset": 8, "length": 4},
        {"type": "text_link", "offset": 13, "length": 4, "url": "https://example.com/"},
        {"type": "pre", "offset": 27, "length": 5, "language": "python"},
        {"type": "spoiler", "offset": 32, "length": 1},
        {"type": "expandable_blockquote", "offset": 34, "length": 1},
        {"type": "underline", "offset": 35, "length": 1},
        {"type": "strikethrough", "offset": 36, "length": 1},
        {"type": "code", "offset": 37, "length": 1},
    ]
    assert emu.last_message(USER)["text"] == sent.text
    assert emu.outbox(USER)[0]["method"] == "sendMessage"


async def test_plain_text_gets_automatic_entities_and_is_trimmed(emu):
    bot = make_bot(emu, parse_mode=None)
    try:
        sent = await bot.send_message(USER, "  \nsee https://example.com/a, @someone #tag /help \n ")
    finally:
        await bot.session.close()
    assert sent.text == "see https://example.com/a, @someone #tag /help"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [
        ("url", 4, 21),
        ("mention", 27, 8),
        ("hashtag", 36, 4),
        ("bot_command", 41, 5),
    ]


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("é <div>x</div>", 'Unsupported start tag "div" at byte offset 3'),
        ("<b><i>test</b></i>", 'Unmatched end tag at byte offset 10, expected "</i>", found "</b>"'),
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ("done</b>", "Unexpected end tag at byte offset 4"),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ('<tg-emoji emoji-id="abc">👍</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("Q&A", 'Unescaped "&" at byte offset 1'),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;" at byte offset 0'),
        ("a > b", 'Unescaped ">" at byte offset 2'),
    ],
)
async def test_bad_html_is_rejected(emu, bot, html, description):
    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(USER, html)
    assert f"Bad Request: can't parse entities: {description}" in error.value.message
    assert emu.messages(USER) == []


async def test_lenient_mode_keeps_telegram_leniency(emu):
    emu.strict = False
    bot = make_bot(emu)
    try:
        sent = await bot.send_message(USER, "Q&A &nbsp; a > b, Nizomkhon & his family")
    finally:
        await bot.session.close()
    assert sent.text == "Q&A &nbsp; a > b, Nizomkhon & his family"


async def test_markdown_is_reported_as_unsupported(emu, bot):
    with pytest.raises(TelegramBadRequest, match="not implemented by the Bot API emulator"):
        await bot.send_message(USER, "*x*", parse_mode=ParseMode.MARKDOWN_V2)


async def test_text_length_and_emptiness(emu, bot):
    await bot.send_message(USER, "x" * 4096)
    with pytest.raises(TelegramBadRequest, match="Bad Request: message is too long"):
        await bot.send_message(USER, "x" * 4097)
    # Entities do not count: 4096 characters after parsing are fine.
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>")
    with pytest.raises(TelegramBadRequest, match="Bad Request: text must be non-empty"):
        await bot.send_message(USER, "  <b> </b> ")
    status, body = await raw_call(emu, "sendMessage", json={"chat_id": USER, "text": ""})
    assert body["description"] == "Bad Request: message text is empty"


def test_html_parser_offsets_are_utf16():
    text, entities = parse_html("👍<b>a😀b</b>")
    assert text == "👍a😀b"
    assert entities == [{"type": "bold", "offset": 2, "length": 4}]
    text, entities = parse_html('<a href="tg://user?id=7">x</a><a>https://t.me/x</a>')
    assert entities[0] == {"type": "text_mention", "offset": 0, "length": 1, "user": {"id": 7}}
    assert entities[1]["url"] == "https://t.me/x"
    with pytest.raises(ParseError, match='Unsupported start tag "z" at byte offset 4'):
        parse_html("éé<z>")  # offsets in errors count UTF-8 bytes


def test_html_parser_tags():
    text, entities = parse_html(
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> '
        '<tg-time unix="1700000000" format="wDT">soon</tg-time> <code><b>raw</b></code>'
    )
    assert text == "👍 soon raw"
    assert entities[0] == {"type": "custom_emoji", "offset": 0, "length": 2, "custom_emoji_id": "5368324170671202286"}
    assert entities[1] == {
        "type": "date_time",
        "offset": 3,
        "length": 4,
        "unix_time": 1700000000,
        "date_time_format": "wDT",
    }
    assert [e["type"] for e in entities[2:]] == ["bold", "code"]
    assert [e["type"] for e in finalize(text, entities, allow_empty=False)[1]] == [
        "custom_emoji",
        "date_time",
        "code",
    ]  # formatting inside code is dropped, as Telegram does
    with pytest.raises(ParseError, match='expected "</b>", found "</B>"'):
        parse_html("<B>x</B>")  # like TDLib: start tags are lowered, end tags are not


async def test_explicit_entities_and_replies(emu):
    status, body = await raw_call(
        emu,
        "sendMessage",
        json={"chat_id": USER, "text": "hello", "entities": [{"type": "bold", "offset": 100, "length": 1}]},
    )
    assert body["description"] == "Bad Request: entity begins after the end of the text at UTF-16 offset 100"
    status, body = await raw_call(
        emu,
        "sendMessage",
        json={"chat_id": USER, "text": "hello", "entities": [{"type": "bold", "offset": 1, "length": 3}]},
    )
    assert body["result"]["entities"] == [{"type": "bold", "offset": 1, "length": 3}]
    status, body = await raw_call(
        emu, "sendMessage", json={"chat_id": USER, "text": "re", "reply_parameters": {"message_id": 999}}
    )
    assert body["description"] == "Bad Request: message to be replied not found"
    status, body = await raw_call(
        emu, "sendMessage", json={"chat_id": USER, "text": "re", "reply_parameters": {"message_id": 1}}
    )
    assert body["result"]["reply_to_message"]["text"] == "hello"


# -- keyboards --------------------------------------------------------------------------------------------


async def test_callback_data_limit_is_in_bytes(emu, bot):
    await bot.send_message(USER, "ok", reply_markup=keyboard(callback_data="x" * 64))
    with pytest.raises(TelegramBadRequest, match="Bad Request: BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "no", reply_markup=keyboard(callback_data="é" * 33))  # 66 bytes


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mailto:x@example.com", "Unsupported URL protocol"),
        ("ftp://example.com", "Unsupported URL protocol"),
        ("https://", "URL host is empty"),
        ("not-a-url", "Wrong HTTP URL"),
    ],
)
async def test_bad_button_urls(emu, bot, url, reason):
    with pytest.raises(TelegramBadRequest) as error:
        await bot.send_message(USER, "x", reply_markup=keyboard(url=url))
    assert error.value.message == f"Bad Request: inline keyboard button URL '{url}' is invalid: {reason}"


async def test_other_button_rules(emu, bot):
    sent = await bot.send_message(USER, "x", reply_markup=keyboard(copy_text=CopyTextButton(text="RR-2024-17")))
    assert sent.reply_markup.inline_keyboard[0][0].copy_text.text == "RR-2024-17"
    await bot.send_message(USER, "x", reply_markup=keyboard(url="tg://resolve?domain=durov"))
    with pytest.raises(TelegramBadRequest, match="BUTTON_COPY_TEXT_INVALID"):
        await bot.send_message(USER, "x", reply_markup=keyboard(copy_text=CopyTextButton(text="x" * 257)))
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed in the inline keyboard"):
        await bot.send_message(USER, "x", reply_markup=keyboard())
    with pytest.raises(TelegramBadRequest, match="exactly one of the optional fields"):
        await bot.send_message(USER, "x", reply_markup=keyboard(callback_data="a", url="https://a.io"))
    status, body = await raw_call(
        emu,
        "sendMessage",
        json={"chat_id": USER, "text": "x", "reply_markup": {"inline_keyboard": [[{"callback_data": "a"}]]}},
    )
    assert body["description"] == "Bad Request: can't parse inline keyboard button: Can't find field \"text\""
    status, body = await raw_call(
        emu,
        "sendMessage",
        json={
            "chat_id": USER,
            "text": "x",
            "reply_markup": {"keyboard": [["A", {"text": "B"}]], "resize_keyboard": True},
        },
    )
    assert status == 200 and "reply_markup" not in body["result"]


# -- editing, callbacks ---------------------------------------------------------------------------------------


async def test_edit_message_text(emu, bot):
    sent = await bot.send_message(USER, "<b>v1</b>", reply_markup=keyboard(callback_data="a"))
    with pytest.raises(TelegramBadRequest, match="message is not modified: specified new message content"):
        await bot.edit_message_text(
            "<b>v1</b>", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(callback_data="a")
        )
    edited = await bot.edit_message_text(
        "<i>v2</i>", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(callback_data="a")
    )
    assert edited.text == "v2" and edited.entities[0].type == "italic" and edited.edit_date
    # Leaving reply_markup out removes the keyboard, as on Telegram.
    await bot.edit_message_text("v3", chat_id=USER, message_id=sent.message_id)
    assert "reply_markup" not in emu.last_message(USER)
    assert [e["method"] for e in emu.outbox(USER)] == ["sendMessage", "editMessageText", "editMessageText"]
    assert emu.outbox(USER)[1]["message"]["text"] == "v2"

    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    user_message = emu.user_sends(USER, "mine")["message"]
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=user_message["message_id"])
    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(callback_data="b")
    )
    assert emu.last_message(USER)["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"


async def test_delete_message(emu, bot):
    sent = await bot.send_message(USER, "bye")
    assert await bot.delete_message(USER, sent.message_id) is True
    assert emu.messages(USER) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)


async def test_answer_callback_query(emu, bot):
    sent = await bot.send_message(USER, "pick", reply_markup=keyboard(callback_data="a"))
    press = emu.user_presses(USER, sent.message_id, "forged:data")
    query = press["callback_query"]
    assert query["message"]["message_id"] == sent.message_id and query["data"] == "forged:data"
    assert await bot.answer_callback_query(query["id"], text="Done", show_alert=True)
    assert await emu.wait_answered(press, timeout=1) == {
        "callback_query_id": query["id"],
        "text": "Done",
        "show_alert": True,
    }
    with pytest.raises(TelegramBadRequest, match="query is too old and response timeout expired"):
        await bot.answer_callback_query(query["id"])
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("12345")

    emu.callback_timeout = 0.05
    late = emu.user_presses(USER, sent.message_id, "a")
    await asyncio.sleep(0.1)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(late["callback_query"]["id"])


# -- users who left, flood, faults -----------------------------------------------------------------------


async def test_blocked_and_deactivated_users(emu, bot):
    emu.block(USER)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: bot was blocked by the user"):
        await bot.send_message(USER, "hello?")
    emu.unblock(USER)
    await bot.send_message(USER, "welcome back")
    emu.add_user(43)
    emu.deactivate(43)
    with pytest.raises(TelegramForbiddenError, match="Forbidden: user is deactivated"):
        await bot.send_message(43, "hello?")


async def test_flood_limits(emu, bot):
    emu.limits = FloodLimits(chat_burst=2, chat_per_second=0.5)
    first = await bot.send_message(USER, "1")
    await bot.send_message(USER, "2")
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(USER, "3")
    assert error.value.retry_after == 2
    assert emu.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 2",
        "parameters": {"retry_after": 2},
    }
    # Edits and other chats are not limited by this chat's bucket.
    await bot.edit_message_text("1!", chat_id=USER, message_id=first.message_id)
    emu.add_user(43)
    await bot.send_message(43, "other chat")


async def test_injected_faults(emu, bot):
    emu.inject("sendMessage", 500, "Internal Server Error")
    with pytest.raises(TelegramServerError):
        await bot.send_message(USER, "x")
    emu.inject("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as error:
        await bot.send_message(USER, "x")
    assert error.value.retry_after == 7
    emu.inject("*", 400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-1001)
    with pytest.raises(TelegramMigrateToChat) as migrated:
        await bot.get_me()
    assert migrated.value.migrate_to_chat_id == -1001
    assert (await bot.send_message(USER, "works again")).text == "works again"
    assert emu.messages(USER)[0]["text"] == "works again"


async def test_delayed_response_times_out_but_takes_effect(emu, bot):
    emu.delay("sendMessage", 2.0)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "slow", request_timeout=0.3)
    assert emu.last_message(USER)["text"] == "slow"


# -- files ---------------------------------------------------------------------------------------------------


async def test_document_upload_round_trips(emu, bot):
    content = bytes(range(256)) * 10
    sent = await bot.send_document(
        USER,
        BufferedInputFile(content, "report.pdf"),
        caption="<b>Report</b>",
        reply_markup=keyboard(callback_data="again"),
    )
    assert sent.document.file_name == "report.pdf" and sent.document.mime_type == "application/pdf"
    assert sent.document.file_size == len(content)
    assert sent.caption == "Report" and sent.caption_entities[0].type == "bold"
    assert emu.file_bytes(sent.document.file_id) == content
    assert emu.outbox(USER)[0]["file_bytes"] == content
    file = await bot.get_file(sent.document.file_id)
    assert (await bot.download_file(file.file_path)).read() == content
    again = await bot.send_document(USER, sent.document.file_id)
    assert again.document.file_id == sent.document.file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_document(USER, "no-such-file")
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_document(USER, sent.document.file_id, caption="x" * 1025)


async def test_photos(emu, bot):
    sent = await bot.send_photo(USER, BufferedInputFile(tiny_png(), "p.png"), caption="pic")
    assert [(p.width, p.height) for p in sent.photo] == [(3, 2)]
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", "p.png"))
    incoming = emu.user_sends_photo(USER, caption="look")["message"]
    file = await bot.get_file(incoming["photo"][-1]["file_id"])
    assert (await bot.download_file(file.file_path)).read().startswith(b"\x89PNG")
    document = emu.user_sends_document(USER, "data.csv", b"a,b\n1,2\n", "text/csv")["message"]["document"]
    assert emu.file_bytes(document["file_id"]) == b"a,b\n1,2\n"
    assert emu.user_sends_sticker(USER)["message"]["sticker"]["type"] == "regular"


# -- bot settings ------------------------------------------------------------------------------------------------


async def test_commands_descriptions_per_language(emu, bot):
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="start", description="Начать")], language_code="ru")
    await bot.set_my_commands(
        [BotCommand(command="admin", description="Admin")], scope=BotCommandScopeChat(chat_id=USER)
    )
    assert emu.commands() == [{"command": "start", "description": "Start"}]
    assert emu.commands(language_code="ru") == [{"command": "start", "description": "Начать"}]
    assert emu.commands("chat", chat_id=USER)[0]["command"] == "admin"
    assert [c.description for c in await bot.get_my_commands(language_code="ru")] == ["Начать"]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad-Command", description="x")])
    await bot.delete_my_commands(language_code="ru")
    assert emu.commands(language_code="ru") == []

    await bot.set_my_description("Long description", language_code="de")
    await bot.set_my_short_description("Short")
    assert emu.descriptions == {"de": "Long description"} and emu.short_descriptions == {"": "Short"}
    assert (await bot.get_my_description(language_code="de")).description == "Long description"
    await bot.set_my_name("Rapid Response")
    assert (await bot.get_me()).first_name == "Rapid Response"


async def test_webhook_push_with_secret_and_get_updates_conflict(emu, bot):
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.json_response({"method": "sendMessage", "chat_id": USER, "text": "via webhook reply"})

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        assert await bot.set_webhook(url, secret_token="s3cret")
        with pytest.raises(TelegramConflictError, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        update = emu.user_sends(USER, "hello hook")
        await emu.wait_for(lambda: emu.messages(USER), timeout=2)
        assert received == [("s3cret", update)]
        assert emu.last_message(USER)["text"] == "via webhook reply"
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert await bot.delete_webhook()
    finally:
        await runner.cleanup()


async def test_spec_field_names(emu, bot):
    """Every object the emulator returned in a busy scenario uses only fields of its type in the spec."""
    if not SPEC_PATH.exists():
        pytest.skip("Bot API spec not available")
    spec = json.loads(SPEC_PATH.read_text())
    sent = await bot.send_message(
        USER,
        '<b>x</b> <a href="tg://user?id=42">Ann</a> https://a.io',
        reply_markup=keyboard(callback_data="a"),
        reply_parameters=None,
    )
    reply = emu.user_sends(USER, "/start")["message"]
    await bot.send_message(USER, "re", reply_to_message_id=reply["message_id"])
    await bot.edit_message_text(
        "y", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(url="https://a.io")
    )
    document = await bot.send_document(USER, BufferedInputFile(b"abc", "a.txt"))
    await bot.send_photo(USER, BufferedInputFile(tiny_png(), "p.png"))
    await bot.copy_message(USER, USER, sent.message_id)
    await bot.forward_message(USER, USER, reply["message_id"])
    emu.user_presses(USER, sent.message_id, "a")
    emu.user_presses(USER, 9999, "gone")
    emu.user_sends_photo(USER, "caption #tag")
    emu.user_sends_sticker(USER)
    emu.user_sends_document(USER, "x.bin", b"1")
    emu.updates.set_allowed(["message", "callback_query", "my_chat_member"])
    emu.block(USER)
    emu.unblock(USER)
    await bot.get_updates(timeout=0)
    await bot.get_file(document.document.file_id)
    await bot.get_chat(USER)
    await bot.get_webhook_info()
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.get_my_commands()
    await bot.get_my_description()
    await bot.get_my_short_description()
    await bot.get_my_name()
    await bot.get_chat_menu_button()

    checked = set()
    for call in emu.calls:
        assert call.method in spec["methods"], call.method
        if call.status == 200:
            _check_value(spec, call.response["result"], spec["methods"][call.method]["returns"], call.method)
            checked.add(call.method)
    assert {"getUpdates", "sendMessage", "getChat", "getFile", "copyMessage", "forwardMessage"} <= checked


def _check_value(spec: dict, value: Any, types: list[str], path: str) -> None:
    errors = []
    for kind in types:
        try:
            _check_as(spec, value, kind, path)
            return
        except AssertionError as error:
            errors.append(str(error))
    raise AssertionError(" / ".join(errors))


def _check_as(spec: dict, value: Any, kind: str, path: str) -> None:
    scalars = {"Integer": int, "String": str, "Boolean": bool, "True": bool, "Float": (int, float)}
    if kind.startswith("Array of "):
        assert isinstance(value, list), f"{path}: expected an array"
        for i, item in enumerate(value):
            _check_value(spec, item, [kind[len("Array of ") :]], f"{path}[{i}]")
        return
    if kind in scalars:
        assert isinstance(value, scalars[kind]), f"{path}: expected {kind}, got {value!r}"
        return
    definition = spec["types"][kind]
    if definition.get("subtypes"):
        _check_value(spec, value, definition["subtypes"], path)
        return
    assert isinstance(value, dict), f"{path}: expected {kind} object"
    fields = {f["name"]: f for f in definition.get("fields", [])}
    for name, item in value.items():
        assert name in fields, f"{path}.{name} is not a field of {kind}"
        _check_value(spec, item, fields[name]["types"], f"{path}.{name}")
    for name, f in fields.items():
        assert not f["required"] or name in value, f"{path}: {kind} lacks required {name}"


# -- a real aiogram bot polling the emulator --------------------------------------------------------------------------


async def test_polling_bot_end_to_end(emu, bot):
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(f"Hi, {message.from_user.first_name}!", reply_markup=keyboard(callback_data="go"))

    @dp.callback_query(F.data == "go")
    async def go(query: CallbackQuery) -> None:
        await query.message.edit_text("Going")
        await query.answer("OK")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=1))
    try:
        emu.user_sends(USER, "/start")
        await emu.wait_idle(timeout=3)
        greeting = emu.last_message(USER)
        assert greeting["text"] == "Hi, Ann!"
        press = emu.user_presses(USER, greeting["message_id"], "go")
        assert (await emu.wait_answered(press, timeout=3))["text"] == "OK"
        await emu.wait_idle(timeout=3)
        assert emu.last_message(USER)["text"] == "Going"
    finally:
        await dp.stop_polling()
        await polling


async def test_wait_idle_explains_what_is_missing(emu, bot):
    emu.user_sends(USER, "nobody is polling")
    with pytest.raises(TimeoutError, match="1 queued update\\(s\\) not fetched by the bot"):
        await emu.wait_idle(timeout=0.2)
    await bot.get_updates(timeout=0)
    await emu.wait_idle(timeout=1)


async def test_chat_action_and_get_chat(emu, bot):
    assert await bot.send_chat_action(USER, "typing")
    status, body = await raw_call(emu, "sendChatAction", json={"chat_id": USER, "action": "dancing"})
    assert body["description"] == "Bad Request: wrong parameter action in request"
    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type, chat.first_name) == (USER, "private", "Ann")


async def test_control_api(emu):
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{emu.base_url}/_emu/users", json={"user_id": 50, "first_name": "Bo", "language_code": "de"}
        ) as response:
            assert (await response.json())["result"]["language_code"] == "de"
        async with session.post(f"{emu.base_url}/_emu/send", json={"user_id": 50, "text": "hi"}) as response:
            assert (await response.json())["result"]["message"]["text"] == "hi"
        await raw_call(emu, "sendMessage", json={"chat_id": 50, "text": "answer"})
        async with session.get(f"{emu.base_url}/_emu/messages", params={"chat_id": "50"}) as response:
            assert [m["text"] for m in (await response.json())["result"]] == ["answer"]
        async with session.get(f"{emu.base_url}/_emu/calls") as response:
            assert (await response.json())["result"][-1]["method"] == "sendMessage"
        async with session.post(f"{emu.base_url}/_emu/block", json={"user_id": 50}) as response:
            assert response.status == 200
        async with session.post(f"{emu.base_url}/_emu/send", json={"text": "no user"}) as response:
            assert response.status == 400
    status, body = await raw_call(emu, "sendMessage", json={"chat_id": 50, "text": "x"})
    assert status == 403
