"""Approval action, provider Manual: the action waits, with a token GetPipelineState shows, until
PutApprovalResult approves it (Succeeded) or rejects it (Failed)."""

import threading
import uuid

from labkit.dataplane.codepipeline.actions import ActionContext, ActionFailed, Outcome

_waiting: dict[str, "Waiting"] = {}  # token -> approval waited for
_lock = threading.Lock()


class Waiting:
    def __init__(self):
        self.decided = threading.Event()
        self.status = ""
        self.summary = ""


def run(context: ActionContext) -> Outcome:
    token = str(uuid.uuid4())
    waiting = Waiting()
    with _lock:
        _waiting[token] = waiting
    context.record.token = token
    waiting.decided.wait()
    with _lock:
        _waiting.pop(token, None)
    context.record.token = None
    if waiting.status != "Approved":
        raise ActionFailed(f"Rejected: {waiting.summary}" if waiting.summary else "Rejected", code="JobFailed")
    return Outcome(summary=waiting.summary or "Approved")


def decide(token: str, status: str, summary: str) -> bool:
    """Approves or rejects the approval waiting with this token; False when none is."""
    with _lock:
        waiting = _waiting.get(token)
    if waiting is None or waiting.decided.is_set():
        return False
    waiting.status, waiting.summary = status, summary
    waiting.decided.set()
    return True


def reject_all_waiting() -> None:
    with _lock:
        tokens = list(_waiting)
    for token in tokens:
        decide(token, "Rejected", "the local cloud was reset")
