"""Steady HTTP load from a notebook, in the background, with every request recorded.

    with load.HttpLoad(shop_url + "/orders/" + order_id, clients=2) as traffic:
        ...  # stop a task, watch the service
    print(traffic.summary())

Each client is a thread with its own keep-alive session sending one request after the other, as a
browser would; a failure (an error status, a refused connection, a timeout) is recorded, never
raised, so a demonstration can count what a user would have seen. Loopback and the local cloud's
listeners only need a few clients; stop by leaving the `with` block or calling stop().
"""

import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass

import requests

REQUEST_TIMEOUT_S = 10


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the load started
    status: int  # 0 when no HTTP answer came (refused, reset, timed out)
    latency_ms: float
    served_by: str | None  # the X-Served-By header, when the service sets one


class HttpLoad:
    def __init__(self, url: str, clients: int = 1, pause_s: float = 0.0, method: str = "GET"):
        if clients < 1:
            raise ValueError("clients must be at least 1")
        self.url, self.clients, self.pause_s, self.method = url, clients, pause_s, method
        self.samples: list[Sample] = []
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started_at = 0.0

    def start(self) -> "HttpLoad":
        self._started_at = time.monotonic()
        self._threads = [
            threading.Thread(target=self._client, daemon=True, name=f"load-{n}") for n in range(self.clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> "HttpLoad":
        self._stopping.set()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT_S + 1)
        return self

    def __enter__(self) -> "HttpLoad":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started_at

    def _client(self) -> None:
        session = requests.Session()
        while not self._stopping.is_set():
            sent = time.monotonic()
            try:
                response = session.request(self.method, self.url, timeout=REQUEST_TIMEOUT_S)
                status, served_by = response.status_code, response.headers.get("X-Served-By")
            except requests.RequestException:
                status, served_by = 0, None
            done = time.monotonic()
            # list.append is atomic: the clients share the list without a lock.
            self.samples.append(Sample(done - self._started_at, status, (done - sent) * 1000, served_by))
            if self.pause_s:
                self._stopping.wait(self.pause_s)

    def since(self, seconds: float) -> list[Sample]:
        """The samples of the last `seconds`."""
        now = self.elapsed_s
        return [s for s in list(self.samples) if s.at >= now - seconds]

    def failed(self) -> list[Sample]:
        return [s for s in list(self.samples) if not 200 <= s.status < 400]

    def summary(self) -> dict:
        samples = list(self.samples)
        latencies = sorted(s.latency_ms for s in samples)
        return {
            "requests": len(samples),
            "failed": sum(not 200 <= s.status < 400 for s in samples),
            "statuses": dict(sorted(Counter(s.status for s in samples).items())),
            "served_by": len({s.served_by for s in samples if s.served_by}),
            "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        }


def per_second(samples: list[Sample]) -> list[tuple[int, int, float]]:
    """(second, requests in it, p50 latency in ms) for each second that had a request."""
    by_second: dict[int, list[float]] = {}
    for sample in samples:
        by_second.setdefault(int(sample.at), []).append(sample.latency_ms)
    return [(second, len(latencies), statistics.median(latencies)) for second, latencies in sorted(by_second.items())]
