"""The AppSpec of a Lambda deployment (CodeDeploy User Guide, "AppSpec 'resources' section for AWS
Lambda deployments" and "AppSpec 'hooks' section"): the function, its alias, the version the alias is
on and the one it moves to, and the hook functions run before and after traffic moves. Given inline
(revisionType AppSpecContent, or String), as YAML or JSON."""

from dataclasses import dataclass

import yaml

HOOK_EVENTS = ("BeforeAllowTraffic", "AfterAllowTraffic")


class Invalid(Exception):
    pass


@dataclass(frozen=True)
class LambdaAppSpec:
    function: str
    alias: str
    current_version: str
    target_version: str
    hooks: dict[str, str]  # lifecycle event -> hook function name or ARN


def parse(revision: dict) -> LambdaAppSpec:
    kind = (revision or {}).get("revisionType")
    if kind == "AppSpecContent":
        content = (revision.get("appSpecContent") or {}).get("content")
    elif kind == "String":
        content = (revision.get("string") or {}).get("content")
    else:
        raise Invalid(f"The revision type {kind} is not supported for an AWS Lambda deployment on the local cloud.")
    try:
        document = yaml.safe_load(content or "")
    except yaml.YAMLError as error:
        raise Invalid(f"The AppSpec file cannot be parsed: {error}") from None
    if not isinstance(document, dict):
        raise Invalid("The AppSpec file cannot be parsed: it is not a mapping.")
    functions = [
        properties
        for resource in document.get("Resources") or []
        for spec in (resource or {}).values()
        if isinstance(spec, dict) and spec.get("Type") == "AWS::Lambda::Function"
        for properties in [spec.get("Properties") or {}]
    ]
    if len(functions) != 1:
        raise Invalid("The AppSpec file must name exactly one AWS::Lambda::Function resource.")
    properties = functions[0]
    missing = [key for key in ("Name", "Alias", "CurrentVersion", "TargetVersion") if not properties.get(key)]
    if missing:
        raise Invalid(f"The AppSpec file's function is missing {', '.join(missing)}.")
    hooks = {}
    for entry in document.get("Hooks") or []:
        for event, function in (entry or {}).items():
            if event not in HOOK_EVENTS:
                raise Invalid(f"The AppSpec file names an unknown lifecycle event {event}.")
            hooks[event] = str(function)
    return LambdaAppSpec(
        str(properties["Name"]),
        str(properties["Alias"]),
        str(properties["CurrentVersion"]),
        str(properties["TargetVersion"]),
        hooks,
    )
