"""Deployment packages: the zip that Lambda's create_function and update_function_code take."""

import io
import zipfile
from pathlib import Path

from labkit.errors import LabkitError

# A fixed timestamp, so the same code always zips to the same bytes (and the same CodeSha256).
_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_bytes(*paths: str | Path) -> bytes:
    """The files (or every file of the folders) at `paths`, zipped at the top level of the archive,
    where Lambda looks for the handler's module."""
    files: list[tuple[str, Path]] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += [
                (str(f.relative_to(path)), f)
                for f in sorted(path.rglob("*"))
                if f.is_file() and "__pycache__" not in f.parts
            ]
        elif path.is_file():
            files.append((path.name, path))
        else:
            raise LabkitError(f"nothing to zip at {path}: write the handler's file first.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, file in files:
            entry = zipfile.ZipInfo(name, date_time=_EPOCH)
            entry.external_attr = 0o644 << 16  # readable by the runtime's user
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, file.read_bytes())
    return buffer.getvalue()
