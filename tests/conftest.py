"""Real parts for tests: a real Redis (own database, cleaned), the Bot API emulator, the running bot."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis as sync_redis

from bot.app import App, running
from bot.content import Library
from bot.emulator import BotAPIEmulator
from bot.settings import Settings
from bot.storage import EmbeddedRedis, client_from_url

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


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis at REDIS_URL or 127.0.0.1:6379 when one answers, else an embedded real one."""
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
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    async with BotAPIEmulator(token=TOKEN, bot_username="rrbot_test_bot") as emu:
        yield emu


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
        _env_file=None,
    )


@pytest.fixture
def library() -> Library:
    return Library.load(CONTENT)


@pytest.fixture
async def app(settings: Settings, redis, library: Library) -> AsyncIterator[App]:
    async with running(settings, redis, library) as app:
        yield app
