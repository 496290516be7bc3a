"""A buildspec (version 0.2), read as CodeBuild reads it (CodeBuild User Guide, "Build specification
reference for CodeBuild"): env variables, the four phases with their commands, on-failure and finally
blocks, and the artifacts to upload."""

from dataclasses import dataclass, field

import yaml

PHASES = ("install", "pre_build", "build", "post_build")


class InvalidBuildspec(Exception):
    pass


@dataclass
class Phase:
    commands: list[str] = field(default_factory=list)
    finally_commands: list[str] = field(default_factory=list)
    on_failure: str = "ABORT"


@dataclass
class Artifacts:
    files: list[str] = field(default_factory=list)
    base_directory: str = ""
    discard_paths: bool = False


@dataclass
class Buildspec:
    variables: dict[str, str]
    shell: str
    phases: dict[str, Phase]
    artifacts: Artifacts | None


def parse(text: str) -> Buildspec:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidBuildspec(f"YAML_FILE_ERROR: {error}") from error
    if not isinstance(document, dict) or str(document.get("version")) not in ("0.1", "0.2"):
        raise InvalidBuildspec("YAML_FILE_ERROR Message: invalid buildSpec version")
    env = document.get("env") or {}
    phases = {}
    for name in PHASES:
        block = (document.get("phases") or {}).get(name)
        if block is not None:
            phases[name] = Phase(
                commands=[str(c) for c in block.get("commands") or []],
                finally_commands=[str(c) for c in block.get("finally") or []],
                on_failure=str(block.get("on-failure", "ABORT")).upper(),
            )
    artifacts = document.get("artifacts")
    return Buildspec(
        variables={str(k): str(v) for k, v in (env.get("variables") or {}).items()},
        shell=str(env.get("shell", "sh")),
        phases=phases,
        artifacts=Artifacts(
            files=[str(f) for f in artifacts.get("files") or []],
            base_directory=str(artifacts.get("base-directory", "")),
            discard_paths=str(artifacts.get("discard-paths", "no")).lower() in ("yes", "true"),
        )
        if artifacts
        else None,
    )
