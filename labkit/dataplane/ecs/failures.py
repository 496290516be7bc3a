"""Why a task could not start, worded as the stoppedReason AWS gives."""


class TaskFailed(Exception):
    """The task stops before it runs; str(error) is its stoppedReason."""
