"""One ALB health check: GET the target group's health check path on the target."""

import http.client

from labkit.dataplane.elb import rules, vpc

# A health check waits at most this long, whatever the group's timeout (2-120 s on AWS): local
# checks run every half second or so, and a loopback answer slower than this is a failure anyway.
MAX_TIMEOUT_S = 2.0
USER_AGENT = "ELB-HealthChecker/2.0"

TIMED_OUT = ("Target.Timeout", "Request timed out")
FAILED = ("Target.FailedHealthChecks", "Health checks failed")


def probe(group, address: str, port: int) -> tuple[bool, tuple[str, str] | None]:
    """(passed, (reason, description) when it failed). Always on the traffic port: a task's
    health check port on AWS is its container port, which is not where it listens locally. A
    target the load balancer cannot reach (nothing at its address, or a security group that drops
    the load balancer's traffic) times out, as on AWS."""
    balancers = rules.balancers_forwarding_to(group)
    endpoint = vpc.reach(balancers[0], address, port) if balancers else None
    if endpoint is None:
        return False, TIMED_OUT
    timeout = min(float(group.health_check_timeout_seconds or MAX_TIMEOUT_S), MAX_TIMEOUT_S)
    connection = http.client.HTTPConnection("127.0.0.1", endpoint.local_port, timeout=timeout)
    try:
        connection.request(
            "GET", group.health_check_path or "/", headers={"User-Agent": USER_AGENT, "Connection": "close"}
        )
        response = connection.getresponse()
        response.read()
        status = response.status
    except TimeoutError:
        return False, TIMED_OUT
    except (OSError, http.client.HTTPException):
        return False, FAILED
    finally:
        connection.close()
    if status_matches(status, (getattr(group, "matcher", None) or {}).get("HttpCode", "200")):
        return True, None
    return False, ("Target.ResponseCodeMismatch", f"Health checks failed with these codes: [{status}]")


def status_matches(status: int, http_code: str) -> bool:
    """HttpCode as the Matcher takes it: "200", "200,302" or "200-399"."""
    for part in str(http_code).split(","):
        low, _, high = part.strip().partition("-")
        if int(low) <= status <= int(high or low):
            return True
    return False
