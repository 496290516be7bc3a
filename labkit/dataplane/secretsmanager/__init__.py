"""AWS Secrets Manager on the local cloud: rotation runs the learner's rotation function as AWS runs it.

moto invokes the function's four steps inside RotateSecret whatever they answer, ignores the
function's resource policy, moves AWSCURRENT itself at the end even when a step failed, refuses a
new rotation only when none is pending (the opposite of AWS), forgets the configured function when
RotateSecret is called without one, and leaves GetSecretValue on the old version when a function's
finishSecret moves AWSCURRENT with UpdateSecretVersionStage. Here (rotation.py) RotateSecret checks
that the function's resource policy allows secretsmanager.amazonaws.com (AWS's AccessDeniedException
otherwise), labels a new version AWSPENDING and answers at once, while the function runs in the
background, step by step (createSecret, setSecret, testSecret, finishSecret) with AWS's event,
through the Lambda data plane; a failed step stops the rotation and leaves AWSPENDING where it is,
so the next RotateSecret is refused as AWS refuses it. A secret whose rules say when
(AutomaticallyAfterDays, or a ScheduleExpression rate(N hours|days)) rotates again one interval after
its last rotation, on the local clock (core.clock: a day is 24 local minutes, 4 hours 4 minutes).
Each rotation's outcome is listed at GET /_labkit/secretsmanager/rotations, where AWS records
RotationSucceeded or RotationFailed in CloudTrail.
"""

import json

from labkit.dataplane.core import seams

ROTATIONS_ROUTE = "/_labkit/secretsmanager/rotations"


def install() -> None:
    seams.declare(
        "secretsmanager: rotation runs the function step by step",
        "moto.secretsmanager.models",
        "labkit.dataplane.secretsmanager.rotation:SEAMS",
        then=_start_scheduler,
    )


def _start_scheduler() -> None:
    from labkit.dataplane.secretsmanager import rotation

    rotation.start_scheduler()


def middleware(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == ROTATIONS_ROUTE:
            from labkit.dataplane.secretsmanager import outcomes

            body = json.dumps({"Rotations": outcomes.listed()}).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return wsgi


def encryption_key(secret_id: str, account: str, region: str) -> tuple[str, str] | None:
    """(the secret's ARN, the ARN of the customer managed key it is encrypted with), or None when it is
    encrypted with Secrets Manager's own key (aws/secretsmanager) or there is no such secret: who reads
    it needs kms:Decrypt on that key too."""
    from moto.kms.models import kms_backends
    from moto.secretsmanager.models import secretsmanager_backends

    try:
        secret = secretsmanager_backends[account][region].describe_secret(secret_id)
        key_id = getattr(secret, "kms_key_id", None)
        if not key_id or key_id == "alias/aws/secretsmanager":
            return None
        key = kms_backends[account][region].describe_key(key_id)
    except Exception:
        return None
    return (secret.arn, key.arn) if getattr(key, "key_manager", "CUSTOMER") == "CUSTOMER" else None


def reset() -> None:
    from labkit.dataplane.secretsmanager import outcomes

    outcomes.forget()
