"""Coordinators: the figures, /stats (with a chart of one case's pledges) and /export (a CSV file).

Counts only: no chat ids, no pseudonyms. Coordinators only: handlers/__init__.py scopes the router.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, Message

from bot.content import Library
from bot.ground.clock import Clock
from bot.pledges import aggregates
from bot.pledges.store import Store
from bot.render import Renderer
from bot.render.markup import MAX_MESSAGE

router = Router(name="stats")


@router.message(Command("stats", ignore_case=True))
async def command_stats_handler(
    message: Message,
    command: CommandObject,
    lang: str,
    library: Library,
    store: Store,
    renderer: Renderer,
    clock: Clock,
) -> None:
    """Figures for every case, with a chart of pledges over time for one (/stats <case>, else the newest open)."""
    wanted = (command.args or "").strip().lower()
    charted = library.get(wanted) if wanted else next(iter(library.open_cases() or library.all()), None)
    if wanted and charted is None:
        await message.answer(renderer.message("unknown_case", lang))
        return
    # The charted case first, so the caption never leaves it out.
    cases = sorted(library.all(), key=lambda c: c is not charted)
    figures = await aggregates.collect(store, [c.id for c in cases])
    today = clock().date()
    by_id = {c.id: c for c in cases}
    if charted is None:
        await message.answer(renderer.coordinator_stats(figures, by_id, lang, today, limit=MAX_MESSAGE))
        return
    at = charted.deadline_at(renderer.default_timezone)
    deadline = at.date() if at else None
    daily, officials = figures.cases[0].daily, renderer.officials_by_name(charted, figures.cases[0].officials, lang)
    # matplotlib costs ~60 MB of memory: only processes that draw a chart pay for it.
    from bot.render.charts import pledges_chart

    png = await asyncio.to_thread(
        pledges_chart,
        daily,
        deadline,
        renderer.chart_title(charted, lang),
        officials=officials,
        **renderer.chart_labels(lang, deadline),
    )
    await message.answer_photo(
        BufferedInputFile(png, filename=f"pledges-{charted.id}-{today.isoformat()}.png"),
        caption=renderer.coordinator_stats(figures, by_id, lang, today),
    )


@router.message(Command("export", ignore_case=True))
async def command_export_handler(
    message: Message, lang: str, library: Library, store: Store, renderer: Renderer, clock: Clock
) -> None:
    """The figures as a CSV file: counts only, no chat ids, no pseudonyms."""
    figures = await aggregates.collect(store, [c.id for c in library.all()])
    names = {c.id: {t.id: t.name_in(lang) for t in c.targets} for c in library.all()}
    today: dt.date = clock().date()
    await message.answer_document(
        BufferedInputFile(aggregates.to_csv(figures, names), filename=f"figures-{today.isoformat()}.csv"),
        caption=renderer.export_caption(lang, today),
    )
