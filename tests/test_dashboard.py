"""`labkit dashboard`: an instructor watches the room's progress in a browser, live, as learners' checks pass;
read from each learner's state folder (progress.json), as the checks record it."""

import os
import signal
import socket
import subprocess
import sys

import pytest
from support import wait_for
from support.browser import CHROMIUM

from labkit import cli, labs, progress
from labkit.checks import FAILED, PASSED, Result
from labkit.dashboard import board, learners
from labkit.proc import free_port

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
LAB_01 = labs.require("01")


def record(monkeypatch, state_folder, owner: str, lab_id: str, passed=(), failed=()):
    """What a learner's check panel records when they run it: as labkit.checks does, in their state folder."""
    lab = labs.require(lab_id)
    chosen = {check.id: check for check in lab.checks}
    results = [Result(i, chosen[i].title, PASSED, "done") for i in passed]
    results += [Result(i, chosen[i].title, FAILED, "expected ..., found ...") for i in failed]
    with monkeypatch.context() as patched:
        patched.setenv("LABKIT_STATE_DIR", str(state_folder))
        patched.setenv("LABKIT_OWNER", owner)
        progress.record(lab_id, results)


@pytest.fixture
def room(tmp_path):
    """Two learners as a hub lays them out (a home holding .labkit/) and as a lone state folder, and one
    who has not run a check yet."""
    ann_home, bob_state, cat_home = tmp_path / "ann", tmp_path / "bob-state", tmp_path / "cat"
    for folder in (ann_home / ".labkit", bob_state, cat_home / ".labkit"):
        folder.mkdir(parents=True)
    return {"ann": ann_home / ".labkit", "bob": bob_state, "homes": [ann_home, bob_state, cat_home]}


@pytest.fixture
def dashboard(room, tmp_path):
    """`labkit dashboard` as an instructor starts it; yields the URL it printed."""
    log = tmp_path / "dashboard.log"
    server = subprocess.Popen(
        [sys.executable, "-m", "labkit.cli", "dashboard", "--learners", *map(str, room["homes"])],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        first = wait_for(lambda: log.read_text().partition("\n")[0] if "\n" in log.read_text() else "", 30, "the URL")
        yield first.split()[1], log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def cell(learner: str, lab: str) -> str:
    return f'document.querySelector(\'#learners tr[data-learner="{learner}"] td[data-lab="{lab}"] .count\')'


@pytest.mark.no_cloud
def test_the_dashboard_shows_two_learners_progress_changing_live_as_their_checks_pass(monkeypatch, room, dashboard):
    from playwright.sync_api import sync_playwright

    url, printed = dashboard
    first, second, third = (check.id for check in LAB_01.checks[:3])
    record(monkeypatch, room["ann"], "ann", "01", failed=[first])
    record(monkeypatch, room["bob"], "bob", "01", failed=[first])
    total = len(LAB_01.checks)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.wait_for_function(f"{cell('ann', '01')}?.textContent === '0/{total}'", timeout=15_000)
        page.wait_for_function(f"{cell('bob', '01')}?.textContent === '0/{total}'", timeout=15_000)
        most_failed_before = page.locator("#most-failed tr").nth(1).inner_text()
        not_started = page.locator("#not-started").inner_text()

        record(monkeypatch, room["ann"], "ann", "01", passed=[first, second])
        page.wait_for_function(f"{cell('ann', '01')}.textContent === '2/{total}'", timeout=15_000)
        bob_meanwhile = page.evaluate(f"{cell('bob', '01')}.textContent")
        stuck_first = page.locator("#stuck tr").nth(1).get_attribute("data-learner")

        record(monkeypatch, room["bob"], "bob", "01", passed=[first, second, third])
        page.wait_for_function(f"{cell('bob', '01')}.textContent === '3/{total}'", timeout=15_000)
        page.wait_for_function("document.querySelector('#most-failed').innerText.includes('no check is failing')")
        squares = page.locator("#learners tr[data-learner='bob'] td[data-lab='01'] .check.passed").count()
        page.screenshot(path=str(dashboard_screenshot()))
        browser.close()
    assert printed.startswith("dashboard: http://127.0.0.1:")
    assert LAB_01.checks[0].title in most_failed_before and most_failed_before.endswith("2")
    assert "cat" in not_started
    assert bob_meanwhile == f"0/{total}"
    assert stuck_first == "bob", "bob, who had passed nothing, is stuck longest"
    assert squares == 3


def dashboard_screenshot():
    from labkit import config

    folder = config.COURSE_ROOT / "test-output" / "browser"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "dashboard.png"


@pytest.mark.no_cloud
def test_stuck_longest_is_the_learner_whose_last_pass_is_oldest(monkeypatch, room):
    ann_check, bob_check = LAB_01.checks[0].id, LAB_01.checks[1].id
    record(monkeypatch, room["bob"], "bob", "01", passed=[bob_check])
    record(monkeypatch, room["ann"], "ann", "01", passed=[ann_check])
    shown = board.board(learners.check_given(room["homes"], []))
    assert [row["name"] for row in shown["stuck"]] == ["bob", "ann"]
    assert all(row["has_passed"] for row in shown["stuck"])


@pytest.mark.no_cloud
def test_a_hubs_home_folders_each_count_as_a_learner_including_one_who_logs_in_later(monkeypatch, tmp_path):
    homes = tmp_path / "homes"
    (homes / "ann" / ".labkit").mkdir(parents=True)
    sources = learners.check_given([], [homes])
    before = board.board(sources)
    (homes / "dan" / ".labkit").mkdir(parents=True)
    record(monkeypatch, homes / "dan" / ".labkit", "dan", "02", failed=["table"])
    after = board.board(sources)
    assert [row["name"] for row in before["learners"]] == [] and len(before["not_started"]) == 1
    assert [row["name"] for row in after["learners"]] == ["dan"]
    assert after["most_failed"][0] == {
        "lab": "02",
        "check": "table",
        "title": labs.require("02").checks[0].title,
        "learners": 1,
    }


@pytest.mark.no_cloud
def test_bad_input_gets_a_clear_answer(capsys, tmp_path):
    assert cli.main(["dashboard", "--learners", str(tmp_path / "nobody")]) == 1
    assert f"{tmp_path / 'nobody'} is not a folder" in capsys.readouterr().err
    assert cli.main(["dashboard"]) == 1
    assert "no learners given" in capsys.readouterr().err
    with socket.socket() as taken:
        port = free_port()
        taken.bind(("127.0.0.1", port))
        taken.listen()
        assert cli.main(["dashboard", "--learners", str(tmp_path), "--port", str(port)]) == 1
    assert f"port {port} on 127.0.0.1 is taken" in capsys.readouterr().err
