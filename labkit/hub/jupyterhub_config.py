"""JupyterHub's configuration for a room on one machine; `labkit hub` starts jupyterhub with it."""

from labkit.hub.setup import configure

configure(get_config())  # noqa: F821 (jupyterhub defines get_config when it reads this file)
