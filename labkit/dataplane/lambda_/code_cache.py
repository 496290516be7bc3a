"""Function code, unpacked once per distinct .zip and shared by every worker that runs it."""

import io
import os
import shutil
import threading
import zipfile
from pathlib import Path

from labkit import config

_unpacking = threading.Lock()
# sha256 -> its folder, once in place: every invocation asks, and a stat costs more than the lookup.
_in_place: dict[str, Path] = {}


def unpacked(code_sha256: str, zip_bytes: bytes) -> Path:
    """The folder holding the zip's files, under the state folder, keyed by the zip's sha256.

    Raises zipfile.BadZipFile when the bytes are not a zip archive.
    """
    known = _in_place.get(code_sha256)
    if known is not None:
        return known
    target = config.state_dir() / "lambda-code" / code_sha256
    with _unpacking:
        if not target.is_dir():
            staging = target.with_name(f".{code_sha256}.partial")
            shutil.rmtree(staging, ignore_errors=True)
            with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
                archive.extractall(staging)
            os.replace(staging, target)  # a worker never sees a half-written folder
    _in_place[code_sha256] = target
    return target
