"""`labkit fast-forward NN`: a learner who starts at lab NN gets what it needs from the labs before it,
deployed from their solutions, on a fresh local cloud; and lab NN's solution then passes its checks."""

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from private_cloud import private_cloud
from test_labs import CELL_TIMEOUT_S, is_cleanup, labkit_check

from labkit import cli, config, fastforward, labs, localproc, progress, teardown

pytestmark = pytest.mark.long  # started early by tests/conftest.py

LAB_04 = config.COURSE_ROOT / "solutions" / "04_order_events.ipynb"


def labkit(*args: str) -> subprocess.CompletedProcess:
    """The command line as a learner runs it, in this process's environment (a private cloud's)."""
    return subprocess.run(
        [sys.executable, "-m", "labkit.cli", *args], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


def test_fast_forward_to_lab_04_says_it_needs_nothing_deployed_and_lab_04s_solution_then_passes_its_checks():
    with private_cloud("labkit-ff-04-"):
        forwarded = labkit("fast-forward", "04")
        assert forwarded.returncode == 0, forwarded.stderr
        lines = forwarded.stdout.splitlines()
        assert lines[0] == (
            "lab 04 starts from its own resources (see its Prerequisites): "
            "nothing of labs 01 to 03 needs to be deployed."
        )
        assert lines[1:4] == [f"lab {lab}: nothing to deploy; recorded as fast-forwarded" for lab in ("01", "02", "03")]
        assert lines[4].startswith("ready for lab 04 on target local: the local cloud at http://127.0.0.1:")
        assert lines[5] == "nothing deployed by learner on target local yet: run a lab's deploy steps"

        notebook = nbformat.read(LAB_04, as_version=4)
        client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(LAB_04.parent)}})
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type == "code" and not is_cleanup(cell):
                    client.execute_cell(cell, index)
            code, results = labkit_check("04")
            for index, cell in enumerate(notebook.cells):
                if is_cleanup(cell):
                    client.execute_cell(cell, index)
        assert code == 0, [result for result in results if not result["passed"]]
        assert len(results) == len(labs.require("04").checks)


def test_fast_forwarding_twice_says_the_same_and_the_skipped_labs_show_as_fast_forwarded_not_passed():
    with private_cloud("labkit-ff-twice-"):
        first, second = labkit("fast-forward", "03"), labkit("fast-forward", "03")
        shown = labkit("progress").stdout.splitlines()
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    assert shown[1].endswith("[          ] 0/4 checks (fast-forwarded)"), shown[1]
    assert shown[2].endswith("[          ] 0/6 checks (fast-forwarded)"), shown[2]
    assert not shown[3].endswith("(fast-forwarded)"), shown[3]


def test_a_lab_that_builds_on_lab_01_gets_lab_01_deployed_from_its_solution_and_twice_is_fine(monkeypatch):
    monkeypatch.setitem(fastforward.NEEDS_DEPLOYED, "02", ("01",))
    with private_cloud("labkit-ff-deploys-"):
        try:
            said: list[str] = []
            fastforward.fast_forward("02", say=said.append)
            first_deployed = teardown.tagged("01")
            fastforward.fast_forward("02", say=said.append)
            deployed = teardown.tagged("01")
            skipped = progress.load_fast_forwarded()["learner"]
            passed = progress.load()["learner"]["01"]
        finally:
            localproc.stop("bookshop")
            teardown.teardown(lab="01")
    assert said[0].startswith("lab 01: deployed from solutions/01_run_and_export_the_bookshop.ipynb (")
    assert said[0].endswith(f"{len(labs.require('01').checks)}/{len(labs.require('01').checks)} checks pass")
    assert said[1].startswith("ready for lab 02 on target local")
    assert said[2].startswith("lab 01: deployed from") and said[3].startswith("ready for lab 02")
    assert deployed and deployed == first_deployed, "the second run deployed again what the first had"
    assert list(skipped) == ["01"]
    assert all(check["passed"] for check in passed.values())


@pytest.mark.no_cloud
@pytest.mark.parametrize(
    ("lab", "answer"),
    [
        ("99", "there is no lab 99; the labs are 00 to 11."),
        ("00", "00 has no solution (solutions/00_*.ipynb): it is a lesson, or a lab not written yet; nothing to"),
        ("11", "11 has no solution (solutions/11_*.ipynb): it is a lesson, or a lab not written yet; nothing to"),
    ],
)
def test_fast_forward_to_a_lab_that_cannot_be_started_says_why(capsys, lab, answer):
    assert cli.main(["fast-forward", lab]) == 1
    assert capsys.readouterr().err.startswith(f"labkit fast-forward: {answer}")


@pytest.mark.no_cloud
def test_a_lab_that_does_not_say_what_it_needs_is_refused_with_where_to_say_it(monkeypatch, capsys):
    monkeypatch.delitem(fastforward.NEEDS_DEPLOYED, "05")
    assert cli.main(["fast-forward", "05"]) == 1
    assert "add it to NEEDS_DEPLOYED in labkit/fastforward.py" in capsys.readouterr().err


@pytest.mark.no_cloud
def test_every_lab_with_a_solution_says_what_it_needs_from_the_labs_before_it():
    with_solutions = [lab for lab, _ in labs.COURSE if fastforward.solution(lab)]
    assert sorted(fastforward.NEEDS_DEPLOYED) == with_solutions
    for lab, needed in fastforward.NEEDS_DEPLOYED.items():
        assert set(needed) <= set(fastforward.earlier_labs(lab)), f"lab {lab} needs a lab that is not before it"
