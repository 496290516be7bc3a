"""The ways into the course besides `make lab` (a dev container, Binder) run the same bootstrap, and the
facilitators' guide names only commands that exist."""

import json
import os
import re
import subprocess

import pytest

from labkit import cli, config

ROOT = config.COURSE_ROOT


@pytest.mark.no_cloud
def test_the_dev_container_builds_with_the_courses_bootstrap_and_forwards_jupyterlab():
    container = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert container["postCreateCommand"] == "bash .ci/bootstrap.sh"
    assert re.fullmatch(r"python:3\.1[1-9][-a-z]*", container["image"]), container["image"]
    assert 8888 in container["forwardPorts"]


@pytest.mark.no_cloud
def test_binder_installs_graphviz_then_runs_the_courses_bootstrap_and_registers_its_kernel():
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "Binder runs postBuild only when it is executable"
    assert subprocess.run(["bash", "-n", str(post_build)]).returncode == 0
    commands = [line for line in post_build.read_text().splitlines() if line and not line.startswith(("#", "set "))]
    assert commands[0] == "bash .ci/bootstrap.sh"
    assert "ipykernel install --user --name python3" in commands[1]
    assert (ROOT / "binder" / "apt.txt").read_text().split() == ["graphviz"]


@pytest.mark.no_cloud
def test_the_facilitators_guide_names_only_labkit_commands_that_exist():
    guide = (ROOT / "docs" / "facilitators.md").read_text()
    named = set(re.findall(r"`labkit ([a-z-]+)", guide))
    assert named, "the guide names no labkit command"
    assert named <= set(cli.COMMANDS), named - set(cli.COMMANDS)
    for target in re.findall(r"`(?:[A-Z_]+=\S+ )*make ([a-z-]+)`", guide):
        assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), re.M), f"no make target {target}"
