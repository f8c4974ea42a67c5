"""Coordinators: another coordinator's approval before a hand-written broadcast goes out, and an owner's /approval.

The composer's Send asks ApprovalDesk.held (handlers/broadcast.py, one line): when the owners' rule wants it, the
send waits (bot.delivery.approvals keeps it; the delivery engine never sees it) and the other coordinators get its
preview with Approve and Decline. The first tap decides; the sender hears who decided, and an approved send goes
out as theirs, its progress in their chat. Coordinators only: handlers/__init__.py scopes the router.
"""

from __future__ import annotations

import datetime as dt
import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, User

from bot.content import Library
from bot.delivery import Audience, Broadcasts, OutcomeKind, Payload
from bot.delivery.approvals import Approvals, Request, Rule, Verdict
from bot.ground.audit import Action
from bot.ground.clock import Clock
from bot.ground.quiet import zone_name
from bot.ground.roles import Roles
from bot.ground.settings import Settings
from bot.render import Renderer, Screen
from bot.render.callbacks import Callback
from bot.telegram.keyboards import markup
from bot.telegram.sender import TelegramSender
from handlers.filters import Cb
from handlers.ui import send, show, toast
from scheduler import Scheduler

logger = logging.getLogger(__name__)
router = Router(name="approval")

VERDICTS = {"yes": Verdict.approved, "no": Verdict.declined, "drop": Verdict.withdrawn}
DECISIONS = {Verdict.approved: Action.approve, Verdict.declined: Action.decline}  # in the audit log


def display_name(user: User) -> str:
    """A coordinator as the others know them: their Telegram name, and @username when they have one."""
    return user.full_name + (f" (@{user.username})" if user.username else "")


class ApprovalDesk:
    """What the composer's Send and the approvers' taps share: the requests, who may approve, the texts."""

    def __init__(
        self,
        approvals: Approvals,
        broadcasts: Broadcasts,
        library: Library,
        renderer: Renderer,
        settings: Settings,
        roles: Roles,
    ) -> None:
        self.approvals = approvals
        self.roles = roles  # who may approve: owners and the coordinators they added in chat
        self.broadcasts = broadcasts
        self.library = library
        self.renderer = renderer
        self.settings = settings

    def audience_words(self, audience: Audience, lang: str) -> str:
        return self.renderer.audience_name(
            lang, audience.kind.value, self.library.get(audience.case_id), audience.language
        )

    async def language(self, chat: int) -> str:
        saved = await self.broadcasts.redis.hget(self.broadcasts.key("user", chat), "lang")
        return saved if saved in self.renderer.languages else self.renderer.default_language

    async def set_rule(self, rule: Rule, by: int) -> None:
        """An owner's new rule, in the audit log too (as "everyone · > 500", or "off")."""
        await self.approvals.set_rule(rule, by)
        logger.info("Approval rule set: everyone %r, above %r", rule.everyone, rule.above)
        parts = (["everyone"] if rule.everyone else []) + ([f"> {rule.above}"] if rule.above is not None else [])
        await self.broadcasts.audit.record(Action.approval_rule, by, title=" · ".join(parts) or "off")

    async def zone(self, chat: int) -> str:
        """A coordinator's timezone as /settings shows it (chosen, else guessed from their language), else the
        organisation's: where their times are shown."""
        saved, lang = await self.broadcasts.redis.hmget(self.broadcasts.key("user", chat), ["tz", "lang"])
        return zone_name(saved, lang, self.settings.default_timezone)

    async def _approvers(self, sender: int) -> list[int]:
        """Who may approve a send of `sender`'s: the other coordinators, but for those who sent /stop."""
        return [c for c in await self.broadcasts.audiences.coordinators(await self.roles.everyone()) if c != sender]

    async def nobody_to_ask(self, audience: Audience, sender: int) -> bool:
        """The rule wants another coordinator's approval for this send, and there is none: it cannot go."""
        rule = await self.approvals.rule()
        if rule.off or not rule.requires(audience, await self.broadcasts.count(audience)):
            return False
        return not await self._approvers(sender)

    async def held(
        self,
        event: CallbackQuery | Message,
        payload: Payload,
        audience: Audience,
        lang: str,
        *,
        send_at: dt.datetime | None = None,
    ) -> bool:
        """Send tapped on a previewed draft, or a time given for Send later (the draft taken already): True when it
        now waits for another coordinator's approval (or cannot have it: nobody else to ask), so the composer
        queues or schedules nothing. Approved, one for later is scheduled then."""
        rule = await self.approvals.rule()
        if rule.off:
            return False
        count = await self.broadcasts.count(audience)
        if not rule.requires(audience, count):
            return False
        bot = event.bot
        assert bot is not None and event.from_user is not None, "aiogram binds the bot to every event it delivers"
        sender = event.from_user
        # Coordinators who sent /stop hear nothing, this one included (bot.delivery.audiences).
        others = await self._approvers(sender.id)
        if not others:
            await _answer(event, self.renderer.screen("apv_nobody", lang))
            return True
        request = await self.approvals.request(
            payload, audience, count, sender.id, display_name(sender), send_at=send_at.timestamp() if send_at else None
        )
        zone = await self.zone(sender.id)
        waiting = self.renderer.approval_waiting(
            lang,
            audience=self.audience_words(audience, lang),
            count=count,
            asked=len(others),
            req_id=request.id,
            when=self.renderer.when_words(send_at, lang, zone) if send_at else None,
            zone=zone,
        )
        where = await _answer(event, waiting)
        notices = []
        for chat in others:
            try:
                notices.append(await self._ask(bot, chat, request))
            except TelegramAPIError as exc:
                # Named by nothing: aiogram's error texts may hold the chat id. The others are still asked.
                logger.warning("A coordinator could not be asked to approve a broadcast: %s", exc.message)
        await self.approvals.shown(
            request.id, waiting=(where.chat.id, where.message_id) if where else None, notices=notices
        )
        logger.info("Broadcast request %r for %d recipients waits for approval", request.id, count)
        return True

    async def _ask(self, bot: Bot, chat: int, request: Request) -> tuple[int, int]:
        """The message exactly as recipients will get it (the code that delivers it): every part of every language
        version, each version under its name when there are several; then the question."""
        lang = await self.language(chat)
        send = TelegramSender(bot)
        main = request.payload
        versions = [(main.lang, main), *main.variants.items()]
        for code, version in versions:
            if len(versions) > 1:
                await bot.send_message(chat, self.renderer.version_heading(lang, code))
            for part in version.messages():
                outcome = await send(chat, part)
                if outcome.kind != OutcomeKind.ok:
                    logger.warning("The preview of a broadcast waiting for approval failed: %r", outcome)
        zone = await self.zone(chat)
        when = (
            self.renderer.when_words(dt.datetime.fromtimestamp(request.send_at, dt.UTC), lang, zone)
            if request.send_at
            else None
        )
        screen = self.renderer.approval_ask(
            lang,
            sender=request.sender_name,
            audience=self.audience_words(request.audience, lang),
            count=request.count,
            req_id=request.id,
            when=when,
            zone=zone,
        )
        sent = await bot.send_message(chat, screen.text, reply_markup=markup(screen))
        return chat, sent.message_id

    async def settle(self, bot: Bot, request: Request) -> None:
        """A decided request on every message that showed it: each approver's, and the sender's (a new message
        too, as an edit does not notify)."""
        name = request.decider_name
        for chat, message_id in request.notices:
            later = request.send_at is not None
            screen = self.renderer.approval_decided(await self.language(chat), request.state, name, later=later)
            await _edit(bot, chat, message_id, screen)
        lang = await self.language(request.sender)
        verdict = self.renderer.approval_decided(lang, request.state, name, later=request.send_at is not None)
        if request.state != Verdict.approved and request.waiting:
            await _edit(bot, *request.waiting, verdict)
        if request.state != Verdict.withdrawn:
            await bot.send_message(request.sender, verdict.text)


async def _answer(event: CallbackQuery | Message, screen: Screen) -> Message | None:
    """The tapped message edited into `screen`, or a new message answering a text; the message that shows it."""
    if isinstance(event, Message):
        return await send(event, screen)
    await show(event, screen)
    return event.message if isinstance(event.message, Message) else None


async def _edit(bot: Bot, chat: int, message_id: int, screen: Screen) -> None:
    try:
        await bot.edit_message_text(screen.text, chat_id=chat, message_id=message_id, reply_markup=markup(screen))
    except TelegramAPIError as exc:  # deleted, or too old: the new message says it all the same
        logger.info("A message about an approval could not be edited: %s", exc.message)


@router.callback_query(Cb("apv"))
async def approval_tap_handler(
    query: CallbackQuery,
    cb: Callback,
    lang: str,
    renderer: Renderer,
    broadcasts: Broadcasts,
    approval: ApprovalDesk,
    scheduler: Scheduler,
    clock: Clock,
) -> None:
    """Approve or decline another coordinator's broadcast (the first tap decides), or withdraw one's own."""
    op, req_id = cb.args
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    answer, request = await approval.approvals.decide(
        req_id, query.from_user.id, display_name(query.from_user), VERDICTS[op]
    )
    if request is None or answer in ("gone", "not_sender"):
        await toast(query, renderer.stale_toast(lang))
        return
    if answer == "own":
        await toast(query, renderer.toast("apv_toast", lang, alert=True, op="own"))
        return
    if answer != "ok":  # decided already: by whom, and how
        later = request.send_at is not None
        await toast(
            query, renderer.toast("apv_decided", lang, verdict=request.state, name=request.decider_name, later=later)
        )
        return
    later = request.send_at is not None
    await toast(query, renderer.toast("apv_toast", lang, op=request.state, later=later))
    if request.state in DECISIONS:
        case = request.audience.case_id or ""
        await broadcasts.audit.record(
            DECISIONS[request.state], query.from_user.id, case=case, title=request.payload.text
        )
    if request.state == Verdict.approved and request.send_at is not None:
        at = dt.datetime.fromtimestamp(request.send_at, dt.UTC)
        if at <= clock():  # approved too late for its time: it goes now, as Send would have sent it
            at = clock() + dt.timedelta(seconds=5)
        await scheduler.schedule_broadcast(request.payload.to_json(), request.audience.to_json(), request.sender, at)
        logger.info("Broadcast request %r approved: scheduled", req_id)
        if request.waiting:
            sender_lang, zone = await approval.language(request.sender), await approval.zone(request.sender)
            await _edit(query.bot, *request.waiting, Screen(renderer.when_scheduled(at, sender_lang, clock(), zone)))
    elif request.state == Verdict.approved:
        bc_id = await broadcasts.enqueue(request.payload, request.audience, created_by=request.sender)
        await approval.approvals.queued(req_id, bc_id)
        logger.info("Broadcast request %r approved: queued as broadcast %r", req_id, bc_id)
        if request.waiting:
            # The sender's confirmation becomes the progress message the reporter keeps up to date.
            await broadcasts.set_progress_message(bc_id, *request.waiting)
            progress = renderer.broadcast_progress(
                await broadcasts.progress(bc_id), await approval.language(request.sender)
            )
            await _edit(query.bot, *request.waiting, progress)
    else:
        logger.info("Broadcast request %r %s", req_id, request.state)
    await approval.settle(query.bot, request)


@router.message(Command("approval", ignore_case=True))
async def command_approval_handler(
    message: Message, command: CommandObject, lang: str, renderer: Renderer, approval: ApprovalDesk
) -> None:
    """An owner's rule: /approval shows it with buttons; /approval 500, /approval everyone, /approval off set it."""
    assert message.from_user is not None, "a private chat message always has a sender"
    if not approval.roles.is_owner(message.from_user.id):  # owners only, when coordinators are more
        await message.answer(renderer.message("unknown_command", lang))
        return
    rule = await approval.approvals.rule()
    words = (command.args or "").strip().lower()
    if words:
        if words.isdigit() and int(words) < 10_000_000:
            rule = Rule(rule.everyone, int(words))
        elif words in ("off", "0"):
            rule = Rule()
        elif words in ("everyone", "all"):
            rule = Rule(True, rule.above)
        else:
            await message.answer(renderer.message("apv_usage", lang))
            return
        await approval.set_rule(rule, message.from_user.id)
    screen = renderer.approval_rule(lang, everyone=rule.everyone, above=rule.above)
    await message.answer(screen.text, reply_markup=markup(screen))


@router.callback_query(Cb("apr"))
async def approval_rule_handler(
    query: CallbackQuery, cb: Callback, lang: str, renderer: Renderer, approval: ApprovalDesk
) -> None:
    """A button of /approval: sends to everyone on or off, no size limit, or all off."""
    if not approval.roles.is_owner(query.from_user.id):
        await toast(query, renderer.stale_toast(lang))
        return
    rule = await approval.approvals.rule()
    choice = cb.args[0]
    rule = (
        Rule()
        if choice == "off"
        else Rule(rule.everyone, None)
        if choice == "size"
        else Rule(not rule.everyone, rule.above)
    )
    await approval.set_rule(rule, query.from_user.id)
    await show(query, renderer.approval_rule(lang, everyone=rule.everyone, above=rule.above))
    await toast(query, renderer.toast("apv_toast", lang, op="saved"))
