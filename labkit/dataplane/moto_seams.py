"""Patch a moto module the moment it is imported.

moto imports a service's models on that service's first request (or during the local cloud's
warm-up), and importing ECS or ELBv2 pulls in EC2, about a second. Importing them to patch them at
start-up would double `labkit up`; instead a patch waits for its module. It runs inside the import,
so no request thread can reach the module unpatched. Shared by every service's data plane.
"""

import importlib.abc
import importlib.machinery
import sys
import threading
import traceback
from collections.abc import Callable
from types import ModuleType

_waiting: dict[str, list[Callable[[ModuleType], None]]] = {}
_lock = threading.Lock()


def when_imported(module_name: str, patch: Callable[[ModuleType], None]) -> None:
    """Call patch(module) now if the module is loaded, else right after it first loads."""
    with _lock:
        module = sys.modules.get(module_name)
        if module is None:
            _waiting.setdefault(module_name, []).append(patch)
            if _FINDER not in sys.meta_path:
                sys.meta_path.insert(0, _FINDER)
            return
    _apply(patch, module)


def _apply(patch: Callable[[ModuleType], None], module: ModuleType) -> None:
    try:
        patch(module)
    except Exception:  # a moved seam must show in the log, not stop moto from serving
        print(f"labkit data plane: patching {module.__name__} failed; it runs unpatched", flush=True)
        traceback.print_exc()


class _PatchAfterLoading(importlib.abc.Loader):
    def __init__(self, loader, name: str):
        self._loader = loader
        self._name = name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        with _lock:
            patches = _waiting.pop(self._name, [])
        for patch in patches:
            _apply(patch, module)

    def __getattr__(self, name):  # get_source, get_code... for tracebacks and inspect
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in _waiting:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _PatchAfterLoading(spec.loader, fullname)
        return spec


_FINDER = _Finder()
