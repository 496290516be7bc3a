"""Test-session set-up: every pytest process talks to a local cloud of its own.

Each process (the only one, or each xdist worker under `make test`) gets a private state folder and a
free port, so tests never touch the learner's own local cloud (default port, .labkit/), a leftover
from an earlier run cannot leak in, and parallel workers cannot see each other's resources.

Under xdist what must share a process runs together (FileScheduling below): a test module, a notebook's
cells, and test_labs.py's run of a solution before nbval's run of it, which is then the second run in
the same local cloud: the solution's idempotence test.
"""

import collections
import os
import shutil
import tempfile

import pytest
from private_cloud import pointed_at_a_private_cloud
from xdist.scheduler import LoadScopeScheduling

from labkit.proc import free_port

_SESSION_STATE = tempfile.mkdtemp(prefix=f"labkit-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
_SESSION_PORT = str(free_port())


def _point_at_the_session_cloud():
    os.environ["LABKIT_STATE_DIR"] = _SESSION_STATE
    os.environ["LABKIT_PORT"] = _SESSION_PORT


def pytest_configure(config):
    # Set before any notebook kernel starts: kernels inherit this environment.
    _point_at_the_session_cloud()
    os.environ["LABKIT_OWNER"] = "learner"
    # A new role is usable at once in the suite's clouds; tests/test_iam_roles.py tests the window itself.
    os.environ["LABKIT_ROLE_PROPAGATION_S"] = "0"
    for name in ("LABKIT_TARGET", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)


@pytest.hookimpl(trylast=True)  # after the session's fixtures are torn down
def pytest_sessionfinish(session):
    # Not in pytest_unconfigure: by then an xdist worker has told the controller it is done, and the
    # controller kills a worker still there 10 s later, which could leave its cloud running.
    from labkit.localcloud import control

    _point_at_the_session_cloud()  # whatever a test left in the environment, stop this process's cloud
    control.down()
    shutil.rmtree(_SESSION_STATE, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    # Notebook cells last (a stable sort: each notebook's cells keep their order), so that in a
    # notebook's unit of work the tests that run it come first, whatever order the paths were given in.
    items.sort(key=lambda item: item.path.suffix == ".ipynb")
    # Then the units of work longest first, so that no long one starts last while the other workers idle:
    # those that run a lab (minutes each), then those marked long, then the others by their number of tests.
    sizes = collections.Counter(unit_of_work(item.nodeid) for item in items)
    long_units = {unit_of_work(item.nodeid) for item in items if item.get_closest_marker("long")}

    def rank(item):
        unit = unit_of_work(item.nodeid)
        return (not runs_a_lab(unit), unit not in long_units, -sizes[unit])

    items.sort(key=rank)


def pytest_xdist_make_scheduler(config, log):
    config.option.loadscopereorder = False  # the order above, not xdist's by size alone
    return FileScheduling(config, log)


def unit_of_work(nodeid: str) -> str:
    """What runs in one process, in order: a test module, or a notebook's cells with the tests of
    test_labs.py that run that notebook first (their parameter is its path). test_labs_rerun.py runs a
    solution on the aws target's code path, under other names: each such run is a unit of its own."""
    path, _, rest = nodeid.partition("::")
    parameter = rest.partition("[")[2].removesuffix("]")
    if not parameter.endswith(".ipynb"):
        return path
    return f"{path}[{parameter}]" if path.endswith("test_labs_rerun.py") else parameter


def runs_a_lab(unit: str) -> bool:
    return unit.endswith(".ipynb") or unit.endswith(".ipynb]")


class FileScheduling(LoadScopeScheduling):
    """xdist hands out work by unit (unit_of_work): all of a test module (its module fixtures are set up
    once) or of a notebook (nbval runs its cells in order, in one kernel) goes to one worker, in
    collection order. A test of test_labs.py whose parameter is a notebook's path
    ("tests/test_labs.py::test_x[solutions/02_y.ipynb]") goes with that notebook's cells, before them.

    xdist's own --dist loadgroup would do this with xdist_group marks, but with pytest 9.2 it
    silently groups nothing (pytest-xdist issue #1386)."""

    def _split_scope(self, nodeid: str) -> str:
        return unit_of_work(nodeid)


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
    """This process's local cloud, with this process's environment pointed at it."""
    from labkit import course

    return course.start(quiet=True)


@pytest.fixture
def isolated_cloud_env(tmp_path):
    """A second, private local cloud location for lifecycle tests, not started; stopped afterwards, and
    this process pointed back at the session's cloud."""
    with pointed_at_a_private_cloud(tmp_path / "state"):
        yield tmp_path / "state"


@pytest.fixture
def make_queue(cloud):
    """Makes a queue (name, tags) and returns its URL; deletes it after the test."""
    import boto3

    sqs, made = boto3.client("sqs"), []

    def make(name, tags):
        made.append(sqs.create_queue(QueueName=name, tags=tags)["QueueUrl"])
        return made[-1]

    yield make
    for url in made:
        sqs.delete_queue(QueueUrl=url)
