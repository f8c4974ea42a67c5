"""Importing an Urgent Action from a PDF or a text file, as a coordinator meets it: `rrbot import FILE`
(or a document sent to the bot, which reads the same bytes with bot.importer.source.document_text).

The PDFs are built here (tests/pdfs.py); the UA below is made up, in the layout of the 2012 print
template. What is checked is what a user sees: the draft's fields, the refusal's reason code (the bot
words its message from it) and that the one-line message says what to do.
"""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import os
import random
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.importer.source import MAX_BYTES, MAX_PAGES, MAX_SECONDS, MAX_TEXT, UnusableDocument, document_text
from tests.pdfs import Stream, build_pdf, encrypted_pdf, flate_stream, image_content, text_content, text_pdf

UA_PAGES = [
    [
        "URGENT ACTION",
        "TEACHER HELD WITHOUT CHARGE",
        "Ana Ferreira, a schoolteacher and trade unionist, was arrested at her home in",
        "Porto Alto on 2 May. She has not been charged and her family has not been",
        "allowed to see her.",
        "PLEASE WRITE IMMEDIATELY in English or your own language:",
        "- Urge the authorities to release Ana Ferreira at once;",
        "- Ask them to let her see her family and a lawyer of her choice.",
        "PLEASE SEND APPEALS BEFORE 20 JUNE 2031 TO:",
        "Minister of Justice",
        "Jorge Almeida",
        "Avenida Central 10",
        "Porto Alto 1000",
        "Fax: +99 21 555 0147",
        "Email: minister@justice.example.org",
        "Salutation: Dear Minister",
        "Please check with your section office if sending appeals after the above date.",
    ],
    [
        "URGENT ACTION",
        "TEACHER HELD WITHOUT CHARGE",
        "ADDITIONAL INFORMATION",
        "Ana Ferreira has led the teachers' union of the northern district since 2027.",
        "Name: Ana Ferreira",
        "Gender m/f: f",
        "UA: 48/31 Index: XYZ 12/345/2031 Issue Date: 9 May 2031",
    ],
]
UA_TEXT = "\n".join(line for page in UA_PAGES for line in page) + "\n"


def refusal(data: bytes, filename: str = "") -> UnusableDocument:
    with pytest.raises(UnusableDocument) as caught:
        document_text(data, filename)
    return caught.value


def import_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes) -> tuple[int, str]:
    source = tmp_path / name
    source.write_bytes(data)
    code = main(["import", str(source), "-o", str(tmp_path / "out")])
    return code, capsys.readouterr().err.strip()


def assert_refused(code: int, err: str, tmp_path: Path, *words: str) -> None:
    """Exit 2, one line `rrbot import: <file>: <reason>` that says what to do, nothing written."""
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"rrbot import: {tmp_path}")
    for word in words:
        assert word in err
    assert not (tmp_path / "out").exists()


def assert_is_the_ua(draft: Path) -> None:
    data = yaml.safe_load(draft.read_text(encoding="utf-8"))
    assert data["ua"] == "UA 48/31"
    assert data["deadline"] == dt.date(2031, 6, 20)
    assert data["targets"][0]["fax"] == "+99 21 555 0147"
    assert data["targets"][0]["email"] == "minister@justice.example.org"
    assert data["targets"][0]["salutation"] == {"en": "Dear Minister"}  # an English salutation: English letters


# --- documents that work ------------------------------------------------------------------------------


def test_text_pdf_imports_like_the_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pdf = tmp_path / "UA 48-31.pdf"
    pdf.write_bytes(text_pdf(UA_PAGES))
    start = time.perf_counter()
    assert main(["import", str(pdf), "-o", str(tmp_path / "cases")]) == 0
    elapsed = time.perf_counter() - start
    assert "wrote" in capsys.readouterr().err
    assert_is_the_ua(tmp_path / "cases" / "ua-48-31.yaml")
    assert elapsed < 1.0  # includes loading pypdf the first time


def test_reading_a_few_page_pdf_is_quick() -> None:
    data = text_pdf(UA_PAGES * 3)
    document_text(data)  # pypdf loaded
    start = time.perf_counter()
    text = document_text(data)
    assert time.perf_counter() - start < 0.2  # ~5 ms here; the limit is 1 s per document
    assert text.count("Fax: +99 21 555 0147") == 3 and "\r" not in text


def test_pdf_is_recognised_by_its_content_not_its_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(_write(tmp_path / "ua.txt", text_pdf(UA_PAGES))), "-o", str(tmp_path / "a")]) == 0
    assert main(["import", str(_write(tmp_path / "ua.pdf", UA_TEXT.encode())), "-o", str(tmp_path / "b")]) == 0
    assert_is_the_ua(tmp_path / "a" / "ua-48-31.yaml")
    assert_is_the_ua(tmp_path / "b" / "ua-48-31.yaml")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_text_files_import(tmp_path: Path, capsys: pytest.CaptureFixture[str], encoding: str) -> None:
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    data = bom + UA_TEXT.replace("\n", "\r\n").encode(encoding)  # as Windows Notepad saves it
    code, err = import_file(tmp_path, capsys, "ua.txt", data)
    assert code == 0, err
    assert_is_the_ua(tmp_path / "out" / "ua-48-31.yaml")
    assert document_text(data) == UA_TEXT


def test_password_free_encryption_still_reads() -> None:
    """Many published PDFs are encrypted with an owner password only (no printing, no copying)."""
    assert "Fax: +99 21 555 0147" in document_text(encrypted_pdf(UA_PAGES, user_password=""))


def test_a_repairable_pdf_reads_and_pypdf_only_logs(caplog: pytest.LogCaptureFixture) -> None:
    """pypdf repairs a wrong xref offset with a logged warning; under `-W error` (this suite) a
    `warnings.warn` would fail the read, so this also shows that none is issued."""
    good = text_pdf(UA_PAGES)
    head, _, tail = good.rpartition(b"startxref\n")
    damaged = head + b"startxref\n" + b"12" + tail[tail.index(b"\n") :]
    with caplog.at_level(logging.WARNING):
        assert document_text(damaged) == document_text(good)
    assert any(record.name.startswith("pypdf") for record in caplog.records)


# --- documents that cannot be used --------------------------------------------------------------------


def test_scanned_pdf_asks_for_text_or_ocr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = build_pdf([image_content(), image_content(), b""])
    assert refusal(data).reason == "pdf_scanned"
    assert refusal(data).details["pages"] == 3
    code, err = import_file(tmp_path, capsys, "scan.pdf", data)
    assert_refused(code, err, tmp_path, "no text layer", "OCR")


def test_pdf_without_text_at_all_is_scanned() -> None:
    assert refusal(build_pdf([Stream(b"")])).reason == "pdf_scanned"


@pytest.mark.parametrize("fill", [b" ", b"\x00"])
def test_flate_bomb_is_stopped_quickly_and_in_little_memory(fill: bytes) -> None:
    data = build_pdf([text_content(["URGENT ACTION"]), flate_stream(fill, 200 * 1024 * 1024)])
    assert len(data) < 300_000  # 200 MB of content in ~200 KB
    tracemalloc.start()
    start = time.perf_counter()
    try:
        stop = refusal(data, "ua.pdf")
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stop.reason == "pdf_bomb"
    assert "send the text" in str(stop)
    assert elapsed < 2.0
    assert peak < 20 * 1024 * 1024  # pypdf alone would inflate 75 MB before giving up


def test_pdf_with_too_much_text_is_stopped() -> None:
    line = "The quick brown fox writes to the minister about the detained teacher, again. " * 2
    pages = [[line] * 40 for _ in range(MAX_PAGES)]  # ~256,000 characters
    stop = refusal(text_pdf(pages))
    assert stop.reason == "pdf_bomb" and stop.details["exceeded"] == "text"
    assert f"{MAX_TEXT:,} characters" in str(stop)


@pytest.mark.timeout(30)
def test_pdf_that_takes_too_long_to_read_is_stopped() -> None:
    """40 pages of 1 MB of drawing operators each: parsing all of it would take pypdf minutes."""
    busy = flate_stream(b"1 0 0 1 10 10 cm\n", 1024 * 1024 - 64)
    start = time.perf_counter()
    stop = refusal(build_pdf([busy] * MAX_PAGES))
    elapsed = time.perf_counter() - start
    assert stop.reason == "pdf_bomb" and stop.details["exceeded"] == "time"
    assert elapsed < MAX_SECONDS + 6


def test_too_many_pages(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = text_pdf([["URGENT ACTION", f"page {n}"] for n in range(MAX_PAGES + 1)])
    stop = refusal(data)
    assert stop.reason == "pdf_too_many_pages" and stop.details == {
        "size": len(data),
        "pages": MAX_PAGES + 1,
        "limit": MAX_PAGES,
    }
    code, err = import_file(tmp_path, capsys, "ua.pdf", data)
    assert_refused(code, err, tmp_path, f"{MAX_PAGES + 1} pages", "send only those pages")
    assert "page 39" in document_text(text_pdf([["URGENT ACTION", f"page {n}"] for n in range(MAX_PAGES)]))


@pytest.mark.parametrize(
    "data",
    [
        text_pdf(UA_PAGES)[:600],  # cut off in a download
        b"%PDF-1.7\n" + bytes(range(256)) * 40,  # garbage after the header
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
        b"%PDF-",
    ],
    ids=["truncated", "garbage", "header-only", "magic-only"],
)
def test_broken_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    assert refusal(data).reason == "pdf_broken"
    code, err = import_file(tmp_path, capsys, "ua.pdf", data)
    assert_refused(code, err, tmp_path, "PDF cannot be read", "send the original PDF again")


def test_password_protected_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = encrypted_pdf(UA_PAGES)
    stop = refusal(data)
    assert stop.reason == "pdf_encrypted" and stop.details["password_required"] is True
    code, err = import_file(tmp_path, capsys, "ua.pdf", data)
    assert_refused(code, err, tmp_path, "password", "without a password")


@pytest.mark.parametrize("data", [b"", b" \r\n\t", codecs.BOM_UTF8 + b"\n", codecs.BOM_UTF16_LE])
def test_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str], data: bytes) -> None:
    assert refusal(data).reason == "empty"
    code, err = import_file(tmp_path, capsys, "ua.txt", data)
    assert_refused(code, err, tmp_path, "the file is empty")


def test_too_big_is_refused_before_reading() -> None:
    stop = refusal(b"URGENT ACTION\n" + b"x" * MAX_BYTES)
    assert stop.reason == "too_big" and stop.details["limit"] == MAX_BYTES
    assert "too big" in str(stop) and "smaller PDF" in str(stop)


def test_cli_refuses_a_huge_file_without_reading_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "huge.pdf"
    with source.open("wb") as handle:
        handle.write(b"%PDF-1.4\n")
    os.truncate(source, 4 * 1024**3)  # sparse: 4 GB that take no disk space
    tracemalloc.start()
    try:
        code = main(["import", str(source), "-o", str(tmp_path / "out")])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_refused(code, capsys.readouterr().err.strip(), tmp_path, "too big (4096.0 MB, the limit is 5.0 MB)")
    assert peak < 1024 * 1024


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "an image"),
        ("ua.docx", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "a Word document"),
        ("noise.bin", random.Random(7).randbytes(4096), ""),
    ],
)
def test_binary_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, kind: str) -> None:
    assert refusal(data, name).reason == "binary"
    code, err = import_file(tmp_path, capsys, name, data)
    assert_refused(
        code, err, tmp_path, f"binary file{f' ({kind})' if kind else ''}", "save the Urgent Action as PDF or"
    )


def test_legacy_encoding_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = UA_TEXT.replace("Ana", "Anaïs").encode("cp1252")
    stop = refusal(data)
    assert stop.reason == "encoding" and data[stop.details["offset"]] == "ï".encode("cp1252")[0]
    code, err = import_file(tmp_path, capsys, "ua.txt", data)
    assert_refused(code, err, tmp_path, "not UTF-8 text", "save it as UTF-8")


def test_control_characters_are_not_text() -> None:
    stop = refusal(b"URGENT ACTION \x01\x02\x03\x04\x05\x06 \x1b[31m")
    assert stop.reason == "not_text" and "save the Urgent Action as UTF-8 text" in str(stop)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
