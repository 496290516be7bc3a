"""`python -m labkit.solutionrun NN --target aws`, the aws-target workflow's step that runs a lab on a real
account: the solution runs with its parameters cell set to the target, then its checks, and it says so in one
line; the aws guard rails refuse before anything runs. The local cloud stands in for the account."""

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.long  # it runs lab 01's solution in a kernel


@pytest.fixture
def on_the_aws_target(cloud, tmp_path):
    def run(*arguments: str, confirm: str | None = "123456789012") -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "LABKIT_OWNER": "solution-run",
            "LABKIT_STATE_DIR": str(tmp_path),
            "AWS_ENDPOINT_URL": cloud.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        env.pop("LABKIT_TARGET", None)
        env.pop("LABKIT_AWS_CONFIRM", None)
        if confirm:
            env["LABKIT_AWS_CONFIRM"] = confirm
        return subprocess.run([sys.executable, *arguments], capture_output=True, text=True, env=env, timeout=300)

    yield run
    run("-m", "labkit.cli", "teardown", "--target", "aws", "--yes")


def test_a_labs_solution_runs_on_the_aws_target_then_its_checks_pass(on_the_aws_target):
    ran = on_the_aws_target("-m", "labkit.solutionrun", "01", "--target", "aws")

    assert ran.returncode == 0, ran.stderr
    assert re.fullmatch(
        r"lab 01: deployed from solutions/01_run_and_export_the_bookshop\.ipynb \(\d+ cells, \d+ s\); "
        r"(\d+)/\1 checks pass\n",
        ran.stdout,
    ), ran.stdout
    listed = on_the_aws_target("-m", "labkit.cli", "ls", "--target", "aws", "--lab", "01")
    assert "lk-solution-run-" in listed.stdout, listed.stdout


def test_without_the_accounts_confirmation_nothing_runs(on_the_aws_target):
    ran = on_the_aws_target("-m", "labkit.solutionrun", "01", "--target", "aws", confirm=None)

    assert ran.returncode == 1
    assert ran.stdout == ""
    assert ran.stderr.startswith("solution run: "), ran.stderr
    assert "123456789012" in ran.stderr, ran.stderr


def test_a_lab_without_a_solution_is_refused(on_the_aws_target):
    ran = on_the_aws_target("-m", "labkit.solutionrun", "00", "--target", "aws")

    assert (ran.returncode, ran.stderr) == (1, "solution run: lab 00 has no solution (solutions/00_*.ipynb)\n")
