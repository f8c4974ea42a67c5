"""Time and size of a printed letter (bot/render/pdf.py), the PDF the "Print" button sends.

    .venv/bin/python bench/pdf.py            # 50 runs of each letter
    .venv/bin/python bench/pdf.py -n 200

How it measures (printed again in the output header):

* Letters: the seed case's Russian letter to its first official (content/cases/ua-84-11.yaml,
  written by bot.render.letters as the bot writes it, about 860 characters), and the same letter
  grown to about 2,500 characters (the seed document's size) with paragraphs of the case's Russian
  background put before the closing, as a writer who adds to the letter would.
* The import of bot.render.pdf (fpdf2, fontTools) and one untimed render, which reads the font's
  character map once per process, are shown on their own line. Then N timed renders of each letter (time.perf_counter):
  mean, min and max in milliseconds, the size of the PDF in bytes and its pages.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.content.loader import load_cases  # noqa: E402
from bot.content.models import pick  # noqa: E402
from bot.render.env import make_environment  # noqa: E402
from bot.render.letters import LetterWriter  # noqa: E402

CASE = "ua-84-11"
LANG = "ru"
TARGET_CHARS = 2500


def letters() -> list[tuple[str, object]]:
    """(name, PrintedLetter) for the seed's letter as written, and grown to the seed's size."""
    from bot.render.pdf import PrintedLetter

    content = ROOT / "content"
    case = load_cases(content)[CASE]
    writer = LetterWriter(make_environment(content / "templates"), content / "templates")
    text = writer.write(case, 0, LANG, variant_seed=b"bench", signature=None)
    head, rest = text.split("\n\n", 1)
    body, signature = rest.rsplit("\n", 1)
    opening, thanks, closing = body.rsplit("\n\n", 2)
    closing = thanks + "\n\n" + closing
    target = case.targets[0]

    background = [p for p in (pick(case.background, LANG) or "").split("\n\n") if p.strip()]
    grown = opening
    for paragraph in background:
        if len(head) + len(grown) + len(closing) + len(signature) >= TARGET_CHARS:
            break
        grown += "\n\n" + paragraph
    grown += "\n\n" + closing

    def printed(body_text: str) -> PrintedLetter:
        return PrintedLetter(
            lang=LANG,
            title=f"Письмо: {target.name} — {case.ua}",
            sender=["[Ваше имя]", "[Ваш адрес]", "[Город, страна]"],
            date="4 декабря 2026 г.",
            addressee=head.splitlines(),
            body=body_text,
            signature=[signature],
            envelope_label="Адрес для конверта (как в обращении)",
            envelope=[target.name, *target.address],
        )

    return [
        (f"seed letter as written ({len(text)} chars)", printed(body)),
        (f"grown to the seed's size ({len(head) + len(grown) + len(signature)} chars)", printed(grown)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--repeat", type=int, default=50)
    args = parser.parse_args()

    print(__doc__.split("How it measures")[1].split("\n", 1)[1].rstrip())
    print()
    print(
        f"python {platform.python_version()}, fpdf2 {version('fpdf2')}, fonttools {version('fonttools')}, "
        f"{platform.machine()}, runs per letter: {args.repeat}"
    )

    start = time.perf_counter()
    from bot.render.pdf import font_path, letter_pdf

    imported = time.perf_counter() - start
    cases = letters()
    start = time.perf_counter()
    letter_pdf(cases[0][1])  # type: ignore[arg-type]
    print(
        f"import of bot.render.pdf (fpdf2, fontTools): {imported * 1000:.0f} ms; "
        f"first render (reads the font's character map): {(time.perf_counter() - start) * 1000:.0f} ms"
    )
    print(f"font: {font_path()}")
    print()

    import io

    from pypdf import PdfReader

    for name, letter in cases:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            data = letter_pdf(letter)  # type: ignore[arg-type]
            times.append((time.perf_counter() - start) * 1000)
        pages = len(PdfReader(io.BytesIO(data)).pages)
        print(
            f"{name}: mean {statistics.mean(times):.1f} ms, min {min(times):.1f}, max {max(times):.1f}; "
            f"{len(data):,} bytes, {pages} page(s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
