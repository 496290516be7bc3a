"""The files that run the course elsewhere, which this machine cannot run: GitHub Actions workflows
(.github/workflows/) and Zero to JupyterHub's configuration and single-user image (deploy/z2jh/). Each is
checked by a real linter (actionlint with shellcheck, hadolint: pinned in requirements.txt, so the bootstrap
installs them), shown first to catch a mistake, and by what docs/facilitators.md promises of it."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from labkit import config

pytestmark = pytest.mark.no_cloud

ROOT = config.COURSE_ROOT
WORKFLOWS = ROOT / ".github" / "workflows"
Z2JH = ROOT / "deploy" / "z2jh"
VENV_BIN = ROOT / ".venv" / "bin"
GUIDE = ROOT / "docs" / "facilitators.md"


def linter(name: str) -> Path:
    path = VENV_BIN / name
    assert path.exists(), f"{name} is missing: run `bash .ci/bootstrap.sh` (requirements.txt pins it)"
    return path


def actionlint(*files: Path) -> subprocess.CompletedProcess:
    command = [linter("actionlint"), "-shellcheck", linter("shellcheck"), "-no-color", *files]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def hadolint(dockerfile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([linter("hadolint"), "--no-color", dockerfile], capture_output=True, text=True, timeout=60)


def steps(workflow: dict, job: str) -> list[dict]:
    return workflow["jobs"][job]["steps"]


def load(path: Path) -> dict:
    loaded = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
    return {("on" if key is True else key): value for key, value in loaded.items()}


def test_actionlint_with_shellcheck_catches_a_bad_expression_and_an_unquoted_variable(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.no_such_thing }}\n"
        "      - run: ls $HOME/*.txt\n"
    )

    found = actionlint(bad)

    assert found.returncode == 1
    assert 'property "no_such_thing" is not defined' in found.stdout, found.stdout
    assert "SC2086" in found.stdout, found.stdout  # shellcheck ran on the run: script


def test_the_workflows_pass_actionlint():
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert [path.name for path in workflows] == ["aws-target.yml", "ci.yml"]

    found = actionlint(*workflows)

    assert (found.returncode, found.stdout, found.stderr) == (0, "", "")


def test_ci_runs_the_courses_own_ci_entry_point_on_ubuntu_with_caches():
    ci = load(WORKFLOWS / "ci.yml")
    test_steps = steps(ci, "test")

    assert ci["jobs"]["test"]["runs-on"] == "ubuntu-latest"
    assert [step["run"] for step in test_steps if "run" in step][-1] == "bash .ci/run"
    cached = [step for step in test_steps if step.get("uses", "").startswith("actions/cache@")]
    assert ".cache/uv" in cached[0]["with"]["path"] and ".cache/pip" in cached[0]["with"]["path"]
    apt = next(step for step in test_steps if step.get("uses", "").startswith("awalsh128/cache-apt-pkgs-action@"))
    assert apt["with"]["packages"] == "graphviz"
    assert ci["jobs"]["test"]["env"]["LABKIT_BROWSER"] == "/usr/bin/google-chrome"


def test_the_aws_target_runs_only_by_hand_one_at_a_time_guarded_by_the_budget_and_always_tears_down():
    aws = load(WORKFLOWS / "aws-target.yml")
    job = aws["jobs"]["lab"]
    names = [step.get("name", step.get("uses")) for step in job["steps"]]
    by_name = dict(zip(names, job["steps"], strict=True))

    assert list(aws["on"]) == ["workflow_dispatch"]
    assert aws["concurrency"] == {"group": "aws-target", "cancel-in-progress": False}
    assert aws["permissions"]["id-token"] == "write"
    credentials = next(step for step in job["steps"] if "configure-aws-credentials" in step.get("uses", ""))
    assert credentials["with"]["role-to-assume"] == "${{ secrets.AWS_ROLE_ARN }}"
    guard = names.index("Budget guard (refuses when the account has spent too much)")
    lab = next(i for i, name in enumerate(names) if name.startswith("Lab ${{ inputs.lab }}"))
    teardown = names.index("Teardown of everything this run tagged (runs whatever happened)")
    assert guard < lab < teardown == len(names) - 1
    assert "labkit.budgetguard" in job["steps"][guard]["run"]
    assert job["steps"][lab]["run"] == '.venv/bin/python -m labkit.solutionrun "$LAB" --target aws'
    assert job["steps"][lab]["timeout-minutes"] < job["timeout-minutes"]
    assert by_name[names[teardown]]["if"].startswith("always()")
    assert by_name[names[teardown]]["run"] == ".venv/bin/labkit teardown --target aws --yes"
    assert job["env"]["LABKIT_OWNER"] == "ci-${{ github.run_number }}"


def test_hadolint_catches_an_unpinned_base_and_apt_lists_left_behind(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN apt-get update && apt-get install -y redis-server\n")

    found = hadolint(bad)

    assert found.returncode == 1
    for rule in ("DL3006", "DL3009", "DL3015"):
        assert rule in found.stdout, found.stdout


def test_the_single_user_image_passes_hadolint_and_runs_the_courses_bootstrap_and_start_script():
    dockerfile = Z2JH / "Dockerfile"
    found = hadolint(dockerfile)
    assert (found.returncode, found.stdout) == (0, ""), found.stdout

    text = dockerfile.read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", text, re.M)
    assert "RUN bash .ci/bootstrap.sh" in text
    assert "redis-server" in text
    assert re.search(r"^USER 1000$", text, re.M)
    assert text.rstrip().endswith('CMD ["/opt/course/deploy/z2jh/start.sh"]')
    start = Z2JH / "start.sh"
    assert start.stat().st_mode & 0o111, "start.sh must be executable: it is the pod's command"
    checked = subprocess.run([linter("shellcheck"), start], capture_output=True, text=True, timeout=60)
    assert (checked.returncode, checked.stdout) == (0, "")
    assert "prepare_home(Path.home())" in start.read_text()
    assert (ROOT / ".dockerignore").read_text().splitlines()[1] == ".venv"


# The keys of the jupyterhub Helm chart's values this configuration uses, and the types the chart's values
# schema (jupyterhub/values.schema.yaml, chart 4.x) gives them. Written from reading that schema: the chart is
# not fetched, the test runs offline. A key ending in "*" takes any keys below it (the chart passes them on).
CHART_KEYS = {
    "hub.config.*": object,
    "singleuser.image.name": str,
    "singleuser.image.tag": str,
    "singleuser.cmd": (str, list),
    "singleuser.defaultUrl": str,
    "singleuser.startTimeout": int,
    "singleuser.memory.guarantee": (int, float, str),
    "singleuser.memory.limit": (int, float, str),
    "singleuser.cpu.guarantee": (int, float),
    "singleuser.cpu.limit": (int, float),
    "singleuser.extraEnv.*": object,
    "singleuser.storage.capacity": str,
    "cull.enabled": bool,
    "cull.timeout": int,
    "cull.every": int,
}


def leaves(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from leaves(value, f"{path}.")
        else:
            yield path, value


def chart_type(path: str):
    if path in CHART_KEYS:
        return CHART_KEYS[path]
    return next((kind for key, kind in CHART_KEYS.items() if key.endswith("*") and path.startswith(key[:-1])), None)


def test_the_z2jh_configuration_uses_only_keys_the_chart_knows_with_their_types():
    values = yaml.safe_load((Z2JH / "config.yaml").read_text())

    unknown = [(path, value) for path, value in leaves(values) if chart_type(path) is None]
    mistyped = [(path, value) for path, value in leaves(values) if not isinstance(value, chart_type(path) or object)]

    assert unknown == []
    assert mistyped == []


def test_the_z2jh_configuration_does_what_the_guide_says():
    values = yaml.safe_load((Z2JH / "config.yaml").read_text())
    user = values["singleuser"]
    guide = " ".join(GUIDE.read_text().split())  # as read, not as wrapped

    assert user["extraEnv"]["LABKIT_OWNER"] == "{username}"
    assert user["cmd"] == "/opt/course/deploy/z2jh/start.sh"
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"] == "shared-password"
    assert values["cull"]["enabled"] is True and values["cull"]["timeout"] >= 2 * 3600
    promised = (
        f"`singleuser.memory`: guarantee {user['memory']['guarantee']}, limit {user['memory']['limit']}",
        f"`singleuser.cpu`: guarantee {user['cpu']['guarantee']}, limit {user['cpu']['limit']}",
        f"idle for {values['cull']['timeout'] // 3600} hours",
    )
    for promise in promised:
        assert promise in guide, promise


def test_the_bootstrap_refuses_a_browser_named_in_labkit_browser_that_is_not_there(tmp_path):
    missing = tmp_path / "google-chrome"

    refused = subprocess.run(
        ["bash", ROOT / ".ci" / "bootstrap.sh", "--with-browser"],
        env={"PATH": "/usr/bin:/bin", "LABKIT_BROWSER": str(missing)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert refused.returncode == 1
    assert refused.stderr == f"bootstrap: LABKIT_BROWSER={missing} is not an executable Chromium or Chrome.\n"
