"""Lambda on the local cloud: deployed functions run for real.

Every way moto invokes a function ends in one seam, LambdaFunction._invoke_lambda (moto_patches.py
says where and what else it corrects). There an invocation (invoke.py) runs in an execution
environment (workers.py, kept warm by pool.py, forked from a warm template: template.py): a Python
process running AWS's runtime interface client, awslambdaric, against a Runtime API endpoint of its
own (runtime_api.py), with the function's code unpacked once (code_cache.py) and AWS's environment
variables (environment.py).
START/END/REPORT and the handler's output go to CloudWatch Logs (logs.py) once the invocation has
answered, and before any CloudWatch Logs API call (middleware() below); Event invocations run in
the background with retries (events.py). SQS event source mappings are polled in the background
and SNS delivers asynchronously (event_sources.py). Reserved and account concurrency are enforced
(concurrency.py): over them, Invoke answers 429 and events wait. Only python3.x runtimes run.
"""

import atexit

from labkit.dataplane.core import seams
from labkit.dataplane.lambda_ import concurrency, event_sources, events, invoke, logs, pollers, template


def install() -> None:
    seams.declare("lambda: handlers run", "moto.awslambda.models", "labkit.dataplane.lambda_.moto_patches:SEAMS")
    event_sources.install()
    atexit.register(pollers.stop_all)
    atexit.register(invoke.POOL.stop_all)
    atexit.register(template.stop)


def permits(function_arn: str, on_behalf_of) -> bool:
    """Would the function's resource policy let that service (core.functions.OnBehalfOf) invoke it? False
    for a function that does not exist. S3 asks when a bucket's notifications are configured."""
    from labkit.dataplane.lambda_ import moto_patches

    return moto_patches.permits(function_arn, on_behalf_of)


def route_alias(account: str, region: str, function_name: str, alias: str, version: str, weights: dict) -> None:
    """Point an alias at a version with additional versions by weight (0..1), as UpdateAlias with a
    RoutingConfig does: CodeDeploy shifts a Lambda canary's traffic this way. Raises moto's error for
    a function or alias that does not exist."""
    from moto.awslambda.models import lambda_backends

    found = lambda_backends[account][region].get_alias(alias, function_name)
    found.update(None, version, {"AdditionalVersionWeights": weights} if weights else {})


def alias_routing(account: str, region: str, function_name: str, alias: str) -> tuple[str, dict] | None:
    """The alias's version and its additional versions by weight (RoutingConfig.AdditionalVersionWeights,
    {} for an alias that routes to one version); None for an alias that does not exist."""
    from moto.awslambda.models import lambda_backends

    try:
        found = lambda_backends[account][region].get_alias(alias, function_name)
    except Exception:  # no such function or alias: whoever routes it gets moto's error
        return None
    return str(found.function_version), dict((found.routing_config or {}).get("AdditionalVersionWeights") or {})


def environment_pids() -> list[int]:
    """The process ids of the execution environments running now (idle or invoked)."""
    return list(invoke.POOL.pids())


def network_source(pid: int):
    """Where the execution environment with this pid stands in its VPC: (VPC id, network.Source with an
    address of one of its function's subnets and the function's security groups); None for a pid that is
    no environment, or an environment of a function outside any VPC (it reaches no private address)."""
    from labkit.dataplane.lambda_ import vpc

    family = invoke.POOL.pids().get(pid)
    return None if family is None else vpc.source(*family)


def middleware(app):
    def wsgi(environ, start_response):
        # CloudWatch Logs API calls (JSON protocol, X-Amz-Target Logs_20140328.*) see the log
        # events of every invocation answered before them.
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("Logs_"):
            logs.flush()
        return app(environ, start_response)

    return wsgi


def reset() -> None:
    pollers.stop_all()
    events.forget_queued()
    logs.forget_queued()
    invoke.POOL.stop_all()
    concurrency.reset()
