"""Files that others read while they are written (the pidfile, a diagram, the CA bundle)."""

import os
from pathlib import Path


def write_atomically(path: Path | str, data: bytes) -> None:
    """Write data to path so that a reader sees the whole of it or the file as it was, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")  # a writer of its own in each process
    partial.write_bytes(data)
    os.replace(partial, path)
