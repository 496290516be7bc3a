"""Warm execution environments, reused across invocations and started on demand up to limits.

One worker per function version and code (and configuration), more under concurrent load; idle
workers are stopped after a while, and all of them on reset and when the local cloud exits.
"""

import threading
import time

from labkit.dataplane.lambda_.workers import Worker, WorkerSpec

# Warm environments per function version and code, and on the whole local cloud. AWS scales much
# further, but 2 cores gain nothing from more processes, and each costs 20-90 MB of memory.
MAX_WORKERS_PER_FUNCTION = 4
MAX_WORKERS_TOTAL = 16
# AWS shuts idle environments down after minutes to hours; ten minutes keeps a lab warm.
IDLE_SHUTDOWN_S = 600.0
REAP_EVERY_S = 30.0


class WorkerPool:
    """Warm workers by spec key: reused last-in first-out, started on demand up to the limits."""

    def __init__(self):
        self._changed = threading.Condition()
        self._idle: dict[str, list[Worker]] = {}
        self._counts: dict[str, int] = {}  # per key: idle, busy and starting workers
        self._total = 0
        self._busy: set[Worker] = set()
        self._current_key: dict[tuple, str] = {}
        self._generation = 0
        self._reaper: threading.Thread | None = None

    def acquire(self, spec: WorkerSpec, wait: bool = True) -> Worker | None:
        """A warm worker for spec, or a new one; while the limits are reached, waits for one, or
        returns None when told not to wait."""
        retired: list[Worker] = []
        worker, start_new = None, False
        with self._changed:
            self._start_reaper()
            if self._current_key.get(spec.family) != spec.key:  # new code or configuration
                self._current_key[spec.family] = spec.key
                retired += self._take_idle(lambda worker: worker.spec.family == spec.family)
            while True:
                idle = self._idle.get(spec.key)
                if idle:
                    worker = idle.pop()
                    if not worker.alive:  # crashed or killed while idle: replace it
                        self._forget(worker)
                        retired.append(worker)
                        worker = None
                        continue
                    self._busy.add(worker)
                    break
                if self._counts.get(spec.key, 0) < MAX_WORKERS_PER_FUNCTION:
                    if self._total >= MAX_WORKERS_TOTAL:
                        retired += self._take_idle(lambda worker: True, at_most=1)
                    if self._total < MAX_WORKERS_TOTAL:
                        self._counts[spec.key] = self._counts.get(spec.key, 0) + 1
                        self._total += 1
                        start_new, generation = True, self._generation
                        break
                if not wait:
                    break
                self._changed.wait()
        for old in retired:
            old.stop()
        if not start_new:
            return worker
        try:
            worker = Worker(spec)
        except BaseException:
            with self._changed:
                self._counts[spec.key] -= 1
                self._total -= 1
                self._changed.notify_all()
            raise
        worker.generation = generation
        with self._changed:
            self._busy.add(worker)
        return worker

    def release(self, worker: Worker, reusable: bool) -> None:
        with self._changed:
            self._busy.discard(worker)
            keep = (
                reusable
                and worker.generation == self._generation
                and self._current_key.get(worker.spec.family) == worker.spec.key
            )
            if keep:
                self._idle.setdefault(worker.spec.key, []).append(worker)
            else:
                self._forget(worker)
            self._changed.notify_all()
        if not keep:
            worker.stop()

    def pids(self) -> dict[int, tuple]:
        """The live environments' process ids, each with its family (account, region, name, version)."""
        with self._changed:
            workers = [*self._busy, *(worker for idle in self._idle.values() for worker in idle)]
        return {worker.pid: worker.spec.family for worker in workers if worker.alive}

    def reap_idle(self, idle_for_s: float = IDLE_SHUTDOWN_S) -> None:
        cutoff = time.monotonic() - idle_for_s
        with self._changed:
            stale = self._take_idle(lambda worker: worker.last_used < cutoff)
            self._changed.notify_all()
        for worker in stale:
            worker.stop()

    def stop_all(self) -> None:
        """Stop every worker: idle ones now, busy ones' processes too (their invoker cleans up)."""
        with self._changed:
            self._generation += 1
            idle = self._take_idle(lambda worker: True)
            busy = list(self._busy)
            self._changed.notify_all()
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.stop_process()

    def stop_function(self, account: str, region: str, name: str) -> None:
        """The function was deleted: its idle environments stop now, busy ones once they answer."""
        function = (account, region, name)
        with self._changed:
            for family in [family for family in self._current_key if family[:3] == function]:
                del self._current_key[family]  # so that release() keeps none of them
            idle = self._take_idle(lambda worker: worker.spec.family[:3] == function)
            self._changed.notify_all()
        for worker in idle:
            worker.stop()

    def _take_idle(self, wanted, at_most: int | None = None) -> list[Worker]:
        """Remove idle workers matching wanted (least recently used first) from the pool."""
        candidates = sorted(
            (worker for workers in self._idle.values() for worker in workers if wanted(worker)),
            key=lambda worker: worker.last_used,
        )
        taken = candidates[:at_most] if at_most is not None else candidates
        for worker in taken:
            self._idle[worker.spec.key].remove(worker)
            self._forget(worker)
        return taken

    def _forget(self, worker: Worker) -> None:
        self._counts[worker.spec.key] -= 1
        self._total -= 1

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap_forever, name="lambda-reaper", daemon=True)
            self._reaper.start()

    def _reap_forever(self) -> None:
        while True:
            time.sleep(REAP_EVERY_S)
            self.reap_idle()
