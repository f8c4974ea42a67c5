"""A tiny PDF writer for tests and benches: real, valid PDFs built in memory, no fixtures on disk.

    text_pdf([["URGENT ACTION", "Fax: +1 555 0100"], ["page two"]])   # Helvetica text lines, one list per page
    build_pdf([Stream(b"")])                                        # one page with an empty content stream
    build_pdf([flate_stream(b" ", 200 * 2**20)])                    # a FlateDecode bomb (~200 KB on disk)

Every object gets a correct offset in the cross-reference table, so readers open the files without
"repairing" them. Only the standard Helvetica font (no embedding) and the WinAnsi encoding are used.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

PAGE_WIDTH, PAGE_HEIGHT = 595, 842  # A4 in points
TOP, LEFT, LEADING, FONT_SIZE = 790, 56, 14, 10


@dataclass(frozen=True)
class Stream:
    """A page content stream: `data` as stored in the file, `entries` added to its dictionary."""

    data: bytes
    entries: str = ""


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def text_content(lines: list[str]) -> bytes:
    """A content stream that shows `lines` top-down in 10 pt Helvetica."""
    out = [b"BT", f"/F1 {FONT_SIZE} Tf {LEADING} TL {LEFT} {TOP} Td".encode()]
    for line in lines:
        out.append(b"(" + _escape(line) + b") Tj T*")
    out.append(b"ET")
    return b"\n".join(out) + b"\n"


def image_content(width: int = 8, height: int = 8) -> bytes:
    """A content stream that paints one grey inline image over the page, as a scanner's PDF does
    (a real scan has an image XObject; for text extraction both are "no text")."""
    pixels = bytes((x * 32 + y * 16) % 256 for y in range(height) for x in range(width))
    return (
        f"q {PAGE_WIDTH} 0 0 {PAGE_HEIGHT} 0 0 cm\nBI /W {width} /H {height} /CS /G /BPC 8 ID\n".encode()
        + pixels
        + b"\nEI\nQ\n"
    )


def flate_stream(fill: bytes, size: int, chunk: int = 1 << 20) -> Stream:
    """A FlateDecode content stream that inflates to `size` bytes of `fill`, compressed chunk by chunk
    (never holding the inflated data in memory): 200 MB of spaces become ~200 KB."""
    block = (fill * (chunk // len(fill) + 1))[:chunk]
    compressor = zlib.compressobj(9)
    parts, left = [], size
    while left > 0:
        parts.append(compressor.compress(block[: min(chunk, left)]))
        left -= chunk
    parts.append(compressor.flush())
    return Stream(b"".join(parts), "/Filter /FlateDecode")


def build_pdf(pages: list[Stream | bytes], *, resources: str = "/Font << /F1 3 0 R >>") -> bytes:
    """A PDF with one page per item; bytes are an uncompressed content stream."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, filled in below once the page numbers are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids = []
    for page in pages:
        stream = page if isinstance(page, Stream) else Stream(page)
        content_number = len(objects) + 2
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] "
            f"/Resources << {resources} >> /Contents {content_number} 0 R >>".encode()
        )
        kids.append(f"{len(objects)} 0 R")
        objects.append(
            f"<< /Length {len(stream.data)} {stream.entries} >>\nstream\n".encode() + stream.data + b"\nendstream"
        )
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()

    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def text_pdf(pages: list[list[str]]) -> bytes:
    """A PDF showing each page's lines in Helvetica."""
    return build_pdf([text_content(lines) for lines in pages])


def encrypted_pdf(pages: list[list[str]], user_password: str = "secret", owner_password: str = "owner") -> bytes:
    """The text PDF encrypted with RC4-128 by pypdf (RC4 needs no optional crypto library)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf(pages))))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
