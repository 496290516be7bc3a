"""What the ECS data plane shares between moto's request threads, the scheduler and the task
threads: one lock over moto's ECS models, and the tasks whose processes run."""

import threading

# Held while moto's ECS models are read or changed by a request or the scheduler: moto itself does
# not lock, and the scheduler adds tasks while requests iterate over them.
LOCK = threading.RLock()
_running: set = set()  # TaskRuntime objects not yet stopped


def track(runtime) -> None:
    with LOCK:
        _running.add(runtime)


def untrack(runtime) -> None:
    with LOCK:
        _running.discard(runtime)


def running() -> list:
    with LOCK:
        return list(_running)


def backends():
    """Every ECS backend moto has created (one per account and region in use)."""
    from moto.ecs.models import ecs_backends

    for regions in list(ecs_backends.values()):
        yield from list(regions.values())
