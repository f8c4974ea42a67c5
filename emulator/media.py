"""Files inside messages: image sniffing, Document / PhotoSize / Sticker objects, sample images."""

from __future__ import annotations

import mimetypes
import struct
import zlib
from typing import Any

from .errors import bad_request
from .params import Upload
from .state import FileStore, StoredFile

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files
_PHOTO_SIDES = (90, 320, 800, 1280)  # Telegram's s / m / x / y photo sizes


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, BMP, JPEG or WebP image, or None if it is none of those."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return width, abs(height)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _webp_size(data)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def sample_png(width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG, for simulated users sending photos."""
    row = b"\x00" + b"\x33\x99\xcc" * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def store_upload(files: FileStore, upload: Upload, kind: str) -> StoredFile:
    if not upload.data:
        raise bad_request("file must be non-empty")
    mime = mimetypes.guess_type(upload.file_name)[0] or upload.content_type or "application/octet-stream"
    if kind == "photo":
        size = image_size(upload.data)
        if size is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height = size
        if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        return store_photo(files, upload.data, width, height)
    return files.add(kind, upload.data, file_name=upload.file_name, mime_type=mime)


def store_photo(files: FileStore, data: bytes | None, width: int, height: int) -> StoredFile:
    """Store a photo with the downscaled sizes Telegram would generate (all serve the same bytes)."""
    sizes: list[dict[str, Any]] = []
    largest = None
    for side in _PHOTO_SIDES:
        scale = min(1.0, side / max(width, height))
        if sizes and scale == 1.0 and sizes[-1]["width"] == width:
            break
        stored = files.add(
            "photo",
            data,
            mime_type="image/jpeg",
            width=max(1, round(width * scale)),
            height=max(1, round(height * scale)),
        )
        sizes.append(photo_size(stored))
        largest = stored
    assert largest is not None
    for size in sizes:
        # Any size's file_id re-sends the whole set, as on Telegram.
        stored_size = files.get(size["file_id"])
        assert stored_size is not None
        stored_size.sizes = sizes
    return largest


def store_url(files: FileStore, url: str, kind: str) -> StoredFile:
    # Telegram would download the URL; the emulator records it without fetching anything.
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "file"
    mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind == "photo":
        return store_photo(files, None, 800, 600)
    return files.add(kind, None, file_name=name, mime_type=mime, url=url)


def resolve_input_file(files: FileStore, value: Upload | str, kind: str) -> StoredFile:
    """An InputFile (upload), an HTTP URL or a file_id of a file Telegram already has."""
    if isinstance(value, Upload):
        return store_upload(files, value, kind)
    value = value.strip()
    if value.lower().startswith(("http://", "https://")):
        return store_url(files, value, kind)
    stored = files.get(value)
    if stored is None:
        raise bad_request("wrong file identifier/HTTP URL specified")
    if stored.kind != kind:
        raise bad_request(f"can't use file of type {stored.kind.capitalize()} as {kind.capitalize()}")
    return stored


def photo_size(stored: StoredFile) -> dict[str, Any]:
    size = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "width": stored.width,
        "height": stored.height,
    }
    if stored.data:
        size["file_size"] = len(stored.data)
    return size


def document_object(stored: StoredFile) -> dict[str, Any]:
    document: dict[str, Any] = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    if stored.data is not None:
        document["file_size"] = len(stored.data)
    return document


def photo_object(stored: StoredFile) -> list[dict[str, Any]]:
    return [dict(size) for size in (stored.sizes or [photo_size(stored)])]


def sticker_object(stored: StoredFile, emoji: str = "👍") -> dict[str, Any]:
    return {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "type": "regular",
        "width": stored.width,
        "height": stored.height,
        "is_animated": False,
        "is_video": False,
        "emoji": emoji,
        "set_name": "EmulatorStickers",
        "file_size": len(stored.data or b""),
    }


def file_object(stored: StoredFile, file_id: str) -> dict[str, Any]:
    if stored.data is not None and len(stored.data) > MAX_DOWNLOAD_BYTES:
        raise bad_request("file is too big")
    result: dict[str, Any] = {"file_id": file_id, "file_unique_id": stored.file_unique_id}
    if stored.data is not None:
        result["file_size"] = len(stored.data)
        result["file_path"] = stored.file_path
    return result
