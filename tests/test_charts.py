"""The coordinators' charts at the size Telegram shows them, in English and Russian, with one day of pledges
and with thirty: no two texts overlap and every text lies inside the picture (matplotlib's own extents).

Only texts matplotlib actually draws are measured: Text.draw is watched while the figure is drawn.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from babel.dates import format_date
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from bot.ground.i18n import load_translations
from bot.render import Renderer
from bot.render.charts import PHOTO_PX, Panel, overview_figure, pledges_figure

ROOT = Path(__file__).resolve().parent.parent
FIRST = dt.date(2026, 11, 4)
CASES = {
    "en": [
        "Tajik refused asylum-seeker disappeared (UA 84/11)",
        "Human rights defender detained and at risk of torture in pre-trial detention (UA 60/16)",
        "Student activist sentenced (UA 12/26)",
        "Journalist missing after arrest (UA 33/26)",
    ],
    "ru": [
        "Исчез гражданин Таджикистана, которому отказали в убежище (UA 84/11)",
        "Правозащитница задержана, ей грозят пытки в следственном изоляторе (UA 60/16)",
        "Студенту-активисту вынесен приговор (UA 12/26)",
        "Журналист пропал после задержания (UA 33/26)",
    ],
}
OFFICIALS = {
    "en": ["Yurii Ya. Chaika, Prosecutor General", "M. A. Peshkov, Ambassador", "Head of the Migration Service"],
    "ru": ["Юрий Яковлевич Чайка, Генеральный прокурор", "М. А. Пешков, посол", "Руководитель миграционной службы"],
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(ROOT / "content" / "templates", load_translations(ROOT / "content" / "locales"), bot_username="b")


def pledges(days: int, scale: int = 1) -> dict[str, dict[str, int]]:
    """Every action on most days, the way a busy case fills up: many days means wide tick labels and a full legend."""
    daily = {}
    for i in range(days):
        day = (FIRST + dt.timedelta(days=i)).isoformat()
        daily[day] = {"letter": (3 + i % 5) * scale, "email": (1 + i % 3) * scale, "tweet": i % 4 * scale}
        if i % 2 == 0:
            daily[day] |= {"fax": scale, "share": 2 * scale}
    return daily


def drawn_texts(figure: Figure, monkeypatch: pytest.MonkeyPatch) -> tuple[list[tuple[str, Bbox]], Bbox]:
    """Every text matplotlib draws on the figure, with its extent in pixels; the figure's own extent."""
    drawn: list[Text] = []
    original = Text.draw

    def watched(self: Text, renderer) -> None:  # type: ignore[no-untyped-def]
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)

    with monkeypatch.context() as patch:
        patch.setattr(Text, "draw", watched)
        figure.canvas.draw()
    renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in drawn], figure.bbox


def assert_readable(figure: Figure, monkeypatch: pytest.MonkeyPatch, *expected: str) -> None:
    assert figure.bbox.width == PHOTO_PX and figure.bbox.height <= PHOTO_PX, "Telegram's photo size"
    texts, frame = drawn_texts(figure, monkeypatch)
    names = [name for name, _ in texts]
    for word in expected:
        assert any(word in name for name in names), (word, names)
    for name, box in texts:
        inside = box.x0 >= frame.x0 - 0.5 and box.y0 >= frame.y0 - 0.5
        inside = inside and box.x1 <= frame.x1 + 0.5 and box.y1 <= frame.y1 + 0.5
        assert inside, f"{name!r} leaves the picture: {box} outside {frame}"
    for (a, box_a), (b, box_b) in itertools.combinations(texts, 2):
        overlap_x = min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)
        overlap_y = min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0)
        assert overlap_x <= 0.5 or overlap_y <= 0.5, f"{a!r} overlaps {b!r}: {box_a} and {box_b}"


def sends(days: int) -> list[dt.datetime]:
    """The alert an hour before the first pledge, then an update and a reminder if the days reach them."""
    start = dt.datetime.combine(FIRST, dt.time(9), tzinfo=dt.UTC)
    return [start, *(start + dt.timedelta(days=d, hours=6) for d in (3, 12, 26) if d < days)]


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("days", [1, 30])
@pytest.mark.parametrize("with_officials", [False, True])
def test_one_case_chart_reads_at_telegram_size(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch, lang: str, days: int, with_officials: bool
) -> None:
    deadline = FIRST + dt.timedelta(days=days + 4)
    labels = renderer.chart_labels(lang, deadline)
    officials = [(name, {"letter": 40 * (i + 1), "fax": 7}) for i, name in enumerate(OFFICIALS[lang])]
    figure = pledges_figure(
        pledges(days, scale=20),
        deadline,
        CASES[lang][1],
        broadcasts=sends(days),
        today=FIRST + dt.timedelta(days=days - 1),
        officials=officials if with_officials else (),
        **labels,
    )
    assert_readable(
        figure,
        monkeypatch,
        labels["deadline_label"],  # in the title's second line and in the legend
        labels["broadcasts_label"],
        labels["total_label"],
        labels["actions"]["letter"],
        *(labels["officials_title"] for _ in [1] if with_officials),
    )
    # The dates under the bars: a day of pledges names that day; thirty never crowd their labels.
    texts = [name for name, _ in drawn_texts(figure, monkeypatch)[0]]
    first_day = format_date(FIRST, "d MMM", locale=lang)
    assert first_day in texts or days > 1
    red = [line for line in figure.axes[0].get_lines() if line.get_color() == "#c8102e"]
    assert red, "the deadline drawn where it falls"


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_a_chart_without_pledges_names_the_deadline_clear_of_the_title(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    deadline = dt.date(2026, 12, 24)
    labels = renderer.chart_labels(lang, deadline)
    figure = pledges_figure({}, deadline, CASES[lang][0], **labels)
    assert_readable(figure, monkeypatch, labels["empty"], labels["deadline_label"])


@pytest.mark.parametrize("lang", ["en", "ru"])
@pytest.mark.parametrize("days", [1, 30])
@pytest.mark.parametrize("count", [2, 3, 4])
def test_open_cases_side_by_side_read_at_telegram_size(
    renderer: Renderer, monkeypatch: pytest.MonkeyPatch, lang: str, days: int, count: int
) -> None:
    labels = renderer.chart_labels(lang, None)
    panels = []
    for i, title in enumerate(CASES[lang][:count]):
        deadline = FIRST + dt.timedelta(days=days + 3 * i)
        panels.append(
            Panel(
                title,
                pledges(days, scale=i + 1) if i != 2 else {},  # one case nobody has acted on yet
                deadline,
                renderer.chart_labels(lang, deadline)["deadline_label"],
                sends(days),
            )
        )
    figure = overview_figure(panels, today=FIRST + dt.timedelta(days=days - 1), **labels)
    assert_readable(
        figure,
        monkeypatch,
        labels["deadline_name"],
        labels["broadcasts_label"],
        labels["total_label"],
        *(panel.deadline_label for panel in panels),
    )
