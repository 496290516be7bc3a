"""A container's `secrets`, resolved when its task starts, as the ECS agent does: valueFrom names
a Secrets Manager secret (its ARN, optionally ending in :json-key:version-stage:version-id) or an
SSM parameter (its ARN, or its name in the task's region)."""

import json

from labkit.dataplane.ecs.failures import TaskFailed

PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed"


def resolve(container_secrets: list[dict], account_id: str, region: str) -> dict[str, str]:
    return {secret["name"]: _value(secret["valueFrom"], account_id, region) for secret in container_secrets or []}


def _value(value_from: str, account_id: str, region: str) -> str:
    if value_from.startswith("arn:") and value_from.split(":")[2] == "secretsmanager":
        return _secrets_manager(value_from, account_id, region)
    return _parameter(value_from, account_id, region)


def _secrets_manager(value_from: str, account_id: str, region: str) -> str:
    from moto.secretsmanager.models import secretsmanager_backends

    parts = value_from.split(":")
    arn, (json_key, stage, version_id) = ":".join(parts[:7]), (parts[7:] + ["", "", ""])[:3]
    backend = secretsmanager_backends[parts[4] or account_id][parts[3] or region]
    try:
        found = backend.get_secret_value(arn, version_id or None, stage or None)
    except Exception as error:  # moto's own exceptions, e.g. ResourceNotFoundException
        raise TaskFailed(
            f"{PREFIX}: unable to retrieve secret from asm: failed to fetch secret "
            f"{arn} from secrets manager: {type(error).__name__}: "
            f"{getattr(error, 'message', error)}"
        ) from None
    text = found.get("SecretString", "")
    if not json_key:
        return text
    try:
        return str(json.loads(text)[json_key])
    except (ValueError, KeyError, TypeError):
        raise TaskFailed(
            f"{PREFIX}: unable to retrieve secret from asm: retrieved secret from "
            f"Secrets Manager did not contain json key {json_key}"
        ) from None


def _parameter(value_from: str, account_id: str, region: str) -> str:
    from moto.ssm.models import ssm_backends

    parts = value_from.split(":")
    if value_from.startswith("arn:"):
        account_id, region = parts[4] or account_id, parts[3] or region
    parameter = ssm_backends[account_id][region].get_parameter(value_from)
    if parameter is None:
        raise TaskFailed(
            f"{PREFIX}: unable to retrieve secrets from ssm: service call has been "
            f"retried 1 time(s): InvalidParameters: {value_from}"
        )
    return parameter.decrypt(parameter.value)  # ECS passes a SecureString decrypted
