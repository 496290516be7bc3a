"""A learner's view in headless Chromium: JupyterLab started by `make lab` serves the whole course, so a
lab opens from the file browser; and a solution runs every cell, its check panels rendering with every
check passed. Screenshots go to test-output/browser/."""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from support import wait_for
from support.browser import CHROMIUM

from labkit import config, labs

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "solutions/01_run_and_export_the_bookshop.ipynb"
OUTPUT = config.COURSE_ROOT / "test-output" / "browser"
KERNEL_READY = """(() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
    && widget.sessionContext.session.kernel;
  return kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
})()"""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def serving(status_url: str, server: subprocess.Popen) -> bool:
    """Does the server answer yet? Fails at once if it has exited."""
    assert server.poll() is None, f"it exited with status {server.returncode}"
    try:
        with urllib.request.urlopen(status_url, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def jupyterlab(cloud, tmp_path):
    """JupyterLab serving a copy of the solution, so that an autosave can never touch the committed one."""
    from labkit.proc import free_port

    port = free_port()
    served = tmp_path / "served"
    (served / "solutions").mkdir(parents=True)
    shutil.copy(config.COURSE_ROOT / SOLUTION, served / SOLUTION)
    token = "labkit-browser-test"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--LabApp.expose_app_in_browser=True",
            f"--ServerApp.root_dir={served}",
            "--LabApp.news_url=",
            f"--ServerApp.runtime_dir={tmp_path / 'runtime'}",
        ],
        stdout=open(tmp_path / "jupyter.log", "w"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: serving(f"{base}/api/status?token={token}", server), 60, "JupyterLab to answer")
    except AssertionError as error:
        server.kill()
        pytest.fail(f"JupyterLab did not start ({error}):\n" + (tmp_path / "jupyter.log").read_text()[-2000:])
    yield base, token
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def test_solution_runs_in_jupyterlab_and_its_check_panels_pass(jupyterlab):
    assert Path(CHROMIUM).exists(), f"no browser at {CHROMIUM}: run `bash .ci/bootstrap.sh --with-browser`"
    from playwright.sync_api import sync_playwright

    base, token = jupyterlab
    expected_checks = len(labs.require("01").checks)
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/{SOLUTION}?token={token}")
        page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')", timeout=60_000)
        # Run All before the kernel is connected can silently do nothing: wait for idle.
        page.wait_for_function(KERNEL_READY, timeout=60_000)
        dialogs = page.locator(".jp-Dialog").count()  # a kernel picker or a news prompt
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            f"document.querySelectorAll('.labkit-check-panel .labkit-check-passed').length >= {expected_checks}",
            timeout=120_000,
        )
        page.evaluate("document.querySelectorAll('.labkit-check-panel')[2].scrollIntoView({block: 'center'})")
        page.wait_for_timeout(500)
        page.screenshot(path=str(OUTPUT / "01_solution.png"), full_page=False)
        failing = page.locator(".labkit-check-failed, .labkit-check-error, .labkit-check-not-done-yet").count()
        passed = page.locator(".labkit-check-passed").count()
        panels = page.locator(".labkit-check-panel").count()
        browser.close()
    assert dialogs == 0
    assert panels == 3
    assert passed == expected_checks and failing == 0
    assert (OUTPUT / "01_solution.png").stat().st_size > 10_000


@pytest.fixture
def make_lab(cloud, tmp_path):
    """JupyterLab as README starts it: `make lab`, in the course folder. Only the environment differs
    (a free port, a known token, no browser to open, Jupyter's own state under tmp_path)."""
    from labkit.proc import free_port

    port, token = free_port(), "labkit-make-lab-test"
    log = tmp_path / "make_lab.log"
    server = subprocess.Popen(
        ["make", "-s", "lab"],
        cwd=config.COURSE_ROOT,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={
            **os.environ,
            "JUPYTER_PORT": str(port),
            "JUPYTER_TOKEN": token,
            "LABKIT_OPEN_BROWSER": "False",
            "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
            "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
            "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        },
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: serving(f"{base}/api/status?token={token}", server), 90, "JupyterLab to answer")
    except AssertionError as error:
        os.killpg(server.pid, signal.SIGKILL)
        pytest.fail(f"make lab did not start JupyterLab ({error}):\n" + log.read_text()[-2000:])
    yield base, token
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def test_make_lab_opens_notebook_00_and_a_lab_opens_from_the_file_browser(make_lab):
    from playwright.sync_api import sync_playwright

    base, token = make_lab
    lab02 = config.COURSE_ROOT / "labs" / "02_the_catalog_service.ipynb"
    committed = hashlib.sha256(lab02.read_bytes()).hexdigest()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        # The page `make lab` opens in the learner's browser (jupyter's redirect to the notebook it was given).
        page.goto(f"{base}/lab/tree/notebooks/00_start_here.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook h1", timeout=60_000)
        first_tab = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").first.inner_text().strip()
        page.locator(".jp-BreadCrumbs-home").click()
        listing = page.locator(".jp-DirListing-content")
        for folder in ("labs", "notebooks", "solutions"):
            listing.get_by_text(folder, exact=True).wait_for(timeout=30_000)
        listing.get_by_text("labs", exact=True).dblclick()
        listing.get_by_text(lab02.name, exact=True).dblclick()
        # `make lab` does not expose window.jupyterapp: read what the learner sees, the current tab.
        page.wait_for_function(
            "[...document.querySelectorAll('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')]"
            f".some(tab => tab.innerText.trim() === '{lab02.name}')",
            timeout=60_000,
        )
        opened = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook h1").first
        opened.wait_for(timeout=60_000)
        title = opened.inner_text()
        page.screenshot(path=str(OUTPUT / "make_lab_02_from_file_browser.png"))
        browser.close()
    assert first_tab == "00_start_here.ipynb"
    assert title.startswith("Lab 02"), title
    assert hashlib.sha256(lab02.read_bytes()).hexdigest() == committed, "opening the lab changed the committed file"


QUIZ_NOTEBOOKS = ("notebooks/01_the_monolith.ipynb", "labs/01_run_and_export_the_bookshop.ipynb")


@pytest.fixture
def make_lab_without_autosave(tmp_path, monkeypatch):
    """`make lab` with JupyterLab's autosave off, so running a cell of a committed notebook never rewrites it."""
    settings = tmp_path / "settings" / "@jupyterlab" / "docmanager-extension"
    settings.mkdir(parents=True)
    (settings / "plugin.jupyterlab-settings").write_text('{"autosave": false}')
    monkeypatch.setenv("JUPYTERLAB_SETTINGS_DIR", str(tmp_path / "settings"))


def test_a_learner_answers_the_knowledge_check_wrong_and_sees_why(make_lab_without_autosave, make_lab):
    from playwright.sync_api import sync_playwright

    base, token = make_lab
    committed = {name: hashlib.sha256((config.COURSE_ROOT / name).read_bytes()).hexdigest() for name in QUIZ_NOTEBOOKS}
    OUTPUT.mkdir(parents=True, exist_ok=True)
    feedback, hidden = {}, {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/notebooks/00_start_here.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook h1", timeout=60_000)
        for name in QUIZ_NOTEBOOKS:
            folder, notebook = name.split("/")
            page.locator(".jp-BreadCrumbs-home").click()
            listing = page.locator(".jp-DirListing-content")
            listing.get_by_text(folder, exact=True).dblclick()
            listing.get_by_text(notebook, exact=True).dblclick()
            opened = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            heading_cell = opened.locator(".jp-MarkdownCell").filter(has=page.locator("h2", has_text="Knowledge check"))
            heading_cell.wait_for(timeout=60_000)
            # The quiz is the cell after the heading's, its source hidden (clicking the placeholder would show
            # it, answers and all): select the heading's cell, and run it and the next from the keyboard.
            cell = heading_cell.locator("xpath=following-sibling::*[1]")
            heading_cell.locator("h2").click()
            page.keyboard.press("Shift+Enter")  # "runs" the heading, selecting the next cell: the quiz
            page.keyboard.press("Shift+Enter")
            quiz = cell.locator(".labkit-quiz")
            quiz.wait_for(timeout=60_000)
            first = quiz.locator(".labkit-quiz-options").first
            wrong = first.locator(".widget-radio-box label").first  # the first option is wrong in both notebooks
            wrong.click()
            quiz.locator(".labkit-quiz-check button, button.labkit-quiz-check").first.click()
            answered = quiz.locator(".labkit-quiz-feedback.labkit-quiz-wrong").first
            answered.wait_for(timeout=30_000)
            feedback[name] = answered.inner_text().strip()
            quiz.scroll_into_view_if_needed()
            page.screenshot(path=str(OUTPUT / f"quiz_{notebook.removesuffix('.ipynb')}.png"))
            hidden[name] = cell.locator(".jp-InputArea-editor").count() == 0
        browser.close()
    assert hidden == dict.fromkeys(QUIZ_NOTEBOOKS, True), "the quiz's source (its answers) is in view"
    assert feedback["notebooks/01_the_monolith.ipynb"] == (
        "✘ Not quite. No: GET /books runs only the catalog's code. The slowdown came from elsewhere."
    )
    assert feedback["labs/01_run_and_export_the_bookshop.ipynb"] == (
        "✘ Not quite. No: a fixed wait is too short on a slow machine and wasted on a fast one."
    )
    for name, digest in committed.items():
        assert hashlib.sha256((config.COURSE_ROOT / name).read_bytes()).hexdigest() == digest, f"{name} was changed"
