"""Every notebook and solution runs twice in a row against the same local cloud, without an error and
with the same outputs both times: a learner who runs a notebook again gets what they got before."""
import configparser
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from labkit import config

NOTEBOOKS = sorted([*(config.COURSE_ROOT / "notebooks").glob("*.ipynb"),
                    *(config.COURSE_ROOT / "solutions").glob("*.ipynb")])
SANITIZE = configparser.ConfigParser()
SANITIZE.read(Path(__file__).with_name("nbval_sanitize.cfg"))


def compared_outputs(notebook) -> list[str]:
    """The text nbval would compare: every code cell's text outputs, sanitized, unless ignored."""
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code" or "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue
        for output in cell.outputs:
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            for section in SANITIZE.sections():
                text = re.sub(SANITIZE[section]["regex"], SANITIZE[section]["replace"], text)
            texts.append(text)
    return texts


def run(path: Path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_runs_twice_with_the_same_outputs(cloud, path):
    first = compared_outputs(run(path))
    second = compared_outputs(run(path))
    assert first == second
