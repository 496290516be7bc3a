"""What runs for one container of a task: its command, folder and environment, from its image and
its container definition, the way Docker and the ECS agent combine them.

- Image: one built by `labkit image build` and recorded in the local ECR runs from its folder
  (labkit.images). Another image (python:3.11-slim, say) stands for the host's Python when the
  container definition gives a command; it runs in the course folder.
- Command: entryPoint and command override the image's ENTRYPOINT and CMD (a new entryPoint drops
  the image's CMD, as in Docker). `python` is the course's Python, with its packages.
- Ports: each portMappings containerPort gets a free port on 127.0.0.1. The container finds it in
  $PORT (its first mapping) and in $LABKIT_PORT_<containerPort> (each mapping): a service listens
  on $PORT, as it does on AWS where PORT is its container port, and on $HOST (127.0.0.1).
- Environment: the image's ENV, then the container's environment and secrets, then what the ECS
  agent sets (AWS_REGION, ECS_CONTAINER_METADATA_URI_V4...), then PORT; boto3 in the container
  reaches the local cloud with stand-in credentials for the task role.
"""

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from labkit import config, images, proc
from labkit.dataplane.ecs import secrets
from labkit.dataplane.ecs.awslogs import LogDestination
from labkit.dataplane.ecs.failures import TaskFailed

DEFAULT_STOP_TIMEOUT_S = 30  # the ECS default for a container's stopTimeout
LOCALHOST = "127.0.0.1"


@dataclass
class PortMapping:
    container_port: int
    host_port: int
    protocol: str = "tcp"


@dataclass
class ContainerSpec:
    name: str
    image: str
    image_digest: str | None
    essential: bool
    argv: list[str]
    cwd: Path
    env: dict[str, str]
    ports: list[PortMapping] = field(default_factory=list)
    health_check: dict | None = None
    logs: LogDestination | None = None
    stop_timeout_s: float = DEFAULT_STOP_TIMEOUT_S

    def mapping(self, container_port: int | None) -> PortMapping | None:
        """The mapping of that container port (None: the first)."""
        return next((m for m in self.ports if container_port in (None, m.container_port)), None)

    def host_port(self, container_port: int | None) -> int | None:
        mapping = self.mapping(container_port)
        return None if mapping is None else mapping.host_port


def prepare(
    definition: dict,
    override: dict,
    task,
    metadata_uri: str,
    network_env: dict | None = None,
    execution_role: str | None = None,
) -> ContainerSpec:
    """The container `definition` of moto's `task`, ready to start; `network_env` is what the
    task's network and role add (Service Connect's proxy, the role's credentials); the execution role
    reads the container's secrets. Raises TaskFailed."""
    account_id, region = task._account_id, task.region_name
    image = definition.get("image", "")
    artifact, digest, image_config = _find_image(image, definition, account_id, region)
    rootfs = artifact / "rootfs" if artifact else None

    entry_point = definition.get("entryPoint") or image_config.get("entrypoint") or []
    command = (
        override.get("command")
        or definition.get("command")
        or ([] if definition.get("entryPoint") else image_config.get("cmd") or [])
    )
    argv = [_in_image(word, rootfs) for word in [*entry_point, *command]]
    if not argv:
        raise TaskFailed(
            f"CannotStartContainerError: Error response from daemon: no command "
            f"specified for container {definition.get('name')}"
        )
    workdir = definition.get("workingDirectory") or image_config.get("workdir") or "/"
    cwd = (rootfs / workdir.lstrip("/")) if rootfs else config.COURSE_ROOT
    cwd.mkdir(parents=True, exist_ok=True)

    ports = [
        PortMapping(int(m["containerPort"]), proc.free_port(), m.get("protocol", "tcp"))
        for m in definition.get("portMappings") or []
        if m.get("containerPort")
    ]
    env = {
        **_environment(definition, override, image_config, rootfs, task, ports, metadata_uri, execution_role),
        **(network_env or {}),
    }
    logs = None
    log_configuration = definition.get("logConfiguration") or {}
    if log_configuration.get("logDriver") == "awslogs":
        logs = LogDestination(log_configuration.get("options") or {}, definition["name"], task.id, account_id, region)
    return ContainerSpec(
        name=definition["name"],
        image=image,
        image_digest=digest,
        essential=definition.get("essential", True),
        argv=_resolve_program(argv, env),
        cwd=cwd,
        env=env,
        ports=ports,
        health_check=definition.get("healthCheck"),
        logs=logs,
        stop_timeout_s=float(definition.get("stopTimeout") or DEFAULT_STOP_TIMEOUT_S),
    )


def _find_image(image: str, definition: dict, account_id: str, region: str):
    """(artifact folder or None for the host stand-in, digest, image config)."""
    registry, repository, tag, digest = images.parse_reference(image)
    local_registry = images.registry_host(account_id, region)
    if registry in (None, local_registry):
        found = _ecr_digest(repository, tag, digest, account_id, region)
        if found is not None:
            artifact = images.artifact_dir(repository, found)
            if (artifact / "config.json").is_file():
                return artifact, found, images.load_config(artifact)
    if registry != local_registry and (definition.get("command") or definition.get("entryPoint")):
        return None, None, {}
    raise TaskFailed(
        f"CannotPullContainerError: pull image manifest has been retried 1 time(s): "
        f"failed to resolve ref {image}: not found. Locally, images come from "
        f"`labkit image build <folder> --tag {repository}:{tag or 'latest'}`; other "
        f"images run only with a command in the container definition."
    )


def _ecr_digest(repository: str, tag: str | None, digest: str | None, account_id: str, region: str) -> str | None:
    from moto.ecr.models import ecr_backends

    found = ecr_backends[account_id][region].repositories.get(repository)
    for image in list(found.images) if found else []:
        if (digest and image.get_image_digest() == digest) or (tag and tag in image.image_tags):
            return image.get_image_digest()
    return None


def _environment(
    definition, override, image_config, rootfs, task, ports, metadata_uri, execution_role=None
) -> dict[str, str]:
    account_id, region = task._account_id, task.region_name
    plumbing = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "HOSTNAME": next(
            (d["value"] for a in task.attachments for d in a["details"] if d["name"] == "privateDnsName"),
            f"ip-127-0-0-1.{region}.compute.internal",
        ),
        # What course.start() sets for a kernel: boto3 in the task reaches this local cloud.
        "AWS_ENDPOINT_URL": config.endpoint(),
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        # What a client on AWS trusts, and the local cloud's CA (its TLS caches): ssl=True suffices, as on AWS.
        "SSL_CERT_FILE": str(config.trusted_cas_file()),
        # The task role's credentials come with network_env; boto3 finds no others, as on AWS.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    own = {
        item["name"]: str(item.get("value", ""))
        for item in [*(definition.get("environment") or []), *(override.get("environment") or [])]
    }
    from_image = {name: _in_image(value, rootfs) for name, value in (image_config.get("env") or {}).items()}
    agent = {
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE" if task.launch_type == "FARGATE" else "AWS_ECS_EC2",
        "ECS_CONTAINER_METADATA_URI": metadata_uri,
        "ECS_CONTAINER_METADATA_URI_V4": metadata_uri,
    }
    ports_env = {f"LABKIT_PORT_{m.container_port}": str(m.host_port) for m in ports}
    if ports:
        ports_env["PORT"] = str(ports[0].host_port)
        # A container listens on 0.0.0.0 of its own network; a local task shares the machine's,
        # where the course serves on loopback only. A service that reads $HOST stays there.
        ports_env["HOST"] = LOCALHOST
    resolved_secrets = secrets.resolve(definition.get("secrets"), account_id, region, execution_role, task.id)
    return {**plumbing, **from_image, **own, **resolved_secrets, **agent, **ports_env}


def _in_image(word: str, rootfs: Path | None) -> str:
    """An absolute path that exists in the image points into the image's folder."""
    if rootfs is None or not word.startswith("/") or word == "/":
        return word
    inside = rootfs / word.lstrip("/")
    return str(inside) if inside.exists() else word


def _resolve_program(argv: list[str], env: dict[str, str]) -> list[str]:
    if "/" in argv[0]:
        return argv
    for directory in env.get("PATH", "").split(os.pathsep):
        candidate = Path(directory) / argv[0]
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return [str(candidate), *argv[1:]]
    raise TaskFailed(
        f"CannotStartContainerError: Error response from daemon: failed to create "
        f'task for container: exec: "{argv[0]}": executable file not found in $PATH'
    )
