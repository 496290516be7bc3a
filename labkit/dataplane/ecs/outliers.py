"""Service Connect's outlier detection, a passive health check: an endpoint (a task behind a client
alias) that answers 5xx, or cannot be connected to, too many times in a row is taken out of the load
balancing for a while, then tried again.

AWS documents that Service Connect's proxy (Envoy) detects outliers but not with which settings, so
these are Envoy's documented defaults: ejected after 5 consecutive 5xx (connection failures count as
5xx), for 30 s times the number of times it was ejected, at most 10% of an alias's endpoints ejected at
once but always at least one, and while fewer than half of them are healthy (Envoy's panic threshold)
requests go to all of them. The ejection time passes on the local clock (core.clock): 30 s is 0.5 s.
"""

import threading
import time
from dataclasses import dataclass

from labkit.dataplane.core import clock

CONSECUTIVE_5XX = 5
BASE_EJECTION_S = 30
MAX_EJECTION_PERCENT = 10
PANIC_THRESHOLD_PERCENT = 50


@dataclass
class _Record:
    failures: int = 0
    ejections: int = 0
    ejected_until: float = 0.0

    def ejected(self, now: float) -> bool:
        return now < self.ejected_until


_records: dict[int, _Record] = {}  # by the endpoint's local port: a replaced task gets a fresh record
_lock = threading.Lock()


def in_rotation(ports: list[int]) -> list[int]:
    """The endpoints to balance over: those not ejected, or all of them in panic."""
    now = time.monotonic()
    with _lock:
        healthy = [port for port in ports if not _record(port).ejected(now)]
    return ports if len(healthy) * 100 < len(ports) * PANIC_THRESHOLD_PERCENT else healthy


def report(port: int, failed: bool, all_ports: list[int]) -> None:
    """The outcome of one request to the endpoint on `port`, one of the alias's `all_ports`."""
    now = time.monotonic()
    with _lock:
        record = _record(port)
        if not failed:
            record.failures = 0
            return
        record.failures += 1
        if record.failures < CONSECUTIVE_5XX or record.ejected(now):
            return
        ejected = sum(1 for other in all_ports if _record(other).ejected(now))
        if ejected >= max(1, len(all_ports) * MAX_EJECTION_PERCENT // 100):
            return
        record.failures = 0
        record.ejections += 1
        record.ejected_until = now + clock.local_seconds(BASE_EJECTION_S * record.ejections)


def forget_all() -> None:
    with _lock:
        _records.clear()


def _record(port: int) -> _Record:
    return _records.setdefault(port, _Record())
