"""An uploaded or saved Urgent Action document (bytes) -> its text, or a reason why it cannot be used.

`document_text(data, filename)` is a pure function over the bytes it is given (no files, no network,
no global state changed), shared by `rrbot import` and the bot's document upload. It never lets a
hostile file crash the caller, eat its memory or hold it for long: every failure is an
`UnusableDocument` with a stable `reason` code and a `details` dict, and str() of it is a one-line
English explanation saying what to do (for the command line; the bot shows its own localised text
per code, so the codes and the detail keys below are an API: keep them stable).

Reason codes and their details (every code also has "size": the number of bytes given):

    empty               nothing but white space (or nothing at all)
    too_big             more than MAX_BYTES;                        "limit": MAX_BYTES
    binary              a binary file that is not a PDF (image, Word, archive...);
                        "kind": "image" | "word" | "zip" | None (what it looks like, when known)
    encoding            text, but not UTF-8 (nor UTF-16/32 with a byte order mark);
                        "encoding": the encoding tried, "offset": the first bad byte's offset
    not_text            decodes as text but is full of control characters; "controls": how many
    too_long            text of more than MAX_TEXT characters; "chars", "limit": MAX_TEXT
    pdf_broken          pypdf cannot read the PDF (truncated, damaged, no pages);
                        "error": pypdf's one-line message
    pdf_encrypted       the PDF needs a password (or an encryption pypdf cannot open here);
                        "password_required": bool
    pdf_scanned         the PDF has pages but no text layer (a scan or photo); "pages"
    pdf_too_many_pages  more than MAX_PAGES pages; "pages", "limit": MAX_PAGES
    pdf_bomb            decompresses to far more than a real document or extraction went over a
                        limit; "exceeded": "stream" (a stream inflates past MAX_STREAM_BYTES, or
                        another pypdf resource limit), "text" (more than MAX_TEXT characters:
                        also "limit", "chars"), "time" (more than MAX_SECONDS of CPU: also "limit");
                        "error": pypdf's message when pypdf stopped it

Text files: UTF-8 with or without a BOM, UTF-16 or UTF-32 with a BOM. PDFs are recognised by the
"%PDF-" header (not by the file name) and read with pypdf: the text of each page, joined by
newlines. Newlines are normalised to "\\n" in both cases.

Guards for PDFs (pypdf 7.1 checked; its Configuration appeared in 6.18): pypdf itself stops a
FlateDecode/LZW/RunLength/JBIG2/Brotli stream at 75 MB of output (`Configuration.
zlib_maximum_output_length` etc.; the old module constants such as `pypdf.filters.
ZLIB_MAX_OUTPUT_LENGTH` now raise DeprecationError when changed) by raising LimitReachedError. 75 MB
is far too much for a few-page letter: inflating it costs ~170 MB of memory, and a 4 MB content
stream takes pypdf ~10 s to parse and extract. So reading runs under `pypdf.apply_configuration`
(a context variable: thread- and task-safe, nothing global changes) with every decoder output limit
at MAX_STREAM_BYTES, a smaller recovery budget for damaged zlib data, no external jbig2dec, and a
MAX_PAGES page check before any page is read; then the extraction counts operators and text as it
goes and stops at MAX_TEXT characters or MAX_SECONDS of this thread's CPU time (checked between
operators: pypdf parses a whole stream first, ~2 s for a MAX_STREAM_BYTES one). Measured worst
cases: a 200 MB FlateDecode bomb is refused in ~5 ms (the process peaks at ~35 MB RSS), 40 pages
of 1 MB of operators in ~4 s. Call it in a worker thread (asyncio.to_thread) so the event loop
never waits.

pypdf reports odd but readable PDFs through `logging` (logger "pypdf..."), not `warnings` (its only
`warnings.warn` calls are DeprecationWarnings for misuse of its own API): the log records go to
the application's log handlers and never become exceptions (also not under `-W error`).
`warnings` filters are deliberately not touched: `warnings.catch_warnings` changes process-wide
state and is not thread-safe.
"""

from __future__ import annotations

import codecs
import dataclasses
import io
import time
from typing import Any

__all__ = [
    "MAX_BYTES",
    "MAX_PAGES",
    "MAX_SECONDS",
    "MAX_STREAM_BYTES",
    "MAX_TEXT",
    "REASONS",
    "UnusableDocument",
    "document_text",
]

MAX_BYTES = 5 * 1024 * 1024  # upload / file size limit
MAX_PAGES = 40
MAX_TEXT = 200_000  # characters of text extracted from a PDF
MAX_STREAM_BYTES = 1024 * 1024  # decoded size of any one PDF stream (a dense text page is ~50 KB)
MAX_SECONDS = 3.0  # CPU seconds for the text extraction of one PDF (a normal one takes ~10 ms)

PDF_MAGIC = b"%PDF-"
_BOMS = (  # longest first: the UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BINARY_MAGIC = (
    (b"\x89PNG", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF8", "image"),
    (b"II*\x00", "image"),
    (b"MM\x00*", "image"),
    (b"RIFF", "image"),
    (b"\xd0\xcf\x11\xe0", "word"),
    (b"PK\x03\x04", "zip"),
    (b"{\\rtf", "word"),
)
_TEXT_CONTROLS = frozenset("\t\n\r\f\v")

REASONS = (
    "empty",
    "too_big",
    "binary",
    "encoding",
    "not_text",
    "too_long",
    "pdf_broken",
    "pdf_encrypted",
    "pdf_scanned",
    "pdf_too_many_pages",
    "pdf_bomb",
)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _explain(reason: str, d: dict[str, Any]) -> str:
    """The one-line English explanation of a reason code, with what to do."""
    if reason == "too_long":
        return (
            f"{d['chars']:,} characters of text (an Urgent Action has a few thousand, at most {d['limit']:,} "
            "are read): send only the Urgent Action"
        )
    if reason == "empty":
        return "the file is empty: send the Urgent Action as a PDF or as text"
    if reason == "too_big":
        return (
            f"the file is too big ({_mb(d['size'])}, the limit is {_mb(d['limit'])}): "
            "send only the Urgent Action, as text or a smaller PDF"
        )
    if reason == "binary":
        kind = {"image": " (an image)", "word": " (a Word document)", "zip": " (an archive or Office file)"}
        return (
            f"a binary file{kind.get(d.get('kind') or '', '')}, not text or PDF: "
            "save the Urgent Action as PDF or as UTF-8 text"
        )
    if reason == "encoding":
        return (
            f"not UTF-8 text (bad byte at offset {d['offset']}): save it as UTF-8 text "
            "(or as UTF-16 with a byte order mark) or send the PDF"
        )
    if reason == "not_text":
        return (
            f"not a text document ({d['controls']} control characters): "
            "save the Urgent Action as UTF-8 text or send the PDF"
        )
    if reason == "pdf_broken":
        return f"the PDF cannot be read ({d['error']}): send the original PDF again or its text"
    if reason == "pdf_encrypted":
        what = (
            "is protected by a password"
            if d.get("password_required")
            else "uses an encryption that cannot be opened here"
        )
        return f"the PDF {what}: save or print it as a PDF without a password, or send its text"
    if reason == "pdf_scanned":
        return (
            f"the PDF has no text layer ({d['pages']} page(s) of images, e.g. a scan): "
            "send the text of the Urgent Action, or run OCR on the PDF first"
        )
    if reason == "pdf_too_many_pages":
        return (
            f"the PDF has {d['pages']} pages (the limit is {d['limit']}): "
            "an Urgent Action is a few pages: send only those pages or the text"
        )
    if reason == "pdf_bomb":
        why = {
            "text": f"more than {d.get('limit', MAX_TEXT):,} characters of text",
            "time": f"more than {d.get('limit', MAX_SECONDS):g} s to read",
        }.get(d.get("exceeded", ""), "content that unpacks to far more than a real document")
        return (
            f"the PDF is not plausible as an Urgent Action ({why}): reading stopped for safety: "
            "send the text of the Urgent Action instead"
        )
    return f"the document cannot be used ({reason})"


class UnusableDocument(ValueError):
    """The document cannot be used: `reason` is a stable code (see the module docstring), `details` a
    dict of figures for messages; str() is a one-line English explanation with what to do."""

    def __init__(self, reason: str, **details: Any) -> None:
        self.reason = reason
        self.details = details
        super().__init__(_explain(reason, details))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable despite the keyword-only details
        return (_rebuild, (self.reason, self.details))


def _rebuild(reason: str, details: dict[str, Any]) -> UnusableDocument:
    return UnusableDocument(reason, **details)


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def document_text(data: bytes, filename: str = "") -> str:
    """The text of an Urgent Action document given as bytes (a PDF or a text file), newlines
    normalised; UnusableDocument otherwise. `filename` only helps to name a binary file's kind."""
    size = len(data)
    if size > MAX_BYTES:
        raise UnusableDocument("too_big", size=size, limit=MAX_BYTES)
    if not data.strip():
        raise UnusableDocument("empty", size=size)
    if data.lstrip()[: len(PDF_MAGIC)] == PDF_MAGIC:
        return _pdf_text(bytes(data))
    return _plain_text(bytes(data), filename)


# --- text files -------------------------------------------------------------------------------------


def _plain_text(data: bytes, filename: str) -> str:
    size = len(data)
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is None:
        if b"\x00" in data or any(data.startswith(magic) for magic, _ in _BINARY_MAGIC):
            raise UnusableDocument("binary", size=size, kind=_binary_kind(data, filename))
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise UnusableDocument("encoding", size=size, encoding=encoding, offset=exc.start) from None
    text = text.lstrip("\ufeff")  # the BOM, for utf-16/32 (utf-8-sig drops it itself)
    controls = sum(1 for ch in text if (ch < " " or "\x7f" <= ch < "\xa0") and ch not in _TEXT_CONTROLS)
    if controls > max(2, len(text) // 100):
        raise UnusableDocument("not_text", size=size, controls=controls)
    if not text.strip():
        raise UnusableDocument("empty", size=size)
    if len(text) > MAX_TEXT:
        # As for a PDF: an Urgent Action is a few pages, and parsing megabytes would hold a core.
        raise UnusableDocument("too_long", size=size, chars=len(text), limit=MAX_TEXT)
    return _normalise(text)


def _binary_kind(data: bytes, filename: str) -> str | None:
    kind = next((kind for magic, kind in _BINARY_MAGIC if data.startswith(magic)), None)
    suffix = filename.lower().rpartition(".")[2] if "." in filename else ""
    if suffix in {"doc", "docx", "odt", "rtf"} and kind in {None, "zip", "word"}:
        return "word"
    return kind


# --- PDF ----------------------------------------------------------------------------------------------


def _pypdf_limits() -> dict[str, Any]:
    """Configuration overrides for pypdf (only those this pypdf version knows)."""
    from pypdf import Configuration

    wanted: dict[str, Any] = {
        # pypdf's own defaults are 75 MB per stream: far more than a letter needs.
        "maximum_declared_stream_length": MAX_BYTES,
        "array_based_stream_maximum_output_length": MAX_STREAM_BYTES,
        "zlib_maximum_output_length": MAX_STREAM_BYTES,
        "lzw_maximum_output_length": MAX_STREAM_BYTES,
        "run_length_maximum_output_length": MAX_STREAM_BYTES,
        "jbig2_maximum_output_length": MAX_STREAM_BYTES,
        "brotli_maximum_output_length": MAX_STREAM_BYTES,
        "image_maximum_buffer_size": MAX_STREAM_BYTES,
        "stream_decoding_work_maximum_length": 4 * MAX_STREAM_BYTES,
        # Damaged zlib data is retried byte by byte in Python (~1 s per MB): keep that short.
        "zlib_maximum_recovery_input_length": 512 * 1024,
        "xform_maximum_invocations_per_extraction": 500,
        "page_tree_maximum_entries": 10_000,
        "page_tree_maximum_page_entries": 100_000,
        "jbig2dec_binary": None,  # never run an external program on an uploaded file
    }
    known = {f.name for f in dataclasses.fields(Configuration)}
    return {key: value for key, value in wanted.items() if key in known}


class _OverBudget(BaseException):
    """Raised from inside pypdf's extraction to stop it. A BaseException, so that pypdf's
    `except Exception` around form XObjects does not swallow it (the budget is sticky anyway)."""

    def __init__(self, details: dict[str, Any]) -> None:
        super().__init__(details)
        self.details = details


class _Budget:
    """Text and CPU time spent on one PDF, checked from pypdf's visitor callbacks."""

    CHECK_EVERY = 256  # operators between two clock readings

    def __init__(self) -> None:
        self.start = time.thread_time()
        self.ops = 0
        self.chars = 0  # as reported to the text visitor (an estimate: pieces may be reported twice)
        self.exceeded: dict[str, Any] | None = None

    def check(self) -> None:
        if self.exceeded is None and time.thread_time() - self.start > MAX_SECONDS:
            self.exceeded = {"exceeded": "time", "limit": MAX_SECONDS}
        if self.exceeded is not None:
            raise _OverBudget(self.exceeded)

    def operator(self, *_: Any) -> None:
        self.ops += 1
        if self.exceeded is not None or self.ops % self.CHECK_EVERY == 0:
            self.check()

    def text(self, text: Any, *_: Any) -> None:
        self.chars += len(text) if isinstance(text, str) else 0
        if self.chars > 2 * MAX_TEXT and self.exceeded is None:
            self.exceeded = {"exceeded": "text", "limit": MAX_TEXT, "chars": self.chars}
        if self.exceeded is not None:
            raise _OverBudget(self.exceeded)

    def extracted(self, total_chars: int) -> None:
        if total_chars > MAX_TEXT and self.exceeded is None:
            self.exceeded = {"exceeded": "text", "limit": MAX_TEXT, "chars": total_chars}
        self.check()


def _pdf_text(data: bytes) -> str:
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError

    size = len(data)
    try:
        with pypdf.apply_configuration(**_pypdf_limits()):
            return _read_pdf(data)
    except UnusableDocument:
        raise
    except _OverBudget as stop:
        raise UnusableDocument("pdf_bomb", size=size, **stop.details) from None
    except (LimitReachedError, MemoryError) as exc:
        raise UnusableDocument("pdf_bomb", size=size, exceeded="stream", error=_one_line(exc)) from None
    except (FileNotDecryptedError, DependencyError):
        raise UnusableDocument("pdf_encrypted", size=size, password_required=False) from None
    except RecursionError:
        raise UnusableDocument("pdf_broken", size=size, error="nested too deeply") from None
    except Exception as exc:
        raise UnusableDocument("pdf_broken", size=size, error=_one_line(exc)) from None


def _read_pdf(data: bytes) -> str:
    from pypdf import PasswordType, PdfReader
    from pypdf.errors import DependencyError

    size = len(data)
    reader = PdfReader(io.BytesIO(data), strict=False)  # tries the empty user password itself
    if reader.is_encrypted:
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except (DependencyError, NotImplementedError):  # e.g. AES without the `cryptography` package
            raise UnusableDocument("pdf_encrypted", size=size, password_required=False) from None
        if not opened:
            raise UnusableDocument("pdf_encrypted", size=size, password_required=True)
    pages = len(reader.pages)
    if pages > MAX_PAGES:
        raise UnusableDocument("pdf_too_many_pages", size=size, pages=pages, limit=MAX_PAGES)
    if pages == 0:
        raise UnusableDocument("pdf_broken", size=size, error="no pages")
    budget = _Budget()
    texts: list[str] = []
    total = 0
    for page in reader.pages:
        budget.check()
        text = page.extract_text(visitor_operand_before=budget.operator, visitor_text=budget.text) or ""
        texts.append(text)
        total += len(text) + 1
        budget.extracted(total)
    text = _normalise("\n".join(texts))
    if not text.strip():
        raise UnusableDocument("pdf_scanned", size=size, pages=pages)
    return text


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
