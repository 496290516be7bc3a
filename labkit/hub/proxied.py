"""A data-plane URL as a learner's browser reaches it on the hub: the local cloud serves APIs and load
balancers on the hub machine's 127.0.0.1, which a browser on another machine cannot reach; their
JupyterLab forwards them (jupyter-server-proxy: /user/NAME/proxy/PORT/...) behind their hub log-in."""

import os
from urllib.parse import urlsplit

PUBLIC_URL = "LABKIT_HUB_PUBLIC_URL"  # set by the hub for each learner's server (labkit.hub.learner)


def through_the_hub(url: str) -> str:
    """The URL through the learner's JupyterLab when inside a hub; any other URL (outside a hub, or on the
    aws target, where URLs are public) unchanged."""
    public, prefix = os.environ.get(PUBLIC_URL), os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    parts = urlsplit(url)
    if not public or not prefix or parts.hostname != "127.0.0.1" or not parts.port:
        return url
    query = f"?{parts.query}" if parts.query else ""
    return f"{public.rstrip('/')}{prefix.rstrip('/')}/proxy/{parts.port}{parts.path or '/'}{query}"
