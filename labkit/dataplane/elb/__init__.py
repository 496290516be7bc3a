"""The Application Load Balancer data plane.

Each listener of each application load balancer serves on a 127.0.0.1 port of its own (proxy.py),
routing by its rules (rules.py) to the healthy targets of its target groups (targets.py), which are
health checked as the target group says, on a faster clock (labkit.dataplane.core.clock). GET
/_labkit/loadbalancers on the local cloud lists each listener's local URL, so helpers can reach a
load balancer without boto3. An HTTPS listener serves TLS with its ACM certificate, and verifies or
passes on client certificates as its mutual authentication says (tls.py, trust_stores.py). Other
services use the functions below, not the modules.
"""

import json
import sys

from labkit.dataplane.core import seams
from labkit.dataplane.elb import listeners, rules, targets

LOADBALANCERS_ROUTE = "/_labkit/loadbalancers"
Target = targets.Target


def install() -> None:
    seams.declare(
        "elb: listeners serve, targets are health checked", "moto.elbv2.models", "labkit.dataplane.elb.patches:SEAMS"
    )
    seams.declare(
        "elb: HTTPS listeners serve TLS, trust stores and mutual TLS",
        "moto.elbv2.responses",
        "labkit.dataplane.elb.tls_patches:SEAMS",
    )


def register_target(group, target_id: str, port: int) -> targets.Target:
    """Register a target in moto's target group (as RegisterTargets does); the Target is the handle
    to its health and to deregister_target."""
    return targets.runtime_of(group).register(target_id, port)


def deregister_target(target: targets.Target) -> None:
    target.runtime.deregister(target.id, target.port)


def is_unhealthy(target: targets.Target) -> bool:
    return target.state == targets.UNHEALTHY


def is_healthy(target: targets.Target) -> bool:
    return target.state == targets.HEALTHY


def in_use(group) -> bool:
    """Does a listener rule forward to the target group? ECS refuses a service's group that none does."""
    return rules.forwarded_to(group)


def requests_received(group) -> int:
    """Requests the target group's targets have received so far (what RequestCount adds up)."""
    return targets.runtime_of(group).requests


def healthy_target_count(group) -> int:
    return targets.runtime_of(group).healthy_count()


def forward_weights(rule_arn: str) -> dict[str, int] | None:
    """What a listener rule (by ARN) forwards to each target group, by weight; None if no such rule."""
    rule = rules.find_rule(rule_arn)
    return None if rule is None else rules.forward_weights(rule)


def set_forward_weights(rule_arn: str, weights: dict[str, int]) -> None:
    """Shift a listener rule's traffic between target groups, as ModifyRule with weights does
    (ECS's blue/green, canary and linear deployments do it to the production listener rule)."""
    rule = rules.find_rule(rule_arn)
    if rule is None:
        raise ValueError(f"no listener rule {rule_arn}")
    rules.set_forward_weights(rule, weights)


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
