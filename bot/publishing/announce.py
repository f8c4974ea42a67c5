"""A case goes live: its alert to everyone, through the delivery engine, once. No aiogram here.

Used by `rrbot publish` and, with the importer, by the coordinators' publish button. Texts come
from the renderer, one variant per UI language: each recipient reads the alert in their own. With a
channel (CHANNEL_ID), the alert and each update are posted there too (bot.publishing.channel).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.content import Case, Status
from bot.content.states import CaseStates, CaseUpdate, UpdateKind, check_change, overlay, state_changes
from bot.delivery import Broadcasts, Payload, Purpose
from bot.delivery.audiences import MessageKind, audience
from bot.ground.audit import Action, Who
from bot.ground.i18n import load_translations
from bot.ground.settings import StoreSettings
from bot.publishing.channel import Channel, post
from bot.render import Renderer, Screen
from bot.render.formatting import ua_reference

logger = logging.getLogger(__name__)


UPDATE_MESSAGES = {
    UpdateKind.news: MessageKind.update,
    UpdateKind.closed: MessageKind.closure,
    UpdateKind.extended: MessageKind.extension,
}


def make_renderer(settings: StoreSettings, bot_username: str = "") -> Renderer:
    """The renderer as the bot builds it; without the bot's username, screens carry no deep links."""
    return Renderer(
        Path(settings.content_dir) / "templates",
        load_translations(Path(settings.content_dir) / "locales"),
        bot_username=bot_username,
        default_language=settings.default_language,
        default_timezone=settings.default_timezone,
    )


def screen_payload(screen: Screen) -> Payload:
    """A screen as a broadcast message: its text and its buttons (URL or callback)."""
    rows = []
    for row in screen.buttons:
        buttons = []
        for button in row:
            if button.callback:
                buttons.append({"text": button.text, "callback_data": button.callback})
            elif button.url:
                buttons.append({"text": button.text, "url": button.url})
        if buttons:
            rows.append(buttons)
    return Payload(screen.text, buttons=rows)


def localized(renderer: Renderer, build: Callable[[str], Screen], *, counted: bool = False) -> Payload:
    """One payload in the default language, with the others as variants; `counted`: the report says how many
    got each language (a coordinator wrote the text in several)."""
    default = renderer.default_language
    variants = {
        lang: replace(screen_payload(build(lang)), lang=lang if counted else "")
        for lang in renderer.languages
        if lang != default
    }
    base = screen_payload(build(default))
    return Payload(base.text, base.photo, base.buttons, variants, lang=default if counted else "")


async def announce(
    broadcasts: Broadcasts,
    renderer: Renderer,
    case: Case,
    now: dt.datetime,
    *,
    created_by: int | None = None,
    send_at: float | None = None,
    channel: Channel | None = None,
    by: Who | None = None,
) -> str | None:
    """Queue the alert of a newly published case for its audience; None when it already went out.

    Everyone who receives it follows the case from then on (docs/AUDIENCES.md); the card says so.
    With a `channel`, a post there is queued too, due with it.

    The mark is taken before queueing, so two coordinators publishing at once (or a retried
    command) reach everyone once.
    """
    mark = broadcasts.key("announced", case.id)
    # A process killed while queueing leaves the mark only briefly: publishing again then works.
    if not await broadcasts.redis.set(mark, "queueing", nx=True, ex=600):
        logger.info("The alert of case %r was already queued", case.id)
        return None
    payload = localized(
        renderer, lambda lang: renderer.card(case, lang, now, subscribed=True, letters_sent=0, alert=True)
    )
    # Speed first: a new case's alert reaches people in their night at once, without a sound (bot.ground.quiet).
    payload = replace(payload, urgent=True)
    try:
        purpose = Purpose("alert", ua_reference(case))
        bc_id = await broadcasts.enqueue(
            payload, audience(MessageKind.alert, case.id), created_by=created_by, send_at=send_at, purpose=purpose
        )
    except BaseException:
        await broadcasts.redis.delete(mark)  # nothing went out: publishing again may retry
        raise
    await broadcasts.redis.set(mark, bc_id)
    await broadcasts.audit.record(Action.publish, by or created_by, case=case.id, bc=bc_id, title=ua_reference(case))
    logger.info("Alert of case %r queued as broadcast %r", case.id, bc_id)
    if channel is not None:
        await post(
            broadcasts,
            renderer,
            channel,
            lambda bot: screen_payload(
                renderer.channel_alert(case, channel.lang, now, letters_sent=0, bot_username=bot)
            ),
            purpose,
            created_by=created_by,
            send_at=send_at,
        )
    return bc_id


async def announced(broadcasts: Broadcasts, case_id: str) -> str | None:
    """The broadcast that carried a case's alert, if it went out."""
    return await broadcasts.redis.get(broadcasts.key("announced", case_id))


async def publish_update(
    broadcasts: Broadcasts,
    renderer: Renderer,
    cases: CaseStates,
    case: Case,
    kind: UpdateKind,
    text: str,
    now: dt.datetime,
    *,
    deadline: dt.date | dt.datetime | None = None,
    letters_sent: int = 0,
    created_by: int | None = None,
    number: int | None = None,
    reopen: bool = False,
    versions: dict[str, str] | None = None,
    channel: Channel | None = None,
    by: Who | None = None,
) -> tuple[CaseUpdate, str]:
    """Record an update of a case and queue it for the case's followers (and the `channel`, if any); returns it
    and its broadcast id.

    `versions`: the text in other UI languages; a follower whose language has one reads it, the others `text`.

    Raises ChangeRefused, before anything is recorded, for an update that cannot be true (check_change).
    Every bot process reloads the case within seconds (the content version moves), and the one
    running the scheduler moves or drops the case's reminders.
    """
    day = deadline.date() if isinstance(deadline, dt.datetime) else deadline
    zone = renderer.default_timezone
    today = now.astimezone(ZoneInfo(case.timezone or zone)).date()
    check_change(case, kind, deadline=day, today=today, default_tz=zone, reopen=reopen)
    update = await cases.record(case, kind, text, deadline=deadline, at=now.timestamp(), number=number, reopen=reopen)
    changed = overlay(case, {"update": str(update.number), **state_changes(kind, deadline, reopen)})
    shown = {
        "number": update.number,
        "kind": kind.value,
        "letters_sent": letters_sent,
        "reopened": reopen and case.status == Status.closed,
    }

    def text_in(lang: str) -> str:
        return (versions or {}).get(lang, text)

    payload = localized(
        renderer,
        lambda lang: renderer.case_update(changed, lang, now, text=text_in(lang), **shown),
        counted=bool(versions),
    )
    purpose = Purpose("update", ua_reference(case), update.number)
    bc_id = await broadcasts.enqueue(
        payload, audience(UPDATE_MESSAGES[kind], case.id), created_by=created_by, purpose=purpose
    )
    action = Action.close if kind == UpdateKind.closed else Action.update
    await broadcasts.audit.record(
        action, by or created_by, case=case.id, bc=bc_id, title=f"{ua_reference(case)}: {text}"
    )
    logger.info("Update %d of case %r queued as broadcast %r", update.number, case.id, bc_id)
    if channel is not None:
        await post(
            broadcasts,
            renderer,
            channel,
            lambda bot: screen_payload(
                renderer.channel_update(
                    changed, channel.lang, now, bot_username=bot, text=text_in(channel.lang), **shown
                )
            ),
            purpose,
            created_by=created_by,
        )
    return update, bc_id
