"""Charts for coordinators, drawn with matplotlib's Agg canvas: PNG bytes, no GUI, no aiogram.

The Figure API is used directly (not pyplot), so nothing global is touched and a chart can be
drawn in a worker thread while the bot goes on answering.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence

from babel.dates import format_date
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.content import ACTION_TABLE

# A deadline this far outside the days with pledges is named in a note, not drawn:
# stretching the axis over months of empty days would flatten the bars into nothing.
DEADLINE_REACH = dt.timedelta(days=31)

DEADLINE_COLOUR = "#c8102e"
MIN_DAYS = 7


def pledges_chart(
    daily: Mapping[str, Mapping[str, int]],
    deadline: dt.date | None,
    title: str,
    *,
    actions: Mapping[str, str] | None = None,
    per_day: str = "Pledges per day",
    total_label: str = "All pledges so far",
    empty: str = "No pledges yet",
    deadline_label: str = "",
    lang: str = "en",
    officials: Sequence[tuple[str, Mapping[str, int]]] = (),
    officials_title: str = "Per official",
) -> bytes:
    """Pledges over time as a PNG: stacked bars per action and day, the running total, the deadline;
    under them, when `officials` is given ([(name, {action: count})]), a bar per official.

    daily: {"YYYY-MM-DD": {action: count}} (bot.pledges.aggregates.collect). The other keyword
    arguments are the words on the chart, in the reader's language (Renderer.chart_labels).
    """
    names = dict(actions or {})
    days = sorted(dt.date.fromisoformat(day) for day in daily)
    counts = {dt.date.fromisoformat(day): dict(values) for day, values in daily.items()}
    label = deadline_label or (f"Deadline {deadline.isoformat()}" if deadline else "")

    rows = len(officials)
    figure = Figure(figsize=(8, 4.5 + (0.6 + 0.3 * rows if rows else 0)), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    if rows:
        axes, below = figure.subplots(2, 1, height_ratios=[4.5, 0.6 + 0.3 * rows])
        _officials_panel(below, officials, names, officials_title)
    else:
        axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=12)
    axes.set_ylabel(per_day)
    axes.spines[["top", "right"]].set_visible(False)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))

    if not days:
        axes.text(0.5, 0.5, empty, transform=axes.transAxes, ha="center", va="center", fontsize=14, color="#666666")
        axes.set_xticks([])
        axes.set_yticks([])
        if label:
            _beside_title(axes, title, label)
        return _png(figure)

    start, end = days[0], days[-1]
    draw_deadline = deadline is not None and start - DEADLINE_REACH <= deadline <= end + DEADLINE_REACH
    if draw_deadline and deadline is not None:
        start, end = min(start, deadline), max(end, deadline)
    end = max(end, start + dt.timedelta(days=MIN_DAYS - 1))  # a day or two of pledges still reads as days
    span = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    x = date2num(span)

    bottom = [0] * len(span)
    for action in ACTION_TABLE:  # each action its colour from the table, stacked in the table's order
        heights = [counts.get(day, {}).get(action.key, 0) for day in span]
        if any(heights):
            axes.bar(x, heights, width=0.8, bottom=bottom, color=action.colour, label=names.get(action.key, action.key))
            bottom = [b + h for b, h in zip(bottom, heights)]
    axes.set_ylim(0, max(max(bottom), 1) * 1.15)

    running, totals = 0, []
    for per in bottom:
        running += per
        totals.append(running)
    twin = axes.twinx()
    shown = span.index(days[-1]) + 1  # the running total stops at the last day with pledges
    twin.plot(x[:shown], totals[:shown], color="#444444", linewidth=1.5, label=total_label)
    twin.set_ylabel(total_label)
    twin.set_ylim(0, max(totals[-1], 1) * 1.15)
    twin.yaxis.set_major_locator(MaxNLocator(integer=True))
    twin.spines[["top"]].set_visible(False)

    if draw_deadline and deadline is not None:
        at = date2num(deadline)
        axes.axvline(at, color=DEADLINE_COLOUR, linestyle="--", linewidth=1.5)
        axes.text(
            at,
            0.5,
            label,
            transform=axes.get_xaxis_transform(),
            rotation=90,
            ha="right",
            va="center",
            color=DEADLINE_COLOUR,
            backgroundcolor="white",
        )
    elif label:
        # Far from the days with pledges: named beside the title instead of drawn.
        _beside_title(axes, title, label)

    axes.set_xlim(x[0] - 0.6, x[-1] + 0.6)
    axes.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=8))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: _day(value, lang)))

    handles, labels = axes.get_legend_handles_labels()
    more, more_labels = twin.get_legend_handles_labels()
    figure.legend(
        handles + more,
        labels + more_labels,
        loc="outside lower center",
        ncol=len(handles) + len(more),
        fontsize=9,
        frameon=False,
    )
    return _png(figure)


def _beside_title(axes: Axes, title: str, label: str) -> None:
    """The deadline named at the right, a line below the title: a long title (a Russian one) would run into it."""
    axes.set_title(title, loc="left", fontsize=12, pad=20)
    axes.text(1.0, 1.01, label, transform=axes.transAxes, ha="right", va="bottom", fontsize=10, color=DEADLINE_COLOUR)


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
    axes.set_xlim(0, max(max(left), 1) * 1.15)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title, loc="left", fontsize=10)
    axes.spines[["top", "right"]].set_visible(False)


def _day(value: float, lang: str) -> str:
    day = num2date(value).date()
    try:
        return format_date(day, "d MMM", locale=lang)
    except (ValueError, LookupError):
        return day.isoformat()


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
