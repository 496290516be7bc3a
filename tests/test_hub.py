"""`labkit hub`: JupyterHub for a room on one machine. Two learners log in through a real browser, each
runs a lab's first cell in their own JupyterLab, and their local clouds are separate: what one makes the
other does not see, and one's teardown leaves the other's resources."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import nbformat
import pytest
from support import wait_for
from support.browser import CHROMIUM

from labkit import cli, config
from labkit.hub.proxied import through_the_hub
from labkit.proc import free_port

pytestmark = pytest.mark.long  # started early by tests/conftest.py (make test runs it on its own)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
PASSWORD = "room-password-42"
LEARNERS = ("ann", "bob")
# A lab's first cell, as a learner runs it: start the course (their own local cloud), then make something.
FIRST_CELL = """from labkit import course
import boto3
env = course.start(lab="02")
boto3.client("sqs").create_queue(QueueName=f"made-by-{env.owner}", tags=env.tags)
print("owner", env.owner, "made", f"made-by-{env.owner}")
from labkit.hub.proxied import through_the_hub  # what `labkit url` gives: for the learner's browser
print("in my browser", through_the_hub(env.endpoint + "/_labkit/health"))"""
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in view
# The status bar once the notebook's kernel has started and is idle (before that the toolbar's indicator
# already says idle, and a cell run then is lost while the kernel starts).
KERNEL_IDLE = ".jp-StatusBar-Widget >> text='Python 3 (ipykernel) | Idle'"


def answers(url: str, hub: subprocess.Popen) -> bool:
    assert hub.poll() is None, f"the hub exited with status {hub.returncode}"
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def learner_env(home: Path) -> dict:
    """A terminal of that learner's: their state folder (the hub gave their server the same), whose pidfile
    says where their cloud is; the port, free, only keeps labkit from finding a stranger's cloud on 4747."""
    return {
        **os.environ,
        "LABKIT_STATE_DIR": str(home / ".labkit"),
        "LABKIT_OWNER": home.name,
        "LABKIT_PORT": str(free_port()),
    }


def labkit_as(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "labkit.cli", *args], env=learner_env(home), capture_output=True, text=True, timeout=120
    )


def cloud_of(home: Path) -> dict:
    """The learner's local cloud as `labkit status` sees it; on a busy machine its health check (0.5 s) can
    miss a beat, so it is asked again until it answers."""

    def answering():
        status = json.loads(labkit_as(home, "status", "--json").stdout)
        return status if status["running"] else None

    return wait_for(answering, 20, f"{home.name}'s local cloud to answer", interval=0.5)


def queues_in_the_cloud_of(home: Path) -> list[str]:
    status = cloud_of(home)
    sqs = boto3.client(
        "sqs",
        endpoint_url=status["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    return sorted(url.rsplit("/", 1)[1] for url in sqs.list_queues().get("QueueUrls", []))


@pytest.fixture
def hub(tmp_path):
    """`labkit hub` as an instructor starts it (a free port, a folder of its own); stopped afterwards, with
    every learner's local cloud."""
    port, folder = free_port(), tmp_path / "hub"
    homes = folder / "homes"
    for name in LEARNERS:  # the notebook each learner will open, as if they had made it
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FIRST_CELL)])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        (homes / name).mkdir(parents=True)
        nbformat.write(notebook, homes / name / "first_cell.ipynb")
    env = {**os.environ, "LABKIT_HUB_DIR": str(folder), "LABKIT_HUB_PORT": str(port), "LABKIT_HUB_PASSWORD": PASSWORD}
    for name in ("LABKIT_STATE_DIR", "LABKIT_PORT", "LABKIT_OWNER"):  # the test session's, not a learner's
        env.pop(name)
    log = tmp_path / "hub.log"
    hub = subprocess.Popen(
        [sys.executable, "-m", "labkit.cli", "hub"],
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(f"{base}/hub/login", hub), 30, "the hub's login page")
        yield base, homes
    except BaseException:
        print(log.read_text()[-4000:])
        raise
    finally:
        os.killpg(hub.pid, signal.SIGTERM)
        try:
            hub.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.pid, signal.SIGKILL)
        stop_a_leftover_proxy(folder / "proxy.pid")
        for name in LEARNERS:
            labkit_as(homes / name, "down")


def stop_a_leftover_proxy(pid_file: Path) -> None:
    """JupyterHub runs its proxy in a session of its own and stops it on the way out; a hub killed before
    then leaves it serving the port."""
    try:
        os.kill(int(pid_file.read_text()), signal.SIGTERM)
    except (OSError, ValueError):
        pass


@pytest.mark.no_cloud
@pytest.mark.parametrize(
    ("settings", "answer"),
    [
        ({}, "set LABKIT_HUB_PASSWORD to the room's shared password, at least 8 characters"),
        ({"LABKIT_HUB_PASSWORD": "short"}, "set LABKIT_HUB_PASSWORD to the room's shared password, at least 8"),
        ({"LABKIT_HUB_PASSWORD": PASSWORD, "LABKIT_HUB_PORT": "80"}, "LABKIT_HUB_PORT='80' is not a port number"),
    ],
)
def test_a_hub_without_a_password_or_with_a_bad_port_is_refused_with_what_to_set(monkeypatch, capsys, settings, answer):
    for name in ("LABKIT_HUB_PASSWORD", "LABKIT_HUB_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["hub"]) == 1
    assert capsys.readouterr().err.startswith(f"labkit hub: {answer}")


@pytest.mark.no_cloud
def test_a_hub_on_a_taken_port_says_so(monkeypatch, capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("LABKIT_HUB_PASSWORD", PASSWORD)
        monkeypatch.setenv("LABKIT_HUB_PORT", str(port))
        monkeypatch.setenv("LABKIT_HUB_DIR", str(tmp_path))
        assert cli.main(["hub"]) == 1
    assert f"port {port} on 127.0.0.1 is taken: set LABKIT_HUB_PORT to another" in capsys.readouterr().err


@pytest.mark.no_cloud
def test_inside_a_hub_a_data_plane_url_is_given_through_the_learners_jupyterlab(monkeypatch):
    monkeypatch.setenv("LABKIT_HUB_PUBLIC_URL", "http://room.example:8000")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ann/")
    assert through_the_hub("http://127.0.0.1:4801/prod/books?id=1") == (
        "http://room.example:8000/user/ann/proxy/4801/prod/books?id=1"
    )
    aws = "https://abc123.execute-api.us-east-1.amazonaws.com/prod"
    assert through_the_hub(aws) == aws, "a URL on AWS is public already"
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX")
    assert through_the_hub("http://127.0.0.1:4801/prod") == "http://127.0.0.1:4801/prod", "outside a hub"


def test_two_learners_on_the_hub_each_get_their_own_local_cloud(hub):
    from playwright.sync_api import sync_playwright

    base, homes = hub
    outputs = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = {name: browser.new_context(viewport={"width": 1200, "height": 800}).new_page() for name in LEARNERS}
        for name, page in pages.items():  # both log in before either waits: their servers start together
            page.goto(f"{base}/hub/spawn?next=/user/{name}/lab/tree/first_cell.ipynb")  # logs in first
            page.fill("#username_input", name)
            page.fill("#password_input", PASSWORD)
            page.click("#login_submit")
        for page in pages.values():
            page.wait_for_selector(KERNEL_IDLE, timeout=60_000)
            run_the_first_cell(page)
        try:
            for name, page in pages.items():
                # The cell starts the learner's own local cloud first: seconds, more on a busy machine.
                page.locator(f"{NOTEBOOK} .jp-OutputArea-output", has_text="made made-by-").wait_for(timeout=120_000)
                outputs[name] = page.locator(f"{NOTEBOOK} .jp-OutputArea").first.inner_text()
            # Ann's local cloud, as her browser reaches it: through her JupyterLab on the hub.
            proxied = outputs["ann"].split("in my browser ", 1)[1].split()[0]
            health = json.loads(pages["ann"].goto(proxied).text())
            refused = pages["bob"].goto(proxied).status
        finally:  # what each learner saw, whether it passed or not
            for name, page in pages.items():
                page.screenshot(path=str(screenshot(f"hub_{name}.png")))
            browser.close()

    ann, bob = (homes / name for name in LEARNERS)
    assert proxied.startswith(f"{base}/user/ann/proxy/"), proxied
    assert health["pid"] == cloud_of(ann)["pid"], "not ann's own cloud"
    assert refused == 403, "bob's browser may not go through ann's JupyterLab"
    assert "owner ann made made-by-ann" in outputs["ann"], outputs["ann"]
    assert "owner bob made made-by-bob" in outputs["bob"], outputs["bob"]
    assert queues_in_the_cloud_of(ann) == ["made-by-ann"]
    assert queues_in_the_cloud_of(bob) == ["made-by-bob"]
    teardown = labkit_as(ann, "teardown", "--yes")
    assert teardown.returncode == 0, teardown.stdout + teardown.stderr
    assert queues_in_the_cloud_of(ann) == []
    assert queues_in_the_cloud_of(bob) == ["made-by-bob"]
    assert (ann / "labs").is_dir() and (ann / "notebooks" / "00_start_here.ipynb").is_file()


def run_the_first_cell(page) -> None:
    """Shift+Enter in the first cell, as a learner runs it; pressed again when the cell did not start (its
    prompt still [ ]), as a key pressed while JupyterLab was still busy is lost."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.bring_to_front()  # the keys go to the page in focus, as in a learner's browser
    started = page.locator(f"{NOTEBOOK} .jp-Cell .jp-InputPrompt").first.filter(has_text=re.compile(r"\[(\*|\d+)\]"))
    for _ in range(3):
        page.locator(f"{NOTEBOOK} .jp-Cell .cm-content").first.click()
        page.keyboard.press("Shift+Enter")
        try:
            started.wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError("the first cell never started: Shift+Enter was lost three times")


def screenshot(name: str) -> Path:
    folder = config.COURSE_ROOT / "test-output" / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name
