"""The Application Load Balancer data plane.

Each listener of each application load balancer serves on a 127.0.0.1 port of its own (proxy.py),
routing by its rules (rules.py) to the healthy targets of its target groups (targets.py), which are
health checked as the target group says, on a faster clock (clock.py). GET /_labkit/loadbalancers
on the local cloud lists each listener's local URL, so helpers can reach a load balancer without
boto3.
"""

import json
import sys

from labkit.dataplane import moto_seams
from labkit.dataplane.elb import listeners, patches, targets

LOADBALANCERS_ROUTE = "/_labkit/loadbalancers"


def install() -> None:
    moto_seams.when_imported("moto.elbv2.models", patches.patch_models)


def middleware(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") != LOADBALANCERS_ROUTE:
            return app(environ, start_response)
        # Nothing to list until moto's ELBv2 is loaded; loading it here would cost a second.
        found = listeners.describe() if "moto.elbv2.models" in sys.modules else []
        body = json.dumps({"LoadBalancers": found}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


def reset() -> None:
    listeners.stop_all()
    targets.stop_all()
