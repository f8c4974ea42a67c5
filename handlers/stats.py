"""Coordinators: the figures, /stats (open cases side by side, or one case with its officials) and /export
(a zip of CSV files, one per table).

Counts only: no chat ids, no pseudonyms. Coordinators only: handlers/__init__.py scopes the router.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.content import Case, Library
from bot.delivery import Broadcasts
from bot.delivery.timeline import sends_by_case
from bot.ground.clock import Clock
from bot.pledges import aggregates
from bot.pledges.store import Store
from bot.render import Renderer
from bot.render.callbacks import Callback
from bot.render.formatting import ua_reference
from bot.render.markup import MAX_MESSAGE
from bot.telegram.keyboards import markup
from handlers.filters import Cb
from handlers.ui import toast

router = Router(name="stats")


@router.message(Command("stats", ignore_case=True))
async def command_stats_handler(
    message: Message,
    command: CommandObject,
    lang: str,
    library: Library,
    store: Store,
    broadcasts: Broadcasts,
    renderer: Renderer,
    clock: Clock,
) -> None:
    """/stats: the open cases side by side, the one that needs a push most first; /stats <case>: that case."""
    wanted = (command.args or "").strip().lower()
    if wanted:
        case = library.get(wanted)
        if case is None:
            await message.answer(renderer.message("unknown_case", lang))
            return
        await _one_case(message, case, lang, store, broadcasts, renderer, clock)
        return
    now = clock()
    figures = await aggregates.collect(store, [c.id for c in library.open_cases()])
    ordered = aggregates.active_first(library.open_cases(), figures, now, renderer.default_timezone)
    if len(ordered) == 1:
        await _one_case(message, ordered[0], lang, store, broadcasts, renderer, clock)
        return
    if not ordered:  # every case closed: their figures in words, no chart of nothing
        figures = await aggregates.collect(store, [c.id for c in library.all()])
        by_id = {c.id: c for c in library.all()}
        await message.answer(renderer.coordinator_stats(figures, by_id, lang, now.date(), limit=MAX_MESSAGE))
        return
    # matplotlib costs ~60 MB of memory: only processes that draw a chart pay for it.
    from bot.render.charts import OVERVIEW_CASES, Panel, overview_chart

    sends = await sends_by_case(broadcasts, {c.id: ua_reference(c) for c in ordered})
    by_id = {f.case_id: f for f in figures.cases}
    panels = [
        Panel(
            renderer.chart_title(case, lang),
            by_id[case.id].daily,
            at,
            renderer.chart_labels(lang, at.date() if at else None)["deadline_label"],
            [dt.datetime.fromtimestamp(t, dt.UTC) for t in sends[case.id]],
        )
        for case in ordered[:OVERVIEW_CASES]
        for at in [case.deadline_at(renderer.default_timezone)]
    ]
    png = await asyncio.to_thread(overview_chart, panels, today=now.date(), **renderer.chart_labels(lang, None))
    screen = renderer.stats_overview(
        figures, ordered, lang, now, sent={k: len(v) for k, v in sends.items()}, charted=len(panels)
    )
    await message.answer_photo(
        BufferedInputFile(png, filename=f"pledges-{now.date().isoformat()}.png"),
        caption=screen.text,
        reply_markup=markup(screen),
    )


@router.callback_query(Cb("sts"))
async def stats_case_handler(
    query: CallbackQuery,
    cb: Callback,
    lang: str,
    library: Library,
    store: Store,
    broadcasts: Broadcasts,
    renderer: Renderer,
    clock: Clock,
) -> None:
    """A case tapped under the /stats overview: its own chart, with each official, as a new message."""
    case = library.get(cb.args[0])
    if case is None or not isinstance(query.message, Message):
        await toast(query, renderer.stale_toast(lang))
        return
    await _one_case(query.message, case, lang, store, broadcasts, renderer, clock)
    await toast(query)


async def _one_case(
    message: Message,
    case: Case,
    lang: str,
    store: Store,
    broadcasts: Broadcasts,
    renderer: Renderer,
    clock: Clock,
) -> None:
    """One case's chart (pledges per day, the running total, broadcasts, the deadline, each official) and figures."""
    now = clock()
    figures = await aggregates.collect(store, [case.id])
    sends = await sends_by_case(broadcasts, {case.id: ua_reference(case)})
    at = case.deadline_at(renderer.default_timezone)
    figure = figures.cases[0]
    from bot.render.charts import pledges_chart  # matplotlib: only when a chart is drawn

    png = await asyncio.to_thread(
        pledges_chart,
        figure.daily,
        at,
        renderer.chart_title(case, lang),
        officials=renderer.officials_by_name(case, figure.officials, lang),
        broadcasts=[dt.datetime.fromtimestamp(t, dt.UTC) for t in sends[case.id]],
        today=now.date(),
        **renderer.chart_labels(lang, at.date() if at else None),
    )
    await message.answer_photo(
        BufferedInputFile(png, filename=f"pledges-{case.id}-{now.date().isoformat()}.png"),
        caption=renderer.coordinator_stats(
            figures, {case.id: case}, lang, now.date(), sent={case.id: len(sends[case.id])}
        ),
    )


@router.message(Command("export", ignore_case=True))
async def command_export_handler(
    message: Message, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """The figures as a zip of CSV files, one per table: counts only, no chat ids, no pseudonyms."""
    today = clock().date()
    screen = renderer.export_screen(lang, today)
    await message.answer_document(
        BufferedInputFile(await _export(library, store, lang), filename=f"rrbot-figures-{today.isoformat()}.zip"),
        caption=screen.text,
        reply_markup=markup(screen),
    )


@router.callback_query(Cb("exp"))
async def export_semicolon_handler(
    query: CallbackQuery, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """The same files separated by semicolons, for Excel where a comma is the decimal sign."""
    today = clock().date()
    assert query.bot is not None, "aiogram binds the bot to every event it delivers"
    zipped = await _export(library, store, lang, ";")
    await query.bot.send_document(
        query.from_user.id,
        BufferedInputFile(zipped, filename=f"rrbot-figures-{today.isoformat()}-semicolon.zip"),
        caption=renderer.export_caption(lang, today, semicolon=True),
    )
    await toast(query)


async def _export(library: Library, store: Store, lang: str, delimiter: str = ",") -> bytes:
    figures = await aggregates.collect(store, [c.id for c in library.all()])
    names = {c.id: {t.id: t.name_in(lang) for t in c.targets} for c in library.all()}
    return aggregates.to_zip(figures, names, delimiter)
