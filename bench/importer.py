"""Time to import an Urgent Action document, text or PDF, against the issue's limit of 1 s per document.

    .venv/bin/python bench/importer.py                 # 20 runs of each document
    .venv/bin/python bench/importer.py -n 100 --shared ../shared

Options: -n/--repeat N (runs per document), --shared DIR (default: ../shared beside the project),
--pages N (pages of the generated PDF). Exit status 1 when a document's slowest run misses the limit.

How it measures (printed again in the output header):

* Documents: every file in DIR/seeds and DIR/ua-samples (a missing directory is skipped with a
  message), then PDFs generated in memory with tests/pdfs.py: the seed (or, without it, a made-up UA)
  laid out in Helvetica over --pages pages, the same at MAX_PAGES pages, and a 200 MB FlateDecode
  bomb (~200 KB on disk) that must be refused quickly.
* One run = what `rrbot import` does short of writing the draft: bot.importer.source.document_text
  on the bytes (the PDF read, or the text decoding), parse_ua, then the draft's validation and YAML
  rendering. File reading is left out (the bytes are read once, before timing).
* One untimed run of each document first (warm caches; the first PDF also pays for importing pypdf,
  shown on its own line). Then N timed runs: mean and max in milliseconds (time.perf_counter), and
  the max as a fraction of the 1 s limit.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.importer.case_yaml import case_data, render, validation_problems  # noqa: E402
from bot.importer.parse import NotAnUrgentAction, parse_ua  # noqa: E402
from bot.importer.source import MAX_PAGES, UnusableDocument, document_text  # noqa: E402
from tests.pdfs import build_pdf, flate_stream, text_content, text_pdf  # noqa: E402

LIMIT_S = 1.0
LINES_PER_PAGE = 55
MADE_UP_UA = """URGENT ACTION
TEACHER HELD WITHOUT CHARGE
Ana Ferreira, a schoolteacher, was arrested at her home in Porto Alto on 2 May.
PLEASE WRITE IMMEDIATELY in English or your own language:
- Urge the authorities to release Ana Ferreira at once.
PLEASE SEND APPEALS BEFORE 20 JUNE 2031 TO:
Minister of Justice
Jorge Almeida
Fax: +99 21 555 0147
Email: minister@justice.example.org
Salutation: Dear Minister
UA: 48/31 Index: XYZ 12/345/2031 Issue Date: 9 May 2031
"""


def import_once(data: bytes, name: str) -> str:
    """One import as `rrbot import` runs it; returns the outcome for the table."""
    try:
        parsed = parse_ua(document_text(data, name))
    except UnusableDocument as exc:
        return f"refused: {exc.reason}"
    except NotAnUrgentAction:
        return "refused: not a UA"
    invalid = validation_problems(case_data(parsed))
    render(parsed, name, invalid)
    return f"{parsed.id or 'draft'}, {len(parsed.targets)} target(s)"


def as_pages(text: str, pages: int) -> list[list[str]]:
    """The text's lines spread over `pages` pages (repeated when the text is too short)."""
    lines = [line.rstrip() for line in text.splitlines()]
    wanted = pages * LINES_PER_PAGE
    while len(lines) < wanted:
        lines += lines
    per_page = max(1, min(LINES_PER_PAGE, len(lines) // pages))
    return [lines[i * per_page : (i + 1) * per_page] for i in range(pages)]


def documents(shared: Path, pages: int) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for sub in ("seeds", "ua-samples"):
        directory = shared / sub
        if not directory.is_dir():
            print(f"skipped: {directory} is not there")
            continue
        found += [(p.name, p.read_bytes()) for p in sorted(directory.iterdir()) if p.suffix == ".txt"]
    seed = next((data for name, data in found if name.startswith("000_")), None)
    base = seed.decode("utf-8-sig") if seed else MADE_UP_UA
    label = "seed" if seed else "made-up UA"
    found.append((f"{label} as PDF, {pages} pages", text_pdf(as_pages(base, pages))))
    found.append((f"{label} as PDF, {MAX_PAGES} pages", text_pdf(as_pages(base, MAX_PAGES))))
    found.append(
        (
            "flate bomb PDF, 200 MB inflated",
            build_pdf([text_content(["URGENT ACTION"]), flate_stream(b" ", 200 * 1024 * 1024)]),
        )
    )
    return found


def timed(run: Callable[[], str], n: int) -> tuple[list[float], str]:
    outcome = run()  # warm-up, untimed
    times = []
    for _ in range(n):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--repeat", type=int, default=20, help="timed runs per document (default 20)")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared", help="the shared documents")
    parser.add_argument("--pages", type=int, default=6, help="pages of the generated PDF (default 6)")
    args = parser.parse_args()

    print(__doc__.split("How it measures")[1].split("\n", 1)[1].rstrip())
    print()
    print(
        f"importer bench: N={args.repeat}, Python {platform.python_version()}, pypdf {version('pypdf')}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    docs = documents(args.shared, args.pages)

    # The first PDF read in a process imports pypdf's modules: what the bot's first upload costs.
    first_pdf = next(data for name, data in docs if data.startswith(b"%PDF-"))
    start = time.perf_counter()
    document_text(first_pdf)
    print(f"first PDF read in this process (imports pypdf): {(time.perf_counter() - start) * 1000:.0f} ms")
    print()

    width = max(len(name) for name, _ in docs)
    missed = []
    for name, data in docs:
        times, outcome = timed(lambda data=data, name=name: import_once(data, name), args.repeat)
        mean, worst = statistics.fmean(times), max(times)
        if worst > LIMIT_S:
            missed.append(name)
        print(
            f"{name.ljust(width)}  {len(data) / 1024:7.0f} KB  mean {mean * 1000:6.1f} ms  max {worst * 1000:6.1f} ms  "
            f"{worst / LIMIT_S:.3f} of the 1 s limit  ({outcome})",
            flush=True,
        )
    print()
    print("all documents within the limit" if not missed else "over the limit: " + ", ".join(missed))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
