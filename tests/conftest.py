"""Test-session set-up: every test and notebook talks to one local cloud of its own.

The cloud gets a private state folder and a free port, so `make test` never touches the learner's
own local cloud (default port, .labkit/) and a leftover from an earlier run cannot leak in.
"""

import os
import shutil
import tempfile

import pytest
from private_cloud import pointed_at_a_private_cloud

from labkit.proc import free_port

_SESSION_STATE = tempfile.mkdtemp(prefix="labkit-test-")


def pytest_configure(config):
    # Set before any notebook kernel starts: kernels inherit this environment.
    os.environ["LABKIT_STATE_DIR"] = _SESSION_STATE
    os.environ["LABKIT_PORT"] = str(free_port())
    os.environ["LABKIT_OWNER"] = "learner"
    for name in ("LABKIT_TARGET", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)


def pytest_unconfigure(config):
    from labkit.localcloud import control

    control.down()
    shutil.rmtree(_SESSION_STATE, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    if item.get_closest_marker("no_cloud") and "cloud" in item.fixturenames:
        pytest.fail(f"{item.nodeid} is marked no_cloud but uses the cloud fixture", pytrace=False)


@pytest.fixture(autouse=True)
def _no_cloud_is_started(request, monkeypatch):
    """A no_cloud test that starts the local cloud anyway fails there, instead of starting it."""
    if request.node.get_closest_marker("no_cloud"):
        from labkit.localcloud import control

        def refuse():
            raise AssertionError(f"{request.node.nodeid} is marked no_cloud but starts the local cloud")

        monkeypatch.setattr(control, "up", refuse)


@pytest.fixture(scope="session")
def cloud():
    """The session's local cloud, with this process's environment pointed at it."""
    from labkit import course

    return course.start(quiet=True)


@pytest.fixture
def isolated_cloud_env(tmp_path):
    """A second, private local cloud location for lifecycle tests, not started; stopped afterwards, and
    this process pointed back at the session's cloud."""
    with pointed_at_a_private_cloud(tmp_path / "state"):
        yield tmp_path / "state"
