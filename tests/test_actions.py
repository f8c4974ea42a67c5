"""The action table (bot/content/actions.py): every row is complete, and the rest of the bot follows it.

A new row that lacks its template, its catalogue entries, its emoji or colour, a callback verb of its own or
a screen fails here first; the behaviour tests show callbacks, screens, handlers and audiences derive from it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.content import ACTION_TABLE, ACTIONS, WRITING_ACTIONS, Action, Target
from bot.content.actions import ACTION_BY_KEY, ACTION_BY_VERB, LETTER
from bot.delivery.audiences import Audiences, MessageKind, audience
from bot.ground.i18n import UI_LANGUAGES, InContext, Plural, load_translations
from bot.ground.privacy import Pseudonymizer
from bot.pledges.store import Store
from bot.render import Renderer, Screen
from bot.render.callbacks import _OTHER_VERBS, MAX_BYTES, decode, encode
from bot.render.charts import DEADLINE_COLOUR
from tests.test_render import BOT, LOCALES, NOW, TEMPLATES, make_case

CASE = "ua-84-11"
LONGEST_CASE = "a" * 32  # the longest case id the models allow
# Action keys (in Redis) and their verbs (in the buttons of messages already sent), as they are stored today.
STORED = {"letter": "tgt", "email": "eml", "fax": "fax", "tweet": "tw", "share": "sh"}
ROWS = pytest.mark.parametrize("action", ACTION_TABLE, ids=[a.key for a in ACTION_TABLE])


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(TEMPLATES, load_translations(LOCALES), bot_username=BOT, default_timezone="UTC")


def read_catalog(path: Path, locale: str | None = None):
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def wordings(action: Action) -> dict[str, object]:
    """Every wording of a row by field name (a row without a button has one fewer)."""
    found = {
        name: getattr(action, name)
        for name in ("name", "button", "done", "first_counted", "first", "so_far", "together")
    }
    return {name: value for name, value in found.items() if value is not None}


def buttons(screen: Screen) -> list:
    return [b for row in screen.buttons for b in row]


def callbacks(screen: Screen) -> list[str]:
    return [b.callback for b in buttons(screen) if b.callback]


# A valid value of each Target field an action may need (Action.needs): a new one gets its sample here.
SAMPLES = {"email": "office@example.org", "fax": "+7 495 987 58 41", "twitter": "@office"}


def full_target() -> dict:
    """An official with every field any action may need."""
    return {"name": "Full Official", "address": ["1 Main St"], **SAMPLES}


# --- every row is complete -----------------------------------------------------------------------------------


@ROWS
def test_row_has_its_shape(action: Action) -> None:
    # The key is stored in Redis and callback data, the verb in old messages' buttons: short and plain.
    assert re.fullmatch(r"[a-z]{2,10}", action.key), action.key
    assert re.fullmatch(r"[a-z]{2,6}", action.verb), action.verb
    assert action.emoji.strip() and not action.emoji.isascii(), action.emoji
    assert re.fullmatch(r"#[0-9a-f]{6}", action.colour), action.colour
    assert action.needs is None or action.needs in Target.model_fields, f"Target has no field {action.needs!r}"
    assert action.needs is None or action.needs in SAMPLES, f"add a sample {action.needs} to SAMPLES above"
    # Anything but the letter (opened by each official's name) is opened by a button of its own.
    assert action is LETTER or action.button, f"{action.key}: no button label"
    # Only an action for one official can need something of that official.
    assert action.per_target or action.needs is None


@ROWS
def test_row_has_its_template(action: Action) -> None:
    assert (TEMPLATES / action.template).is_file(), f"{action.key}: no template {action.template}"


@ROWS
def test_row_wordings_are_in_the_catalogues(action: Action) -> None:
    """Each wording is extracted into the .pot with its context and plural, and translated in every UI language."""
    template = read_catalog(LOCALES / "messages.pot")
    ru = read_catalog(LOCALES / "ru" / "LC_MESSAGES" / "messages.po", "ru")
    for field, wording in wordings(action).items():
        if isinstance(wording, Plural):
            msgid, context, expected_id = wording.singular, None, (wording.singular, wording.plural)
        elif isinstance(wording, InContext):
            msgid, context, expected_id = wording.message, wording.context, wording.message
        else:
            msgid, context, expected_id = wording, None, wording
        where = f"{action.key}.{field} {msgid!r}"
        in_pot = template.get(msgid, context=context)
        assert in_pot is not None, f"{where} is not in messages.pot: re-extract (README, UI translations)"
        assert in_pot.id == expected_id, f"{where}: the .pot has {in_pot.id!r}"
        for lang in UI_LANGUAGES:
            po = read_catalog(LOCALES / lang / "LC_MESSAGES" / "messages.po", lang)
            assert po.get(msgid, context=context) is not None, f"{where} is not in the {lang} catalogue"
        found = ru.get(msgid, context=context)
        strings = found.string if isinstance(found.string, tuple) else (found.string,)
        assert not found.fuzzy and all(strings), f"{where} is not translated in ru"
        if isinstance(wording, Plural):
            assert len(strings) == ru.num_plurals, f"{where}: ru needs {ru.num_plurals} plural forms"


@ROWS
def test_row_has_a_screen_that_offers_its_pledge(renderer: Renderer, action: Action) -> None:
    """The renderer draws the row's screen (its method is named after the key) with "I did it" for that action."""
    assert callable(getattr(Renderer, action.key, None)), f"Renderer has no screen method {action.key!r}"
    case = make_case(targets=[full_target()])
    for lang in UI_LANGUAGES:
        if action.per_target:
            screen = renderer.target_action(action, case, 0, lang, "en", variant_seed=b"s", signature=None)
        else:
            screen = renderer.case_action(action, case, lang)
        assert screen.text
        # Per official, "I did it" names the official; case-wide, only the case.
        done_data = f"pl:{case.id}:{action.key}" + (f":{case.targets[0].id}" if action.per_target else "")
        assert done_data in callbacks(screen), f"{action.key} ({lang}): {callbacks(screen)}"
        assert f"later:{case.id}:{action.key}" in callbacks(screen)
        done = renderer._say(action.done, lang)
        assert any(b.text.endswith(done) for b in buttons(screen)), f"{action.key} ({lang}): no {done!r}"


def test_keys_verbs_emoji_and_colours_are_each_distinct() -> None:
    for attribute in ("key", "verb", "emoji", "colour", "name", "button", "done"):
        values = [getattr(a, attribute) for a in ACTION_TABLE if getattr(a, attribute) is not None]
        assert len(values) == len(set(values)), f"two actions share a {attribute}: {values}"
    # The deadline line is drawn over the bars: it must not look like one of them.
    assert DEADLINE_COLOUR not in {a.colour for a in ACTION_TABLE}
    assert len(ACTION_BY_KEY) == len(ACTION_BY_VERB) == len(ACTION_TABLE)


def test_action_verbs_are_not_taken_by_other_buttons() -> None:
    taken = sorted({a.verb for a in ACTION_TABLE} & set(_OTHER_VERBS))
    assert not taken, f"callback verbs already used by other buttons: {taken}"


def test_derived_tuples_follow_the_table() -> None:
    assert ACTIONS == tuple(a.key for a in ACTION_TABLE)
    assert WRITING_ACTIONS == tuple(a.key for a in ACTION_TABLE if a.writing)
    # What the stored data holds today: renaming a key or a verb would orphan pledges and old buttons.
    assert {key: ACTION_BY_KEY[key].verb for key in STORED} == STORED


# --- the rest of the bot derives from it ---------------------------------------------------------------------


@ROWS
def test_callback_codec_takes_each_verb_in_its_shape(action: Action) -> None:
    per_target = f"{action.verb}:{CASE}:3:ru"
    case_wide = f"{action.verb}:{CASE}"
    right, wrong = (per_target, case_wide) if action.per_target else (case_wide, per_target)
    parsed = decode(right)
    assert parsed is not None and parsed.verb == action.verb
    assert decode(wrong) is None
    # "I did it" and "Remind me later" name the action; they fit Telegram's 64 bytes with the longest case id.
    for verb in ("pl", "later"):
        data = encode(verb, LONGEST_CASE, action.key)
        assert len(data.encode()) <= MAX_BYTES and decode(data).args[:2] == (LONGEST_CASE, action.key)
    # "I did it" for one official names it too (the longest id a case file may give), still within 64 bytes.
    data = encode("pl", LONGEST_CASE, action.key, "o" * 16)
    assert len(data.encode()) <= MAX_BYTES and decode(data).args == (LONGEST_CASE, action.key, "o" * 16)
    assert decode(f"pl:{CASE}:{action.key}").args == (CASE, action.key, ""), "an older button names no official"


def test_pledge_callbacks_accept_exactly_the_table_actions() -> None:
    near_misses = ["", "letters", "Letter", "e-mail", "call", "tw", "tgt", "letter|email", "fax ", " fax"]
    for candidate in [*ACTIONS, *near_misses]:
        for verb in ("pl", "later"):
            assert (decode(f"{verb}:{CASE}:{candidate}") is not None) == (candidate in ACTIONS), (verb, candidate)


def test_handlers_take_the_taps_of_every_action() -> None:
    """handlers/act.py routes each action's verb to its screen, and nothing routes an action's verb twice."""
    import handlers
    from handlers.act import router
    from handlers.filters import tap_verbs

    assert tap_verbs(router) == {"act", "doc", "prt", "pl", "later", *(a.verb for a in ACTION_TABLE)}
    # The routers before the catch-all, each filtered by the verbs it takes (handlers/__init__.py).
    others = [tap_verbs(r) or frozenset() for r in handlers._ROUTERS if r is not router]
    assert not any(verbs & {a.verb for a in ACTION_TABLE} for verbs in others)


def test_the_letter_offers_each_action_the_official_can_receive(renderer: Renderer) -> None:
    """The other per-target actions hang off the letter, each where the official has what it needs."""
    per_target = [a for a in ACTION_TABLE if a.per_target and a is not LETTER]
    verbs = {a.verb for a in per_target}
    case = make_case(targets=[full_target(), {"name": "Bare Official"}])
    offered = {}
    for index, target in enumerate(case.targets):
        screen = renderer.letter(case, index, "en", "en", variant_seed=b"s", signature=None)
        shown = [c for c in callbacks(screen) if c.split(":")[0] in verbs]
        assert shown == [f"{a.verb}:{case.id}:{target.id}:en" for a in per_target if a.offered_to(target)], shown
        offered[target.name] = shown
    assert len(offered["Full Official"]) == len(per_target)  # every one, for an official with every field
    assert offered["Bare Official"] == [f"{a.verb}:{case.id}:official-2:en" for a in per_target if a.needs is None]


def test_case_wide_actions_are_one_tap_from_the_act_menu_and_their_reminder(renderer: Renderer) -> None:
    case = make_case()
    menu = callbacks(renderer.act_menu(case, "en", NOW))
    for action in ACTION_TABLE:
        if action.per_target:
            assert f"{action.verb}:{case.id}" not in menu
            later = renderer.later_reminder(case, "en", action.key, NOW)
            assert callbacks(later) == [f"act:{case.id}"], action.key  # back to the officials
        else:
            assert f"{action.verb}:{case.id}" in menu
            later = renderer.later_reminder(case, "en", action.key, NOW)
            assert callbacks(later) == [f"{action.verb}:{case.id}"], action.key
            label = renderer._say(action.button, "en")
            assert [b.text for b in buttons(later)] == [f"{action.emoji} {label}"]


@pytest.mark.parametrize("lang", UI_LANGUAGES)
def test_each_action_has_its_own_pledge_words(renderer: Renderer, lang: str) -> None:
    """No row falls back on the letter's words (as an unknown action does), in any language."""
    case = make_case()
    for total in (1, 2, 5, 1234):
        answers = [renderer.pledge_toast(a.key, lang, counted=True, total=total, case=case).text for a in ACTION_TABLE]
        assert len(set(answers)) == len(ACTION_TABLE), answers
        repeated = [renderer.pledge_toast(a.key, lang, counted=False, total=total).text for a in ACTION_TABLE]
        assert len(set(repeated)) == len(ACTION_TABLE), repeated
    names = renderer.action_names(lang)
    assert list(names) == list(ACTIONS) and len(set(names.values())) == len(ACTIONS)
    assert renderer.pledge_toast("bogus", lang, counted=True, total=1).text == renderer._say(LETTER.first_counted, lang)


# --- pledges and audiences: writing actions are what deadline reminders ask for --------------------------------


@pytest.fixture
async def people(redis) -> AsyncIterator[tuple[Store, Audiences, dict[str, int], int]]:
    """A follower of the case per action, each having done only that action, and one who did nothing."""
    pseudonyms = Pseudonymizer(b"actions-test-key-0123456789abcdef")
    store, audiences = Store(redis, pseudonyms), Audiences(redis, pseudonyms)
    doers = {action.key: 7400 + i for i, action in enumerate(ACTION_TABLE)}
    idle = 7399
    for chat in [idle, *doers.values()]:
        await store.subscribe(chat, CASE)
    for key, chat in doers.items():
        assert (await store.pledge(chat, CASE, key)).counted
    yield store, audiences, doers, idle


async def test_writing_actions_drive_the_not_written_audience(people) -> None:
    store, audiences, doers, idle = people
    reached: set[int] = set()
    async for batch in audiences.recipients(audience(MessageKind.reminder, CASE)):
        reached.update(batch)
    assert reached == {idle} | {doers[a.key] for a in ACTION_TABLE if not a.writing}
    # The "What did they do" line of a reminder lists the other actions; "letters sent" counts the writing ones.
    due = {r.chat: r.cases for batch in [b async for b in audiences.reminders([CASE])] for r in batch}
    assert due[idle] == ((CASE, ()),)
    for action in ACTION_TABLE:
        if not action.writing:
            assert due[doers[action.key]] == ((CASE, (action.key,)),)
    assert await store.letters_sent(CASE) == sum(a.writing for a in ACTION_TABLE)
    assert await store.totals(CASE) == dict.fromkeys(ACTIONS, 1)
