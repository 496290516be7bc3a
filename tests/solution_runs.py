"""A lab deployed by its own solution notebook, for the tests that make one mistake at a time in it."""

import contextlib

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from test_labs import CELL_TIMEOUT_S, is_cleanup

from labkit import config, teardown


@contextlib.contextmanager
def deployed_by_solution(notebook_name: str, lab: str):
    """Runs solutions/notebook_name's code cells but the cleanup in a kernel of its own, yields while that
    kernel lives, then runs the cleanup, which must leave nothing of the lab tagged. What it yields runs more
    code in that kernel and returns what the code printed: run("print(table_name)")."""
    path = config.COURSE_ROOT / "solutions" / notebook_name
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code" and not is_cleanup(cell):
                client.execute_cell(cell, index)

        def run(source: str) -> str:
            cell = new_code_cell(source)
            notebook.cells.append(cell)
            client.execute_cell(cell, len(notebook.cells) - 1)
            return "".join(output.get("text", "") for output in cell.outputs)

        yield run
        for index, cell in enumerate(notebook.cells):
            if is_cleanup(cell):
                client.execute_cell(cell, index)
    assert teardown.tagged(lab) == []


def solution_kernel(notebook_name: str, lab: str):
    """A module's fixture: the lab as its solution leaves it before the cleanup, yielding run(code), which runs
    more code in the solution's kernel."""

    @pytest.fixture(scope="module")
    def kernel(cloud):
        with deployed_by_solution(notebook_name, lab) as run:
            yield run

    return kernel
