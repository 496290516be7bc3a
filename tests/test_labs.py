"""Every lab, two ways: its solution reaches a state where all its checks pass, gives the outputs
committed with it (nbval's run after this one is its second run in the same local cloud: see
test_idempotence.py) and its cleanup leaves nothing behind; and its generated lab, run unmodified,
reports "not done yet" cleanly.

Each test's id is its notebook's path: under xdist, the worker that runs nbval's cells of a solution
runs this test of it first, in the same local cloud (conftest.py)."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from notebook_outputs import compared_outputs

from labkit import config, labs, localproc, teardown
from labkit.checks import NOT_DONE

SOLUTIONS = sorted((config.COURSE_ROOT / "solutions").glob("*.ipynb"))
LABS = sorted((config.COURSE_ROOT / "labs").glob("*.ipynb"))
CELL_TIMEOUT_S = 120


def lab_id(path: Path) -> str:
    return path.name[:2]


def course_path(path: Path) -> str:
    """The test's id: under xdist it runs with nbval's cells of that notebook, before them (conftest.py)."""
    return path.relative_to(config.COURSE_ROOT).as_posix()


def is_cleanup(cell) -> bool:
    return "cleanup" in cell.metadata.get("tags", [])


def labkit_check(lab: str) -> tuple[int, list]:
    result = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "check", lab, "--json"], capture_output=True, text=True, timeout=120
    )
    return result.returncode, json.loads(result.stdout or "[]")


@pytest.mark.parametrize("solution", SOLUTIONS, ids=course_path)
def test_solution_passes_every_check_and_cleans_up(cloud, solution):
    notebook = nbformat.read(solution, as_version=4)
    committed = compared_outputs(nbformat.read(solution, as_version=4))
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(solution.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code" and not is_cleanup(cell):
                client.execute_cell(cell, index)
        code, results = labkit_check(lab_id(solution))
        assert code == 0, [r for r in results if not r["passed"]]
        assert len(results) == len(labs.require(lab_id(solution)).checks)
        for index, cell in enumerate(notebook.cells):
            if is_cleanup(cell):
                client.execute_cell(cell, index)
    assert teardown.tagged(lab_id(solution)) == []
    assert not list(localproc._processes_dir().glob("*.json")), "a local process was left running"
    assert compared_outputs(notebook) == committed


@pytest.mark.parametrize("lab_notebook", LABS, ids=course_path)
def test_unmodified_lab_reports_not_done_yet_cleanly(cloud, lab_notebook):
    notebook = nbformat.read(lab_notebook, as_version=4)
    NotebookClient(
        notebook, timeout=CELL_TIMEOUT_S, allow_errors=True, resources={"metadata": {"path": str(lab_notebook.parent)}}
    ).execute()
    reports = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "")
            if text.startswith(f"Lab {lab_id(lab_notebook)} · step"):
                reports.append(text)
            traceback = "\n".join(output.get("traceback", []))
            assert "/labkit/" not in traceback, f"a traceback from inside labkit:\n{traceback}"
    assert reports, "no check panel was shown"
    check_lines = [line for report in reports for line in report.splitlines()[1:]]
    assert len(check_lines) == len(labs.require(lab_id(lab_notebook)).checks)
    for line in check_lines:
        assert f": {NOT_DONE}." in line, line
