"""Settings, read once at start-up from the environment (and an optional .env file)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class SentinelTarget:
    """Where Redis is when Sentinel names the master: every process asks the sentinels, and asks again on failover."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # the master's and replicas' (requirepass)
    sentinel_password: str | None = field(default=None, repr=False)  # the sentinels' own, when they have one

    def __str__(self) -> str:
        # Never the passwords: this goes into error lines.
        return f"{self.master} via " + ",".join(f"{host}:{port}" for host, port in self.sentinels)


def _sentinel_list(value: object) -> object:
    """REDIS_SENTINELS: "host:port,host:port" ([v6]:port for IPv6) -> ((host, port), ...)."""
    if not isinstance(value, str):
        return value
    found = []
    for item in (p.strip() for p in value.replace(";", ",").split(",")):
        if not item:
            continue
        shape = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^\s:\[\]]+):(\d{1,5})", item)
        port = int(shape.group(2) or shape.group(4)) if shape else 0
        if shape is None or not 0 < port < 65536:
            raise ValueError(f"is invalid: {item!r} is not host:port (expected e.g. 10.0.0.1:26379,10.0.0.2:26379)")
        found.append((shape.group(1) or shape.group(3), port))
    return tuple(found)


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
    # Redis Sentinel instead of REDIS_URL: the sentinels to ask and the name they know the master by; every
    # process follows the master through a failover. REDIS_PASSWORD is the master's and replicas' password,
    # REDIS_SENTINEL_PASSWORD the sentinels' own (unset: they have none); REDIS_DB the database number.
    redis_sentinels: Annotated[tuple[tuple[str, int], ...], NoDecode, BeforeValidator(_sentinel_list)] = ()
    redis_sentinel_master: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    redis_username: str | None = None
    redis_password: SecretStr | None = None
    redis_sentinel_password: SecretStr | None = None
    redis_db: int = Field(default=0, ge=0, le=15)
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
    def _one_redis(self) -> StoreSettings:
        if self.redis_sentinels and self.redis_url is not None:
            raise ValueError("REDIS_URL and REDIS_SENTINELS are both set: use one (Sentinel names the master itself)")
        if self.redis_sentinels and not self.redis_sentinel_master:
            raise ValueError("REDIS_SENTINEL_MASTER is required with REDIS_SENTINELS (the name in 'sentinel monitor')")
        if self.redis_sentinel_master and not self.redis_sentinels:
            raise ValueError("REDIS_SENTINELS is required with REDIS_SENTINEL_MASTER (host:port of each sentinel)")
        return self

    @property
    def redis_sentinel(self) -> SentinelTarget | None:
        """The Sentinel setup, or None when Redis is REDIS_URL or the embedded one."""
        if not self.redis_sentinels or not self.redis_sentinel_master:
            return None
        return SentinelTarget(
            sentinels=self.redis_sentinels,
            master=self.redis_sentinel_master,
            db=self.redis_db,
            username=self.redis_username,
            password=self.redis_password.get_secret_value() if self.redis_password else None,
            sentinel_password=self.redis_sentinel_password.get_secret_value() if self.redis_sentinel_password else None,
        )

    @property
    def redis_target(self) -> str | SentinelTarget | None:
        """What open_redis connects to: Sentinel's master, REDIS_URL, or None for the embedded Redis."""
        return self.redis_sentinel or (str(self.redis_url) if self.redis_url is not None else None)

    @property
    def shared_redis(self) -> bool:
        """Redis is a server of its own (not embedded): other processes may share it."""
        return self.redis_url is not None or bool(self.redis_sentinels)

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
