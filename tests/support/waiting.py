"""Waiting in tests without fixed sleeps.

wait_for: something must happen; poll until it does, fail with the last value seen if it does not.
stays: something must not happen; poll throughout the period and fail the moment it does. Precede
it with a positive control (a wait_for on something that must happen meanwhile), so that a system
too slow to do anything cannot pass it.
"""

import time


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    """Call condition() until it returns a truthy value, and return that value. An exception from
    condition() propagates at once: a condition can fail fast when waiting longer is pointless."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}; last value {value!r}")
        time.sleep(interval)


def stays(condition, seconds: float, what: str, interval: float = 0.05) -> None:
    """Call condition() throughout `seconds`, failing as soon as it returns a falsy value."""
    started = time.monotonic()
    while True:
        value = condition()
        elapsed = time.monotonic() - started
        if not value:
            raise AssertionError(
                f"expected {what} throughout {seconds:g} s, but after {elapsed:.2f} s it was no longer so; "
                f"value {value!r}"
            )
        if elapsed >= seconds:
            return
        time.sleep(min(interval, seconds - elapsed))
