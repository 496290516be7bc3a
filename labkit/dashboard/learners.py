"""Where the learners' progress is: each learner's state folder (LABKIT_STATE_DIR), holding progress.json."""

import json
from dataclasses import dataclass
from pathlib import Path

from labkit.errors import LabkitError

STATE_FOLDER = ".labkit"  # a learner's state folder inside their home (or their copy of the course)


@dataclass(frozen=True)
class Learner:
    """One learner as their progress files say: their name (the owner recorded there) and what they did."""

    name: str
    folder: Path
    checks: dict  # {lab_id: {check_id: {"passed": bool, "at": ..., "passed_at": ...}}}
    fast_forwarded: dict  # {lab_id: epoch seconds}


@dataclass(frozen=True)
class Sources:
    """What the dashboard was given: learners' folders, and parent folders (a hub's home folders) whose
    every subfolder is a learner's, read again on each refresh so that a learner who logs in later appears."""

    folders: tuple[Path, ...] = ()
    parents: tuple[Path, ...] = ()

    def state_folders(self) -> list[Path]:
        found = [state_folder(folder) for folder in self.folders]
        for parent in self.parents:
            found += [state_folder(child) for child in sorted(parent.iterdir()) if child.is_dir()]
        return found


def check_given(folders: list[Path], parents: list[Path]) -> Sources:
    """The folders as given, refusing one that does not exist (a typo would show an empty room)."""
    for folder in [*folders, *parents]:
        if not folder.is_dir():
            raise LabkitError(f"{folder} is not a folder: give learners' state folders (or their home folders)")
    if not folders and not parents:
        raise LabkitError("no learners given: --learners DIR... (state or home folders) or --homes PARENT")
    return Sources(tuple(folders), tuple(parents))


def state_folder(folder: Path) -> Path:
    """A learner's state folder: the folder itself, or its .labkit when given a home or course folder."""
    inner = folder / STATE_FOLDER
    return inner if inner.is_dir() else folder


def read(folder: Path) -> list[Learner]:
    """The learners recorded in a state folder: one per owner in its progress files; none before their
    first check (the dashboard then shows the folder as not started)."""
    checks, skipped = _json(folder / "progress.json"), _json(folder / "fast_forwarded.json")
    return [Learner(name, folder, checks.get(name, {}), skipped.get(name, {})) for name in sorted({*checks, *skipped})]


def _json(path: Path) -> dict:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):  # not there yet, or being replaced (progress writes replace the file)
        return {}
    return loaded if isinstance(loaded, dict) else {}
