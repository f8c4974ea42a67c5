"""Charts for coordinators, drawn with matplotlib's Agg canvas: PNG bytes, no GUI, no aiogram.

The Figure API is used directly (not pyplot), so nothing global is touched and a chart can be
drawn in a worker thread while the bot goes on answering.

Charts are drawn 1280 pixels wide, the size Telegram keeps of a photo's long side, so what the tests
measure (tests/test_charts.py: no two texts overlap, every text inside) is what the coordinator sees.
No text shares a line with another: the deadline's date is the title's second line, and what the
marks mean (actions, the running total, broadcasts, the deadline) is the legend's, below the plot,
in as many rows as its labels need.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from babel.dates import format_date
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, MaxNLocator

from bot.content import ACTION_TABLE

PHOTO_PX = 1280  # Telegram scales a photo's long side down to this: drawn at it, nothing is resampled
WIDTH = 8.0  # inches: sizes of text are in points, so the layout is the same at any resolution
DPI = PHOTO_PX / WIDTH

# A deadline, a broadcast or today this far outside the days with pledges is left out of the axis:
# stretching it over months of empty days would flatten the bars into nothing.
DEADLINE_REACH = dt.timedelta(days=31)

DEADLINE_COLOUR = "#c8102e"
BROADCAST_COLOUR = "#7b3fa0"
TOTAL_COLOUR = "#444444"
MIN_DAYS = 7  # a day or two of pledges still reads as days, not as one fat bar
CHART_OFFICIALS = 8  # bars under the chart; the CSV has every official
OVERVIEW_CASES = 4  # panels of /stats without a case: two by two still reads on a phone


@dataclass(frozen=True)
class Panel:
    """One case's pledges for a chart: {"YYYY-MM-DD": {action: count}} (bot.pledges.aggregates.collect),
    its deadline (a date means the end of that day), when broadcasts to its followers started (aware)."""

    title: str
    daily: Mapping[str, Mapping[str, int]]
    deadline: dt.date | dt.datetime | None = None
    deadline_label: str = ""  # "Deadline: 15 May 2012", the title's second line
    broadcasts: Sequence[dt.datetime] = ()
    officials: Sequence[tuple[str, Mapping[str, int]]] = ()


@dataclass
class _Legend:
    """What the marks on the charts mean, each once, in the order first drawn (actions, total, broadcasts, deadline)."""

    entries: dict[str, tuple[int, Artist]] = field(default_factory=dict)

    def add(self, label: str, handle: Artist, rank: int) -> None:
        """rank: the action's place in the table, then TOTAL, BROADCASTS, DEADLINE (one case may lack an action)."""
        self.entries.setdefault(label, (rank, handle))

    def ordered(self) -> tuple[list[Artist], list[str]]:
        labels = sorted(self.entries, key=lambda label: self.entries[label][0])
        return [self.entries[label][1] for label in labels], labels


TOTAL, BROADCASTS, DEADLINE = 100, 101, 102


@dataclass(frozen=True)
class Words:
    """The words on a chart, in the reader's language (Renderer.chart_labels gives them as keyword arguments)."""

    actions: Mapping[str, str] = field(default_factory=dict)  # action key -> its name
    per_day: str = "Pledges per day"
    total_label: str = "All pledges so far"
    empty: str = "No pledges yet"
    deadline_label: str = ""  # "Deadline: 15 May 2012": one case's, in its legend
    deadline_name: str = "Deadline"  # the red line among several cases
    broadcasts_label: str = "Broadcasts"
    officials_title: str = "Per official"
    lang: str = "en"


def pledges_chart(
    daily: Mapping[str, Mapping[str, int]], deadline: dt.date | dt.datetime | None, title: str, **labels: Any
) -> bytes:
    """Pledges over time as a PNG (pledges_figure)."""
    return _png(pledges_figure(daily, deadline, title, **labels))


def pledges_figure(
    daily: Mapping[str, Mapping[str, int]],
    deadline: dt.date | dt.datetime | None,
    title: str,
    *,
    officials: Sequence[tuple[str, Mapping[str, int]]] = (),
    broadcasts: Sequence[dt.datetime] = (),
    today: dt.date | None = None,
    **labels: Any,
) -> Figure:
    """One case: stacked bars per action and day, the running total, the deadline and the broadcasts to its
    followers; under them, when `officials` is given ([(name, {action: count})]), a bar per official.

    labels: the fields of Words. The legend names the red line by its date as well: the title's second line is
    far from the line.
    """
    words = Words(**labels)
    officials = list(officials)[:CHART_OFFICIALS]
    rows = len(officials)
    below = 0.7 + 0.32 * rows if rows else 0.0
    figure = _figure(4.8 + below)
    if rows:
        axes, lower = figure.subplots(2, 1, height_ratios=[4.8, below])
        _officials_panel(lower, officials, words.actions, words.officials_title)
    else:
        axes = figure.add_subplot()
    panel = Panel(title, daily, deadline, words.deadline_label, broadcasts)
    legend = _Legend()
    anchor = _draw(axes, panel, legend, words, words.deadline_label or words.deadline_name, today, compact=False)
    _legend(figure, legend)
    _headings(figure, [(axes, panel, anchor)], compact=False)
    return figure


def overview_chart(panels: Sequence[Panel], **labels: Any) -> bytes:
    """Open cases side by side as a PNG (overview_figure)."""
    return _png(overview_figure(panels, **labels))


def overview_figure(panels: Sequence[Panel], *, today: dt.date | None = None, **labels: Any) -> Figure:
    """Up to OVERVIEW_CASES cases, two to a row, each with its pledges per day, running total, deadline and
    broadcasts, in the order given (the first is the one /stats puts first); one legend for all.

    labels: the fields of Words; each panel's deadline is named in its title, the legend's red line by Words.deadline_name.
    """
    words = Words(**{k: v for k, v in labels.items() if k != "deadline_label"})
    panels = list(panels)[:OVERVIEW_CASES]
    columns = 1 if len(panels) == 1 else 2
    grid_rows = math.ceil(len(panels) / columns)
    figure = _figure(3.2 * grid_rows + 0.9)
    grid = figure.subplots(grid_rows, columns, squeeze=False)
    legend = _Legend()
    drawn = []
    for index, axes in enumerate(grid.flat):
        if index >= len(panels):
            axes.set_axis_off()  # three cases: the fourth place stays empty
            continue
        anchor = _draw(axes, panels[index], legend, words, words.deadline_name, today, compact=columns > 1)
        drawn.append((axes, panels[index], anchor))
    _legend(figure, legend)
    _headings(figure, drawn, compact=columns > 1)
    return figure


def _figure(height: float) -> Figure:
    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _draw(
    axes: Axes,
    panel: Panel,
    legend: _Legend,
    words: Words,
    deadline_name: str,
    today: dt.date | None,
    *,
    compact: bool,
) -> float | None:
    """One case's pledges into `axes`; what each mark means into `legend` (the red line as `deadline_name`).
    Returns where the date always labelled stands (the last day with pledges, or today), None without pledges."""
    names = words.actions
    fontsize = 10 if compact else 12
    axes.set_title(panel.title, loc="left", fontsize=fontsize)  # a first guess, for the layout: see _headings
    axes.spines[["top", "right"]].set_visible(False)
    days = sorted(dt.date.fromisoformat(day) for day in panel.daily)
    counts = {dt.date.fromisoformat(day): dict(values) for day, values in panel.daily.items()}
    if not days:
        axes.text(
            0.5,
            0.5,
            words.empty,
            transform=axes.transAxes,
            ha="center",
            va="center",
            fontsize=fontsize + 2,
            color="#666666",
        )
        axes.set_xticks([])
        axes.set_yticks([])
        if panel.deadline is not None:
            legend.add(deadline_name, _deadline_handle(), DEADLINE)
        return None

    start, end = days[0], days[-1]
    marks = [t.astimezone(dt.UTC).date() for t in panel.broadcasts]
    due = _deadline_day(panel.deadline)
    # Days around the pledges worth showing: the alert before them, the quiet days up to today, the deadline.
    for day in [*marks, *([today] if today else []), *([due] if due else [])]:
        if start - DEADLINE_REACH <= day <= end + DEADLINE_REACH:
            start, end = min(start, day), max(end, day)
    end = max(end, start + dt.timedelta(days=MIN_DAYS - 1))
    span = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    noon = [date2num(day) + 0.5 for day in span]  # a bar fills its day, so a send at 15:00 falls on its bar

    bottom = [0] * len(span)
    for rank, action in enumerate(ACTION_TABLE):  # each action its colour from the table, stacked in its order
        heights = [counts.get(day, {}).get(action.key, 0) for day in span]
        if any(heights):
            bars = axes.bar(noon, heights, width=0.8, bottom=bottom, color=action.colour)
            legend.add(names.get(action.key, action.key), bars, rank)
            bottom = [b + h for b, h in zip(bottom, heights)]
    axes.set_ylim(0, max(max(bottom), 1) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4 if compact else 6))

    running, totals = 0, []
    for per in bottom:
        running += per
        totals.append(running)
    # The running total goes on to today (flat when nobody pledged since), never into days still to come.
    last = max(days[-1], today) if today and today <= span[-1] else days[-1]
    shown = span.index(last) + 1
    twin = axes.twinx()
    # A point on each day: with one day of pledges the line is a single point, and still seen.
    (line,) = twin.plot(
        noon[:shown], totals[:shown], color=TOTAL_COLOUR, linewidth=1.8, marker="o", markersize=3.5 if shown > 10 else 5
    )
    legend.add(words.total_label, line, TOTAL)
    twin.set_ylim(0, max(totals[-1], 1) * 1.15)
    twin.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4 if compact else 6))
    twin.spines[["top"]].set_visible(False)
    if not compact:
        axes.set_ylabel(words.per_day)
        twin.set_ylabel(words.total_label)

    low, high = date2num(span[0]), date2num(span[-1]) + 1
    for at in panel.broadcasts:
        x = date2num(at.astimezone(dt.UTC).replace(tzinfo=None))
        if low <= x <= high:
            mark = axes.axvline(x, color=BROADCAST_COLOUR, linestyle=":", linewidth=1.6)
            legend.add(words.broadcasts_label, mark, BROADCASTS)
    if panel.deadline is not None:
        x = _deadline_x(panel.deadline)
        if low <= x <= high:
            axes.axvline(x, color=DEADLINE_COLOUR, linestyle="--", linewidth=1.6)
        legend.add(deadline_name, _deadline_handle(), DEADLINE)
    axes.set_xlim(low - 0.2, high + 0.2)

    # Ticks at noon, under the bars, spaced so their labels keep apart; the last day with pledges is one of them.
    # Every step-th day counted from the last with pledges (or today), so the days with news are named.
    step = math.ceil(len(span) / (4 if compact else 8))
    ticks = [noon[i] for i in range(len(span)) if (i - (shown - 1)) % step == 0]
    axes.xaxis.set_major_locator(FixedLocator(ticks))
    axes.set_xticks(ticks, [_day(span[noon.index(t)], words.lang) for t in ticks], fontsize=8 if compact else 10)
    return noon[shown - 1]


def _deadline_handle() -> Line2D:
    return Line2D([], [], color=DEADLINE_COLOUR, linestyle="--", linewidth=1.6)


def _deadline_day(deadline: dt.date | dt.datetime | None) -> dt.date | None:
    if isinstance(deadline, dt.datetime):
        return deadline.astimezone(dt.UTC).date() if deadline.tzinfo else deadline.date()
    return deadline


def _deadline_x(deadline: dt.date | dt.datetime) -> float:
    """Where the deadline falls: its instant, or the end of the day when it is a date."""
    if isinstance(deadline, dt.datetime):
        return float(date2num(deadline.astimezone(dt.UTC).replace(tzinfo=None) if deadline.tzinfo else deadline))
    return float(date2num(deadline)) + 1


def _legend(figure: Figure, legend: _Legend) -> None:
    """The legend under the plots, in as many columns as fit the width: a long Russian label takes a row of its own
    rather than run off the picture."""
    if not legend.entries:
        return
    handles, labels = legend.ordered()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for columns in range(len(labels), 0, -1):
        shown = figure.legend(handles, labels, loc="outside lower center", ncol=columns, fontsize=9, frameon=False)
        if shown.get_window_extent(renderer).width <= figure.bbox.width * 0.96 or columns == 1:
            return
        shown.remove()


def _headings(figure: Figure, panels: Sequence[tuple[Axes, Panel, float | None]], *, compact: bool) -> None:
    """Each case's title over its plot, wrapped to the room it has once the layout is known (measured, not guessed:
    a Russian title is a third longer; long officials' names push the plot right), at most two lines and the rest
    cut; the deadline's date on a line of its own, so the two never meet."""
    fontsize = 10 if compact else 12
    figure.draw_without_rendering()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    for axes, panel, anchor in panels:
        box = axes.get_position()
        _thin_ticks(axes, renderer, box.width * figure.bbox.width, anchor)
        # The room: the plot's width beside another plot, else to the picture's right edge.
        room = box.width * figure.bbox.width if compact else (1 - box.x0) * figure.bbox.width - 12
        words = " ".join(panel.title.split())
        for width in range(len(words), 9, -2):
            lines = textwrap.wrap(words, width=width) or [""]
            if len(lines) > 2:
                lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width=width, placeholder="…")]
            text = "\n".join(lines)
            if panel.deadline_label:
                text += "\n" + panel.deadline_label
            title = axes.set_title(text, loc="left", fontsize=fontsize, linespacing=1.3)
            if title.get_window_extent(renderer).width <= room:
                break


def _thin_ticks(axes: Axes, renderer: Any, room: float, anchor: float | None) -> None:
    """Fewer dates under the bars when their labels would touch (long month names, a narrow plot); the one at
    `anchor` stays."""
    ticks, labels = list(axes.get_xticks()), axes.get_xticklabels()
    if len(ticks) < 2 or anchor is None:
        return
    widest = max(label.get_window_extent(renderer).width for label in labels)
    fit = max(int(room / (widest * 1.4)), 1)
    if len(ticks) <= fit:
        return
    step = math.ceil(len(ticks) / fit)
    first = min(range(len(ticks)), key=lambda i: abs(ticks[i] - anchor))
    keep = [i for i in range(len(ticks)) if (i - first) % step == 0]
    axes.set_xticks([ticks[i] for i in keep], [labels[i].get_text() for i in keep], fontsize=labels[0].get_fontsize())


def _officials_panel(
    axes: Axes, officials: Sequence[tuple[str, Mapping[str, int]]], names: Mapping[str, str], title: str
) -> None:
    """One horizontal bar per official, stacked by action in the table's colours, the total at its end."""
    y = list(range(len(officials)))[::-1]  # the first official on top
    left = [0] * len(officials)
    for action in ACTION_TABLE:
        widths = [counts.get(action.key, 0) for _, counts in officials]
        if any(widths):
            axes.barh(y, widths, left=left, color=action.colour, height=0.6, label=names.get(action.key, action.key))
            left = [a + b for a, b in zip(left, widths)]
    for row, total in zip(y, left):
        axes.text(total, row, f" {total:,}", va="center", fontsize=9)
    axes.set_yticks(y, [name for name, _ in officials], fontsize=9)
    axes.set_xlim(0, max(max(left), 1) * 1.2)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, loc="left", fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)


def _day(day: dt.date, lang: str) -> str:
    try:
        return format_date(day, "d MMM", locale=lang)
    except (ValueError, LookupError):
        return day.isoformat()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
