"""labs/ is generated from solutions/: TODOs in place of solutions, no outputs, staleness detected."""

import subprocess
import sys

import nbformat
import pytest

from labkit import labbuild
from labkit.errors import LabkitError

pytestmark = pytest.mark.no_cloud


def write_solution(folder, name="05_demo.ipynb", code=None):
    notebook = nbformat.v4.new_notebook()
    code = code or (
        "import boto3\n"
        "def handler(event, context):\n"
        "    ### BEGIN SOLUTION\n"
        "    return {'statusCode': 200}\n"
        "    ### END SOLUTION\n"
    )
    cell = nbformat.v4.new_code_cell(
        code, execution_count=3, outputs=[nbformat.v4.new_output("stream", text="secret answer\n")]
    )
    notebook.cells = [nbformat.v4.new_markdown_cell("## Step 2 · the handler"), cell]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / name)
    return folder / name


@pytest.fixture
def folders(tmp_path, monkeypatch):
    monkeypatch.setattr(labbuild, "solutions_dir", lambda: tmp_path / "solutions")
    monkeypatch.setattr(labbuild, "labs_dir", lambda: tmp_path / "labs")
    return tmp_path


def test_solution_becomes_a_todo_pointing_at_its_step(folders):
    write_solution(folders / "solutions")
    assert labbuild.build() == ["05_demo.ipynb"]
    lab = nbformat.read(folders / "labs" / "05_demo.ipynb", as_version=4)
    code = lab.cells[1]
    assert code.source == (
        "import boto3\n"
        "def handler(event, context):\n"
        '    raise NotImplementedError("TODO: step 2 is yours to write; '
        'the instructions above say what it should do")\n'
    )
    assert code.outputs == [] and code.execution_count is None
    assert "secret answer" not in (folders / "labs" / "05_demo.ipynb").read_text()


def test_check_names_the_stale_notebook_and_build_fixes_it(folders):
    write_solution(folders / "solutions")
    labbuild.build()
    assert labbuild.build(check=True) == []
    write_solution(folders / "solutions", code="### BEGIN SOLUTION\nx = 2\n### END SOLUTION\n")
    assert labbuild.build(check=True) == ["labs/05_demo.ipynb is stale (solutions/05_demo.ipynb changed)"]
    labbuild.build()
    assert labbuild.build(check=True) == []


def test_a_lab_without_its_solution_is_reported(folders):
    write_solution(folders / "solutions")
    labbuild.build()
    (folders / "labs" / "06_gone.ipynb").write_text("{}")
    assert labbuild.build(check=True) == ["labs/06_gone.ipynb has no solutions/06_gone.ipynb: remove it"]


def test_unbalanced_markers_are_reported_with_the_notebook_name(folders):
    write_solution(folders / "solutions", code="### BEGIN SOLUTION\nx = 1\n")
    with pytest.raises(LabkitError, match="05_demo.ipynb: a '### BEGIN SOLUTION' has no '### END SOLUTION'"):
        labbuild.build()


def test_the_committed_labs_are_in_sync_with_solutions():
    result = subprocess.run(
        [sys.executable, "-m", "labkit.cli", "build-labs", "--check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
