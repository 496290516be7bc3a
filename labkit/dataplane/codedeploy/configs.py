"""Deployment configurations: CodeDeploy's predefined ones ("Deployment configurations on an AWS Lambda
compute platform", CodeDeploy User Guide) and those made with CreateDeploymentConfig, kept per region
beside moto's backend (moto 5.2.5 has no deployment configurations).

A Lambda configuration shifts traffic by its trafficRoutingConfig: TimeBasedCanary moves
canaryPercentage, then the rest after canaryInterval minutes; TimeBasedLinear moves linearPercentage
every linearInterval minutes; AllAtOnce moves everything at once.
"""

import uuid

from moto.core.utils import utcnow

from labkit.dataplane.core import state

PREFIX = "CodeDeployDefault."


def _canary(percent: int, minutes: int) -> dict:
    return {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": percent, "canaryInterval": minutes}}


def _linear(percent: int, minutes: int) -> dict:
    return {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": percent, "linearInterval": minutes}}


LAMBDA_PREDEFINED = {
    f"{PREFIX}LambdaCanary10Percent5Minutes": _canary(10, 5),
    f"{PREFIX}LambdaCanary10Percent10Minutes": _canary(10, 10),
    f"{PREFIX}LambdaCanary10Percent15Minutes": _canary(10, 15),
    f"{PREFIX}LambdaCanary10Percent30Minutes": _canary(10, 30),
    f"{PREFIX}LambdaLinear10PercentEvery1Minute": _linear(10, 1),
    f"{PREFIX}LambdaLinear10PercentEvery2Minutes": _linear(10, 2),
    f"{PREFIX}LambdaLinear10PercentEvery3Minutes": _linear(10, 3),
    f"{PREFIX}LambdaLinear10PercentEvery10Minutes": _linear(10, 10),
    f"{PREFIX}LambdaAllAtOnce": {"type": "AllAtOnce"},
}
SERVER_PREDEFINED = {
    f"{PREFIX}OneAtATime": {"type": "FLEET_PERCENT", "value": 100},
    f"{PREFIX}HalfAtATime": {"type": "FLEET_PERCENT", "value": 50},
    f"{PREFIX}AllAtOnce": {"type": "HOST_COUNT", "value": 0},
}
DEFAULT_LAMBDA = f"{PREFIX}LambdaAllAtOnce"


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _custom(backend) -> dict[str, dict]:
    return state.setdefault(backend, "deployment configs", dict)


def create(backend, name: str, platform: str, routing: dict | None, minimum_healthy: dict | None) -> str:
    if not name:
        raise Refused("DeploymentConfigNameRequiredException", "Deployment config name is required.")
    if name in _custom(backend) or name in LAMBDA_PREDEFINED or name in SERVER_PREDEFINED:
        raise Refused("DeploymentConfigAlreadyExistsException", f"A deployment config named {name} already exists.")
    if platform == "Lambda" and minimum_healthy:
        raise Refused(
            "InvalidMinimumHealthyHostValueException",
            "Minimum healthy hosts is not supported for deployment configs for AWS Lambda.",
        )
    if platform in ("Lambda", "ECS") and not routing:
        raise Refused(
            "InvalidTrafficRoutingConfigurationException",
            "Traffic routing config is required for deployment configs for AWS Lambda and Amazon ECS.",
        )
    config_id = str(uuid.uuid4())
    _custom(backend)[name] = {
        "deploymentConfigId": config_id,
        "deploymentConfigName": name,
        "computePlatform": platform or "Server",
        "createTime": utcnow(),
        **({"trafficRoutingConfig": routing} if routing else {}),
        **({"minimumHealthyHosts": minimum_healthy} if minimum_healthy else {}),
    }
    return config_id


def get(backend, name: str) -> dict:
    if name in LAMBDA_PREDEFINED:
        return {
            "deploymentConfigName": name,
            "computePlatform": "Lambda",
            "trafficRoutingConfig": LAMBDA_PREDEFINED[name],
        }
    if name in SERVER_PREDEFINED:
        return {
            "deploymentConfigName": name,
            "computePlatform": "Server",
            "minimumHealthyHosts": SERVER_PREDEFINED[name],
        }
    found = _custom(backend).get(name)
    if found is None:
        raise Refused("DeploymentConfigDoesNotExistException", f"The deployment config {name} does not exist.")
    return found


def delete(backend, name: str) -> None:
    if name.startswith(PREFIX):
        raise Refused("InvalidOperationException", "The default deployment configurations cannot be deleted.")
    _custom(backend).pop(name, None)


def names(backend) -> list[str]:
    return [*LAMBDA_PREDEFINED, *SERVER_PREDEFINED, *_custom(backend)]


def schedule(routing: dict) -> list[tuple[float, float]]:
    """(percent of traffic on the target version, AWS minutes to wait after) for each shift."""
    kind = routing.get("type")
    if kind == "TimeBasedCanary":
        canary = routing.get("timeBasedCanary") or {}
        return [(float(canary.get("canaryPercentage", 0)), float(canary.get("canaryInterval", 0))), (100.0, 0.0)]
    if kind == "TimeBasedLinear":
        linear = routing.get("timeBasedLinear") or {}
        step, minutes = float(linear.get("linearPercentage", 100) or 100), float(linear.get("linearInterval", 0))
        steps, percent = [], step
        while percent < 100:
            steps.append((percent, minutes))
            percent += step
        return [*steps, (100.0, 0.0)]
    return [(100.0, 0.0)]
