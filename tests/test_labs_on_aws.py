"""Every solution through the aws target's code path, with the strict local cloud standing in for AWS.

The notebook runs with TARGET = "aws": course.start checks the account (LABKIT_AWS_CONFIRM), names get
the lk-<owner>- prefix, images are built with `docker build` and pushed, waits are in AWS minutes, and
teardown waits for AWS's eventual consistency. Only where boto3 sends its calls differs: the local
cloud, which refuses what AWS refuses. No learner code has a branch for the target, so a solution that
passes here runs on a real account unchanged. Docker is not on this machine: the `docker` on PATH is
a stand-in that records the image in the local cloud's ECR with labkit's local builder (a real build
and push are what Docker itself is tested for)."""

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from test_labs import CELL_TIMEOUT_S, SOLUTIONS, course_path, is_cleanup, lab_id

from labkit import config, teardown

FAKE_DOCKER = """#!{python}
import sys
from pathlib import Path

from labkit import course, images

arguments = sys.argv[1:]
if arguments[0] == "build":  # build --platform P -f DOCKERFILE -t URI CONTEXT
    dockerfile = Path(arguments[arguments.index("-f") + 1])
    uri = arguments[arguments.index("-t") + 1]
    env = course.start(target="local", quiet=True)
    images.build(dockerfile.parent, uri.split("/", 1)[1], env=env, context=arguments[-1])
"""


@pytest.fixture
def docker_stand_in(tmp_path, monkeypatch):
    docker = tmp_path / "bin" / "docker"
    docker.parent.mkdir()
    docker.write_text(FAKE_DOCKER.format(python=sys.executable))
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{docker.parent}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def aws_target(cloud, docker_stand_in, monkeypatch):
    """The kernel and `labkit check` choose the aws target and confirm the (local) account."""
    monkeypatch.setenv("LABKIT_TARGET", "aws")
    monkeypatch.setenv("LABKIT_AWS_CONFIRM", config.LOCAL_ACCOUNT_ID)


def on_aws(notebook) -> None:
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    assert parameters.source.strip() == 'TARGET = "local"'
    parameters.source = 'TARGET = "aws"'


@pytest.mark.parametrize("solution", SOLUTIONS, ids=course_path)
def test_a_solution_passes_its_checks_through_the_aws_targets_code_path(aws_target, solution):
    notebook = nbformat.read(solution, as_version=4)
    on_aws(notebook)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(solution.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code" and not is_cleanup(cell):
                client.execute_cell(cell, index)
        printed = [o.get("text", "") for c in notebook.cells for o in c.get("outputs", [])]
        started = f"target aws: account {config.LOCAL_ACCOUNT_ID}, region us-east-1, names prefixed lk-"
        assert any(text.startswith(started) for text in printed), "course.start did not choose the aws target"
        checked = subprocess.run(
            [sys.executable, "-m", "labkit.cli", "check", lab_id(solution)], capture_output=True, text=True, timeout=120
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        for index, cell in enumerate(notebook.cells):
            if is_cleanup(cell):
                client.execute_cell(cell, index)
    assert teardown.tagged(lab_id(solution)) == []
