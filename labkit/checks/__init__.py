"""Executable checks: each lab declares what "done" looks like, and the learner sees pass or fail with
a message they can act on and hints revealed one at a time.

A lab's checks module (labkit/labs/labNN.py) declares them:

    lab = Lab("02", "The catalog service")

    @lab.check("table", "The books table exists", step=1, hints=["Use create_table ...", "..."])
    def table_exists(ctx):
        table = ctx.table(ctx.env.name("books"), fix="create it in step 1")
        ctx.expect(table.key_schema[0]["AttributeName"] == "id",
                   f"expected the partition key 'id', found {table.key_schema[0]['AttributeName']!r}")

A check reads the target with boto3 and HTTP only (never the local data plane), so it passes on the
aws target too. It passes by returning; `ctx.missing(...)` or `ctx.not_done(...)` says what is not there
yet, `ctx.expect(...)` or `ctx.fail(...)` what is wrong (labkit/checks/context.py has the helpers). Run
them with `lab.panel(step)` in a notebook, `labkit check NN` in a terminal, or `lab.run()` in pytest.
"""

import dataclasses
import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

from labkit import config

PASSED, NOT_DONE, FAILED, ERROR = "passed", "not done yet", "failed", "error"

# AWS error codes that mean "it is not there (yet)", not "the check broke".
NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "NotFoundException",
    "NoSuchEntity",
    "NoSuchBucket",
    "NoSuchKey",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFound",
    "NoSuchFunction",
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "LoadBalancerNotFound",
    "TargetGroupNotFound",
    "RepositoryNotFoundException",
    "UserPoolNotFound",
    "NoSuchResource",
    "ReplicationGroupNotFoundFault",
    "CacheClusterNotFound",
    "ServerlessCacheNotFoundFault",
    "404",  # a HEAD request (head_bucket, head_object) has no error body: only its status
}


class NotDoneYet(Exception):
    """What the check looks for is not there yet."""


class Wrong(Exception):
    """It is there, but not as expected: the message says what was expected and what was found."""


class InTheNotebookOnly(Exception):
    """The check calls what the learner wrote in the notebook (`name`), which `labkit check` in a
    terminal does not have: the check is judged by how it ended in the notebook."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name


@dataclasses.dataclass(frozen=True)
class Check:
    id: str
    title: str
    function: Callable
    step: int | None = None
    hints: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Result:
    id: str
    title: str
    status: str
    message: str
    step: int | None = None
    hints: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "passed": self.passed,
            "status": self.status,
            "message": self.message,
            "step": self.step,
            "hints": list(self.hints),
        }


class Lab:
    """One lab's checks, in the order the learner meets them."""

    def __init__(self, lab_id: str, title: str):
        self.id = lab_id
        self.title = title
        self.checks: list[Check] = []

    def check(self, check_id: str, title: str, step: int | None = None, hints=()):
        def register(function):
            if any(existing.id == check_id for existing in self.checks):
                raise ValueError(f"lab {self.id} has two checks with the id {check_id!r}")
            self.checks.append(Check(check_id, title, function, step, tuple(hints)))
            return function

        return register

    def run(self, step: int | None = None, env=None, in_terminal: bool = False, **learner) -> list["Result"]:
        """Run the checks (of one step, or all) against the current target and record progress.
        in_terminal: run by `labkit check`, without the notebook's functions (learner)."""
        from labkit import progress
        from labkit.checks.context import Context

        context = Context(env, learner, in_terminal=in_terminal)
        chosen = [c for c in self.checks if step is None or c.step == step]
        results = [_run_one(self.id, check, context) for check in chosen]
        progress.record(self.id, results)
        return results

    def panel(self, step: int | None = None, env=None, **learner):
        """Run the checks and show them as a panel: pass/fail, messages, hints, a re-run button."""
        from labkit.checks.panel import CheckPanel

        return CheckPanel(lambda: self.run(step, env, **learner), self.heading(step))

    def heading(self, step: int | None) -> str:
        return f"Lab {self.id} · step {step} checks" if step else f"Lab {self.id} · all checks"


def _run_one(lab_id: str, check: Check, context) -> Result:
    def result(status, message):
        return Result(check.id, check.title, status, message, check.step, check.hints)

    try:
        check.function(context)
    except NotDoneYet as missing:
        return result(NOT_DONE, str(missing))
    except Wrong as wrong:
        return result(FAILED, str(wrong))
    except InTheNotebookOnly as notebook_only:
        return result(*_as_it_ended_in_the_notebook(lab_id, check, notebook_only.name))
    except Exception as error:  # every other failure becomes a message, never a traceback
        return result(*_classify(error, check))
    return result(PASSED, "done")


def _as_it_ended_in_the_notebook(lab_id: str, check: Check, name: str) -> tuple[str, str]:
    """The check calls the notebook's `name`: passed if it has passed in the notebook (progress keeps
    passes), else what to run there."""
    from labkit import course, progress

    panel = f"lab.panel({check.step})" if check.step else "its check panel"
    if progress.load().get(course.owner(), {}).get(lab_id, {}).get(check.id, {}).get("passed"):
        return PASSED, f"done (it passed in the notebook, where it calls your {name}; a terminal cannot)"
    return NOT_DONE, f"this check calls your {name}, which only the notebook has: run {panel} there"


def _classify(error: Exception, check: Check) -> tuple[str, str]:
    from labkit.checks.learner import LearnerCodeError

    if isinstance(error, LearnerCodeError):
        return error.status, str(error)
    code = aws_error_code(error)
    if code in NOT_FOUND_CODES:
        return NOT_DONE, f"not found yet: {error.response['Error'].get('Message') or code}"
    if type(error).__name__ in ("ConnectionError", "ConnectTimeout", "NewConnectionError"):
        return NOT_DONE, f"nothing answers yet ({_first_line(error)})"
    if type(error).__name__ in ("EndpointConnectionError",):
        return ERROR, ("the target does not answer: is the local cloud running? (`labkit status`, then `labkit up`)")
    _log_check_failure(check, error)
    return ERROR, (
        f"the check could not run ({type(error).__name__}: {_first_line(error)}); details are in {_log_path()}"
    )


def aws_error_code(error: Exception) -> str | None:
    """The code of an error AWS answered (botocore's ClientError), else None."""
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else type(error).__name__


def _log_path() -> Path:
    return config.state_dir() / "checks.log"


def _log_check_failure(check: Check, error: Exception) -> None:
    path = _log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as log:
        log.write(f"--- check {check.id}\n")
        log.write("".join(traceback.format_exception(error)))
    logging.getLogger(__name__).debug("check %s failed", check.id, exc_info=error)


def as_json(results: list[Result]) -> str:
    return json.dumps([r.as_json() for r in results], indent=2)


SYMBOLS = {PASSED: "✔", NOT_DONE: "…", FAILED: "✘", ERROR: "!"}


def as_text(results: list[Result], heading: str) -> str:
    """The same report in a terminal, in a notebook's text output and in CI logs."""
    passed = sum(r.passed for r in results)
    lines = [f"{heading}: {passed} of {len(results)} passed"]
    for r in results:
        line = f"  {SYMBOLS[r.status]} {r.title}"
        if not r.passed:
            line += f": {r.status}. {r.message}"
        lines.append(line)
    return "\n".join(lines)
