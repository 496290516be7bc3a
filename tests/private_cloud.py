"""A local cloud of a test module's own, for tests that stop, reset or empty it: they must not reach the
session's cloud, and must leave this process pointed back at it afterwards."""

import contextlib
import os
import shutil
import tempfile

import boto3

from labkit import course
from labkit.proc import free_port


@contextlib.contextmanager
def pointed_at_a_private_cloud(state_dir: str):
    """For the block, LABKIT_STATE_DIR and LABKIT_PORT name a private location; after it, the cloud
    there is stopped and the environment, course.start()'s memory and boto3's session are restored."""
    from labkit.localcloud import control

    saved_environ, saved_current = dict(os.environ), course.current()
    saved_set_for_local = dict(course._set_for_local)
    os.environ["LABKIT_STATE_DIR"] = str(state_dir)
    os.environ["LABKIT_PORT"] = str(free_port())
    os.environ.pop("LABKIT_TARGET", None)
    try:
        yield
    finally:
        control.down()
        os.environ.clear()
        os.environ.update(saved_environ)
        course._set_for_local.clear()
        course._set_for_local.update(saved_set_for_local)
        course._current = saved_current
        boto3.DEFAULT_SESSION = None


@contextlib.contextmanager
def private_cloud(prefix: str):
    """A started private local cloud (its Environment), emptied and stopped after the block."""
    state = tempfile.mkdtemp(prefix=prefix)
    try:
        with pointed_at_a_private_cloud(state):
            yield course.start(quiet=True)
    finally:
        shutil.rmtree(state, ignore_errors=True)
