"""A container's `secrets`, resolved when its task starts, as the ECS agent does: valueFrom names
a Secrets Manager secret (its ARN, optionally ending in :json-key:version-stage:version-id) or an
SSM parameter (its ARN, or its name in the task's region). The agent reads them with the task's
execution role: a role whose policies do not allow secretsmanager:GetSecretValue on the secret (and
kms:Decrypt on the customer managed key it is encrypted with), or ssm:GetParameters on the parameter,
stops the task before it runs, with AWS's stoppedReason carrying IAM's AccessDenied message."""

import json
import uuid

from labkit.dataplane import iam, secretsmanager
from labkit.dataplane.ecs.failures import TaskFailed

PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed"
RETRIED = "service call has been retried 1 time(s)"


def resolve(
    container_secrets: list[dict], account_id: str, region: str, execution_role: str | None = None, task_id: str = ""
) -> dict[str, str]:
    reader = _Reader(account_id, region, execution_role, task_id)
    return {secret["name"]: reader.value(secret["valueFrom"]) for secret in container_secrets or []}


def _status(error: str) -> str:
    """How the agent's AWS SDK (Go, v1) ends an API error: with its status and request id."""
    return f"{error} status code: 400, request id: {uuid.uuid4()}"


class _Reader:
    def __init__(self, account_id: str, region: str, execution_role: str | None, task_id: str):
        self.account_id, self.region = account_id, region
        self.execution_role, self.task_id = execution_role, task_id

    def value(self, value_from: str) -> str:
        if value_from.startswith("arn:") and value_from.split(":")[2] == "secretsmanager":
            return self._secrets_manager(value_from)
        return self._parameter(value_from)

    def _denied(self, action: str, resource: str, context: dict | None = None) -> str | None:
        if not self.execution_role:  # RegisterTaskDefinition requires one for secrets
            return None
        return iam.denial(self.execution_role, self.task_id, action, resource, context)

    def _secrets_manager(self, value_from: str) -> str:
        from moto.secretsmanager.models import secretsmanager_backends

        parts = value_from.split(":")
        arn, (json_key, stage, version_id) = ":".join(parts[:7]), (parts[7:] + ["", "", ""])[:3]
        backend = secretsmanager_backends[parts[4] or self.account_id][parts[3] or self.region]

        def failed(error: str) -> TaskFailed:
            return TaskFailed(
                f"{PREFIX}: unable to retrieve secret from asm: {RETRIED}: failed to fetch secret {arn} "
                f"from secrets manager: {_status(error)}"
            )

        try:
            secret = backend.describe_secret(arn)
        except Exception:
            secret = None
        denied = self._denied("secretsmanager:GetSecretValue", secret.arn if secret is not None else arn)
        if denied:
            raise failed(f"AccessDeniedException: {denied}")
        try:
            found = backend.get_secret_value(arn, version_id or None, stage or None)
        except Exception as error:  # moto's own errors, e.g. ResourceNotFoundException
            raise failed(f"{getattr(error, 'error_type', type(error).__name__)}: {getattr(error, 'message', error)}")
        sealed = secretsmanager.encryption_key(arn, parts[4] or self.account_id, parts[3] or self.region)
        key = sealed[1] if sealed else None
        if key and self._denied(
            "kms:Decrypt",
            key,
            {
                "kms:ViaService": f"secretsmanager.{self.region}.amazonaws.com",
                "kms:EncryptionContext:SecretARN": found["ARN"],
                "kms:EncryptionContext:SecretVersionId": found["VersionId"],
            },
        ):
            raise failed("AccessDeniedException: Access to KMS is not allowed")
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

    def _parameter(self, value_from: str) -> str:
        from moto.ssm.models import ssm_backends

        account_id, region, name = self.account_id, self.region, value_from
        if value_from.startswith("arn:"):
            parts = value_from.split(":")
            account_id, region = parts[4] or account_id, parts[3] or region
            name = parts[5].removeprefix("parameter")
        arn = f"arn:aws:ssm:{region}:{account_id}:parameter/{name.lstrip('/')}"
        denied = self._denied("ssm:GetParameters", arn)
        if denied:
            error = _status(f"AccessDeniedException: {denied}")
            raise TaskFailed(f"{PREFIX}: unable to retrieve secrets from ssm: {RETRIED}: {error}")
        parameter = ssm_backends[account_id][region].get_parameter(value_from)
        if parameter is None:
            raise TaskFailed(
                f"{PREFIX}: unable to retrieve secrets from ssm: {RETRIED}: InvalidParameters: {value_from}"
            )
        return parameter.decrypt(parameter.value)  # ECS passes a SecureString decrypted
