"""A learner's view: JupyterLab in headless Chromium opens a solution, runs every cell, and the check
panels render with every check passed. A screenshot goes to test-output/browser/."""
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from labkit import config, labs

CHROMIUM = "/usr/bin/chromium"
SOLUTION = "solutions/01_run_and_export_the_bookshop.ipynb"
OUTPUT = config.COURSE_ROOT / "test-output" / "browser"
KERNEL_READY = """(() => {
  const widget = window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
    && widget.sessionContext.session.kernel;
  return kernel && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
})()"""
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


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
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", f"--port={port}",
         "--ip=127.0.0.1", f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
         f"--ServerApp.root_dir={served}", "--LabApp.news_url=",
         f"--ServerApp.runtime_dir={tmp_path / 'runtime'}"],
        stdout=open(tmp_path / "jupyter.log", "w"), stderr=subprocess.STDOUT,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start:\n" + (tmp_path / "jupyter.log").read_text()[-2000:])
    yield base, token
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def test_solution_runs_in_jupyterlab_and_its_check_panels_pass(jupyterlab):
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `bash .ci/bootstrap.sh --with-browser`"
    from playwright.sync_api import sync_playwright
    base, token = jupyterlab
    expected_checks = len(labs.require("01").checks)
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/lab/tree/{SOLUTION}?token={token}")
        page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook')",
                               timeout=60_000)
        # Run All before the kernel is connected can silently do nothing (FACTS.md): wait for idle.
        page.wait_for_function(KERNEL_READY, timeout=60_000)
        dialogs = page.locator(".jp-Dialog").count()  # a kernel picker or a news prompt
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            f"document.querySelectorAll('.labkit-check-panel .labkit-check-passed').length >= {expected_checks}",
            timeout=120_000)
        page.evaluate("document.querySelectorAll('.labkit-check-panel')[2]"
                      ".scrollIntoView({block: 'center'})")
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
