"""API Gateway's data plane: REST APIs and HTTP APIs recorded in moto answer HTTP requests on the
local cloud's port, through their routes, authorizers and integrations (see execute_api.py for the
URLs). Lambda integrations invoke through moto's Lambda backend, where the Lambda data plane runs
the real handler.
"""

from labkit.dataplane.apigateway import deployments, execute_api


def install() -> None:
    execute_api.install()
    deployments.install()


def middleware(app):
    return execute_api.middleware(app)


def reset() -> None:
    deployments.reset()
