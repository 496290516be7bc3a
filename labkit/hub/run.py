"""`labkit hub`: check the room's settings, then run JupyterHub in the foreground until Ctrl-C."""

import subprocess
import sys
from pathlib import Path

from labkit import proc
from labkit.errors import LabkitError
from labkit.hub.settings import from_environment
from labkit.hub.setup import proxy_command

CONFIG = Path(__file__).with_name("jupyterhub_config.py")


def run(say=print) -> int:
    settings = from_environment()
    if not proxy_command().exists():
        raise LabkitError("configurable-http-proxy is missing: run `bash .ci/bootstrap.sh --with-hub` (needs npm)")
    if not proc.port_free(settings.port):
        raise LabkitError(f"port {settings.port} on 127.0.0.1 is taken: set LABKIT_HUB_PORT to another")
    settings.folder.mkdir(parents=True, exist_ok=True)
    say(f"hub: http://{settings.ip}:{settings.port}/ (learners' homes in {settings.homes}; Ctrl-C stops it)")
    say(f"the room's progress: labkit dashboard --homes {settings.homes}")
    # jupyterhub's own files (its database, cookie secret) go in the hub's folder, its working directory.
    hub = [str(Path(sys.executable).parent / "jupyterhub"), "-f", str(CONFIG)]
    return subprocess.run(hub, cwd=settings.folder).returncode
