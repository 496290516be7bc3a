"""CodeDeploy on the local cloud: deployments of Lambda functions that really shift an alias's
traffic by their deployment configuration's schedule, run their BeforeAllowTraffic and
AfterAllowTraffic hooks, and are stopped and rolled back by the deployment group's alarms.

- configs.py: the predefined deployment configurations and CreateDeploymentConfig's;
- appspec.py: a Lambda deployment's AppSpec (function, alias, versions, hooks);
- lambda_deployments.py: a deployment run on the local clock;
- moto_patches.py: where this meets moto's CodeDeploy.
ECS services deploy with ECS's own strategies (labkit.dataplane.ecs), not through CodeDeploy here.
"""

import atexit

from labkit.dataplane.core import seams


def install() -> None:
    seams.declare(
        "codedeploy: Lambda deployments shift traffic and roll back",
        "moto.codedeploy.responses",
        "labkit.dataplane.codedeploy.moto_patches:SEAMS",
    )
    atexit.register(reset)


def reset() -> None:
    import sys

    if "labkit.dataplane.codedeploy.lambda_deployments" in sys.modules:
        from labkit.dataplane.codedeploy import lambda_deployments

        lambda_deployments.stop_all()
