"""Per-official progress: "I sent it" counts per person, case, official and action, through the real bot."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from bot.app.wiring import App
from bot.content.states import CaseStates
from bot.pledges import aggregates
from bot.pledges.retention import Retention
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.test_journey import CASE, arrive
from tests.test_privacy import closed

# What each step says, in both languages: the toasts and the act menu's line.
SAYS = {
    "en": {
        "first": "Counted — you are the first to write!",
        "second": "Counted, thank you for writing to M. A. Peshkov too!",
        "again": "You were already counted as writing to M. A. Peshkov.",
        "nobody_before": "No one had written to this official before you.",
        "together": "Together with you, 2 people have written to this official.",
        "menu": "You have written to 2 of 3 officials.",
        "all": "You have written to all the officials. Thank you!",
        "mydata": "Officials you wrote to: Yurii Ya. Chaika, M. A. Peshkov",
    },
    "ru": {
        "first": "Учтено — это первое письмо по этому делу!",
        "second": "Учтено, спасибо! Ещё один адресат: М. А. Пешков.",
        "again": "Ваша отметка уже учтена (адресат: М. А. Пешков).",
        "menu": "Вы написали 2 адресатам из 3.",
        "all": "Вы написали всем адресатам. Спасибо!",
        "nobody_before": "До Вас этому адресату ещё никто не писал.",
        "together": "Вместе с Вами этому адресату уже написали 2 человека.",
        "mydata": "Адресаты, которым Вы написали: Ю. Я. Чайка, М. А. Пешков",
    },
}


async def write_to(who: Activist, official: str, action: str = "letter") -> dict:
    """From /act: open the official's letter (and the email or fax screen), tap "I sent it"."""
    await who.send("/act")
    await who.tap_data(f"tgt:{CASE}:{official}:")
    if action != "letter":
        await who.tap_data({"email": "eml", "fax": "fax"}[action] + f":{CASE}:{official}:")
    return await who.tap_data(f"pl:{CASE}:{action}:{official}")


def menu_marks(who: Activist) -> dict[str, str]:
    """official id -> the emoji its act-menu button starts with."""
    return {
        b["callback_data"].split(":")[2]: b["text"].split()[0]
        for b in who.buttons()
        if b.get("callback_data", "").startswith(f"tgt:{CASE}:")
    }


@pytest.mark.parametrize("lang", ["en", "ru"])
async def test_two_officials_two_pledges_both_counted_a_double_tap_once(
    app: App, emulator: BotAPIEmulator, lang: str
) -> None:
    ann = await arrive(emulator, 301, lang)
    says = SAYS[lang]
    assert (await write_to(ann, "chaika"))["text"] == says["first"]
    second = await write_to(ann, "peshkov")
    assert second["text"] == f"{says['second']} {says['nobody_before']}"
    letter = ann.last
    again = await ann.tap_data(f"pl:{CASE}:letter:peshkov", letter)
    assert says["again"] in again["text"], again["text"]
    assert not {"thank", "спасибо"} & set(again["text"].lower().split()), "a repeated tap thanks nobody again"

    assert await app.store.official_totals(CASE) == {"chaika": {"letter": 1}, "peshkov": {"letter": 1}}
    # The case's letter total stays "people who wrote to at least one official".
    assert (await app.store.totals(CASE))["letter"] == 1

    await ann.tap_data(f"act:{CASE}", letter)
    assert says["menu"] in ann.last["text"]
    assert menu_marks(ann) == {"chaika": "✅", "peshkov": "✅", "medvedev": "✉️"}

    await ann.send("/mydata")
    assert says["mydata"] in ann.last["text"]
    await write_to(ann, "medvedev")
    await ann.send("/act")
    assert says["all"] in ann.last["text"] and set(menu_marks(ann).values()) == {"✅"}

    # Someone else who wrote to the Prosecutor General first hears how many wrote to M. A. Peshkov.
    bob = await arrive(emulator, 311, lang)
    await write_to(bob, "chaika")
    assert (await write_to(bob, "peshkov"))["text"].endswith(says["together"])


async def test_each_writing_action_counts_per_official_and_others_still_count_per_case(
    app: App, emulator: BotAPIEmulator
) -> None:
    ann = await arrive(emulator, 302, "en")
    await write_to(ann, "peshkov", "email")
    await write_to(ann, "chaika", "fax")
    await write_to(ann, "peshkov", "fax")
    bob = await arrive(emulator, 303, "en")
    await write_to(bob, "peshkov", "fax")
    assert await app.store.official_totals(CASE) == {"peshkov": {"email": 1, "fax": 2}, "chaika": {"fax": 1}}
    totals = await app.store.totals(CASE)
    assert (totals["email"], totals["fax"]) == (1, 2), "per case: people, not letters"
    # Whoever wrote to an official, by any means, counts among those who wrote to them.
    dan = await arrive(emulator, 309, "en")
    await write_to(dan, "chaika")
    answer = await write_to(dan, "peshkov")
    assert answer["text"].endswith("Together with you, 3 people have written to this official."), answer["text"]
    # A post on X stays one per case.
    await ann.send("/act")
    await ann.tap_data(f"tw:{CASE}")
    assert [b["callback_data"] for b in ann.buttons() if b.get("callback_data", "").startswith("pl:")] == [
        f"pl:{CASE}:tweet"
    ]


async def test_older_buttons_and_unknown_officials_count_for_the_case(app: App, emulator: BotAPIEmulator) -> None:
    """A pledge made before officials were counted stays "wrote to at least one"; writing to an official
    afterwards counts for that official and thanks once, without counting the person twice."""
    ann = await arrive(emulator, 304, "en")
    await ann.tap_data(f"act:{CASE}")
    await ann.tap_data(f"tgt:{CASE}:chaika:")
    screen = ann.last
    old = await ann.press(screen["message_id"], f"pl:{CASE}:letter")
    assert old["text"] == "Counted — you are the first to write!"
    gone = await ann.press(screen["message_id"], f"pl:{CASE}:letter:nobody")
    assert gone["text"].startswith("You were already counted for this case."), "an unknown id counts per case"
    now = await ann.press(screen["message_id"], f"pl:{CASE}:letter:chaika")
    assert now["text"].startswith("Counted, thank you for writing to Yurii Ya. Chaika too!")
    assert await app.store.official_totals(CASE) == {"chaika": {"letter": 1}}
    assert (await app.store.totals(CASE))["letter"] == 1


async def test_stats_chart_csv_and_cli_name_the_officials(app: App, emulator: BotAPIEmulator) -> None:
    for user in (305, 306):
        who = await arrive(emulator, user, "en")
        await write_to(who, "chaika")
    await write_to(who, "peshkov", "email")

    figures = await aggregates.collect(app.store, [CASE])
    assert figures.cases[0].officials == {"chaika": {"letter": 2}, "peshkov": {"email": 1}}
    case = app.library.get(CASE)
    text = app.renderer.coordinator_stats(figures, {CASE: case}, "ru", dt.date(2012, 5, 1))
    assert (
        "Сколько человек написали каждому адресату:" in text
        and "Ю. Я. Чайка: ✉️ 2" in text
        and "М. А. Пешков: 📧 1" in text
    )

    names = {CASE: {t.id: t.name_in("en") for t in case.targets}}
    table = aggregates.to_csv(aggregates.tables(figures, names)["pledges-per-official"])
    rows = list(csv.reader(io.StringIO(table.decode("utf-8-sig"))))
    assert rows[0] == ["case", "official", "name", "action", "count"]
    assert [CASE, "chaika", "Yurii Ya. Chaika", "letter", "2"] in rows
    assert [CASE, "peshkov", "M. A. Peshkov", "email", "1"] in rows

    from bot.render.charts import pledges_chart

    labels = app.renderer.chart_labels("en", None)
    with_officials = pledges_chart(
        figures.cases[0].daily,
        None,
        "t",
        officials=app.renderer.officials_by_name(case, {"chaika": {"letter": 2}}, "en"),
        **labels,
    )
    without = pledges_chart(figures.cases[0].daily, None, "t", **labels)
    assert with_officials[:8] == b"\x89PNG\r\n\x1a\n" and len(with_officials) != len(without)


async def test_forget_and_retention_remove_who_wrote_to_whom_but_keep_totals(
    app: App, emulator: BotAPIEmulator
) -> None:
    ann = await arrive(emulator, 307, "en")
    await write_to(ann, "chaika")
    key = app.store.case_key(CASE, "pledged", "letter", "chaika")
    assert key.startswith("rrb:{case:ua-84-11}:"), "one hash slot per case"
    assert await app.store.redis.scard(key) == 1
    await app.store.forget(307, [CASE])
    assert await app.store.redis.scard(key) == 0
    assert await app.store.official_totals(CASE) == {"chaika": {"letter": 1}}, "totals name no one and stay"

    bob = await arrive(emulator, 308, "en")
    await write_to(bob, "peshkov")
    purged = await Retention(app.store.redis, CaseStates(app.store.redis)).run(
        closed(app.library, CASE), days=0, now=dt.datetime.now(dt.UTC)
    )
    assert purged.cases == 1
    assert not await app.store.redis.exists(app.store.case_key(CASE, "pledged", "letter", "peshkov"))
    assert await app.store.written(308, CASE) == frozenset()
    assert await app.store.official_totals(CASE) == {"chaika": {"letter": 1}, "peshkov": {"letter": 1}}
