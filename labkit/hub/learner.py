"""A learner's place on the hub: their home folder with their copy of the course's notebooks, and the
environment of their JupyterLab, which gives them a local cloud and a state folder of their own."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from labkit import config
from labkit.hub.proxied import PUBLIC_URL
from labkit.proc import free_port

# What a learner edits gets copied (each autosaves their own); labkit, services/ and solutions/ stay shared,
# read from the course folder, so a fix to labkit reaches every learner at their next kernel restart.
COPIED = ("labs", "notebooks")
STATE_FOLDER = ".labkit"  # the dashboard finds a learner's progress here: `labkit dashboard --homes HOMES`


def prepare_home(home: Path) -> None:
    """Copy the notebooks into a new learner's home; a returning learner keeps their own edits."""
    home.mkdir(parents=True, exist_ok=True)
    for folder in COPIED:
        if not (home / folder).exists():
            shutil.copytree(config.COURSE_ROOT / folder, home / folder)
    (home / STATE_FOLDER).mkdir(exist_ok=True)


def environment(home: Path, name: str, public_url: str) -> dict[str, str]:
    """What the learner's server (and so every kernel and terminal in it) runs with. The port is free now;
    a local cloud already running in this state folder is attached to whatever the port says. The hub's
    public URL is where `labkit url` sends the learner's browser (labkit.hub.proxied)."""
    return {
        "LABKIT_STATE_DIR": str(home / STATE_FOLDER),
        "LABKIT_PORT": str(free_port()),
        "LABKIT_OWNER": name,
        "LABKIT_TARGET": "local",
        PUBLIC_URL: public_url,
    }


def stop_cloud(home: Path) -> None:
    """Stop the learner's local cloud when their server stops: an idle learner holds no memory."""
    env = {**os.environ, "LABKIT_STATE_DIR": str(home / STATE_FOLDER)}
    subprocess.run([sys.executable, "-m", "labkit.cli", "down"], env=env, capture_output=True, timeout=60)
