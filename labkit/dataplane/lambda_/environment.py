"""The environment variables of a function's process: AWS's, the function's own, and the local
cloud's endpoint, so that boto3 in a handler reaches the same local cloud as the notebook."""

import os
import sys

from labkit import config
from labkit.dataplane import iam


def variables(fn, code_dir: str) -> dict[str, str]:
    """For moto's LambdaFunction fn. The worker adds AWS_LAMBDA_RUNTIME_API and the log stream."""
    # Reserved by AWS: a function's Environment.Variables cannot replace these.
    reserved = {
        "_HANDLER": fn.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{fn.run_time}",
        "AWS_LAMBDA_FUNCTION_NAME": fn.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": str(fn.version),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fn.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": fn.logs_group_name,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": fn.region,
        "AWS_DEFAULT_REGION": fn.region,
        "LAMBDA_TASK_ROOT": code_dir,
        # The execution role's temporary credentials: the local cloud checks the role's policies.
        **iam.credentials(fn.role, fn.function_name),
    }
    defaults = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": code_dir,
        # What course.start() sets for a kernel. The server runs with the LABKIT_PORT it was
        # started with, so config.endpoint() is its own address.
        "AWS_ENDPOINT_URL": config.endpoint(),
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
        # What a client on AWS trusts, and the local cloud's CA (its TLS caches): ssl=True suffices, as on AWS.
        "SSL_CERT_FILE": str(config.trusted_cas_file()),
        # A function on AWS never sees the learner's own ~/.aws profiles.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    own = {name: str(value) for name, value in (fn.environment_vars or {}).items()}
    return {**defaults, **own, **reserved}
