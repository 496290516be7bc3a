"""A container's healthCheck, run as Docker runs it: CMD-SHELL through /bin/sh -c, CMD as given,
every interval, in the container's folder and environment. HEALTHY after a success; UNHEALTHY after
`retries` consecutive failures, failures inside the start period not counting. `localhost:8080`
for a container port 8080 is rewritten to the container's local port, where it listens here."""

import re
import subprocess
import threading
import time

from labkit.dataplane.core import clock

MIN_INTERVAL_S = 0.5
# A check command waits at most this long (AWS: timeout 2-60 s, default 5).
MAX_TIMEOUT_S = 2.0


class ContainerHealth:
    def __init__(self, spec, on_change):
        self.spec = spec
        self.status = "UNKNOWN"
        self._on_change = on_change

    def watch(self, stopped: threading.Event) -> None:
        check = self.spec.health_check
        interval = clock.local_seconds(check.get("interval", 30), MIN_INTERVAL_S)
        timeout = min(float(check.get("timeout", 5)), MAX_TIMEOUT_S)
        start_period = clock.local_seconds(check.get("startPeriod", 0))
        retries = int(check.get("retries", 3))
        argv = self._argv(check.get("command") or [])
        started, failures = time.monotonic(), 0
        while not stopped.wait(interval):
            if self._passes(argv, timeout):
                failures = 0
                self._set("HEALTHY")
            elif time.monotonic() - started >= start_period:
                failures += 1
                if failures >= retries:
                    self._set("UNHEALTHY")

    def _set(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._on_change()

    def _argv(self, command: list[str]) -> list[str]:
        if not command:
            return []
        kind, rest = command[0], [self._local_ports(word) for word in command[1:]]
        if kind == "CMD-SHELL":
            return ["/bin/sh", "-c", " ".join(rest)]
        return rest if kind == "CMD" else [self._local_ports(word) for word in command]

    def _local_ports(self, word: str) -> str:
        for mapping in self.spec.ports:
            word = re.sub(
                rf"\b(localhost|127\.0\.0\.1|0\.0\.0\.0):{mapping.container_port}\b",
                f"127.0.0.1:{mapping.host_port}",
                word,
            )
        return word

    def _passes(self, argv: list[str], timeout: float) -> bool:
        if not argv:
            return False
        try:
            return (
                subprocess.run(
                    argv,
                    cwd=self.spec.cwd,
                    env=self.spec.env,
                    timeout=timeout,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                ).returncode
                == 0
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
