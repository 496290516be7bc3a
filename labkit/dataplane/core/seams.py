"""The one registry of every place the data plane changes moto (pinned: requirements.in), or relies
on moto's shape without changing it.

A service declares a SeamSet: a name, the moto module whose first import applies it, and where its
Seams are ("labkit.dataplane.SERVICE.moto_patches:SEAMS", a module that may import moto freely, as
it is loaded only then). Each Seam names where in moto it is (module.Class.attribute), the parameters
found there, text its source must contain, and what replaces it. When the module is first imported,
every seam of the set is verified; only then are they all applied, together and once. A set that no
longer fits (moto moved a seam) is not applied at all: the local cloud serves on, and
`/_labkit/health` and `labkit status` report it as degraded, by name, with what moved.

Patches wait for their module rather than import it: moto loads a service on its first request (or
in the local cloud's warm-up), and importing ECS or ELBv2 pulls in EC2, about a second; importing
them at start-up would double `labkit up`. A set is applied inside the import, so no request thread
reaches the module unpatched. `verify_all()`, run once the warm-up is done, imports what is left.
"""

import importlib
import importlib.abc
import importlib.machinery
import inspect
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

PENDING, APPLIED, FAILED = "pending", "applied", "failed"
_ABSENT = object()


@dataclass(frozen=True)
class Seam:
    where: str
    """module.Class.attribute or module.function, in moto."""
    params: tuple[str, ...] | None = None
    """The parameters the function there takes; None: not checked (an attribute, a property)."""
    contains: str | None = None
    """Text its source must contain: a call the data plane relies on."""
    replace: Callable[[Any], Any] | None = None
    """Given what is there (None when there is nothing), what replaces it; None: relied on only."""


@dataclass
class SeamSet:
    name: str
    when: str
    """The moto module whose first import applies the set."""
    source: str
    """module:ATTRIBUTE, the tuple of the set's Seams."""
    then: Callable[[], None] | None = None
    """Run once the set is applied (a background loop that needs the patched module)."""
    status: str = PENDING
    problem: str = ""
    seams: tuple[Seam, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def apply(self) -> None:
        with self._lock:
            if self.status != PENDING:
                return
            try:
                module_name, _, attribute = self.source.partition(":")
                self.seams = tuple(getattr(importlib.import_module(module_name), attribute))
                found = [(seam, _verified(seam)) for seam in self.seams]
                for seam, current in found:
                    if seam.replace is not None:
                        _assign(seam.where, seam.replace(None if current is _ABSENT else current))
            except SeamMoved as moved:
                return self._fail(str(moved))
            except Exception as error:  # a replacement that cannot be made: the same as a moved seam
                traceback.print_exc()
                return self._fail(f"{type(error).__name__}: {error}")
            self.status = APPLIED
        if self.then is not None:
            self.then()

    def _fail(self, problem: str) -> None:
        self.status, self.problem = FAILED, problem
        print(f"labkit data plane: {self.name} is not applied: {problem}", flush=True)


class SeamMoved(Exception):
    pass


_sets: dict[str, SeamSet] = {}
_all_verified = threading.Event()
_waiting: dict[str, list[SeamSet]] = {}
_lock = threading.Lock()


def declare(name: str, when: str, source: str, then: Callable[[], None] | None = None) -> SeamSet:
    """Register a set once (a second declaration of a name returns the first); it is applied when
    `when` is first imported, or now if it already is."""
    with _lock:
        if name in _sets:
            return _sets[name]
        seam_set = _sets[name] = SeamSet(name, when, source, then)
        if when not in sys.modules:
            _waiting.setdefault(when, []).append(seam_set)
            if _FINDER not in sys.meta_path:
                sys.meta_path.insert(0, _FINDER)
            return seam_set
    seam_set.apply()
    return seam_set


def verify_all() -> None:
    """Import every module a set still waits for, which applies (and so verifies) it."""
    for seam_set in list(_sets.values()):
        if seam_set.status == PENDING:
            try:
                importlib.import_module(seam_set.when)
            except ImportError as error:
                seam_set._fail(f"{seam_set.when} cannot be imported: {error}")
                continue
            seam_set.apply()
    _all_verified.set()


def report() -> dict:
    """For /_labkit/health: "degraded" with each failed set's name and problem; else "ok" once
    verify_all() has run, "verifying" before."""
    sets = sorted(_sets.values(), key=lambda s: s.name)
    failed = [{"seam": s.name, "problem": s.problem} for s in sets if s.status == FAILED]
    return {
        "status": "degraded" if failed else "ok" if _all_verified.is_set() else "verifying",
        "failed": failed,
        "seams": {s.name: {"status": s.status, "where": [seam.where for seam in s.seams]} for s in sets},
    }


def _verified(seam: Seam):
    current = _resolve(seam.where)
    if current is _ABSENT and (seam.params is not None or seam.contains is not None):
        raise SeamMoved(f"{seam.where} is gone")
    if seam.params is not None:
        found = tuple(inspect.signature(current).parameters)
        if found != seam.params:
            raise SeamMoved(f"{seam.where} takes ({', '.join(found)}), not ({', '.join(seam.params)})")
    if seam.contains is not None and seam.contains not in inspect.getsource(current):
        raise SeamMoved(f"{seam.where} no longer contains {seam.contains!r}")
    return current


def _owner_and_attribute(where: str) -> tuple[Any, str]:
    """The module or class holding the attribute `where` ends with."""
    parts = where.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for name in parts[split:-1]:
            owner = getattr(owner, name, _ABSENT)
            if owner is _ABSENT:
                raise SeamMoved(f"{where} is gone ({name} is not in {'.'.join(parts[:split])})")
        return owner, parts[-1]
    raise SeamMoved(f"{where}: no such module")


def _resolve(where: str):
    owner, attribute = _owner_and_attribute(where)
    # From the class's own namespace where possible: a staticmethod or property stays what it is.
    namespace = getattr(owner, "__dict__", {})
    if attribute in namespace and not inspect.ismodule(owner):
        found = namespace[attribute]
        return found.__func__ if isinstance(found, (staticmethod, classmethod)) else found
    return getattr(owner, attribute, _ABSENT)


def _assign(where: str, replacement) -> None:
    owner, attribute = _owner_and_attribute(where)
    setattr(owner, attribute, replacement)


class _ApplyAfterLoading(importlib.abc.Loader):
    def __init__(self, loader, name: str):
        self._loader = loader
        self._name = name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType):
        self._loader.exec_module(module)
        with _lock:
            waiting = _waiting.pop(self._name, [])
        for seam_set in waiting:
            seam_set.apply()

    def __getattr__(self, name):  # get_source, get_code... for tracebacks and inspect
        return getattr(self._loader, name)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname not in _waiting:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _ApplyAfterLoading(spec.loader, fullname)
        return spec


_FINDER = _Finder()
