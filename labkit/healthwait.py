"""Waiting for a target group's targets to pass their health checks, out loud: the states as they
change, an early stop with AWS's reason when a target fails its checks, and a clear word on giving up.
boto3 only, so it waits the same way on both targets (AWS's own waiter polls in silence, then raises
a WaiterError that does not say why)."""

import time

from labkit.errors import LabkitError

# What a failing health check most often means, by AWS's reason code.
_FIXES = {
    "Target.ResponseCodeMismatch": "does the service answer the group's HealthCheckPath with 200?",
    "Target.Timeout": "nothing answered: does the targets' security group admit the load balancer's on this port, "
    "and does the service listen on it?",
}


def wait_for_healthy_targets(group_arn: str, minimum: int = 1, timeout_s: float | None = None) -> int:
    """Wait until at least `minimum` targets of the group are healthy; returns how many are."""
    from labkit import course
    from labkit.awsapi import Clients

    env = course.current()
    timeout_s = timeout_s or (600.0 if env is not None and env.target == "aws" else 120.0)
    elb = Clients()("elbv2")
    name = group_arn.rsplit("/", 2)[-2]
    line = _status(f"waiting for {minimum} healthy target(s) in {name}...")
    started = time.monotonic()
    while True:
        found = elb.describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
        healthy = sum(1 for t in found if t["TargetHealth"]["State"] == "healthy")
        elapsed = time.monotonic() - started
        if healthy >= minimum:
            line(f"{name}: {healthy} healthy target(s) after {elapsed:.0f} s")
            return healthy
        failing = next((t for t in found if t["TargetHealth"].get("Reason") in _FIXES), None)
        if failing is not None:
            health = failing["TargetHealth"]
            line(f"{name}: a target failed its health checks")
            raise LabkitError(
                f"the target {failing['Target']['Id']}:{failing['Target']['Port']} of {name} is unhealthy: "
                f"{health.get('Description')} ({health['Reason']}); {_FIXES[health['Reason']]}"
            )
        if elapsed > timeout_s:
            line(f"{name}: gave up after {elapsed:.0f} s")
            states = ", ".join(t["TargetHealth"]["State"] for t in found) or "no target registered"
            raise LabkitError(
                f"gave up after {elapsed:.0f} s waiting for {minimum} healthy target(s) in {name}: found {states}"
            )
        line(f"{name}: {', '.join(t['TargetHealth']['State'] for t in found) or 'no target yet'} ({elapsed:.0f} s)")
        time.sleep(1.0)


def _status(first: str):
    """A line that shows the latest state: a widget in a notebook (its text/plain stays the first
    state, so saved outputs do not change from run to run), printed lines elsewhere, at most every 5 s."""
    try:
        from IPython import get_ipython

        if get_ipython() is not None and getattr(get_ipython(), "kernel", None) is not None:
            import ipywidgets
            from IPython.display import display

            label = ipywidgets.Label(first)
            display(label)
            return lambda text: setattr(label, "value", text)
    except ImportError:
        pass
    print(first)
    last = [time.monotonic()]

    def show(text: str) -> None:
        if time.monotonic() - last[0] >= 5:
            print(text)
            last[0] = time.monotonic()

    return show
