"""Fault injection: switches an operator flips at run time to make a module slow or failing (per process)."""

import threading

from .errors import BadRequest

# The modules that consult a switch, with the switch's default (no fault).
DEFAULTS = {"notifications": {"delay_ms": 0, "fail": False}}

_lock = threading.Lock()
_active: dict[str, dict] = {}


def set_faults(faults: object) -> dict:
    """Replace the active faults, e.g. {"notifications": {"delay_ms": 800}}; returns all switches."""
    if not isinstance(faults, dict):
        raise BadRequest('expected an object like {"notifications": {"delay_ms": 800}}')
    parsed = {}
    for module, switches in faults.items():
        if module not in DEFAULTS:
            raise BadRequest(f"no fault switch for module {module!r}; known: {', '.join(DEFAULTS)}")
        if not isinstance(switches, dict) or not set(switches) <= set(DEFAULTS[module]):
            raise BadRequest(f"switches for {module} are: {', '.join(DEFAULTS[module])}")
        delay_ms, fail = switches.get("delay_ms", 0), switches.get("fail", False)
        if not isinstance(delay_ms, int) or isinstance(delay_ms, bool) or not 0 <= delay_ms <= 60_000:
            raise BadRequest("delay_ms must be an integer from 0 to 60000")
        if not isinstance(fail, bool):
            raise BadRequest("fail must be true or false")
        parsed[module] = {"delay_ms": delay_ms, "fail": fail}
    with _lock:
        _active.clear()
        _active.update(parsed)
    return current()


def clear() -> dict:
    with _lock:
        _active.clear()
    return current()


def current() -> dict:
    with _lock:
        return {module: dict(_active.get(module, default)) for module, default in DEFAULTS.items()}


def for_module(module: str) -> dict:
    return current()[module]
