"""RotateSecret as AWS runs it (Secrets Manager User Guide, "How rotation works"; API Reference,
RotateSecret). Imported once moto.secretsmanager.models is.

RotateSecret configures rotation (the function, the rules) and starts it: it refuses a function whose
resource policy does not allow secretsmanager.amazonaws.com, and a secret whose AWSPENDING label is on
another version than AWSCURRENT (a previous rotation that did not finish); otherwise it labels a new
version (the ClientRequestToken) AWSPENDING, answers with it, and runs the function in the background
with {"SecretId": the secret's ARN, "ClientRequestToken": the version, "RotationToken": ..., "Step": ...}: createSecret,
setSecret, testSecret, finishSecret, in order, each one only if the one before succeeded. The function
moves the labels (PutSecretValue with AWSPENDING, UpdateSecretVersionStage of AWSCURRENT, which moves
AWSPREVIOUS to the version AWSCURRENT left); Secrets Manager moves none itself. With RotateImmediately
false, only testSecret runs, against an AWSPENDING version that is removed afterwards."""

import functools
import re
import threading
import time
import traceback
import uuid

from moto.core.exceptions import JsonRESTError

from labkit.dataplane.core import clock, functions, state
from labkit.dataplane.core.seams import Seam
from labkit.dataplane.secretsmanager import outcomes

SECRETS_MANAGER = "secretsmanager.amazonaws.com"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
NOT_PERMITTED = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access "
    "to the principal secretsmanager.amazonaws.com."
)
NOT_COMPLETE = "A previous rotation isn't complete. That rotation will be reattempted."
NO_FUNCTION = "No Lambda rotation function ARN is associated with this secret."


class AccessDeniedException(JsonRESTError):
    code = 400

    def __init__(self, message: str):
        super().__init__("AccessDeniedException", message)


def _rotating_as_aws(rotate_secret):
    @functools.wraps(rotate_secret)
    def rotating(
        self,
        secret_id,
        client_request_token=None,
        rotation_lambda_arn=None,
        rotation_rules=None,
        rotate_immediately=True,
    ):
        from moto.secretsmanager.exceptions import (
            InvalidParameterException,
            InvalidRequestException,
            ResourceNotFoundException,
            SecretNotFoundException,
        )
        from moto.secretsmanager.models import ReplicaSecret

        if not self._is_valid_identifier(secret_id):
            raise SecretNotFoundException()
        secret = self.secrets[secret_id]
        function = rotation_lambda_arn or getattr(secret, "rotation_lambda_arn", "")
        if isinstance(secret, ReplicaSecret) or secret.is_deleted():  # moto's answers
            return rotate_secret(self, secret_id, client_request_token, None, rotation_rules, rotate_immediately)
        if not function:  # where moto moved AWSCURRENT to a version of no value
            raise InvalidRequestException(NO_FUNCTION)
        if len(function) > 2048:
            raise InvalidParameterException("RotationLambdaARN must <= 2048 characters long.")
        days = (rotation_rules or {}).get("AutomaticallyAfterDays")
        if days is not None and not 1 <= days <= 1000:
            raise InvalidParameterException("RotationRules.AutomaticallyAfterDays must be within 1-1000.")
        pending = [v for v in secret.versions.values() if "AWSPENDING" in v["version_stages"]]
        if pending and "AWSCURRENT" not in pending[0]["version_stages"]:
            raise InvalidRequestException(NOT_COMPLETE)
        from labkit.dataplane import lambda_

        if not lambda_.permits(function, functions.OnBehalfOf(SECRETS_MANAGER, (secret.arn,))):
            try:
                from moto.awslambda.utils import get_backend

                get_backend(self.account_id, self.region_name).get_function(function)
            except Exception:
                raise ResourceNotFoundException(f"Resource not found for ARN '{function}'.") from None
            raise AccessDeniedException(NOT_PERMITTED)
        if client_request_token:
            self._client_request_token_validator(client_request_token)

        secret.rotation_lambda_arn = function
        if rotation_rules:
            if days is not None:
                secret.auto_rotate_after_days = days
            secret.rotation_enabled = True
            state.put(secret, "interval", _interval(rotation_rules))
        secret.rotation_requested = True
        if not rotate_immediately:  # the first scheduled rotation comes one interval later
            _schedule_next(secret)
        version_id = _start(secret, client_request_token, rotate_immediately)
        return secret.to_short_dict(version_id=version_id)

    return rotating


def _start(secret, version_id: str | None, rotate_immediately: bool = True) -> str:
    """Label a new version AWSPENDING and run the function's steps on it in the background."""
    version_id = version_id or str(uuid.uuid4())
    if secret.versions:
        secret.remove_version_stages_from_old_versions(["AWSPENDING"])
        secret.versions[version_id] = {
            "createdate": int(time.time()),
            "version_id": version_id,
            "version_stages": ["AWSPENDING"],
        }
    state.put(secret, "rotating", True)
    steps = STEPS if rotate_immediately else ("testSecret",)
    threading.Thread(
        target=_rotate,
        args=(secret, secret.rotation_lambda_arn, version_id, steps, rotate_immediately),
        name=f"rotation {secret.name}",
        daemon=True,
    ).start()
    return version_id


def _rotate(secret, function: str, version_id: str, steps, rotate_immediately: bool) -> None:
    try:
        _run_steps(secret, function, version_id, steps, rotate_immediately)
    finally:
        state.put(secret, "rotating", False)


def _run_steps(secret, function: str, version_id: str, steps, rotate_immediately: bool) -> None:
    invoked_by = functions.OnBehalfOf(SECRETS_MANAGER, (secret.arn,))
    # RotationToken: what a function assuming another role passes back to PutSecretValue (moto ignores it).
    event = {"SecretId": secret.arn, "ClientRequestToken": version_id, "RotationToken": str(uuid.uuid4())}
    for step in steps:
        try:
            result = functions.invoke(function, {**event, "Step": step}, on_behalf_of=invoked_by)
        except (functions.NotPermitted, functions.FunctionUnavailable) as refused:
            outcomes.record(secret.arn, version_id, "RotationFailed", step, str(refused))
            return
        if result.function_error:
            outcomes.record(secret.arn, version_id, "RotationFailed", step, _error_message(result.payload))
            return
    if not rotate_immediately:  # the test of the configuration leaves no pending version behind
        version = secret.versions.get(version_id)
        if version is not None and "AWSPENDING" in version["version_stages"]:
            version["version_stages"].remove("AWSPENDING")
            if not version["version_stages"] and "secret_string" not in version and "secret_binary" not in version:
                secret.versions.pop(version_id, None)
        return
    secret.last_rotation_date = int(time.time())
    interval = state.get(secret, "interval")
    if interval:
        secret.next_rotation_date = int(time.time()) + int(interval)
    _schedule_next(secret)
    outcomes.record(secret.arn, version_id, "RotationSucceeded")


# --- scheduled rotation, on the local clock -------------------------------------------------------

_RATE = re.compile(r"^rate\((\d+) (hour|hours|day|days)\)$")


def _interval(rules: dict) -> float | None:
    """The rules' interval in AWS seconds: AutomaticallyAfterDays, or a ScheduleExpression rate(N hours)
    or rate(N days); None for a cron expression (not scheduled locally)."""
    if rules.get("AutomaticallyAfterDays"):
        return int(rules["AutomaticallyAfterDays"]) * 86400
    found = _RATE.match(str(rules.get("ScheduleExpression", "")).strip())
    if found:
        return int(found[1]) * (3600 if found[2].startswith("hour") else 86400)
    return None


def _schedule_next(secret) -> None:
    """The next rotation one interval from now, on the local clock (a day passes in 24 local minutes)."""
    interval = state.get(secret, "interval")
    state.put(secret, "rotate_at", time.monotonic() + clock.local_seconds(interval) if interval else None)


def start_scheduler() -> None:
    if not _scheduler_started.is_set():
        _scheduler_started.set()
        threading.Thread(target=_schedule_loop, daemon=True, name="secretsmanager rotations").start()


_scheduler_started = threading.Event()


def _schedule_loop() -> None:
    while True:
        time.sleep(0.5)
        try:
            for secret in _due():
                state.put(secret, "rotate_at", None)  # the next is scheduled when this one succeeds
                _start(secret, None)
        except Exception:  # one bad pass must not end the schedule
            traceback.print_exc()


def _due():
    from moto.secretsmanager.models import FakeSecret, secretsmanager_backends

    now = time.monotonic()
    for regions in list(secretsmanager_backends.values()):
        for backend in list(regions.values()):
            for secret in list(backend.secrets.values()):
                due = isinstance(secret, FakeSecret) and state.get(secret, "rotate_at")
                if not due or due > now or state.get(secret, "rotating") or secret.is_deleted():
                    continue
                if not (secret.rotation_enabled and secret.rotation_lambda_arn):
                    continue
                pending = [v for v in secret.versions.values() if "AWSPENDING" in v["version_stages"]]
                if pending and "AWSCURRENT" not in pending[0]["version_stages"]:
                    continue  # a rotation that did not finish: not started again
                yield secret


def _error_message(payload: bytes) -> str:
    import json

    try:
        answer = json.loads(payload or b"null")
    except ValueError:
        return payload.decode(errors="replace")
    if isinstance(answer, dict):
        return f"{answer.get('errorType', '')}: {answer.get('errorMessage', '')}".strip(": ")
    return str(answer)


def _current_follows_the_label(update_secret_version_stage):
    """AWSCURRENT moved by UpdateSecretVersionStage (as finishSecret moves it) is what GetSecretValue
    answers from then on; moto kept answering the version it had before."""

    @functools.wraps(update_secret_version_stage)
    def updating(self, secret_id, version_stage, remove_from_version_id, move_to_version_id):
        found = update_secret_version_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
        if version_stage == "AWSCURRENT" and move_to_version_id:
            self.secrets[secret_id].default_version_id = move_to_version_id
        return found

    return updating


SEAMS = (
    Seam(
        "moto.secretsmanager.models.SecretsManagerBackend.rotate_secret",
        ("self", "secret_id", "client_request_token", "rotation_lambda_arn", "rotation_rules", "rotate_immediately"),
        replace=_rotating_as_aws,
    ),
    Seam(
        "moto.secretsmanager.models.SecretsManagerBackend.update_secret_version_stage",
        ("self", "secret_id", "version_stage", "remove_from_version_id", "move_to_version_id"),
        replace=_current_follows_the_label,
    ),
    Seam("moto.secretsmanager.models.FakeSecret.remove_version_stages_from_old_versions", ("self", "version_stages")),
    Seam("moto.secretsmanager.models.SecretsManagerBackend.get_secret_value", contains="secret.default_version_id"),
)
