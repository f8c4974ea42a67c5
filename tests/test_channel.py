"""The organisation's channel (CHANNEL_ID): a case's alert and its updates are posted there too, with a
"Take action" button into the bot; a channel that refuses the post never holds up the subscribers' alert."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.wiring import App, running
from bot.content import Library
from bot.content.states import UpdateKind
from bot.delivery import State
from bot.ground.clock import utc_now
from bot.ground.settings import Settings
from bot.publishing.announce import announce, publish_update
from bot.publishing.channel import Channel
from bot.render.markup import visible_text
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import ADMIN_ID
from tests.test_lifecycle import cli_env, follower, rrbot, write_update
from tests.test_publishing import finished
from tests.test_scheduler import CASE, write_content

CHANNEL = -1001234567890


def configured(settings: Settings, tmp_path: Path, lang: str) -> Settings:
    deadline = (dt.datetime.now(dt.UTC) + dt.timedelta(days=10)).date()
    content = write_content(tmp_path, deadline=deadline.isoformat())
    return settings.model_copy(update={"content_dir": content, "channel_id": CHANNEL, "channel_language": lang})


@pytest.fixture(params=["en", "ru"])
async def live(request: pytest.FixtureRequest, settings: Settings, redis, tmp_path: Path) -> AsyncIterator[App]:
    """The bot with a channel whose posts are in the parameter's language; the seed case ten days from its deadline."""
    config = configured(settings, tmp_path, request.param)
    async with running(config, redis, Library.load(config.content_dir)) as app:
        yield app


def posts(emulator: BotAPIEmulator) -> list[dict[str, Any]]:
    return [m for m in emulator.messages(CHANNEL) if m.get("text")]


async def posts_done(app: App, count: int) -> bool:
    """For wait_for: `count` posts in the channel were queued, and each has been handled (and reported)."""
    made = [p for p in await app.broadcasts.recent() if p.purpose and p.purpose.kind == "channel"]
    return len(made) == count and all(p.state.finished for p in made)


def take_action(post: dict[str, Any]) -> dict[str, Any]:
    [[button]] = post["reply_markup"]["inline_keyboard"]
    return button


async def test_the_alert_and_an_update_are_posted_with_a_link_that_opens_the_actions(
    live: App, emulator: BotAPIEmulator, redis_url: str, tmp_path: Path
) -> None:
    lang = live.settings.channel_lang
    emulator.add_channel(CHANNEL, "Amnesty: urgent actions")
    subscriber = Activist(emulator, 7101, "Sub", "en")
    await live.store.set_language(7101, "en")
    await live.store.start(7101)  # alerts of new cases

    # Published from the command line: the post links to the bot all the same (its name is in Redis).
    env = {
        **cli_env(redis_url, tmp_path, live.library.content_dir),
        "CHANNEL_ID": str(CHANNEL),
        "CHANNEL_LANGUAGE": lang,
    }
    code, out, err = await rrbot(env, "publish", CASE)
    assert code == 0, err
    await emulator.wait_for(lambda: posts(emulator), timeout=15)
    assert (await finished(live, out.strip())).delivered == 1, "the subscriber's alert went out as ever"
    [post] = posts(emulator)
    case = live.library.get(CASE)
    assert case.title[lang].split()[0] in post["text"]
    assert "sender_chat" in post and "from" not in post
    # Not the follower's card: the channel's readers follow nothing, and have no bot buttons to tap there.
    assert post["text"] != subscriber.last["text"]
    assert "Unsubscribe" not in post["text"] and "Отписаться" not in post["text"]
    button = take_action(post)
    # In the channel's language ("Принять участие" once the Russian catalogue has it).
    assert button["text"] == "✍️ " + live.renderer._gettext(lang)("Take action")
    assert button["url"] == f"https://t.me/rrbot_test_bot?start=act_{CASE}"
    # One send, against the shared rate: a broadcast of its own to one chat, which follows nothing.
    [record] = [p for p in await live.broadcasts.recent() if p.purpose and p.purpose.kind == "channel"]
    assert (record.total, record.delivered, record.state) == (1, 1, State.done)
    assert not await live.store.is_subscribed(CHANNEL, CASE)
    assert not await live.broadcasts.redis.sismember(live.broadcasts.key("users"), CHANNEL)

    # A reader taps it: Telegram opens the bot with /start act_<case>; the bot shows the case's actions.
    payload = button["url"].split("?start=")[1]
    reader = Activist(emulator, 7102, "Reader", lang)
    picker = await reader.send(f"/start {payload}")  # a newcomer picks a language first
    assert {b["callback_data"].split(":")[1] for b in reader.buttons(picker)} >= {"en", "ru"}
    await reader.tap_data(f"lang:{lang}:")
    actions = reader.last
    assert visible_text(live.renderer.act_menu(case, lang, utc_now()).text) == actions["text"]
    assert not await live.store.is_subscribed(7102, CASE), "a link in a public channel asks for no messages"
    # Someone who knows the bot lands there at once; the letter is one tap away.
    again = await reader.send(f"/start {payload}")
    assert again["text"] == actions["text"]
    await reader.tap(case.targets[0].name_in(lang)[:20])
    assert "Dear" in reader.last["text"] or "Уважаем" in reader.last["text"]
    # After /stop the link shows the actions and says how to come back: it does not undo the /stop.
    await reader.send("/stop")
    await reader.send(f"/start {payload}")
    assert reader.messages[-2]["text"] == live.renderer.message("still_stopped", lang)
    assert reader.last["text"] == actions["text"]
    assert (await live.store.user(7102)).stopped and not await live.store.is_subscribed(7102, CASE)

    # An update from chat reaches the followers and the channel, with the same button.
    admin = Activist(emulator, ADMIN_ID, "Coord", "en")
    await live.store.set_language(ADMIN_ID, "en")
    fan = await follower(live, emulator, 7103, "ru")
    await write_update(admin, "news", "He was moved to a <b>prison hospital</b>.")
    await admin.tap_data("upd:send:")
    await emulator.wait_for(lambda: len(posts(emulator)) == 2, timeout=15)
    await emulator.wait_for(lambda: "prison hospital" in (fan.emu.last_message(7103) or {}).get("text", ""), 15)
    update = posts(emulator)[-1]
    assert "prison hospital" in update["text"]
    assert take_action(update)["url"] == f"https://t.me/rrbot_test_bot?start=act_{CASE}"


async def test_a_channel_that_refuses_posts_is_said_once_and_never_holds_up_the_alert(
    live: App, emulator: BotAPIEmulator
) -> None:
    lang = live.settings.channel_lang  # the coordinator reads the bot in the same language here
    emulator.add_channel(CHANNEL, "Amnesty: urgent actions", member=False)  # the bot was never made an admin
    admin = Activist(emulator, ADMIN_ID, "Coord", lang)
    await live.store.set_language(ADMIN_ID, lang)
    subscriber = Activist(emulator, 7201, "Sub", "en")
    await live.store.set_language(7201, "en")
    await live.store.start(7201)
    channel = Channel.from_settings(live.settings)
    case = live.library.get(CASE)

    bc_id = await announce(live.broadcasts, live.renderer, case, utc_now(), created_by=ADMIN_ID, channel=channel)
    assert (await finished(live, bc_id)).delivered == 1, "the subscriber got the alert"
    told = visible_text(live.renderer.message("channel_failed", lang, ref="UA 84/11"))
    notice = await emulator.wait_for(lambda: next((m for m in admin.messages if m.get("text") == told), None), 10)
    assert "UA 84/11" in notice["text"] and not posts(emulator)
    assert "Tajik" in subscriber.last["text"]

    # Still refused (now it may not post): an update goes out, and the coordinator is not told again.
    emulator.channel_rights(CHANNEL, can_post=False)
    _, second = await publish_update(
        live.broadcasts, live.renderer, live.cases, case, UpdateKind.news, "News.", utc_now(), channel=channel
    )
    await finished(live, second)
    await emulator.wait_for(lambda: posts_done(live, 2), timeout=10)
    await emulator.wait_idle()
    assert sum(m.get("text") == told for m in admin.messages) == 1

    # Made an administrator: the next post goes out, and a later refusal would be said again.
    emulator.channel_rights(CHANNEL)
    await publish_update(
        live.broadcasts, live.renderer, live.cases, case, UpdateKind.news, "More news.", utc_now(), channel=channel
    )
    await emulator.wait_for(lambda: posts_done(live, 3), timeout=10)
    assert "More news." in posts(emulator)[0]["text"]
    failing = live.broadcasts.prefix + "{channel}:failing"

    async def forgotten() -> bool:  # the report follows the post's end by a moment
        return not await live.broadcasts.redis.exists(failing)

    await emulator.wait_for(forgotten, timeout=5)


async def test_without_a_channel_nothing_is_posted(app: App, emulator: BotAPIEmulator) -> None:
    emulator.add_channel(CHANNEL)
    bc_id = await announce(app.broadcasts, app.renderer, app.library.get(CASE), utc_now())
    await finished(app, bc_id)
    assert [p.purpose.kind for p in await app.broadcasts.recent() if p.purpose] == ["alert"]
    assert not emulator.messages(CHANNEL)


def test_channel_id_is_the_channels_number() -> None:
    from bot.ground.settings import SettingsError, StoreSettings, load_settings

    assert load_settings(StoreSettings, channel_id="-1001234567890", _env_file=None).channel_id == CHANNEL
    assert load_settings(StoreSettings, channel_id="", _env_file=None).channel_id is None
    for wrong in ("@amnesty", "12345", "-12345"):
        with pytest.raises(SettingsError, match="CHANNEL_ID is invalid"):
            load_settings(StoreSettings, channel_id=wrong, _env_file=None)
