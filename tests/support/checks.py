"""One lab's check results as its check tests read them: a check's result, or the exact way it fails."""

from collections.abc import Callable
from typing import NamedTuple

import pytest

from labkit import labs


class LabChecks(NamedTuple):
    result: Callable
    assert_fails_saying_exactly: Callable


def checks_of(lab: str, **run_options) -> LabChecks:
    """result(check_id, **learner) runs the lab's checks (with run_options such as step=4, and the learner's
    functions, if any) and returns that one's; assert_fails_saying_exactly fails the test showing what the
    check said instead."""

    def result(check_id: str, **learner):
        return next(found for found in labs.require(lab).run(**run_options, **learner) if found.id == check_id)

    def assert_fails_saying_exactly(check_id: str, says: str, **learner) -> None:
        found = result(check_id, **learner)
        if (found.status, found.message) != ("failed", says):
            pytest.fail(f"expected {check_id} to fail saying:\n{says}\nit {found.status}, saying:\n{found.message}")

    return LabChecks(result, assert_fails_saying_exactly)
