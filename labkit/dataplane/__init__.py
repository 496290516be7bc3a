"""The local data plane: what makes resources recorded by moto behave as AWS runs them.

One package (or module) per AWS service (lambda_, apigateway, ecs, elb, ...), the way moto keeps one
folder per service, and core/ for what they share. Each service listed in SERVICE_MODULES may define:
  install()        declare its seams into moto (core.seams), before the server takes requests;
  middleware(app)  wrap the WSGI app to serve data-plane HTTP (execute URLs, listeners);
  reset()          forget its runtime state when the local cloud is reset.
README.md beside this file is the contributor guide. The data plane never imports checks, diagrams,
notebooks or the CLI.
"""

import importlib

# iam is last but cloudtrail: its middleware sees every request before the others do; cloudtrail's,
# the outermost, records what iam refuses too.
SERVICE_MODULES: list[str] = [
    "ec2",
    "lambda_",
    "s3",
    "sns",
    "cognito",
    "mail",
    "sqs",
    "acm",
    "elb",
    "ecs",
    "autoscaling",
    "apigateway",
    "eventbridge",
    "kms",
    "secretsmanager",
    "cloudwatch",
    "codedeploy",
    "cloudformation",
    "codebuild",
    "codepipeline",
    "xray",
    "logs",
    "iam",
    "cloudtrail",
]


def _modules():
    return [importlib.import_module(f"labkit.dataplane.{name}") for name in SERVICE_MODULES]


def install(app):
    """Patch moto and wrap `app` with every service's data plane; returns the WSGI app to serve."""
    for module in _modules():
        if hasattr(module, "install"):
            module.install()
        if hasattr(module, "middleware"):
            app = module.middleware(app)
    return app


def reset() -> None:
    for module in _modules():
        if hasattr(module, "reset"):
            module.reset()
