"""The targets of each target group as the load balancer sees them: health state, draining, and
the idle keep-alive connections to each.

moto keeps targets by Id alone, so two tasks on 127.0.0.1 with different ports overwrote each
other; here a target is (Id, Port), as on AWS. States and reason codes follow the TargetHealth API
reference. A group's runtime hangs on moto's FakeTargetGroup, so moto's reset drops it.
"""

import ipaddress
import itertools
import threading
import time

from labkit.dataplane.core import clock, state
from labkit.dataplane.elb import health, rules

INITIAL, HEALTHY, UNHEALTHY, DRAINING = "initial", "healthy", "unhealthy", "draining"
UNUSED, UNAVAILABLE = "unused", "unavailable"

REGISTERING = ("Elb.RegistrationInProgress", "Target registration is in progress")
NOT_IN_USE = ("Target.NotInUse", "Target group is not configured to receive traffic from the load balancer")
NOT_REGISTERED = ("Target.NotRegistered", "Target is not registered to the target group")
DEREGISTERING = ("Target.DeregistrationInProgress", "Target deregistration is in progress")
CHECKS_DISABLED = ("Target.HealthCheckDisabled", "Health checks are disabled")
NO_LOCAL_ADDRESS = (
    "Target.InvalidState",
    "The local cloud runs no EC2 instances or Lambda targets: register IP targets",
)
# On AWS the fastest health check interval is 5 s; sped up that would be 83 ms, which a Python
# service still importing its modules cannot meet. Local checks run at most twice a second.
MIN_CHECK_INTERVAL_S = 0.5
# A new target's process needs real seconds to start listening (Python, its imports), which the sped-up
# clock would leave no room for: on AWS two failed checks 10 s apart take 20 s. A target still in its
# initial state is not marked unhealthy before it has had this long.
START_ALLOWANCE_S = 8.0

_runtimes: list["TargetGroupRuntime"] = []
_runtimes_lock = threading.Lock()


class Target:
    def __init__(self, runtime: "TargetGroupRuntime", target_id: str, port: int):
        self.runtime = runtime
        self.id = target_id
        self.port = port
        self.state, (self.reason, self.description) = INITIAL, REGISTERING
        self.initial_since = time.monotonic()
        self.successes = 0
        self.failures = 0
        self.idle_connections: list = []  # keep-alive connections from the listeners, LIFO
        self.deregistered = threading.Event()  # the health checker ends
        self.wake = threading.Event()  # the checker looks again: deregistered, or rules changed
        self.drained = threading.Event()  # draining is over: the target may stop

    def set_state(self, state: str, reason_and_description: tuple[str, str] | None = None) -> None:
        self.state = state
        self.reason, self.description = reason_and_description or (None, None)

    def check_until_deregistered(self) -> None:
        group = self.runtime.group
        if not _is_ip(self.id):
            self.set_state(UNAVAILABLE, NO_LOCAL_ADDRESS)
            return
        next_check = None  # the first check comes one interval after the group is in use
        while not self.deregistered.is_set():
            interval = clock.local_seconds(group.health_check_interval_seconds, MIN_CHECK_INTERVAL_S)
            if not rules.forwarded_to(group):
                self._restart_in(UNUSED, NOT_IN_USE)
                next_check = None
            elif not group.health_check_enabled:
                self._restart_in(UNAVAILABLE, CHECKS_DISABLED)
                next_check = None
            else:
                if self.state in (UNUSED, UNAVAILABLE):
                    self._restart_in(INITIAL, REGISTERING)
                if next_check is None:
                    next_check = time.monotonic() + interval
                elif time.monotonic() >= next_check:
                    self._record(*health.probe(group, self.id, self.port))
                    next_check = time.monotonic() + interval
            self.wake.wait(interval if next_check is None else max(0.0, next_check - time.monotonic()))
            self.wake.clear()

    def _restart_in(self, state: str, reason: tuple[str, str]) -> None:
        if self.state != state:
            self.successes = self.failures = 0
            self.initial_since = time.monotonic()
            self.set_state(state, reason)

    def _record(self, ok: bool, failure: tuple[str, str] | None) -> None:
        """One success makes a new target healthy; after that the group's thresholds count
        consecutive results (Health checks for Application Load Balancer target groups)."""
        if self.deregistered.is_set():
            return
        group = self.runtime.group
        if ok:
            self.successes, self.failures = self.successes + 1, 0
            if self.state == INITIAL or (
                self.state == UNHEALTHY and self.successes >= int(group.healthy_threshold_count)
            ):
                self.set_state(HEALTHY)
            return
        self.successes, self.failures = 0, self.failures + 1
        if self.state == INITIAL and time.monotonic() - self.initial_since < START_ALLOWANCE_S:
            return
        if self.state == UNHEALTHY or self.failures >= int(group.unhealthy_threshold_count):
            self.set_state(UNHEALTHY, failure)

    def close_idle_connections(self) -> None:
        while self.idle_connections:
            try:
                self.idle_connections.pop().close()
            except IndexError:  # a listener thread took the last one meanwhile
                return


class TargetGroupRuntime:
    def __init__(self, group):
        self.group = group  # moto's FakeTargetGroup: settings are read live from it
        self.targets: dict[tuple[str, int], Target] = {}
        self.lock = threading.Lock()
        self.requests = 0  # routed to this group since it was created: the RequestCount metric
        self._turn = itertools.count()

    def register(self, target_id: str, port: int) -> Target:
        with self.lock:
            found = self.targets.get((target_id, port))
            if found is not None and found.state != DRAINING:
                return found
            target = Target(self, target_id, port)
            self.targets[(target_id, port)] = target
            self._list_in_moto()
        threading.Thread(target=target.check_until_deregistered, daemon=True, name=f"health {target_id}:{port}").start()
        return target

    def deregister(self, target_id: str, port: int) -> Target | None:
        """Stop routing new requests to the target; it drains for the deregistration delay."""
        with self.lock:
            target = self.targets.get((target_id, port))
            if target is None or target.state == DRAINING:
                return target
            target.set_state(DRAINING, DEREGISTERING)
            target.deregistered.set()
            target.wake.set()
        threading.Thread(target=self._drain, args=(target,), daemon=True, name=f"drain {target_id}:{port}").start()
        return target

    def find(self, target_id: str, port: int) -> Target | None:
        with self.lock:
            return self.targets.get((target_id, port))

    def _drain(self, target: Target) -> None:
        # As on AWS the target stays draining for the whole delay, in flight requests or not.
        delay = clock.local_seconds(float(self.group.attributes.get("deregistration_delay.timeout_seconds", 300)))
        target.drained.wait(delay)  # set early only when the whole group stops
        with self.lock:
            if self.targets.get((target.id, target.port)) is target:
                del self.targets[(target.id, target.port)]
            self._list_in_moto()
        target.close_idle_connections()
        target.drained.set()

    def pick(self, exclude: set[Target]) -> Target | None:
        """The next target round robin. Healthy targets only, unless none is: then the load
        balancer fails open to the unhealthy ones, as AWS does."""
        with self.lock:
            candidates = [t for t in self.targets.values() if t.state == HEALTHY and t not in exclude]
            if not candidates:
                fail_open = UNHEALTHY if self.group.health_check_enabled else UNAVAILABLE
                candidates = [t for t in self.targets.values() if t.state == fail_open and t not in exclude]
            if not candidates:
                return None
            return candidates[next(self._turn) % len(candidates)]

    def count_request(self) -> None:
        with self.lock:
            self.requests += 1

    def healthy_count(self) -> int:
        with self.lock:
            return sum(1 for t in self.targets.values() if t.state == HEALTHY)

    def stop(self) -> None:
        with self.lock:
            targets = list(self.targets.values())
            self.targets.clear()
        for target in targets:
            target.deregistered.set()
            target.wake.set()
            target.close_idle_connections()
            target.drained.set()

    def _list_in_moto(self) -> None:
        # moto's DescribeTargetHealth lists group.targets when no Targets are given; draining
        # targets are listed too, as on AWS.
        self.group.targets = {f"{t.id}:{t.port}": {"Id": t.id, "Port": t.port} for t in self.targets.values()}


def runtime_of(group) -> TargetGroupRuntime:
    with _runtimes_lock:
        runtime = state.get(group, "runtime")
        if runtime is None:
            runtime = state.put(group, "runtime", TargetGroupRuntime(group))
            _runtimes.append(runtime)
        return runtime


def rules_changed() -> None:
    """A listener or rule changed: whether each group is in use may have too."""
    with _runtimes_lock:
        runtimes = list(_runtimes)
    for runtime in runtimes:
        with runtime.lock:
            for target in runtime.targets.values():
                target.wake.set()


def forget(group) -> None:
    """The target group was deleted: its health checks and connections end."""
    with _runtimes_lock:
        runtime = state.pop(group, "runtime")
        if runtime in _runtimes:
            _runtimes.remove(runtime)
    if runtime is not None:
        runtime.stop()


def stop_all() -> None:
    with _runtimes_lock:
        runtimes = list(_runtimes)
        _runtimes.clear()
    for runtime in runtimes:
        runtime.stop()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
