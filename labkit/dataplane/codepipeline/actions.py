"""What an action provider gets and gives: an ActionContext (its declaration, its input artifacts, a
client factory acting with the action's role, the execution's record of it) and, from run(context), an
Outcome or an ActionFailed with the message CodePipeline shows in errorDetails."""

from collections.abc import Callable
from dataclasses import dataclass, field

import boto3

from labkit import config
from labkit.dataplane import iam


class ActionFailed(Exception):
    def __init__(self, message: str, code: str = "JobFailed"):
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Outcome:
    summary: str | None = None
    external_id: str | None = None
    output_variables: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionContext:
    pipeline_name: str
    execution_id: str
    stage_name: str
    declaration: dict
    account_id: str
    region: str
    role_arn: str
    store: object
    """artifacts.ArtifactStore: read(name) -> zip bytes, write(name, zip bytes)."""
    record: object
    """executions.ActionExecution: its token (approval), external id, summary."""

    @property
    def configuration(self) -> dict:
        return self.declaration.get("configuration") or {}

    @property
    def input_names(self) -> list[str]:
        return [a["name"] for a in self.declaration.get("inputArtifacts") or []]

    @property
    def output_names(self) -> list[str]:
        return [a["name"] for a in self.declaration.get("outputArtifacts") or []]

    def client(self, service: str):
        """A client acting with the action's role, as CodePipeline acts with it."""
        return role_client(service, self.role_arn, self.pipeline_name, self.execution_id, self.region)

    def refuse_unless_allowed(self, action: str, resource: str) -> None:
        """For what the action does in-process: fails it with IAM's AccessDenied message, as AWS fails
        an action whose role may not (`Error calling startBuild: User: ... is not authorized ...`)."""
        denied = iam.denial(self.role_arn, session_name(self.pipeline_name, self.execution_id), action, resource)
        if denied:
            operation = action.split(":", 1)[1]
            raise ActionFailed(f"Error calling {operation[0].lower()}{operation[1:]}: {denied}")


def session_name(pipeline_name: str, execution_id: str) -> str:
    return f"{pipeline_name[:40]}-{execution_id[:8]}"


def role_client(service: str, role_arn: str, pipeline_name: str, execution_id: str, region: str):
    credentials = iam.credentials(role_arn, session_name(pipeline_name, execution_id))
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=config.endpoint(),
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )


_providers: dict[tuple[str, str], Callable[[ActionContext], Outcome]] = {}


def register(category: str, provider: str, run: Callable[[ActionContext], Outcome]) -> None:
    _providers[(category, provider)] = run


def runner(action_type: dict) -> Callable[[ActionContext], Outcome]:
    found = _providers.get((action_type["category"], action_type["provider"]))
    if found is None:
        raise ActionFailed(
            f"The local cloud does not run {action_type['category']} actions of provider "
            f"{action_type['provider']}; it runs: {', '.join(f'{c} {p}' for c, p in sorted(_providers))}."
        )
    return found
