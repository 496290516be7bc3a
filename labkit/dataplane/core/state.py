"""Runtime state the data plane keeps about moto's objects, kept one way: in one attribute of the
object itself. It then goes when moto forgets the object (a delete, a reset), with nothing to prune."""

from collections.abc import Callable
from typing import Any

_ATTRIBUTE = "_labkit_state"


def _state(obj) -> dict:
    # Through __dict__: some moto models answer unknown attributes themselves.
    return obj.__dict__.setdefault(_ATTRIBUTE, {})


def get(obj, key: str, default: Any = None) -> Any:
    return obj.__dict__.get(_ATTRIBUTE, {}).get(key, default)


def put(obj, key: str, value: Any) -> Any:
    _state(obj)[key] = value
    return value


def setdefault(obj, key: str, make: Callable[[], Any]) -> Any:
    state = _state(obj)
    if key not in state:
        state[key] = make()
    return state[key]


def pop(obj, key: str, default: Any = None) -> Any:
    return obj.__dict__.get(_ATTRIBUTE, {}).pop(key, default)
