"""JupyterHub's settings for a workshop on one machine, applied by jupyterhub_config.py.

Authentication: a shared password (JupyterHub's SharedPasswordAuthenticator): fine for a room whose
learners are in sight, not for the internet. Spawner: SimpleLocalProcessSpawner, one process per learner
as the hub's own OS user, in their own home folder; learners are kept apart by folders and ports, not by
the operating system (a learner's terminal can read another's files): a workshop's convenience, not a
security boundary. Limits: at most MAX_SERVERS learners' servers run at once; a learner's processes are
not capped in memory or CPU (the local process spawner cannot): memory is what bounds a room (README
"Workshops" says how much a learner takes).
"""

import functools
import os
import sys
from pathlib import Path

from labkit import config
from labkit.hub import learner
from labkit.hub.settings import from_environment
from labkit.proc import free_port

# A learner at rest takes about 0.5 GB (their JupyterLab 0.16, a kernel 0.1 to 0.2, their local cloud 0.25 to
# 0.3, measured 2026-12-05), more while a lab's functions and tasks run: 20 fit a 24 GB machine with room to spare.
MAX_SERVERS = 20
SPAWN_TIMEOUT_S = 60


def configure(c) -> None:
    settings = from_environment()
    settings.homes.mkdir(parents=True, exist_ok=True)
    venv_bin = Path(sys.executable).parent

    c.JupyterHub.bind_url = f"http://{settings.ip}:{settings.port}"
    # The hub's own API and the proxy's: free ports, so that two hubs (or a test's) never collide.
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{free_port()}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{free_port()}"
    c.ConfigurableHTTPProxy.command = [str(proxy_command())]
    c.ConfigurableHTTPProxy.pid_file = str(settings.folder / "proxy.pid")
    c.JupyterHub.db_url = f"sqlite:///{settings.folder / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(settings.folder / "cookie_secret")
    c.JupyterHub.active_server_limit = MAX_SERVERS

    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = settings.password
    if settings.users:
        c.Authenticator.allowed_users = set(settings.users)
    else:
        c.Authenticator.allow_all = True

    c.JupyterHub.spawner_class = "simple"
    c.SimpleLocalProcessSpawner.home_dir_template = str(settings.homes / "{username}")
    c.Spawner.cmd = [str(venv_bin / "jupyterhub-singleuser")]
    c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
    c.Spawner.notebook_dir = "~"
    c.Spawner.default_url = "/lab/tree/notebooks/00_start_here.ipynb"
    c.Spawner.start_timeout = SPAWN_TIMEOUT_S
    c.Spawner.http_timeout = SPAWN_TIMEOUT_S
    # Where learners' browsers reach the hub (for `labkit url`): LABKIT_HUB_PUBLIC_URL behind a proxy or a name.
    public_url = os.environ.get("LABKIT_HUB_PUBLIC_URL") or f"http://{settings.ip}:{settings.port}"
    c.Spawner.pre_spawn_hook = functools.partial(_give_the_learner_their_place, public_url=public_url)
    c.Spawner.post_stop_hook = _stop_the_learners_cloud


def proxy_command() -> Path:
    """configurable-http-proxy as bootstrap installs it (`.ci/bootstrap.sh --with-hub`)."""
    return config.COURSE_ROOT / ".venv" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"


def _give_the_learner_their_place(spawner, public_url: str) -> None:
    home = Path(spawner.home_dir)
    learner.prepare_home(home)
    env = learner.environment(home, spawner.user.name, public_url)
    spawner.environment = {**spawner.environment, **env}


def _stop_the_learners_cloud(spawner) -> None:
    learner.stop_cloud(Path(spawner.home_dir))
