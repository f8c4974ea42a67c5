"""`rrbot broadcast` with its safety net, and `rrbot schedule list`, as a campaigner at a terminal meets them.

The command functions run in this process (the bot and the emulator alongside them); only the terminal
is stood in for: a stdin that says it is a TTY and holds what the campaigner types. One test runs the
real command in a real pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import pty
import sys
from pathlib import Path

import pytest

from bot.app.wiring import App
from bot.cli.broadcast import queue
from bot.cli.schedule import list_jobs
from bot.delivery import Audience, Broadcasts, Payload
from bot.ground.privacy import Pseudonymizer
from bot.ground.settings import StoreSettings
from bot.pledges.store import Store
from emulator import BotAPIEmulator
from tests.conftest import ADMIN_ID, CONTENT, ROOT

pytestmark = pytest.mark.timeout(60)

KEY = "test-privacy-key-0123456789abcdef"  # the app fixture's, so that both read the same pseudonyms
CASE = "ua-84-11"
NEWS = "<b>UA 84/11</b>: Nizomkhon &amp; his family thank you.\nQ&A tonight at 19:00 — Nizomkhon & his family"
SHOWN = "UA 84/11: Nizomkhon & his family thank you.\nQ&A tonight at 19:00 — Nizomkhon & his family"


class Terminal(io.StringIO):
    """What the campaigner types, on a stdin that is a terminal."""

    def isatty(self) -> bool:
        return True


class NoTerminal(io.StringIO):
    """A pipe or cron's stdin: reading it would be waiting for nobody."""

    def isatty(self) -> bool:
        return False

    def readline(self, *args: object) -> str:
        raise AssertionError("asked a question with nobody to answer it")


@pytest.fixture
def cli(redis_url: str, tmp_path: Path) -> StoreSettings:
    """The command line's settings: the tests' Redis database, the shipped cases."""
    return StoreSettings(
        redis_url=redis_url,
        privacy_key=KEY,
        data_dir=tmp_path,
        content_dir=CONTENT,
        default_timezone="Europe/Moscow",
        admin_ids=str(ADMIN_ID),
        _env_file=None,
    )


@pytest.fixture
def news(tmp_path: Path) -> Path:
    path = tmp_path / "news.html"
    path.write_text(NEWS, encoding="utf-8")
    return path


async def followers(redis, emulator: BotAPIEmulator | None, chats: list[int], lang: str = "en") -> None:
    store = Store(redis, Pseudonymizer(KEY.encode()))
    for chat in chats:
        if emulator is not None:
            emulator.add_user(chat, first_name="S", language_code=lang)
        await store.start(chat)
        await store.set_language(chat, lang)
        await store.subscribe(chat, CASE)


async def queued(redis) -> list:
    return await Broadcasts(redis, Pseudonymizer(KEY.encode())).recent()


async def test_a_yes_sends_it_and_the_ampersand_arrives_as_written(
    app: App, emulator: BotAPIEmulator, redis, cli: StoreSettings, news: Path, monkeypatch, capsys
) -> None:
    await followers(redis, emulator, [801, 802, 803])
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    code = await queue(cli, news, audience=None, case_id=CASE, language=None)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "To:    followers of UA 84/11 (Tajik refused asylum-seeker disappeared)" in err
    assert "3 recipients" in err and SHOWN in err, err  # as Telegram will show it: no tags, no &amp;
    assert "Send to 3 recipients? [y/N]" in err
    bc_id = out.strip()

    async def delivered() -> None:
        while (await app.broadcasts.progress(bc_id)).state.value != "done":
            await asyncio.sleep(0.05)

    await asyncio.wait_for(delivered(), 20)
    # The strict emulator took it: what Telegram keeps literally was escaped, and reads the same.
    for chat in (801, 802, 803):
        assert emulator.last_message(chat)["text"] == SHOWN


@pytest.mark.parametrize("typed", ["n\n", "\n", "", "yes please\n"])
async def test_anything_but_yes_queues_nothing(
    redis, cli: StoreSettings, news: Path, monkeypatch, capsys, typed: str
) -> None:
    await followers(redis, None, [811, 812])
    monkeypatch.setattr(sys, "stdin", Terminal(typed))
    code = await queue(cli, news, audience=None, case_id=CASE, language=None)
    out, err = capsys.readouterr()
    assert code == 1 and not out
    assert "Send to 2 recipients? [y/N]" in err and "rrbot: not queued" in err.splitlines()[-1]
    assert await queued(redis) == []


async def test_yes_flag_queues_without_a_terminal_and_still_shows_it(
    redis, cli: StoreSettings, news: Path, monkeypatch, capsys
) -> None:
    await followers(redis, None, [821, 822])
    monkeypatch.setattr(sys, "stdin", NoTerminal())
    code = await queue(cli, news, audience=None, case_id=CASE, language=None, yes=True)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert SHOWN in err and "[y/N]" not in err
    [sent] = await queued(redis)
    assert sent.id == out.strip() and sent.total == 2


async def test_a_dry_run_shows_and_queues_nothing(redis, cli: StoreSettings, news: Path, monkeypatch, capsys) -> None:
    await followers(redis, None, [831, 832, 833, 834])
    monkeypatch.setattr(sys, "stdin", NoTerminal())
    code = await queue(cli, news, audience="not-acted", case_id=CASE, language=None, dry_run=True)
    out, err = capsys.readouterr()
    assert code == 0 and not out, err
    assert (
        "followers of UA 84/11 (Tajik refused asylum-seeker disappeared)" in err
        and "who have marked nothing as done" in err
    )
    assert "4 recipients" in err and SHOWN in err and "[y/N]" not in err
    assert err.splitlines()[-1] == "rrbot: dry run: nothing queued"
    assert await queued(redis) == []


async def test_without_a_terminal_or_yes_it_refuses_at_once(
    redis, cli: StoreSettings, news: Path, monkeypatch, capsys
) -> None:
    await followers(redis, None, [841])
    monkeypatch.setattr(sys, "stdin", NoTerminal())  # it would raise if read: nothing waits
    code = await queue(cli, news, audience=None, case_id=CASE, language=None)
    out, err = capsys.readouterr()
    assert code == 2 and not out
    [line] = err.splitlines()
    assert line.startswith("rrbot: not queued: there is no terminal") and "--yes" in line and "--dry-run" in line
    assert await queued(redis) == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"audience": None, "case_id": CASE, "language": "xx"}, "--language 'xx' is not a language of the bot"),
        ({"audience": None, "case_id": "ua-00-00", "language": None}, "no case 'ua-00-00'"),
        ({"audience": "not-acted", "case_id": "ua-00-00", "language": None}, "no case 'ua-00-00'"),
        ({"audience": None, "case_id": None, "language": None}, "say who receives it: --case ID"),
        ({"audience": None, "case_id": None, "language": "ru"}, "say who receives it"),
        ({"audience": "all", "case_id": CASE, "language": None}, "not only the followers of ua-84-11"),
    ],
)
async def test_an_unknown_language_or_case_or_no_audience_is_an_error(
    redis, cli: StoreSettings, news: Path, monkeypatch, capsys, args: dict, expected: str
) -> None:
    await followers(redis, None, [851, 852])
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    code = await queue(cli, news, **args)
    out, err = capsys.readouterr()
    assert code == 2 and not out
    [line] = err.splitlines()
    assert line.startswith("rrbot: ") and expected in line, line
    assert await queued(redis) == []


async def test_a_language_narrows_the_audience_and_an_empty_one_queues_nothing(
    redis, cli: StoreSettings, news: Path, monkeypatch, capsys
) -> None:
    await followers(redis, None, [861, 862], lang="en")
    await followers(redis, None, [863], lang="ru")
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    assert await queue(cli, news, audience="all", case_id=None, language="RU") == 0
    err = capsys.readouterr().err
    assert "To:    everyone who gets alerts, bot language Russian" in err and "Send to 1 recipient? [y/N]" in err
    [sent] = await queued(redis)
    assert sent.total == 1

    await Store(redis, Pseudonymizer(KEY.encode())).pledge(861, CASE, "letter")
    await Store(redis, Pseudonymizer(KEY.encode())).pledge(862, CASE, "email")
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    code = await queue(cli, news, audience="not-acted", case_id=CASE, language="en")
    out, err = capsys.readouterr()
    assert code == 1 and not out
    [line] = err.splitlines()
    assert line == (
        "rrbot: nothing queued: nobody is in the audience (followers of UA 84/11 (Tajik refused asylum-seeker disappeared)) who have "
        "marked nothing as done, bot language English): 0 recipients"
    ) or ("0 recipients" in line and "nothing queued" in line), line
    assert len(await queued(redis)) == 1


async def test_html_is_checked_by_telegrams_rules_in_the_products_words(
    redis, cli: StoreSettings, tmp_path: Path, monkeypatch, capsys
) -> None:
    await followers(redis, None, [871])
    monkeypatch.setattr(sys, "stdin", NoTerminal())
    for text, shown in [
        ("Q&A with Nizomkhon & his family, 3 > 2", "Q&A with Nizomkhon & his family, 3 > 2"),
        ("<b>Price</b>&nbsp;list", "Price&nbsp;list"),  # Telegram shows an entity it does not know as written
        (
            'Read <a href="https://example.org/ua?x=1&y=2">the appeal</a>',
            "Read the appeal <https://example.org/ua?x=1&y=2>",
        ),
        ("<blink>hi</blink>", None),
        ("<b>unclosed", None),
    ]:
        path = tmp_path / "t.html"
        path.write_text(text, encoding="utf-8")
        code = await queue(cli, path, audience=None, case_id=CASE, language=None, dry_run=True)
        err = capsys.readouterr().err
        assert "emulator" not in err and "strict" not in err, err
        if shown is None:
            [line] = err.splitlines()
            assert code == 2 and line.startswith(f"rrbot: {path}: Telegram would refuse this HTML: "), line
        else:
            assert code == 0 and f"\n{shown}\n" in err, err
            assert ('note: Telegram shows "&nbsp;" as written' in err) == ("&nbsp;" in text)


async def test_schedule_list_reads_as_a_table_and_as_json(
    app: App, redis, cli: StoreSettings, news: Path, monkeypatch, capsys
) -> None:
    await followers(redis, None, [881, 882, 883])
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2)
    local = at.astimezone(dt.timezone(dt.timedelta(hours=3)))  # Europe/Moscow, no DST
    assert (
        await queue(cli, news, audience="not-acted", case_id=CASE, language=None, at=local.strftime("%Y-%m-%d %H:%M"))
        == 0
    )
    out, err = capsys.readouterr()
    assert "Schedule for " in err and "3 recipients as of now? [y/N]" in err
    cli_job = out.strip()
    chat_job = await app.scheduler.schedule_broadcast(
        Payload("<i>Everyone</i>: the deadline is extended").to_json(),
        Audience().to_json(),
        ADMIN_ID,
        at + dt.timedelta(hours=1),
    )

    assert await list_jobs(cli, None, as_json=False) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["WHEN", "(Europe/Moscow)", "WHAT", "AUDIENCE", "PEOPLE", "NOW", "BY", "ID"]
    mine = next(line for line in lines if cli_job in line)
    assert local.strftime("%Y-%m-%d %H:%M") in mine
    assert "UA 84/11: Nizomkhon & his family thank you." in mine  # the first line, as people read it
    assert "followers of UA 84/11 who have marked nothing as done" in mine and " 3 " in mine
    assert "command line" in mine
    theirs = next(line for line in lines if chat_job in line)
    assert "Everyone: the deadline is extended" in theirs and "everyone who gets alerts" in theirs
    assert f"coordinator {ADMIN_ID}" in theirs
    assert '{"kind"' not in out and "<i>" not in out

    assert await list_jobs(cli, None, as_json=True) == 0
    jobs = {job["id"]: job for job in json.loads(capsys.readouterr().out)}
    assert jobs[cli_job]["text"] == "UA 84/11: Nizomkhon & his family thank you."
    assert jobs[cli_job]["recipients"] == 3 and jobs[cli_job]["scheduled_by"] is None
    assert jobs[cli_job]["audience"] == "followers of UA 84/11 who have marked nothing as done"
    assert jobs[cli_job]["detail"]["kind"] == "not-acted"
    assert jobs[chat_job]["scheduled_by"] == ADMIN_ID and jobs[chat_job]["recipients"] == 3
    assert jobs[cli_job]["local_time"] == local.strftime("%Y-%m-%d %H:%M")


async def test_the_question_is_asked_on_a_real_terminal(redis, redis_url: str, news: Path, tmp_path: Path) -> None:
    await followers(redis, None, [891, 892])
    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "REDIS_URL", "PRIVACY_KEY"}}
    env |= {"PYTHONPATH": str(ROOT), "REDIS_URL": redis_url, "PRIVACY_KEY": KEY, "DATA_DIR": str(tmp_path)}
    command = ["-m", "bot.cli", "broadcast", "--text-file", str(news), "--case", CASE]  # no --yes
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *command,
        stdin=follower,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    os.close(follower)
    try:
        seen = b""
        while b"[y/N]" not in seen:
            chunk = await asyncio.wait_for(proc.stderr.read(4096), 30)
            assert chunk, seen.decode()
            seen += chunk
        assert b"Send to 2 recipients? [y/N]" in seen
        assert await queued(redis) == [], "nothing before the answer"
        os.write(leader, b"y\n")
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        os.close(leader)
    assert proc.returncode == 0, (seen + err).decode()
    [sent] = await queued(redis)
    assert sent.id == out.decode().strip() and sent.total == 2


async def test_a_send_later_to_nobody_yet_is_asked_about_and_counted_when_it_goes(
    redis, cli: StoreSettings, news: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))
    at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%d %H:%M+00:00")
    assert await queue(cli, news, audience=None, case_id=CASE, language=None, at=at) == 0
    out, err = capsys.readouterr()
    assert "0 recipients as of now? [y/N]" in err and "the audience is counted again then" in err
    assert out.strip().startswith("broadcast:") and await queued(redis) == []
