"""Per-update data: who is asking and in which language to answer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n.middleware import I18nMiddleware
from babel.support import Translations

from bot.i18n import negotiate
from bot.pledges import Store
from handlers.storage import prefetched_record


logger = logging.getLogger(__name__)


async def skip_unreadable_updates(
    handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]], event: TelegramObject, data: dict[str, Any]
) -> Any:
    """Updates of a kind this aiogram does not know, or emptied by LenientUpdatesSession, are skipped quietly."""
    if isinstance(event, Update):
        try:
            event.event_type
        except UpdateTypeLookupError:
            logger.info("Skipped update %r of no known type", event.update_id)
            return UNHANDLED
    return await handler(event, data)


class CatalogueI18n(I18n):
    """aiogram's I18n fed straight from the .po catalogues, so there are no compiled files to keep in step."""

    def __init__(self, translations: dict[str, Translations], default_locale: str, locales_dir: Path) -> None:
        self._preloaded = translations
        super().__init__(path=locales_dir, default_locale=default_locale)

    def find_locales(self) -> dict[str, Any]:
        return dict(self._preloaded)


class UserLocaleMiddleware(I18nMiddleware):
    """Loads the user's saved preferences once per update and picks the answer language."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("event_from_user")
        store: Store = data["store"]
        default = self.i18n.default_locale
        if user is None:
            data["lang"] = default
            return default
        prefs = await store.user(user.id, prefetched_record(user.id))
        lang = prefs.lang or negotiate(user.language_code, default)
        data["prefs"] = prefs
        data["lang"] = lang
        return lang
