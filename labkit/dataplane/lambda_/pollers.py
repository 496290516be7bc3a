"""The background threads that serve event source mappings (SQS queues, DynamoDB streams), by mapping:
each has a stop flag, and all are stopped together on reset and at exit, when the mappings are gone."""

import threading
from collections.abc import Callable

_running: dict[str, threading.Event] = {}  # mapping UUID -> its poller's stop flag
_lock = threading.Lock()


def start(mapping, poll: Callable[..., None], *args, name: str) -> None:
    """Run poll(*args, stop) in a thread of its own for the mapping, until stop is set or poll returns."""
    stop = threading.Event()
    with _lock:
        _running[mapping.uuid] = stop

    def serve() -> None:
        try:
            poll(*args, stop)
        finally:
            with _lock:
                if _running.get(mapping.uuid) is stop:
                    del _running[mapping.uuid]

    threading.Thread(target=serve, daemon=True, name=f"{name}-{mapping.uuid[:8]}").start()


def stop_all() -> None:
    with _lock:
        for stop in _running.values():
            stop.set()
        _running.clear()
