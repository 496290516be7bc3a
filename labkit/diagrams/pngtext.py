"""Text carried inside a PNG file (a tEXt chunk): how a diagram records what it was drawn from."""

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def with_text(png: bytes, keyword: str, text: str) -> bytes:
    """The same image with a tEXt chunk `keyword` = `text` (Latin-1) placed just before IEND."""
    chunks = list(_chunks(png))
    if not chunks or chunks[-1][0] != b"IEND":
        raise ValueError("not a complete PNG image")
    data = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    end_at = len(png) - 12  # IEND is always the last 12 bytes: length, type, no data, CRC
    return png[:end_at] + _chunk(b"tEXt", data) + png[end_at:]


def read_text(png: bytes, keyword: str) -> str | None:
    """The text stored under `keyword`, or None when the image has none."""
    wanted = keyword.encode("latin-1") + b"\0"
    for kind, data in _chunks(png):
        if kind == b"tEXt" and data.startswith(wanted):
            return data[len(wanted) :].decode("latin-1")
    return None


def _chunks(png: bytes):
    if not png.startswith(SIGNATURE):
        raise ValueError("not a PNG image")
    at = len(SIGNATURE)
    while at + 8 <= len(png):
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        yield kind, png[at + 8 : at + 8 + length]
        at += 12 + length


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
