"""Real parts for tests: a real Redis (own database, cleaned), the Bot API emulator, the running bot."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis as sync_redis

from bot.app.wiring import App, running
from bot.content import Library
from bot.ground.redis_client import EmbeddedRedis, client_from_url
from bot.ground.settings import Settings
from emulator import BotAPIEmulator

# Redis servers of a test's own (the redis_process fixture), for restarts, freezes and a full memory.
pytest_plugins = ["tests.servers"]

ROOT = Path(__file__).resolve().parent.parent
CONTENT = ROOT / "content"
TOKEN = "123456789:TEST-token-for-the-emulator-only"
# Parallel runs (two developers on one machine) pick different databases.
TEST_DB = int(os.environ.get("RRBOT_TEST_DB", "13"))
ADMIN_ID = 9000


def _answers(url: str) -> bool:
    try:
        client = sync_redis.Redis.from_url(url, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except sync_redis.RedisError:
        return False


# "cluster": every test's Redis is a three-master Redis Cluster of its own (tests/redis_cluster.py; tests/test_cluster.py).
TEST_REDIS = os.environ.get("RRBOT_TEST_REDIS", "")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis at REDIS_URL or 127.0.0.1:6379 when one answers, else an embedded real one; with
    RRBOT_TEST_REDIS=cluster, a Redis Cluster started for the session."""
    if TEST_REDIS == "cluster":
        from tests.redis_cluster import ClusterMissingError, RedisClusterProcesses

        try:
            cluster = RedisClusterProcesses(tmp_path_factory.mktemp("cluster"))
        except ClusterMissingError as exc:
            pytest.skip(str(exc))
        try:
            cluster.start()
            yield cluster.url
        finally:
            cluster.stop()
        return
    base = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379"
    if _answers(base):
        parts = urlsplit(base)
        yield urlunsplit((parts.scheme, parts.netloc, f"/{TEST_DB}", parts.query, ""))
        return
    embedded = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    try:
        yield f"{embedded.url}?db={TEST_DB}"
    finally:
        embedded.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator:
    client = client_from_url(redis_url)
    await client.flushdb()  # on a cluster, every master's
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(token=TOKEN, bot_username="rrbot_test_bot") as emu:
        yield emu
        RUN.remember(emu)


@pytest.fixture
def settings(emulator: BotAPIEmulator, tmp_path: Path) -> Settings:
    return Settings(
        bot_token=TOKEN,
        telegram_api_url=emulator.base_url,
        redis_url=None,
        data_dir=tmp_path / "data",
        privacy_key="test-privacy-key-0123456789abcdef",
        content_dir=CONTENT,
        admin_ids=str(ADMIN_ID),
        # Scripted users tap far faster than people; tests/test_abuse.py checks the production limits.
        user_burst=1000,
        user_rate=100,
        # Off, so a test's outcome does not hang on the hour it runs at; tests/test_quiet.py turns them on.
        quiet_hours="00:00-00:00",
        _env_file=None,
    )


@pytest.fixture
def library() -> Library:
    return Library.load(CONTENT)


@pytest.fixture
async def app(settings: Settings, redis, library: Library) -> AsyncIterator[App]:
    async with running(settings, redis, library) as app:
        yield app


# --- the logs of the whole run, for tests/test_zz_logs.py -------------------------------------------


class RunRecords(logging.Handler):
    """Every log record of the run as an operator would read it (message and traceback), and who took part.

    tests/test_zz_logs.py, run last, looks in them for the token, the users' ids and what they typed.
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []
        self.user_ids: set[int] = {ADMIN_ID}
        self.texts: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            self.handleError(record)

    def remember(self, emu: BotAPIEmulator) -> None:
        """The simulated users of one test and the texts and captions they sent."""
        for chat in emu.chats.values():
            if chat.user is None:
                continue
            self.user_ids.add(chat.user["id"])
            for message in chat.messages.values():
                if message.get("from", {}).get("id") == chat.user["id"]:
                    self.texts.update(t for t in (message.get("text"), message.get("caption")) if t)


RUN = RunRecords()


@pytest.fixture(scope="session", autouse=True)
def run_records() -> Iterator[RunRecords]:
    root = logging.getLogger()
    level = root.level
    root.addHandler(RUN)
    root.setLevel(logging.DEBUG)
    try:
        yield RUN
    finally:
        root.removeHandler(RUN)
        root.setLevel(level)


@pytest.fixture(autouse=True)
def _records_kept(run_records: RunRecords) -> None:
    """A test that installs the bot's own logging (setup_logging) replaces the root's handlers: back in."""
    root = logging.getLogger()
    if run_records not in root.handlers:
        root.addHandler(run_records)
    root.setLevel(logging.DEBUG)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The importer's field-level accuracy on the seed, the samples and the es/fr documents; the image's figures."""
    import sys

    from tests.accuracy import LINES

    if LINES:
        terminalreporter.section("importer accuracy")
        for line in LINES:
            terminalreporter.line(line)
    docker = sys.modules.get("tests.test_docker")  # only when it ran: importing it here would collect nothing
    if docker is not None and docker.FIGURES:
        terminalreporter.section("docker image")
        for line in docker.FIGURES:
            terminalreporter.line(line)
