"""A build's output artifact: the files the buildspec's artifacts section names (globs, ** for every
level, relative to base-directory), zipped as CodeBuild zips them for CodePipeline or S3."""

import io
import zipfile
from pathlib import Path

from labkit.dataplane.codebuild.buildspec import Artifacts


class NoMatchingPaths(Exception):
    pass


def zipped(source_dir: Path, spec: Artifacts) -> bytes:
    base = source_dir / spec.base_directory if spec.base_directory else source_dir
    found: dict[str, Path] = {}
    for pattern in spec.files:
        for path in sorted(base.glob(pattern.rstrip("/"))):
            for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
                name = file.name if spec.discard_paths else str(file.relative_to(base))
                found.setdefault(name, file)
    if not found:
        raise NoMatchingPaths(f"no matching artifact paths found: {', '.join(spec.files)}")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, file in found.items():
            archive.write(file, name)
    return buffer.getvalue()
