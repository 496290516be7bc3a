"""Every notebook runs twice in a row against the same local cloud, without an error and with the
same outputs both times: a learner who runs a notebook again gets what they got before.

Here for notebooks/. A solution runs twice without this file: tests/test_labs.py runs it (and compares
its outputs with the committed ones), then nbval runs it again in the same local cloud and compares
them once more, so its second run must give what its first gave."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from notebook_outputs import compared_outputs

from labkit import config

NOTEBOOKS = sorted((config.COURSE_ROOT / "notebooks").glob("*.ipynb"))


def run(path: Path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_runs_twice_with_the_same_outputs(cloud, path):
    first = compared_outputs(run(path))
    second = compared_outputs(run(path))
    assert first == second
