"""The `rrbot` command as a coordinator or operator meets it."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import gc
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.wiring import build_app
from bot.cli import main as cli_main
from bot.content import Library
from bot.ground.privacy import Pseudonymizer
from bot.ground.settings import Settings
from bot.pledges.store import Store
from emulator import BotAPIEmulator
from handlers import detach_routers, get_routers
from tests.conftest import CONTENT, ROOT, TOKEN
from tests.servers import RedisProcess

pytestmark = pytest.mark.timeout(120)


def rrbot(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "REDIS_URL", "PRIVACY_KEY", "CONTENT_DIR"}}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**base, "PYTHONPATH": str(ROOT), **(env or {})},
        cwd=cwd,
        stdin=subprocess.DEVNULL,  # no terminal: a question would be refused, never waited for
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def broken_content(tmp_path: Path) -> Path:
    content = tmp_path / "content"
    shutil.copytree(CONTENT, content)
    case = content / "cases" / "ua-84-11.yaml"
    text = case.read_text(encoding="utf-8").replace('fax: "+7 499 241 21 75"', 'fax: "call me"', 1)
    assert "call me" in text, "the seed's second fax line changed: update this test"
    case.write_text(text, encoding="utf-8")
    return content


def test_check_passes_on_the_shipped_content() -> None:
    result = rrbot("check", "content")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout


def test_check_reports_file_and_line_of_a_broken_case(broken_content: Path) -> None:
    result = rrbot("check", str(broken_content))
    assert result.returncode != 0
    case = broken_content / "cases" / "ua-84-11.yaml"
    line = next(i for i, text in enumerate(case.read_text(encoding="utf-8").splitlines(), 1) if "call me" in text)
    assert f"ua-84-11.yaml:{line}: targets.1.fax:" in result.stdout + result.stderr


def test_run_refuses_invalid_content(broken_content: Path, tmp_path: Path) -> None:
    result = rrbot("run", env={"BOT_TOKEN": TOKEN, "CONTENT_DIR": str(broken_content), "DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "targets.1.fax" in result.stderr and "refusing to start" in result.stderr


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "BOT_TOKEN is required"),
        ({"BOT_TOKEN": "  "}, "BOT_TOKEN is required"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN is malformed"),
        ({"BOT_TOKEN": TOKEN, "ADMIN_IDS": "12,abc"}, "ADMIN_IDS"),
        ({"BOT_TOKEN": TOKEN, "REDIS_URL": "http://example"}, "REDIS_URL"),
        ({"BOT_TOKEN": TOKEN, "DEFAULT_TIMEZONE": "Mars/Base"}, "DEFAULT_TIMEZONE"),
        ({"BOT_TOKEN": TOKEN, "PRIVACY_KEY": "short"}, "PRIVACY_KEY is too short"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "https://bot.example.org/tg"}, "WEBHOOK_SECRET is required"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_URL": "http://bot.example.org/tg", "WEBHOOK_SECRET": "s" * 20}, "https://"),
        ({"BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": "has spaces in it, not allowed"}, "WEBHOOK_SECRET is invalid"),
        ({"BOT_TOKEN": TOKEN, "PORT": "99999"}, "PORT"),
    ],
)
def test_bad_settings_stop_start_up_with_one_line(env: dict[str, str], expected: str, tmp_path: Path) -> None:
    result = rrbot("run", env={"DATA_DIR": str(tmp_path), **env}, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "not-a-token" not in result.stderr, "a secret is never echoed, even a wrong one"


def test_run_says_in_one_line_when_redis_is_away(tmp_path: Path) -> None:
    env = {
        "BOT_TOKEN": TOKEN,
        "REDIS_URL": "redis://user:secret-pw@127.0.0.1:1/0",
        "PRIVACY_KEY": "k" * 20,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    result = rrbot("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rrbot: cannot reach Redis at 127.0.0.1:1 (REDIS_URL)"), lines
    assert "Unclosed" not in result.stderr and "secret-pw" not in result.stderr


def test_run_gives_up_on_a_redis_that_never_answers(tmp_path: Path) -> None:
    """A server that takes the connection and says nothing (frozen, swapping): one line within seconds."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        env = {
            "BOT_TOKEN": TOKEN,
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "PRIVACY_KEY": "k" * 20,
            "DATA_DIR": str(tmp_path),
            "LOG_LEVEL": "WARNING",
        }
        started = time.monotonic()
        result = rrbot("run", env=env, cwd=tmp_path)
    assert time.monotonic() - started < 20
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1] == f"rrbot: cannot reach Redis at 127.0.0.1:{port} (REDIS_URL): "
        "no answer within 10 s"
    )
    assert "Traceback" not in result.stderr


async def test_stats_json_counts_subscribers_and_pledges(tmp_path: Path, redis_url: str, redis) -> None:
    store = Store(redis, Pseudonymizer(b"k" * 32))
    for user in (1, 2, 3):
        await store.subscribe(user, "ua-84-11")
    await store.pledge(1, "ua-84-11", "letter")
    await store.pledge(2, "ua-84-11", "letter")
    await store.pledge(2, "ua-84-11", "tweet")
    result = rrbot("stats", "--json", env={"DATA_DIR": str(tmp_path), "REDIS_URL": redis_url})
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)["cases"]["ua-84-11"]
    assert figures["subscribers"] == 3
    assert figures["pledges"] == {"letter": 2, "email": 0, "fax": 0, "tweet": 1, "share": 0}
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert figures["daily"] == {today: {"letter": 2, "tweet": 1}}


async def test_stats_csv_writes_one_file_per_table_with_commas_or_semicolons(
    tmp_path: Path, redis_url: str, redis
) -> None:
    store = Store(redis, Pseudonymizer(b"k" * 32))
    await store.subscribe(1, "ua-84-11")
    await store.pledge(1, "ua-84-11", "letter", official="chaika")
    env = {"DATA_DIR": str(tmp_path), "REDIS_URL": redis_url, "DEFAULT_LANGUAGE": "ru"}
    for option, delimiter in ((["--delimiter", ","], ","), (["--delimiter", ";"], ";"), (["--excel-locale"], ";")):
        out = tmp_path / f"figures{len(option)}{delimiter}"
        result = rrbot("stats", "--csv", str(out), *option, env=env)
        assert result.returncode == 0, result.stderr
        names = ["pledges-per-day.csv", "subscribers.csv", "pledges-per-official.csv"]
        assert result.stdout.split() == [str(out / name) for name in names]
        officials = (out / "pledges-per-official.csv").read_bytes()
        assert officials.startswith(b"\xef\xbb\xbf"), "a byte order mark: Excel reads the Cyrillic right"
        rows = list(csv.reader(io.StringIO(officials.decode("utf-8-sig")), delimiter=delimiter))
        assert rows == [
            ["case", "official", "name", "action", "count"],
            ["ua-84-11", "chaika", "Ю. Я. Чайка", "letter", "1"],
        ]
        subscribers = (out / "subscribers.csv").read_bytes().decode("utf-8-sig")
        assert (
            subscribers
            == delimiter.join(["case", "subscribers", "pledges"])
            + "\r\n"
            + delimiter.join(["ua-84-11", "1", "1"])
            + "\r\n"
        )
    refused = rrbot("stats", "--csv", str(tmp_path / "x"), "--delimiter", "|", env=env)
    assert refused.returncode == 2 and "invalid choice" in refused.stderr


async def rrbot_async(*args: str, env: dict[str, str]) -> tuple[int, str]:
    """rrbot in a subprocess while this test's event loop keeps serving the emulator: its status and stderr."""
    code, _, err = await rrbot_output(*args, env=env)
    return code, err


async def rrbot_output(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """rrbot in a subprocess while this test's event loop keeps serving the emulator: status, stdout, stderr."""
    base = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "REDIS_URL", "PRIVACY_KEY"}}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.parametrize("where", ["refused", "unreachable"])
async def test_run_says_in_one_line_when_telegram_refuses_or_is_away(
    where: str, emulator: BotAPIEmulator, redis_url: str, tmp_path: Path
) -> None:
    other_token = "987654321:a-token-this-emulator-does-not-know"
    env = {
        "BOT_TOKEN": f" {other_token}\n" if where == "refused" else TOKEN,  # padding as pasted
        "TELEGRAM_API_URL": emulator.base_url if where == "refused" else "http://127.0.0.1:9",
        "REDIS_URL": redis_url,
        "PRIVACY_KEY": "p" * 32,
        "DATA_DIR": str(tmp_path),
    }
    code, err = await rrbot_async("run", env=env)
    lines = [line for line in err.splitlines() if line.startswith("rrbot:")]
    assert code == 2 and len(lines) == 1, err
    assert ("401" in lines[0]) if where == "refused" else ("cannot reach" in lines[0])
    assert "Traceback" not in err and "Unclosed" not in err
    assert other_token not in err


@pytest.fixture
def silent_redis() -> Iterator[tuple[str, socket.socket]]:
    """A port that takes connections and never answers: whether the bot called it is seen afterwards."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0", listener


def called(listener: socket.socket) -> bool:
    """Whether anything connected: the kernel queues a connection even when nobody accepts it."""
    listener.setblocking(False)
    try:
        listener.accept()[0].close()
    except BlockingIOError:
        return False
    return True


@pytest.mark.parametrize("problem", ["no privacy key", "damaged key file", "data dir not a directory", "content"])
async def test_offline_problems_stop_start_up_before_redis_or_telegram_is_called(
    problem: str,
    emulator: BotAPIEmulator,
    silent_redis: tuple[str, socket.socket],
    broken_content: Path,
    tmp_path: Path,
) -> None:
    redis_url, listener = silent_redis
    data = tmp_path / "data"
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "DATA_DIR": str(data),
        "CONTENT_DIR": str(CONTENT),
    }
    expected = "rrbot: cannot use the privacy key in DATA_DIR="
    if problem == "no privacy key":
        env["REDIS_URL"] = redis_url
        expected = "rrbot: PRIVACY_KEY is required when REDIS_URL is set"
    elif problem == "damaged key file":
        data.mkdir()
        (data / "privacy.key").write_text("not a key\n")
    elif problem == "data dir not a directory":
        data.write_text("a file where the data should go")
    else:
        env |= {"REDIS_URL": redis_url, "PRIVACY_KEY": "p" * 32, "CONTENT_DIR": str(broken_content)}
        expected = "rrbot: refusing to start: 1 problem(s)"
    started = time.monotonic()
    code, _, err = await rrbot_output("run", env=env)
    assert code != 0
    lines = err.strip().splitlines()
    if problem == "content":  # the report, file:line for each problem, then the verdict
        assert len(lines) == 2 and "targets.1.fax" in lines[0] and lines[1].startswith(expected), err
    else:
        assert len(lines) == 1 and lines[0].startswith(expected), err
    assert emulator.calls == [], "Telegram was called before the offline checks were done"
    assert not called(listener), "Redis was called before the offline checks were done"
    assert time.monotonic() - started < 20


async def test_telegram_refusing_the_token_after_get_me_leaves_one_line_and_nothing_unclosed(
    emulator: BotAPIEmulator, redis_url: str, tmp_path: Path
) -> None:
    """Revoked while the bot publishes its profile and starts polling: one line, the sessions closed."""
    emulator.inject("setMyCommands", 401, "Unauthorized")
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "REDIS_URL": redis_url,
        "PRIVACY_KEY": "p" * 32,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    code, _, err = await rrbot_output("run", env=env)
    assert [c.method for c in emulator.calls][0] == "getMe"
    assert code == 2
    assert err.strip().splitlines() == [
        "rrbot: BOT_TOKEN was refused by Telegram (401 Unauthorized): check it with @BotFather"
    ], err


async def test_redis_lost_after_telegram_answered_leaves_one_line_and_nothing_unclosed(
    emulator: BotAPIEmulator, redis_process: RedisProcess, tmp_path: Path
) -> None:
    """Redis goes while the bot is being built, after Telegram knew the token: both bots' sessions are closed."""
    emulator.delay("getMe", 1.5)  # the answer is late; Redis is killed meanwhile
    env = {
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "REDIS_URL": redis_process.url,
        "PRIVACY_KEY": "p" * 32,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    run = asyncio.create_task(rrbot_output("run", env=env))
    await emulator.wait_for(lambda: emulator.calls, timeout=30)
    redis_process.kill()
    code, _, err = await run
    assert [c.method for c in emulator.calls] == ["getMe"]
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"rrbot: cannot reach Redis at 127.0.0.1:{redis_process.port}"), err


# What a person's first message needs none of: charts, the printed letter, reading times and Urgent Actions.
HEAVY = ("matplotlib", "fpdf", "fontTools", "pypdf", "PIL", "numpy", "dateparser", "bot.importer.parse")
LOADED_AT_EXIT = f"""
import atexit, sys
atexit.register(lambda: print("loaded:", *[m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr))
from bot.cli.main import main
sys.exit(main(["run"]))
"""


async def test_run_answers_a_first_message_without_loading_the_heavy_libraries(
    emulator: BotAPIEmulator, redis_url: str, redis, tmp_path: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "REDIS_URL", "PRIVACY_KEY", "CONTENT_DIR"}},
        "PYTHONPATH": str(ROOT),
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": emulator.base_url,
        "REDIS_URL": redis_url,
        "PRIVACY_KEY": "p" * 32,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LOADED_AT_EXIT, env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
    )
    try:
        await emulator.wait_for(lambda: any(c.method == "getUpdates" for c in emulator.calls), timeout=30)
        emulator.add_user(4242, first_name="Ann", language_code="en")
        emulator.user_sends(4242, "/start")
        await emulator.wait_for(lambda: (emulator.last_message(4242) or {}).get("from", {}).get("is_bot"), timeout=30)
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode()
    assert err.decode().strip().splitlines()[-1] == "loaded:", err.decode()


async def test_collection_is_back_on_once_the_app_is_built(settings: Settings, redis, library: Library) -> None:
    """`rrbot run` starts with the garbage collector off (bot.cli.main); left off, every cycle would leak for good."""
    gc.disable()
    try:
        app = await build_app(settings, redis, library)
        try:
            assert gc.isenabled()
        finally:
            detach_routers(get_routers(settings))
            await app.close()
    finally:
        gc.enable()


async def test_broadcast_from_the_command_line_reaches_subscribers(
    app, emulator: BotAPIEmulator, redis_url: str, tmp_path: Path
) -> None:
    for chat in (701, 702, 703):
        emulator.add_user(chat, first_name="S", language_code="en")
        await app.store.subscribe(chat, "ua-84-11")
    text = tmp_path / "update.html"
    text.write_text("<b>UA 84/11</b>: letters still needed &amp; welcome.", encoding="utf-8")
    env = {"REDIS_URL": redis_url, "PRIVACY_KEY": "test-privacy-key-0123456789abcdef", "DATA_DIR": str(tmp_path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "broadcast",
        "--text-file",
        str(text),
        "--case",
        "ua-84-11",
        "--yes",
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    bc_id = out.decode().strip()

    async def delivered() -> None:
        while (await app.broadcasts.progress(bc_id)).state.value != "done":
            await asyncio.sleep(0.1)

    await asyncio.wait_for(delivered(), 20)
    for chat in (701, 702, 703):
        assert emulator.last_message(chat)["text"] == "UA 84/11: letters still needed & welcome."
    code, err_text = await rrbot_async("broadcast", "status", bc_id, "--json", env=env)
    assert code == 0


async def test_broadcast_status_and_cancel(redis, redis_url: str, tmp_path: Path) -> None:
    env = {"REDIS_URL": redis_url, "PRIVACY_KEY": "p" * 32, "DATA_DIR": str(tmp_path)}
    await Store(redis, Pseudonymizer(b"p" * 32)).start(704)  # someone to send to: an empty audience queues nothing
    text = tmp_path / "t.html"
    text.write_text("Hello <i>all</i>", encoding="utf-8")
    queued = rrbot("broadcast", "--text-file", str(text), "--everyone", "--yes", env=env)
    assert queued.returncode == 0, queued.stderr
    bc_id = queued.stdout.strip()
    status = json.loads(rrbot("broadcast", "status", bc_id, "--json", env=env).stdout)
    assert status["id"] == bc_id and status["state"] in {"queued", "running", "done"}
    cancelled = rrbot("broadcast", "cancel", bc_id, env=env)
    assert cancelled.returncode == 0 and ("cancelled" in cancelled.stdout or "done" in cancelled.stdout)
    assert rrbot("broadcast", "status", "999", env=env).returncode == 2


@pytest.mark.parametrize(
    ("text", "args", "expected"),
    [
        ("<blink>hi</blink>", [], "Telegram would refuse this HTML"),
        ("", [], "is empty"),
        ("hi", ["--audience", "not-acted"], "needs --case"),
        ("hi", ["--case", "no-such-case"], "no case"),
    ],
)
def test_broadcast_refuses_bad_input_clearly(
    text: str, args: list[str], expected: str, tmp_path: Path, redis_url: str
) -> None:
    path = tmp_path / "t.html"
    path.write_text(text, encoding="utf-8")
    result = rrbot(
        "broadcast",
        "--text-file",
        str(path),
        *args,
        env={"REDIS_URL": redis_url, "PRIVACY_KEY": "p" * 32, "DATA_DIR": str(tmp_path)},
    )
    assert result.returncode == 2 and expected in result.stderr, result.stderr


def test_import_help_lists_every_input_it_takes_and_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["import", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for words in (
        "a PDF with a text layer",
        "UTF-16/UTF-32",
        "EXTRA UAs",
        "final notices",
        "a scanned PDF",
        "password-protected",
        "not an Urgent Action",
        "several UAs",
        "exit 1",
    ):
        assert words in shown, words
