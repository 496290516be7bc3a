"""Waits that say what they wait for: a status line with the state as it changes, an early stop when the
state has stopped moving, and a clear word on giving up. Two kinds, one loop:

- wait_for: an outcome the next cells need (a namespace's id, a stable service): returns it, or raises
  a LabkitError that says what was found last.
- wait_until: an outcome to observe (a count of deliveries): returns whether it came, and prints why not.
"""

import time
from collections.abc import Callable

from labkit.errors import LabkitError


def minutes(count: float, at_least_s: float) -> float:
    """`count` minutes of AWS's clock (env.minute_s: 60 s on AWS, 1 s locally), and at least at_least_s."""
    from labkit import course

    env = course.current()
    return max(at_least_s, count * (env.minute_s if env is not None else 60.0))


def wait_for(what: str, probe: Callable, timeout_s: float, stuck_after_s: float | None = None, interval_s: float = 1.0):
    """Wait for the first result of probe() -> (result, state in a few words) that is not None, and return it."""
    result, gave_up = _watch(what, probe, timeout_s, stuck_after_s, interval_s)
    if gave_up:
        raise LabkitError(gave_up)
    return result


def wait_until(
    what: str,
    done: Callable[[], bool],
    progress: Callable[[], str] = lambda: "",
    timeout_s: float | None = None,
    stuck_after_s: float | None = None,
    interval_s: float = 0.2,
) -> bool:
    """Wait until done(), showing progress(); returns False, saying why, on giving up. By default it gives up
    after five minutes of AWS's clock (queue counts there lag by up to a minute), locally after 30 s."""

    def probe():
        return (True if done() else None), progress()

    result, gave_up = _watch(what, probe, timeout_s or minutes(5, at_least_s=30), stuck_after_s, interval_s)
    if gave_up:
        print(gave_up)
    return result is True


def progress(first: str) -> Callable[[str], None]:
    """A status line of your own for a wait that is not a probe: call the returned function with each new
    state. Its saved text stays `first`, so saved outputs are the same on every run."""
    return _status(first)


def _watch(what, probe, timeout_s, stuck_after_s, interval_s):
    """(the result, None) once probe() has one, or (None, why the wait gave up)."""
    line = _status(f"waiting for {what}...")
    started = moved_at = time.monotonic()
    last = None
    while True:
        try:
            result, state = probe()
        except (LabkitError, NotImplementedError):  # already one line for the learner
            line(f"stopped waiting for {what} after {time.monotonic() - started:.0f} s: see the error below")
            raise
        except Exception as error:  # the code it was given raised: one line that names it, not labkit's traceback
            from labkit.checks.learner import summarise

            line(f"stopped waiting for {what} after {time.monotonic() - started:.0f} s: see the error below")
            raise LabkitError(f"stopped waiting for {what}: your code raised {summarise(error)}") from None
        now = time.monotonic()
        elapsed = now - started
        if result is not None:
            line(f"done waiting for {what} after {elapsed:.0f} s: {state}" if state else f"{what}: done")
            return result, None
        if state != last:
            last, moved_at = state, now
        found = f": found {state}" if state else ""
        if stuck_after_s is not None and now - moved_at > stuck_after_s:
            line(f"stopped waiting for {what} after {elapsed:.0f} s")
            return None, f"stopped waiting for {what} after {elapsed:.0f} s{found}, unchanged for {stuck_after_s:.0f} s"
        if elapsed > timeout_s:
            line(f"gave up waiting for {what} after {elapsed:.0f} s")
            return None, f"gave up waiting for {what} after {elapsed:.0f} s{found}"
        line(f"waiting for {what}: {state} ({elapsed:.0f} s)" if state else f"waiting for {what} ({elapsed:.0f} s)")
        time.sleep(interval_s)


def _status(first: str) -> Callable[[str], None]:
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
