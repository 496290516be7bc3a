"""What became of each rotation: where AWS writes RotationStarted, RotationSucceeded and
RotationFailed events to CloudTrail, the local cloud keeps the last ones for
GET /_labkit/secretsmanager/rotations."""

import collections
import threading
import time

_outcomes: collections.deque = collections.deque(maxlen=200)
_lock = threading.Lock()


def record(secret_arn: str, version_id: str, outcome: str, step: str | None = None, error: str = "") -> None:
    with _lock:
        _outcomes.append(
            {
                "Time": time.time(),
                "SecretId": secret_arn,
                "VersionId": version_id,
                "Outcome": outcome,  # "RotationSucceeded" or "RotationFailed"
                "Step": step,
                "Error": error,
            }
        )


def listed() -> list[dict]:
    with _lock:
        return list(_outcomes)


def forget() -> None:
    with _lock:
        _outcomes.clear()
