"""Settings, read once at start-up from the environment (and an optional .env file)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, TypeVar

from pydantic import (
    AnyUrl,
    BeforeValidator,
    Field,
    SecretStr,
    UrlConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

OFFICIAL_API = "https://api.telegram.org"
# redis-py also takes unix sockets, which pydantic's RedisDsn refuses; redis+cluster:// names any node of a Cluster.
RedisUrl = Annotated[
    AnyUrl, UrlConstraints(allowed_schemes=["redis", "rediss", "unix", "redis+cluster", "rediss+cluster"])
]
PACKAGE_ROOT = Path(__file__).resolve().parents[2]  # bot/ground/settings.py -> the checkout


def _default_content_dir() -> Path:
    # A source checkout runs from its root; an installed copy falls back to the content beside the package.
    local = Path("content")
    return local if (local / "cases").is_dir() else PACKAGE_ROOT / "content"


def _duration(value: object) -> object:
    if isinstance(value, str):
        from bot.ground.durations import parse_duration

        try:
            return parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"is invalid: {exc}") from None
    return value


Duration = Annotated[dt.timedelta, BeforeValidator(_duration), Field(gt=dt.timedelta(0))]


class StoreSettings(BaseSettings):
    """What the command-line tools need: everything but the bot token."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_api_url: str = Field(default=OFFICIAL_API, pattern=r"^https?://[^\s/]+(?::\d+)?(/\S*)?$")
    redis_url: RedisUrl | None = None
    # REDIS_URL is one node of a Redis Cluster (as a redis+cluster:// URL says too): keys spread over its masters.
    redis_cluster: bool = False
    data_dir: Path = Path("data")
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    content_dir: Path = Field(default_factory=_default_content_dir)
    default_language: str = Field(default="en", pattern=r"^[a-z]{2,3}$")
    default_timezone: str = "UTC"
    privacy_key: SecretStr | None = None  # at least 16 characters: it keys every pledge record
    # Telegram allows about 30 messages a second to different chats; paid broadcasts up to 1,000.
    broadcast_rate: float = Field(default=30.0, gt=0, le=1000)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    # Reminders in whole days go out at this hour of the case's timezone.
    reminder_hour: int = Field(default=10, ge=0, le=23)
    # "Remind me later" waits this long; a job the bot was down for still runs within the grace window.
    remind_later: Duration = dt.timedelta(hours=3)
    schedule_grace: Duration = dt.timedelta(hours=6)
    # Per-user pledge records of a closed case are deleted this many days after it closed; totals stay.
    retention_days: int = Field(default=30, ge=0, le=3650)
    # Webhook mode when WEBHOOK_URL is set (Telegram calls us); long polling otherwise. PORT serves the
    # webhook and /healthz and /metrics; in polling mode those two only when PORT is set.
    webhook_url: AnyUrl | None = None
    webhook_secret: SecretStr | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    # Taps and messages one user may send in a burst, then per second: a flood from one person must not
    # slow everyone else or skew the counters.
    user_burst: int = Field(default=10, ge=1, le=1000)
    user_rate: float = Field(default=2.0, gt=0, le=100)
    # A person's night in their own timezone (bot.ground.quiet): reminders and messages not marked urgent wait
    # for its end, urgent ones go without a sound. Equal ends ("00:00-00:00") turn quiet hours off.
    quiet_hours: str = Field(default="21:00-08:00", pattern=r"^\d{1,2}:\d{2}(:\d{2})?-\d{1,2}:\d{2}(:\d{2})?$")
    # The organisation's Telegram channel: each alert and update is posted there too, with a "Take action" button
    # into the bot. The bot must be an administrator of the channel, allowed to post.
    channel_id: int | None = None
    channel_language: str | None = Field(default=None, pattern=r"^[a-z]{2,3}$")  # unset: DEFAULT_LANGUAGE

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            if not all(p.lstrip("-").isdigit() for p in parts if p):
                raise ValueError("is invalid: expected numeric Telegram user ids, comma-separated")
            return frozenset(int(p) for p in parts if p)
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("channel_id", mode="before")
    @classmethod
    def _channel_shape(cls, value: object) -> object:
        # A channel's id is -100 followed by its number (a forwarded post or the channel's link shows it); an
        # @username cannot be queued with the subscribers' chat ids.
        raw = str(value).strip() if value is not None else ""
        if raw and not re.fullmatch(r"-100\d{5,16}", raw):
            raise ValueError("is invalid: expected the channel's numeric id, like -1001234567890 (not its @name)")
        return int(raw) if raw else None

    @property
    def channel_lang(self) -> str:
        """The language the channel's posts are written in."""
        return self.channel_language or self.default_language

    @field_validator("webhook_url")
    @classmethod
    def _https_webhook(cls, value: AnyUrl | None) -> AnyUrl | None:
        # Telegram calls https only; plain http is for a local emulator or a test.
        local = value is not None and value.host in ("127.0.0.1", "localhost", "::1", "[::1]")
        if value is not None and value.scheme != "https" and not (value.scheme == "http" and local):
            raise ValueError("is invalid: expected the https:// address Telegram should call")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and -.
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{16,256}", value.get_secret_value()):
            raise ValueError("is invalid: use 16 to 256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @model_validator(mode="after")
    def _webhook_complete(self) -> StoreSettings:
        if self.webhook_url is not None:
            if self.webhook_secret is None:
                # Without it anyone who finds the URL can feed the bot forged updates.
                raise ValueError("WEBHOOK_SECRET is required with WEBHOOK_URL")
            if self.port is None:
                self.port = 8080
        return self

    @model_validator(mode="after")
    def _cluster_url(self) -> StoreSettings:
        url = self.redis_url
        cluster = url is not None and url.scheme.endswith("+cluster")
        if not (self.redis_cluster or cluster):
            return self
        if url is None:
            raise ValueError("REDIS_CLUSTER needs REDIS_URL: the address of any node of the cluster")
        if url.scheme == "unix":
            raise ValueError("REDIS_CLUSTER needs a host:port REDIS_URL: a cluster is not reached by a unix socket")
        if (url.path or "/").strip("/") not in ("", "0"):
            raise ValueError("REDIS_URL is invalid: a Redis Cluster has database 0 only")
        if not cluster:
            self.redis_url = AnyUrl(url.scheme + "+cluster" + str(url)[len(url.scheme) :])
        self.redis_cluster = True
        return self

    @field_validator("privacy_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 16:
            raise ValueError("is too short: use at least 16 random characters")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception:
            raise ValueError(f"is invalid: unknown timezone {value!r} (use a name like Europe/Moscow)") from None
        return value


class Settings(StoreSettings):
    bot_token: SecretStr

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token_shape(cls, value: object) -> object:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not isinstance(raw, str):
            return value
        raw = raw.strip()  # pasted tokens often carry a space or a newline
        if not raw:
            raise ValueError("is required but not set")
        if not re.fullmatch(r"\d{3,20}:[A-Za-z0-9_-]{20,}", raw):
            # Never echo the value: it is a secret even when it is wrong.
            raise ValueError("is malformed: expected the token @BotFather gave you, like 123456:ABC-DEF...")
        return raw


S = TypeVar("S", bound=StoreSettings)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


def load_settings(cls: type[S] = Settings, **overrides: object) -> S:  # type: ignore[assignment]
    """Load and validate settings, turning pydantic's report into one clear line."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else ""
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        if first["type"] == "missing":
            reason = "is required but not set"
        elif first["type"] == "value_error":
            reason = str(first["ctx"]["error"])  # our validators speak in whole phrases
        else:
            reason = f"is invalid: {first['msg']}"
        raise SettingsError(f"{name} {reason}{more}".strip()) from None
