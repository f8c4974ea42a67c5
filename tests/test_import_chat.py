"""A coordinator imports an Urgent Action in chat: preview, Edit, Discard, Publish, updates, bad input."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.app.wiring import App, running
from bot.content import Library
from bot.content.states import UpdateKind
from bot.ground.settings import Settings, StoreSettings
from bot.importer.review import Review, Verdict, review
from bot.publishing.announce import make_renderer
from bot.publishing.drafts import Drafts, make_draft
from emulator import BotAPIEmulator
from emulator.journey import Activist
from tests.conftest import ADMIN_ID, CONTENT
from tests.pdfs import build_pdf, flate_stream, text_pdf
from tests.test_importer_recall import _appeal as appeal_page
from tests.test_lifecycle import follower, last_text
from tests.test_scheduler import CASE, planned_jobs, write_content
from tests.ua_texts import new_case, update_of_ua_84_11

UTC = dt.UTC
NEW = "ua-201-26"


def days_ahead(days: int) -> dt.date:
    return (dt.datetime.now(UTC) + dt.timedelta(days=days)).date()


@pytest.fixture
async def live(settings: Settings, redis, tmp_path: Path) -> AsyncIterator[App]:
    """The bot with a writable content directory; the seed case open for ten more days."""
    content = write_content(tmp_path, deadline=days_ahead(10).isoformat(), timezone="Europe/Moscow")
    async with running(settings.model_copy(update={"content_dir": content}), redis, Library.load(content)) as app:
        await app.store.set_language(ADMIN_ID, "en")
        await app.store.start(ADMIN_ID)
        yield app


@pytest.fixture
def admin(emulator: BotAPIEmulator) -> Activist:
    return Activist(emulator, ADMIN_ID, "Coord")


async def upload(person: Activist, name: str, content: bytes, *, report: bool = True) -> dict:
    """Send a document and wait for the bot's answer: the report under a preview, or one message."""
    before = len(person.emu.outbox(person.user_id))
    person.emu.user_sends_document(person.user_id, name, content)
    return await answered(person, before, report)


async def paste(person: Activist, text: str, *, report: bool = True) -> dict:
    before = len(person.emu.outbox(person.user_id))
    person.emu.user_sends(person.user_id, text)
    return await answered(person, before, report)


async def answered(person: Activist, before: int, report: bool) -> dict:
    """The bot's answer: with `report`, the report under the preview (a question about the draft may follow it)."""

    # A preview is several messages, paced by the per-chat flood limit: wait for the report under it.
    def reports() -> list[dict]:
        new = [entry["message"] for entry in person.emu.outbox(person.user_id)[before:]]
        return [m for m in new if "Imported draft" in (m.get("text") or "")] if report else new

    await person.emu.wait_for(reports, timeout=15)
    found = reports()[-1]
    if report and re.search(r"question below|questions below", found.get("text") or ""):
        # The question under the report comes next, perhaps after a flood limit's wait.
        await person.emu.wait_for(lambda: last_text(person).startswith("❔"), timeout=15)
    await person.emu.wait_idle(timeout=10)
    return current(person, found)


def current(person: Activist, message: dict) -> dict:
    """The message as the person sees it now (it may have been edited since)."""
    return next(m for m in reversed(person.messages) if m["message_id"] == message["message_id"])


def since(person: Activist, count: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in person.messages[count:]]


# --- the review, pure ---------------------------------------------------------------------------


def assess(text: str, **kwargs: object) -> Review:
    renderer = make_renderer(StoreSettings(content_dir=CONTENT, _env_file=None))
    draft = make_draft(text, "ua.txt")
    return review(
        draft.yaml, Library.load(CONTENT), renderer.letters, dt.date(2026, 11, 28), closes=draft.closes, **kwargs
    )


def test_a_new_appeal_is_new_and_its_missing_translation_is_named() -> None:
    found = assess(new_case(days_ahead(20)))
    assert found.verdict == Verdict.new and found.case is not None and found.case.id == NEW
    assert [(g.language, g.missing, g.shown) for g in found.gaps] == [("es", "asks", "en")]


def test_updates_of_a_known_appeal_are_told_apart() -> None:
    later = dt.date(2026, 12, 30)
    assert assess(update_of_ua_84_11("second", later)).verdict == Verdict.known
    third = assess(update_of_ua_84_11("third", later))
    assert (third.verdict, third.kind, third.deadline, third.existing.id) == (
        Verdict.update,
        UpdateKind.extended,
        later,
        CASE,
    )
    assert "still not been seen" in third.text
    closing = assess(update_of_ua_84_11("fourth", later, closing=True))
    assert (closing.verdict, closing.update, closing.kind) == (Verdict.update, 4, UpdateKind.closed)


def test_a_draft_with_an_id_in_use_or_errors_cannot_be_published() -> None:
    renderer = make_renderer(StoreSettings(content_dir=CONTENT, _env_file=None))
    draft = make_draft(new_case(days_ahead(20)), "ua.txt").yaml.replace("id: ua-201-26", f"id: {CASE}")
    clash = review(draft, Library.load(CONTENT), renderer.letters, dt.date(2026, 11, 28))
    assert clash.verdict == Verdict.clash and not clash.publishable
    broken = review("id: x\ntitle: [", Library.load(CONTENT), renderer.letters, dt.date(2026, 11, 28))
    assert broken.verdict == Verdict.invalid and broken.problems and broken.problems[0].line == 2


# --- in chat --------------------------------------------------------------------------------------


async def test_a_pasted_ua_is_previewed_with_every_official_then_published_once(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    people = [await follower(live, emulator, 7101), await follower(live, emulator, 7102, "ru")]
    start = len(admin.messages)
    report = await paste(admin, new_case(days_ahead(20)))
    shown = since(admin, start)
    # The card in each language its readers use, most read first, then a letter to each of the three officials,
    # then the report under it all.
    assert shown[0].startswith("👥 In English: 2 readers") and "Journalist held without charge" in shown[0], shown
    assert shown[1].startswith("👥 In Russian: 1 reader\n") and "Срок" in shown[1], shown[1]
    for name in ("Marta Elena Ruiz", "Jorge Alberto Pineda", "Lucía Beatriz Gómez"):
        assert any(f"Letter to {name}" in text for text in shown), name
    assert any("Avenida Central 100" in text and "Dear Attorney General" in text for text in shown)
    assert "Marta Elena Ruiz · 📠 +502 2411 9124 · 📧 fiscal.general@example.org" in report["text"]
    assert "New case ua-201-26 (UA 201/26)" in report["text"], report["text"]
    assert "sends the alert to 3 subscribers" in report["text"]  # the two followers and the coordinator
    # The appeal wants Spanish; nobody wrote Spanish asks, and the coordinator is told so.
    assert "letters in Spanish" in report["text"] and "fall back to English" in report["text"]
    assert any("No Spanish text for this appeal yet" in text for text in shown)
    assert not (live.settings.content_dir / "cases" / f"{NEW}.yaml").exists()

    await admin.tap("Publish", report)
    saved = live.settings.content_dir / "cases" / f"{NEW}.yaml"
    data = yaml.safe_load(saved.read_text(encoding="utf-8"))
    assert [t.get("fax") for t in data["targets"]] == ["+502 2411 9124", "+502 2413 8888", None]
    assert live.library.get(NEW) is not None
    for person in people:
        await emulator.wait_for(lambda p=person: "JOURNALIST" in last_text(p).upper(), timeout=15)
    assert any("What can I do?" in b["text"] for b in people[0].buttons())
    await emulator.wait_for(lambda: "Alert of UA 201/26" in str(admin.messages), timeout=10)
    # The leader planned the deadline reminders of the new case.
    await emulator.wait_for(planned_jobs(live.scheduler, NEW, 3), timeout=10)

    # A second tap on the old report publishes nothing more.
    alerts = len(people[0].messages)
    answer = await admin.tap("Publish", report)
    assert "already published or discarded" in answer["text"]
    await emulator.wait_idle(timeout=5)
    assert len(people[0].messages) == alerts


async def test_an_update_document_is_recognised_as_the_update_of_its_case(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    person = await follower(live, emulator, 7201)
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)
    later = days_ahead(30)
    report = await upload(admin, "ua-84-11-third.txt", update_of_ua_84_11("third", later).encode())
    assert "Update 3 of UA 84/11, case ua-84-11" in report["text"] and "1 follower" in report["text"]
    assert "The deadline moves to" in report["text"]
    assert "still not been seen" in admin.messages[-2]["text"]  # the update as followers will read it

    await admin.tap("Publish", report)
    await emulator.wait_for(lambda: "still not been seen" in last_text(person), timeout=15)
    await emulator.wait_for(lambda: live.library.get(CASE).update == 3, timeout=10)
    assert live.library.get(CASE).deadline == later
    assert not (live.settings.content_dir / "cases" / "ua-84-11-third.yaml").exists()

    # The same document again: nothing new.
    again = await upload(admin, "ua-84-11-third.txt", update_of_ua_84_11("third", later).encode())
    assert "already in the bot as case ua-84-11" in again["text"]
    assert "Publish" not in str(again.get("reply_markup"))


async def test_a_closing_update_closes_the_case(live: App, emulator: BotAPIEmulator, admin: Activist) -> None:
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 3), timeout=10)
    report = await paste(admin, update_of_ua_84_11("third", days_ahead(30), closing=True))
    assert "closes the case" in report["text"]
    await admin.tap("Publish", report)
    await emulator.wait_for(lambda: live.library.get(CASE).status == "closed", timeout=10)
    await emulator.wait_for(planned_jobs(live.scheduler, CASE, 0), timeout=10)


async def test_edit_sends_the_draft_and_takes_a_corrected_file_back(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    report = await paste(admin, new_case(days_ahead(20)))
    await admin.tap("Edit", report)
    sent = admin.last
    assert sent["document"]["file_name"] == "draft.yaml" and "send it back" in sent["caption"]
    draft = emulator.files.get(sent["document"]["file_id"]).data.decode()

    broken = draft.replace("deadline:", "deadline: [", 1)
    problems = await paste(admin, broken, report=False)
    assert "draft is unchanged" in problems["text"] and "YAML syntax error" in problems["text"]
    deadline = next(n for n, line in enumerate(draft.splitlines(), 1) if line.startswith("deadline:"))
    assert f"line {deadline + 1}" in problems["text"]  # where YAML finds the unclosed "["
    fixed = draft.replace("ua-201-26", "ua-201-26-es").replace("- es\n", "- en\n")
    again = await upload(admin, "draft.yaml", fixed.encode())
    assert "New case ua-201-26-es" in again["text"] and "letters in Spanish" not in again["text"]
    assert "no language code" not in again["text"]
    plain = fixed.replace("- statement:\n    en: I call on you", "- statement: I call on you")
    warned = await upload(admin, "draft.yaml", plain.encode())
    assert "Some asks have no language code" in warned["text"]


async def test_discard_leaves_nothing_behind(live: App, emulator: BotAPIEmulator, admin: Activist) -> None:
    report = await paste(admin, new_case(days_ahead(20)))
    await admin.tap("Discard", report)
    assert "Draft discarded" in current(admin, report)["text"]
    answer = await admin.press(report["message_id"], report["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    assert "already published or discarded" in answer["text"]
    assert not (live.settings.content_dir / "cases" / f"{NEW}.yaml").exists()


async def test_a_long_pasted_text_is_read_when_its_last_part_arrives(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    text = new_case(days_ahead(20))
    cut = text.index("PLEASE SEND APPEALS")
    first = text[:cut] + "\n" * (3900 - cut)  # the app cut it here, at Telegram's length
    waiting = await admin.send(first)
    assert "send the rest" in waiting["text"] and "Preview" in str(waiting["reply_markup"])
    report = await paste(admin, text[cut:])
    assert "New case ua-201-26" in report["text"]


async def test_bad_documents_get_a_clear_answer_and_the_bot_keeps_going(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    answers = {
        "empty.txt": (b"", "The file is empty"),
        "recipe.txt": (
            b"Mix the flour and the water, then bake for an hour. " * 20,
            "does not look like an Urgent Action",
        ),
        "scan.pdf": (build_pdf([b""]), "it is a scan"),
        "bomb.pdf": (build_pdf([flate_stream(b" ", 200 * 1024 * 1024)]), "expands to far more data"),
        "photo.txt": (bytes(range(256)) * 4, "neither a PDF nor text"),
        "huge.txt": (b"a" * (5 * 1024 * 1024 + 1), "at most 5 MB"),
    }
    for name, (content, expected) in answers.items():
        answer = await upload(admin, name, content, report=False)
        assert expected in answer["text"], (name, answer["text"])
    downloads = [c for c in emulator.calls if c.method == "getFile"]
    assert len(downloads) == len(answers) - 1  # the oversized file was refused by its size alone
    report = await upload(admin, "ua.pdf", text_pdf([new_case(days_ahead(20), bullet="-").splitlines()]))
    assert "New case ua-201-26" in report["text"]


async def test_only_coordinators_can_import(live: App, emulator: BotAPIEmulator) -> None:
    outsider = Activist(emulator, 7301, "Out")
    await outsider.send("/start")
    answer = await upload(outsider, "ua.txt", new_case(days_ahead(20)).encode(), report=False)
    assert "Urgent Action" not in answer["text"]
    assert (await outsider.send(new_case(days_ahead(20))))["text"] != ""
    assert not any("New case" in (m.get("text") or "") for m in outsider.messages)


async def test_commands_leave_the_edit_step_and_cancel_drops_the_draft(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    report = await paste(admin, new_case(days_ahead(20)))
    await admin.tap("Edit", report)
    helped = await paste(admin, "/help", report=False)
    assert "case file has problems" not in helped["text"]
    assert "case file has problems" not in (await paste(admin, "/cases", report=False))["text"]

    again = await paste(admin, new_case(days_ahead(20)))
    await paste(admin, "/cancel", report=False)
    assert "Import stopped" in admin.last["text"]
    answer = await admin.tap("Publish", again)
    assert "already published or discarded" in answer["text"]
    assert not (live.settings.content_dir / "cases" / f"{NEW}.yaml").exists()


async def test_a_long_case_file_pasted_in_parts_is_read_whole(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    report = await paste(admin, new_case(days_ahead(20)))
    await admin.tap("Edit", report)
    draft = emulator.files.get(admin.last["document"]["file_id"]).data.decode()
    cut = draft.index("\ntargets:")
    # Telegram's cut: a full first message, the rest in the second.
    first, rest = draft[:cut] + "\n" + "#" * (3900 - cut), draft[cut + 1 :]
    assert len(rest) < 3800
    waiting = await paste(admin, first, report=False)
    assert "send the rest" in waiting["text"]
    again = await paste(admin, rest)
    assert "New case ua-201-26" in again["text"], [m.get("text") for m in admin.messages[-3:]]


async def test_the_report_shows_officials_of_an_incomplete_draft_and_warns_of_a_past_deadline(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    past = await paste(admin, new_case(days_ahead(-3)))
    assert "deadline in the document has passed" in past["text"]
    incomplete = await paste(admin, new_case(days_ahead(20)).replace("PLEASE WRITE IMMEDIATELY", "PLEASE NOTE"))
    assert "cannot be published yet" in incomplete["text"]
    assert "Marta Elena Ruiz · 📠 +502 2411 9124" in incomplete["text"]


async def test_an_update_preview_shows_the_new_deadline(live: App, emulator: BotAPIEmulator, admin: Activist) -> None:
    later = days_ahead(30)
    report = await paste(admin, update_of_ua_84_11("third", later))
    preview = admin.messages[-2]["text"]
    assert f"{later.day} {later.strftime('%B %Y')}" in preview, preview
    assert "asks or the officials" in report["text"] and "Not found in the document" not in report["text"]


async def test_an_update_skipping_a_number_is_not_published_twice(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    person = await follower(live, emulator, 7401)
    fourth = update_of_ua_84_11("fourth", days_ahead(30))
    await admin.tap("Publish", await paste(admin, fourth))
    await emulator.wait_for(lambda: "still not been seen" in last_text(person), timeout=15)
    await emulator.wait_for(lambda: live.library.get(CASE).update == 4, timeout=10)
    again = await paste(admin, fourth)
    assert "already in the bot as case ua-84-11" in again["text"]
    updates = [m for m in person.messages if "still not been seen" in (m.get("text") or "")]
    assert len(updates) == 1


async def test_a_short_closing_notice_pasted_outside_import_is_taken_as_the_update(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    notice = (
        "URGENT ACTION\nNIZOMKHON JURAEV IS SAFE\nNizomkhon Juraev has returned to his family.\n"
        "No further action is requested.\nThis is the third update of UA 84/11."
    )
    report = await paste(admin, notice)
    assert "Update 3 of UA 84/11" in report["text"] and "closes the case" in report["text"]


async def test_another_ua_pasted_instead_of_the_rest_is_not_merged_into_the_first(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    first = new_case(days_ahead(20))
    waiting = await paste(admin, first + "\n" * (3900 - len(first)) + ".", report=False)
    assert "send the rest" in waiting["text"]
    report = await paste(admin, update_of_ua_84_11("third", days_ahead(30)))
    assert "Update 3 of UA 84/11" in report["text"] and "201/26" not in report["text"]


async def test_a_publish_that_cannot_write_its_file_says_so_and_sends_nothing(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    person = await follower(live, emulator, 7501)
    report = await paste(admin, new_case(days_ahead(20)))
    # Someone put a file there by hand since the preview: it is never overwritten from chat.
    (live.settings.content_dir / "cases" / f"{NEW}.yaml").write_text("# by hand\n", encoding="utf-8")
    before = len(person.messages)
    await admin.tap("Publish", report)
    await emulator.wait_for(lambda: "a case file with this id already exists" in admin.last["text"], timeout=5)
    assert (live.settings.content_dir / "cases" / f"{NEW}.yaml").read_text(encoding="utf-8") == "# by hand\n"
    await emulator.wait_idle()
    assert len(person.messages) == before


async def test_preview_reads_a_long_pasted_text_at_once_and_then_the_parts_are_gone(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    text = new_case(days_ahead(20))
    waiting = await paste(admin, text + "\n" * (3900 - len(text)) + ".", report=False)
    before = len(emulator.outbox(admin.user_id))
    await admin.tap("Preview", waiting)
    report = await answered(admin, before, True)
    assert "New case ua-201-26" in report["text"]
    await admin.tap("Preview", waiting)  # a second tap: nothing left to read
    await emulator.wait_for(lambda: "no longer here" in admin.last["text"], timeout=5)


async def test_the_report_speaks_the_coordinators_language_and_names_fields_as_the_chat_does(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    await live.store.set_language(ADMIN_ID, "ru")
    emulator.user_sends(ADMIN_ID, new_case(days_ahead(20)))
    await emulator.wait_for(lambda: "Импортированный черновик" in last_text(admin), timeout=15)
    report = admin.last
    text = report["text"]
    assert "Не найдено в документе:" in text, text
    # Fields by their names in the chat, in the coordinator's language: no YAML keys, no line numbers.
    assert "Часовой пояс срока: в документе не названа страна адресатов: выберите часовой пояс срока" in text
    assert "Имя и должность (Marta Elena Ruiz): определено эвристически" in text
    assert "never in the document" not in text and "picked by a heuristic" not in text
    assert "targets[0]" not in text and "timezone" not in text and "line " not in text
    assert not [e for e in report.get("entities", []) if e["type"] == "code"]
    # A country the document names is named in Russian too.
    emulator.user_sends(ADMIN_ID, new_case(days_ahead(20)).replace("Ciudad Capital 01001", "Oaxaca, MÉXICO"))
    await emulator.wait_for(lambda: "«Мексика» несколько часовых поясов" in str(admin.messages[-3:]), timeout=15)


# --- completing a draft in chat ----------------------------------------------------------------------


def incomplete_case() -> str:
    """UA 201/26 as a document that gives no bullet-point asks, no deadline, a country with several time zones
    and no salutation for its second official: what the chat must ask for."""
    text = new_case(days_ahead(20))
    appeal = text[text.index("PLEASE WRITE") : text.index("PLEASE SEND")]
    text = text.replace(appeal, "Write to the officials below about Ana Lucía Torres.\n\n")
    text = re.sub(r"PLEASE SEND APPEALS BEFORE .* TO:", "PLEASE SEND APPEALS TO:", text)
    text = text.replace("Ciudad Capital 01001", "Oaxaca, MÉXICO").replace("Ciudad Capital 01002", "Oaxaca, MÉXICO")
    return text.replace("Salutation: Dear Minister\n", "")


async def test_a_coordinator_completes_a_draft_by_answering_questions_in_chat(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    steps = 1
    start = len(admin.messages)
    await paste(admin, incomplete_case(), report=False)
    await emulator.wait_for(lambda: "What should the letters ask" in last_text(admin), timeout=15)
    question = admin.last
    # A blocked draft still shows what it has: the card and the letters, marked as a draft, "…" for the asks.
    shown = since(admin, start)
    assert shown[0].startswith("📝 Draft, not published") and "Journalist held without charge" in shown[0]
    assert any("Letter to Jorge Alberto Pineda" in text and "…" in text for text in shown)
    assert "cannot be published yet: answer the questions below" in admin.messages[-2]["text"]
    assert "What should the letters ask the officials to do?" in question["text"]
    assert "Type them in English, the language of the document" in question["text"]
    assert not admin.buttons(question)  # required: no Skip

    question = await admin.send("1. Release Ana Lucía Torres immediately\n- Ensure she is not ill-treated")
    steps += 1
    assert (
        "✅ What the letters ask for:\n• Release Ana Lucía Torres immediately\n• Ensure she is not ill-treated"
        in (question["text"])
    )
    assert "Type the date appeals must arrive by" in question["text"]
    assert (await admin.send("soon"))["text"].startswith("⚠️ I could not read that date")
    assert "That date has passed" in (await admin.send("1.1.2020"))["text"]
    deadline = days_ahead(20)
    question = await admin.send(deadline.strftime("%d.%m.%Y"))
    steps += 1
    assert f"✅ Deadline: {deadline.day} {deadline.strftime('%B %Y')}" in question["text"]
    assert "In which time zone of Mexico is the deadline?" in question["text"]
    # One button for each time the country keeps (Mexico's 12 zones are 6), the capital's first, with its offset.
    assert [b["text"] for b in admin.buttons(question)][:2] == ["Mexico City (UTC−6)", "Cancún (UTC−5)"]

    question = await tapped(admin, "Mexico City", question, "How should the letter")
    steps += 1
    assert "✅ Time zone of the deadline: Mexico City (America/Mexico_City)" in question["text"]
    assert "How should the letter to Jorge Alberto Pineda begin?" in question["text"]
    skipping = question
    report = await tapped(admin, "Skip", question, "Imported draft")
    steps += 1
    assert "Jorge Alberto Pineda" in report["text"] and "Salutation" in report["text"]  # still listed as missing
    assert "Imported draft" in report["text"] and "New case ua-201-26" in report["text"], report["text"]
    assert any("Release Ana Lucía Torres immediately" in m.get("text", "") for m in admin.messages[-6:])
    answer = await admin.tap("Skip", skipping)  # the old question's button, tapped again
    assert "already answered" in answer["text"]

    await admin.tap("Publish", report)
    steps += 1
    saved = yaml.safe_load((live.settings.content_dir / "cases" / f"{NEW}.yaml").read_text(encoding="utf-8"))
    assert saved["asks"] == [{"en": "Release Ana Lucía Torres immediately"}, {"en": "Ensure she is not ill-treated"}]
    assert (saved["deadline"], saved["timezone"]) == (deadline, "America/Mexico_City")
    assert "salutation" not in saved["targets"][1] and saved["targets"][0]["salutation"] == {
        "en": "Dear Attorney General"
    }
    assert steps == 6


async def test_a_complete_draft_is_asked_its_country_then_salutations_only_on_request(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    report = await paste(admin, new_case(days_ahead(20)))
    assert "Publish" in str(report["reply_markup"])
    # The deadline needs a time zone, and the document names no country: asked at once, under the report.
    await emulator.wait_for(lambda: "Which country are the officials in?" in last_text(admin), timeout=15)
    assert "I do not know that place" in (await admin.send("Atlantis"))["text"]
    await admin.send("Guatemala")  # one zone: answered, nothing left to ask
    await emulator.wait_for(lambda: "Imported draft" in last_text(admin), timeout=15)
    draft = await Drafts(live.store.redis).get(report_token(report))
    assert "timezone: America/Guatemala" in draft.yaml and "choose the deadline's zone" not in draft.yaml

    # A missing salutation alone does not hold the coordinator up: the report offers the question.
    text = new_case(days_ahead(20)).replace("Ciudad Capital 01001", "Ciudad de Guatemala, GUATEMALA")
    report = await paste(admin, text.replace("Salutation: Dear Minister\n", ""))
    await emulator.wait_idle(timeout=5)
    assert last_text(admin) == report["text"]
    question = await tapped(admin, "Complete it in chat", report, "How should the letter to Jorge Alberto Pineda")
    await admin.send("Estimado Señor Ministro")
    await emulator.wait_for(lambda: "Imported draft" in last_text(admin), timeout=15)
    assert any("Estimado Señor Ministro" in m.get("text", "") for m in admin.messages[-6:])  # the letter again
    assert question["message_id"] < admin.last["message_id"]


async def tapped(person: Activist, label: str, message: dict, expected: str) -> dict:
    """Tap, then wait for the bot's next message to say `expected` (it may wait out a flood limit first)."""
    await person.tap(label, message)
    await person.emu.wait_for(lambda: expected in last_text(person), timeout=15)
    return person.last


def report_token(report: dict) -> str:
    return next(b["callback_data"] for b in admin_buttons(report) if b["callback_data"].startswith("imp:")).split(":")[
        2
    ]


def admin_buttons(message: dict) -> list[dict]:
    return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_a_page_of_two_appeals_is_refused_naming_both(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    page = appeal_page("UA 12/13", "Pedro Ramírez") + "\n" + appeal_page("UA 14/13", "Luis Ortega")
    answer = await upload(admin, "page.txt", page.encode(), report=False)
    assert "This holds 2 Urgent Actions (UA 12/13, UA 14/13). Send them one at a time" in answer["text"]
    assert not (live.settings.content_dir / "cases" / "ua-12-13.yaml").exists()


FINAL = (
    "URGENT ACTION\nFurther information on {ua}\n{name} was released on 3 December and is back with his family.\n"
    "No further action is requested from the UA network. Many thanks to all who sent appeals.\n"
)


async def test_a_final_notice_without_a_number_closes_the_case(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    report = await paste(admin, FINAL.format(ua="UA 84/11", name="Nizomkhon Juraev"))
    assert "Update 3 of UA 84/11, case ua-84-11" in report["text"] and "closes the case" in report["text"]
    await admin.tap("Publish", report)
    await emulator.wait_for(lambda: live.library.get(CASE).status == "closed", timeout=10)
    again = await paste(admin, FINAL.format(ua="UA 84/11", name="Nizomkhon Juraev"))  # the same notice again
    assert "already in the bot as case ua-84-11" in again["text"] and "Publish" not in str(again["reply_markup"])


async def test_a_final_notice_of_an_appeal_the_bot_does_not_have_closes_nothing(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    report = await paste(admin, FINAL.format(ua="UA 81/07", name="Alan Johnston"))
    assert "final update of UA 81/07" in report["text"] and "nothing to close" in report["text"]
    assert "Publish" not in str(report["reply_markup"]) and "cannot be published" not in report["text"]
    await emulator.wait_idle(timeout=5)
    assert "❔" not in last_text(admin)  # no questions about a case to make


async def test_a_report_of_many_officials_with_many_contacts_still_fits_one_message(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    text = new_case(days_ahead(20))
    block = text[text.index("Attorney General\n") : text.index("Minister of the Interior\n")]
    faxes = "\n".join(f"Fax: +502 2411 {9100 + i}" for i in range(10))
    many = "".join(
        block.replace("Marta Elena Ruiz", f"Marta Elena Ruiz {chr(65 + i)}") + faxes + "\n\n" for i in range(12)
    )
    report = await upload(admin, "many.txt", text.replace(block, many).encode())
    assert len(report["text"]) <= 4096 and "…and 6 more." in report["text"], report["text"]


async def test_a_skipped_deadline_a_command_between_and_the_last_tick(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    question = await paste(admin, incomplete_case(), report=False)
    await emulator.wait_for(lambda: "What should the letters ask" in last_text(admin), timeout=15)
    await admin.send("Release Ana Lucía Torres")
    question = admin.last
    assert "Type the date appeals must arrive by" in question["text"]
    question = await tapped(admin, "Skip", question, "How should the letter to Jorge Alberto Pineda")
    assert question["text"].startswith("⏭ Deadline: skipped")  # no time zone to ask without a deadline
    # A command in between leaves the questions; the report's button brings them back.
    await admin.send("/help")
    report = next(m for m in reversed(admin.messages) if "Imported draft" in (m.get("text") or ""))
    question = await tapped(admin, "Complete it in chat", report, "How should the letter to Jorge Alberto Pineda")
    await admin.send("Estimado Señor Ministro")
    await emulator.wait_for(lambda: "Imported draft" in last_text(admin), timeout=15)
    assert admin.last["text"].startswith("✅ Salutation (Jorge Alberto Pineda): Estimado Señor Ministro")


async def test_a_page_without_officials_shows_its_card_and_asks_nothing(
    live: App, emulator: BotAPIEmulator, admin: Activist
) -> None:
    text = incomplete_case()
    start = len(admin.messages)
    report = await paste(admin, text[: text.index("PLEASE SEND APPEALS")])
    shown = since(admin, start)
    assert shown[0].startswith("📝 Draft, not published") and "Journalist held without charge" in shown[0]
    assert not any("Letter to" in text for text in shown)
    assert "Add what is missing with Edit" in report["text"] and "Officials: not given yet" in report["text"]
    await emulator.wait_idle(timeout=5)
    assert "❔" not in last_text(admin)


async def test_a_deadline_that_has_passed_is_asked_again(live: App, emulator: BotAPIEmulator, admin: Activist) -> None:
    old = days_ahead(-3)
    await paste(admin, new_case(old))
    await emulator.wait_for(lambda: "has passed" in last_text(admin), timeout=15)
    assert f"The deadline in the document, {old.day} {old.strftime('%B %Y')}, has passed" in last_text(admin)
    later = days_ahead(14)
    await admin.send(later.strftime("%d.%m.%Y"))
    await emulator.wait_for(lambda: "Which country" in last_text(admin), timeout=15)
    assert f"✅ Deadline: {later.day} {later.strftime('%B %Y')}" in last_text(admin)
