"""Keyed pseudonyms: pledges are stored under an HMAC of the user id, never the id itself."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from bot.ground.settings import SettingsError, StoreSettings

logger = logging.getLogger(__name__)

KEY_FILE = "privacy.key"


class Pseudonymizer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("PRIVACY_KEY must be at least 16 bytes")
        self._key = key

    def user(self, user_id: int) -> str:
        """A stable pseudonym for a user: 20 hex chars are plenty against collisions and short in Redis."""
        return hmac.new(self._key, b"user:%d" % user_id, hashlib.sha256).hexdigest()[:20]

    def seed(self, user_id: int, case_id: str) -> bytes:
        """Per user and case randomness, stable, for choosing letter variants."""
        return hmac.new(self._key, f"variant:{user_id}:{case_id}".encode(), hashlib.sha256).digest()


def load_or_create_key(data_dir: Path) -> bytes:
    """Read the key from DATA_DIR, creating it once: losing it would un-link every pledge."""
    path = data_dir / KEY_FILE
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex())
    logger.info("Created a new privacy key in %r", str(path))
    return key


def privacy_key(settings: StoreSettings) -> bytes:
    """PRIVACY_KEY, or a key generated once into DATA_DIR when the store is the embedded one."""
    if settings.privacy_key is not None:
        return settings.privacy_key.get_secret_value().encode()
    if settings.shared_redis:
        # Replicas on one Redis must share the key, and it must not live in Redis itself.
        which = "REDIS_URL" if settings.redis_url is not None else "REDIS_SENTINELS"
        raise SettingsError(f"PRIVACY_KEY is required when {which} is set (any random string of 16+ characters)")
    return load_or_create_key(settings.data_dir)
