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
        # A print can arrive in several stream messages: compare each stream's whole text.
        streams = {}
        for output in cell.outputs:
            if output.output_type == "stream":
                streams[output.name] = streams.get(output.name, "") + output.text
            else:
                texts.append(output.get("data", {}).get("text/plain", ""))
        texts += [streams[name] for name in sorted(streams)]
    return [sanitize(text) for text in texts]


def sanitize(text: str) -> str:
    for section in SANITIZE.sections():
        text = re.sub(SANITIZE[section]["regex"], SANITIZE[section]["replace"], text)
    return text


def run(path: Path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    return notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_runs_twice_with_the_same_outputs(cloud, path):
    first = compared_outputs(run(path))
    second = compared_outputs(run(path))
    assert first == second
