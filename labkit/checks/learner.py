"""Calling the learner's own code from a check, and summarising what it raised in one line."""

import traceback

from labkit.checks import FAILED, NOT_DONE


class LearnerCodeError(Exception):
    """The learner's code raised: the message names the exception, and where in their code."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def call(function, *args, **kwargs):
    """Run a learner's function; turn what it raises into a check result, not a traceback."""
    try:
        return function(*args, **kwargs)
    except NotImplementedError as error:
        if str(error).startswith("TODO"):
            raise LearnerCodeError(NOT_DONE, str(error)) from None
        raise LearnerCodeError(FAILED, f"your code raised {summarise(error)}") from None
    except Exception as error:
        raise LearnerCodeError(FAILED, f"your code raised {summarise(error)}") from None


def summarise(error: BaseException) -> str:
    """`KeyError: 'id' (cell line 4)`: the type, the message and the learner's innermost line."""
    where = ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        if "/labkit/" in frame.filename or "site-packages" in frame.filename:
            continue
        if "ipykernel" in frame.filename or frame.filename.startswith("<ipython"):
            where = f" (in your notebook cell, line {frame.lineno})"
        else:
            where = f" ({frame.filename.rsplit('/', 1)[-1]}, line {frame.lineno})"
        break
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {message}{where}" if message else f"{type(error).__name__}{where}"
