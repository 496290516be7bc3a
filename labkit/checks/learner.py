"""Calling the learner's own code from a check, and summarising what it raised in one line: code in
their notebook, or a function they deployed."""

import re
import traceback

from labkit.checks import FAILED, NOT_DONE

# One entry of a Python Lambda function's stackTrace: '  File "/var/task/handler.py", line 12, in handler\n ...'
STACK_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


class LearnerCodeError(Exception):
    """The learner's code raised: the message names the exception, and where in their code."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def call(function, *args, **kwargs):
    """Run a learner's function; turn what it raises into a check result, not a traceback."""
    try:
        return function(*args, **kwargs)
    except Exception as error:
        if is_todo(type(error).__name__, str(error)):
            raise LearnerCodeError(NOT_DONE, str(error)) from None
        raise LearnerCodeError(FAILED, f"your code raised {summarise(error)}") from None


def is_todo(error_type: str, message: str) -> bool:
    """What a generated lab's unwritten solution raises (labkit.labbuild): not done yet, not wrong."""
    return error_type == "NotImplementedError" and message.startswith("TODO")


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
    return _one_line(type(error).__name__, str(error), where)


def summarise_function_error(error: dict) -> str:
    """`KeyError: 'id' (handler.py, line 12)` from the error payload of a deployed Lambda function:
    AWS's errorType and errorMessage, and the innermost line of the function's own files."""
    return _one_line(
        error.get("errorType") or "Error",
        str(error.get("errorMessage") or ""),
        _innermost_own_line(error.get("stackTrace") or []),
    )


def _innermost_own_line(stack_trace: list) -> str:
    # The runtime leaves its own frames out, so the outermost frame is the handler's module: the
    # function's own files are those in its folder (not the standard library's, not a package's).
    frames = [found for entry in stack_trace if isinstance(entry, str) and (found := STACK_FRAME.search(entry))]
    if not frames:
        return ""
    folder = frames[0]["file"].rsplit("/", 1)[0] + "/"
    own = [frame for frame in frames if frame["file"].startswith(folder)][-1]
    return f" ({own['file'].removeprefix(folder)}, line {own['line']})"


def _one_line(error_type: str, message: str, where: str) -> str:
    message = message.strip().splitlines()[0] if message.strip() else ""
    return f"{error_type}: {message}{where}" if message else f"{error_type}{where}"
