"""Coordinators: an Urgent Action (PDF, text file or pasted text) -> preview -> Publish / Edit / Discard.

A document sent outside any other flow, or a pasted text that reads like a UA, starts an import without
/import: getting the alert out fast is the point. Coordinators only: handlers/__init__.py scopes the router.
"""

from __future__ import annotations

import asyncio
import io
import logging
from contextlib import suppress

from aiogram import Bot, F, Router
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from redis.exceptions import RedisError

from bot.delivery import Broadcasts
from bot.importer.source import MAX_BYTES, UnusableDocument, document_text
from bot.publishing.drafts import Draft, Drafts
from bot.publishing.import_flow import Importer, Shown
from bot.publishing.imports import PublishError
from bot.publishing.questions import Outcome
from bot.render import Document, Renderer, Screen
from bot.render.callbacks import Callback
from handlers.broadcast import show_progress
from handlers.filters import Cb
from handlers.ui import send, send_document, show, toast

logger = logging.getLogger(__name__)
router = Router(name="imports")

# Telegram apps cut a pasted text into messages of 4096 characters: a part this long has more to come.
SPLIT_AT = 3800
# A shorter text outside the import flow is a chat message to the bot, not an Urgent Action.
MIN_PASTED = 400
YAML_SUFFIXES = (".yaml", ".yml")


class ImportForm(StatesGroup):
    source = State()  # waiting for the UA: a document, or pasted text in one or more parts
    review = State()  # previewed: Publish / Edit / Discard under the report
    answer = State()  # a question about what the draft lacks: its answer typed, or a button
    edit = State()  # waiting for the corrected case file


class PastedUA(Filter):
    """A pasted Urgent Action: long and UA-like, or a short notice naming the update of a UA."""

    async def __call__(self, message: Message) -> bool:
        text = message.text or ""
        if text.startswith("/"):
            return False
        # The importer loads on a coordinator's first text, not with the bot (bot.publishing.drafts.make_draft).
        from bot.importer.parse import looks_like_ua, names_an_update

        return (len(text) >= MIN_PASTED and looks_like_ua(text)) or names_an_update(text)


async def _token(state: FSMContext) -> str:
    """The draft being written in this chat, or a new one."""
    return (await state.get_data()).get("token") or Drafts.new_token()


async def _present(
    message: Message,
    state: FSMContext,
    shown: Shown,
    lang: str,
    renderer: Renderer,
    answered: tuple[str, str] | None = None,
) -> None:
    """The preview, message by message, then the report with its buttons, then the first question if any.

    After an answer (`answered`) with more to ask, only the next question, under a tick for the answer; after the
    last one, the tick is on the report.
    """
    if answered is None or shown.question is None:
        for text in shown.preview:
            await message.answer(text)
        report = (
            shown.report
            if answered is None
            else renderer.with_tick(shown.report, answered, lang, shown.review.officials)
        )
        await send(message, report)
    await _ask(message, state, shown, lang, renderer, answered)


async def _ask(
    message: Message,
    state: FSMContext,
    shown: Shown,
    lang: str,
    renderer: Renderer,
    answered: tuple[str, str] | None = None,
) -> None:
    """The draft's next question (the chat waits for its answer), or the chat reviews the draft."""
    if shown.question is None:
        await state.set_state(ImportForm.review)
        await state.set_data({"token": shown.token})
        return
    screen = renderer.import_question(
        shown.question, lang, shown.token, answered=answered, officials=shown.review.officials
    )
    await _wait_for_answer(message, state, shown.token, shown.question.key, screen)


async def _wait_for_answer(message: Message, state: FSMContext, token: str, key: str, question: Screen) -> None:
    """Send the question; the chat's next text is its answer."""
    await send(message, question)
    await state.set_state(ImportForm.answer)
    await state.set_data({"token": token, "question": key})


async def _import(
    message: Message,
    state: FSMContext,
    token: str,
    text: str,
    source: str,
    lang: str,
    renderer: Renderer,
    importer: Importer,
) -> None:
    from bot.importer.parse import NotAnUrgentAction, SeveralUrgentActions

    try:
        shown = await importer.import_text(token, text, source, lang)
    except SeveralUrgentActions as exc:
        await state.clear()
        await message.answer(renderer.message("imp_problem", lang, reason="several", references=exc.references))
        return
    except NotAnUrgentAction:
        await state.clear()
        await message.answer(renderer.message("imp_problem", lang, reason="empty" if not text.strip() else "not_ua"))
        return
    await _present(message, state, shown, lang, renderer)


async def _take_yaml(
    message: Message, state: FSMContext, text: str, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """A case file (the Edit step, or a new one): its problems, or the draft shown again."""
    shown = await importer.replace_yaml(await _token(state), text, lang)
    if isinstance(shown, list):
        shown_problems = shown[:10]
        await message.answer(
            renderer.message(
                "imp_problem", lang, reason="yaml", problems=shown_problems, more=len(shown) - len(shown_problems)
            )
        )
        await state.set_state(ImportForm.edit)
        return
    await _present(message, state, shown, lang, renderer)


@router.message(StateFilter(ImportForm), Command("cancel", ignore_case=True))
async def import_cancel_handler(
    message: Message, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """Leave the import and drop its draft: the buttons under its preview then say so."""
    token = (await state.get_data()).get("token")
    if token and await importer.drafts.claim(token, "discard"):
        await importer.drafts.drop(token)
    await state.clear()
    await message.answer(renderer.message("imp_done", lang, outcome="cancelled"))


@router.message(StateFilter(ImportForm), F.text.startswith("/"))
async def import_left_by_command_handler(message: Message, state: FSMContext) -> None:
    """Another command during an import: leave the import, let the command run."""
    await state.clear()
    raise SkipHandler


@router.message(Command("import", ignore_case=True))
async def command_import_handler(message: Message, state: FSMContext, lang: str, renderer: Renderer) -> None:
    """Ask for the Urgent Action."""
    await state.set_state(ImportForm.source)
    await state.set_data({"token": Drafts.new_token()})
    await message.answer(renderer.message("imp_prompt", lang))


@router.message(StateFilter(None, ImportForm), F.document)
async def import_document_handler(
    message: Message, bot: Bot, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """A PDF or text file is a UA to import; a .yaml file is a case file (the Edit step, or a new draft)."""
    document = message.document
    assert document is not None
    if document.file_size and document.file_size > MAX_BYTES:
        await message.answer(renderer.message("imp_problem", lang, reason="too_big", **_sizes(document.file_size)))
        return
    try:
        data = await bot.download(document, destination=io.BytesIO())
    except (TimeoutError, TelegramAPIError, OSError) as exc:
        logger.warning("Import: could not download a document: %r", exc)
        await message.answer(renderer.message("imp_problem", lang, reason="download"))
        return
    raw = data.getvalue() if isinstance(data, io.BytesIO) else b""
    if (document.file_name or "").lower().endswith(YAML_SUFFIXES):
        await _take_yaml(message, state, raw.decode("utf-8-sig", errors="replace"), lang, renderer, importer)
        return
    try:
        text = await asyncio.to_thread(document_text, raw, document.file_name or "")
    except UnusableDocument as exc:
        logger.info("Import refused: %r", exc.reason)
        await message.answer(renderer.message("imp_problem", lang, reason=exc.reason, **_details(exc)))
        return
    await _import(message, state, Drafts.new_token(), text, document.file_name or "", lang, renderer, importer)


# Commands are excluded here and below: after the handler above skips, these still see the old state.
@router.message(ImportForm.source, F.text & ~F.text.startswith("/"))
# A UA pasted while a question waits is a new import, not the answer (a summary typed is shorter than a UA).
@router.message(StateFilter(None, ImportForm.review, ImportForm.answer), PastedUA())
async def import_text_handler(
    message: Message, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """Pasted text, a part at a time: a part shorter than Telegram's cut means the text is complete."""
    text = message.text or ""
    token = await _token(state) if await state.get_state() == ImportForm.source else Drafts.new_token()
    token, length = await importer.paste(token, text)
    if length is None:
        await state.clear()
        await message.answer(renderer.message("imp_problem", lang, reason="too_long"))
        return
    if len(text) >= SPLIT_AT:
        await state.set_state(ImportForm.source)
        await state.set_data({"token": token})
        await send(message, renderer.import_parts(lang, token, length=length))
        return
    await _import(message, state, token, await importer.drafts.take_parts(token), "", lang, renderer, importer)


@router.message(ImportForm.answer, F.text & ~F.text.startswith("/"))
async def import_answer_handler(
    message: Message, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """The typed answer to the draft's question: checked, written into the draft, then the next question."""
    data = await state.get_data()
    token = data.get("token", "")
    result = await importer.answer(token, data.get("question", ""), message.text or "", lang)
    if isinstance(result, Outcome) and result.error == "stale":
        await state.clear()
        await message.answer(renderer.message("imp_done", lang, outcome="answered"))
        return
    await _answered(message, state, token, result, lang, renderer, importer)


@router.callback_query(Cb("impz"))
async def import_zone_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """A time zone tapped under the question: its button names it, so an older question's button writes the zone
    it shows, not the one now in its place."""
    token, key, zone = cb.args
    result = await importer.answer(token, key, zone, lang)
    if isinstance(result, Outcome) and result.error == "stale":
        # The chat may be answering another question by now: it goes on.
        await toast(query, renderer.toast("imp_done", lang, alert=True, outcome="answered"))
        return
    await toast(query)
    if isinstance(query.message, Message):
        if isinstance(result, Shown):  # answered: its buttons go, as Skip's do
            with suppress(TelegramBadRequest):
                await query.message.edit_reply_markup(reply_markup=None)
        await _answered(query.message, state, token, result, lang, renderer, importer)


@router.callback_query(Cb("imps"))
async def import_skip_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """Skip an optional question."""
    token, key = cb.args
    result = await importer.skip(token, key, lang)
    if isinstance(result, Outcome):
        await toast(query, renderer.toast("imp_done", lang, alert=True, outcome="answered"))
        return
    await toast(query)
    if isinstance(query.message, Message):
        with suppress(TelegramBadRequest):  # the buttons of an answered question go
            await query.message.edit_reply_markup(reply_markup=None)
        await _present(query.message, state, result, lang, renderer, result.answered)


async def _answered(
    message: Message,
    state: FSMContext,
    token: str,
    result: Shown | Outcome,
    lang: str,
    renderer: Renderer,
    importer: Importer,
) -> None:
    """After an answer: the next question (or the draft again), or the same question saying what was wrong."""
    if isinstance(result, Shown):
        await _present(message, state, result, lang, renderer, result.answered)
        return
    waiting = await importer.question(token)
    if waiting is None:
        await state.clear()
        return
    screen = renderer.import_question(waiting[1], lang, token, error=result.error)
    await _wait_for_answer(message, state, token, waiting[1].key, screen)


@router.message(ImportForm.edit, F.text & ~F.text.startswith("/"))
async def import_yaml_text_handler(
    message: Message, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """The corrected case file, pasted: in parts when it is longer than one message."""
    token, text = await _token(state), message.text or ""
    if len(text) >= SPLIT_AT:
        length = await importer.drafts.add_part(token, text)
        if length is None:
            await message.answer(renderer.message("imp_problem", lang, reason="too_long"))
        else:
            await send(message, renderer.import_parts(lang, token, length=length, case_file=True))
        return
    await _take_yaml(message, state, await importer.drafts.take_parts(token) + text, lang, renderer, importer)


@router.callback_query(Cb("imp", first=("preview", "yaml")))
async def import_parts_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """Read the pasted parts now, though the last one was long: a UA (preview) or a case file (yaml)."""
    verb, token = cb.args
    text = await importer.drafts.take_parts(token)
    await toast(query)
    if not isinstance(query.message, Message):
        return
    with suppress(TelegramBadRequest):  # a double tap: the button is already gone
        await query.message.edit_reply_markup(reply_markup=None)
    if not text:
        await query.message.answer(renderer.message("imp_done", lang, outcome="expired"))
    elif verb == "yaml":
        await _take_yaml(query.message, state, text, lang, renderer, importer)
    else:
        await _import(query.message, state, token, text, "", lang, renderer, importer)


async def _open_draft(
    query: CallbackQuery, token: str, lang: str, renderer: Renderer, importer: Importer, *, editing: bool = False
) -> Draft | None:
    """The draft under the tapped buttons; None (and the message says why) when it is gone or done."""
    draft = await importer.drafts.get(token)
    done = await importer.drafts.claimed(token)
    if draft is not None and (editing or not done):
        return draft
    # A toast, not an edit: the message under the tap may be the live progress of the publish.
    await toast(query, renderer.toast("imp_done", lang, alert=True, outcome="taken" if done else "expired"))
    return None


@router.callback_query(Cb("imp", first=("edit",)))
async def import_edit_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """Send the draft as a case file to correct; the corrected file comes back as a document or text."""
    token = cb.args[1]
    draft = await _open_draft(query, token, lang, renderer, importer, editing=True)
    if draft is None:
        return
    await send_document(query, Document("draft.yaml", draft.yaml.encode("utf-8"), renderer.message("imp_edit", lang)))
    await state.set_state(ImportForm.edit)
    await state.set_data({"token": token})
    await toast(query)


@router.callback_query(Cb("imp", first=("ask",)))
async def import_ask_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """Ask about what a publishable draft still lacks (a salutation, the deadline's time zone)."""
    shown = await importer.start_asking(cb.args[1], lang)
    if shown is None:
        await toast(query, renderer.toast("imp_done", lang, alert=True, outcome="answered"))
        return
    await toast(query)
    if isinstance(query.message, Message):
        await _ask(query.message, state, shown, lang, renderer)


@router.callback_query(Cb("imp", first=("discard",)))
async def import_discard_handler(
    query: CallbackQuery, cb: Callback, state: FSMContext, lang: str, renderer: Renderer, importer: Importer
) -> None:
    """Drop the draft; nothing was sent."""
    token = cb.args[1]
    if await _open_draft(query, token, lang, renderer, importer) is None or not await importer.drafts.claim(
        token, "discard"
    ):
        return
    await importer.drafts.drop(token)
    await state.clear()
    await show(query, renderer.screen("imp_done", lang, outcome="discarded"))
    await toast(query)


@router.callback_query(Cb("imp", first=("publish",)))
async def import_publish_handler(
    query: CallbackQuery,
    cb: Callback,
    state: FSMContext,
    lang: str,
    renderer: Renderer,
    importer: Importer,
    broadcasts: Broadcasts,
) -> None:
    """Publish once: save the case, plan its reminders, send the alert (or the update) through the engine."""
    token = cb.args[1]
    draft = await _open_draft(query, token, lang, renderer, importer)
    if draft is None or not await importer.drafts.claim(token, "publish"):
        return
    try:
        bc_id = await importer.publish(draft, lang, query.from_user.id)
    except (PublishError, RedisError) as exc:
        await importer.drafts.release(token)
        logger.warning("Import %r not published: %r", token, exc)
        await toast(query)
        if isinstance(query.message, Message):
            await query.message.answer(
                renderer.message(
                    "imp_done",
                    lang,
                    outcome="failed",
                    reason=exc.reason if isinstance(exc, PublishError) else "unavailable",
                )
            )
        return
    await state.clear()
    await show_progress(query, bc_id, lang, renderer, broadcasts)
    await toast(query)


def _sizes(size: int) -> dict[str, str]:
    return {"size_mb": f"{size / 2**20:.1f}", "limit_mb": f"{MAX_BYTES / 2**20:.0f}"}


def _details(exc: UnusableDocument) -> dict[str, object]:
    details = dict(exc.details)
    if exc.reason == "too_big":
        details.update(_sizes(int(details.get("size", MAX_BYTES + 1))))
    return details
