"""The first cell of every notebook: `from labkit import course; env = course.start()`.

Starts or attaches to the local cloud (or connects to a real account, behind guard rails) and sets
this kernel's environment so that plain boto3 and child processes reach the chosen target.
"""

import getpass
import hashlib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from labkit import config
from labkit.errors import LabkitError

TARGETS = ("local", "aws")
# The learner's own values of the variables the local target replaces or removes, given back on the aws target.
_saved_env: dict[str, str] = {}
_set_for_local: dict[str, str] = {}
_current: "Environment | None" = None


@dataclass(frozen=True)
class Environment:
    """Where this notebook deploys, and the names and tags labkit's helpers give resources."""

    target: str
    region: str
    account_id: str
    endpoint: str | None
    owner: str
    lab: str | None

    @property
    def prefix(self) -> str:
        # A shared real account may hold several learners' copies of a lab; locally there is one.
        return f"lk-{self.owner}-" if self.target == "aws" else ""

    @property
    def minute_s(self) -> float:
        """Real seconds in one minute of AWS's clock where this kernel's AWS calls go: 60 on AWS, 1 on the
        local cloud, whose alarms, periods and cooldowns run sixty times faster. A wait written in AWS
        minutes (`5 * env.minute_s`) is right on both."""
        endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        host = endpoint.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
        return 60.0 if not endpoint or host.endswith(".amazonaws.com") else 60.0 / config.LOCAL_CLOCK_SPEEDUP

    def name(self, base: str) -> str:
        """The name to give a resource: `env.name("catalog")`."""
        return self.prefix + base

    def bucket_name(self, base: str) -> str:
        """S3 bucket names are global across all accounts: the account id makes this one yours."""
        return f"{self.name(base)}-{self.account_id}"

    def work_dir(self, name: str):
        """A folder for files the learner writes (a handler to zip, a config), under the local cloud's
        state folder: outside the notebooks' folders and git, private to this learner's course."""
        folder = config.state_dir() / "work" / (self.lab or "course") / name
        folder.mkdir(parents=True, exist_ok=True)
        return _relative_if_in_course(folder)

    @property
    def tags(self) -> dict[str, str]:
        """The tags every course resource carries; teardown finds resources by them."""
        tags = {config.COURSE_TAG_KEY: config.COURSE_TAG, config.OWNER_TAG_KEY: self.owner}
        if self.lab:
            tags[config.LAB_TAG_KEY] = self.lab
        return tags

    def log_group(self, name: str, retention_days: int = 7) -> str:
        """Make the CloudWatch Logs group `name` with the course's tags, or tag the one already there
        (Lambda makes /aws/lambda/NAME itself, untagged, on a function's first invocation; teardown
        finds only what is tagged), and keep its events `retention_days` days: logs kept forever cost
        money forever. Returns the name."""
        import boto3

        logs = boto3.client("logs")
        try:
            logs.create_log_group(logGroupName=name, tags=self.tags)
        except logs.exceptions.ResourceAlreadyExistsException:
            logs.tag_resource(
                resourceArn=f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{name}", tags=self.tags
            )
        logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        return name

    def tag_list(self, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        """The tags as the list most APIs take: Key/Value (IAM, SNS), key/value (ECS),
        TagKey/TagValue (KMS)."""
        return [{key: k, value: v} for k, v in self.tags.items()]

    def __str__(self) -> str:
        if self.target == "local":
            return f"target local: the local cloud at {self.endpoint}, region {self.region}"
        return f"target aws: account {self.account_id}, region {self.region}, names prefixed {self.prefix}"


def start(
    target: str | None = None, lab: str | None = None, confirm: str | None = None, quiet: bool = False
) -> Environment:
    """Start or attach to the chosen target and point this kernel (and its children) at it."""
    _show_labkit_errors_without_traceback()
    target = (target or os.environ.get("LABKIT_TARGET") or "local").strip().lower()
    if target not in TARGETS:
        raise LabkitError(f"target {target!r} is not one of {', '.join(TARGETS)}.")
    global _current
    if target == "local":
        environment = _start_local(lab)
    else:
        environment = _start_aws(lab, confirm)
    _current = environment
    if not quiet:
        print(environment)
    return environment


def current() -> "Environment | None":
    """The environment the last start() in this process chose, if any."""
    return _current


# Names are lk-<owner>-<name>: with 16, the prefix takes 20 of the 32 characters AWS allows some names
# (a load balancer's, a target group's).
OWNER_MAX_LENGTH = 16


def owner() -> str:
    """Who owns what this learner creates: LABKIT_OWNER, else the JupyterHub user (on a hub every learner's
    OS user is often the same, jovyan), else the OS user."""
    raw = os.environ.get("LABKIT_OWNER") or os.environ.get("JUPYTERHUB_USER") or getpass.getuser() or "learner"
    cleaned = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-") or "learner"
    if len(cleaned) <= OWNER_MAX_LENGTH:
        return cleaned
    # Cut short, names would collide (workshop-learner-01 and -02): in a shared account, one learner's
    # teardown would delete another's. A digest of the whole name keeps them apart.
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:5]
    return f"{cleaned[: OWNER_MAX_LENGTH - 6].rstrip('-')}-{digest}"


def _start_local(lab: str | None) -> Environment:
    from labkit.localcloud import control

    info, _ = control.up()
    wanted = {
        "AWS_ENDPOINT_URL": info["endpoint"],
        # moto answers on an IP address: no "data-" or account-id host prefixes.
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
        "AWS_DEFAULT_REGION": info["region"],
        "AWS_REGION": info["region"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        # An action moto lacks answers HTML 500; retrying it only makes the error slow.
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_RETRY_MODE": "standard",
    }
    if config.trusted_cas_file().is_file():  # made by the local cloud at start-up; a cloud older than it has none
        # The public CAs and the local cloud's (its TLS caches): ssl=True suffices, as on AWS.
        wanted["SSL_CERT_FILE"] = str(config.trusted_cas_file())
    removed = ("AWS_PROFILE", "AWS_SESSION_TOKEN")  # a real profile must not leak into local
    if not _set_for_local:  # not on the local target yet, so what is set is the learner's own
        _saved_env.update({name: os.environ[name] for name in (*wanted, *removed) if name in os.environ})
    for name in removed:
        os.environ.pop(name, None)
    _set_for_local.clear()
    _set_for_local.update(wanted)
    os.environ.update(_set_for_local)
    _forget_default_boto3_session()
    return Environment(
        target="local",
        region=info["region"],
        account_id=config.LOCAL_ACCOUNT_ID,
        endpoint=info["endpoint"],
        owner=owner(),
        lab=lab,
    )


def _start_aws(lab: str | None, confirm: str | None) -> Environment:
    from labkit import awsguard

    for name, value in _set_for_local.items():
        if os.environ.get(name) == value:
            del os.environ[name]
    _set_for_local.clear()
    for name, value in _saved_env.items():
        os.environ.setdefault(name, value)
    _saved_env.clear()
    _forget_default_boto3_session()
    account = awsguard.connect(confirm)
    os.environ["AWS_DEFAULT_REGION"] = account["region"]
    return Environment(
        target="aws",
        region=account["region"],
        account_id=account["account_id"],
        endpoint=os.environ.get("AWS_ENDPOINT_URL"),
        owner=owner(),
        lab=lab,
    )


def _forget_default_boto3_session() -> None:
    """boto3's default session caches region and credentials from before start()."""
    try:
        import boto3
    except ImportError:
        return
    boto3.DEFAULT_SESSION = None


def _show_labkit_errors_without_traceback() -> None:
    """In a notebook, a LabkitError shows its message alone, and a lab's unwritten TODO says so
    plainly instead of a traceback."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return

    def show(shell, etype, value, tb, tb_offset=None):
        if isinstance(value, NotImplementedError) and not str(value).startswith("TODO"):
            shell.showtraceback((etype, value, tb), tb_offset=tb_offset)
            return
        prefix = "labkit" if isinstance(value, LabkitError) else "not done yet"
        print(f"{prefix}: {value}", file=sys.stderr)

    shell.set_custom_exc((LabkitError, NotImplementedError), show)


def _relative_if_in_course(folder: Path) -> Path:
    """The folder relative to the current one when both are in the course folder (the default state folder,
    a notebook's kernel): what a notebook prints of it, "Writing ../.labkit/work/02/catalog/handler.py", is
    then the same on every machine. Elsewhere (LABKIT_STATE_DIR outside the course), the absolute path."""
    root = config.COURSE_ROOT.resolve()
    here = Path.cwd().resolve()
    if folder.resolve().is_relative_to(root) and here.is_relative_to(root):
        return Path(os.path.relpath(folder, here))
    return folder
