"""Where the course lives and how the local cloud is reached: the few settings every part shares."""

import os
import re
from pathlib import Path

from labkit.errors import LabkitError

COURSE_ROOT = Path(__file__).resolve().parent.parent
COURSE_TAG = "monolith-to-microservices"
# The tags every course resource carries (course.Environment.tags): the course, its lab, its learner.
# Teardown and the live diagrams find resources by them (labkit.inventory.Selection).
COURSE_TAG_KEY = "labkit:course"
LAB_TAG_KEY = "labkit:lab"
OWNER_TAG_KEY = "labkit:owner"
DEFAULT_PORT = 4747
DEFAULT_REGION = "us-east-1"
# moto's fixed account id; the local target reports it as STS does.
LOCAL_ACCOUNT_ID = "123456789012"
# The local cloud's clock: alarms, metric periods, cooldowns and delays pass this many times faster.
# LABKIT_CLOCK_SPEEDUP changes it for a local cloud started with it set (tests of schedules in hours).
LOCAL_CLOCK_SPEEDUP = float(os.environ.get("LABKIT_CLOCK_SPEEDUP") or 60.0)


def state_dir() -> Path:
    """The folder holding the local cloud's pidfile, logs and the learner's progress."""
    return Path(os.environ.get("LABKIT_STATE_DIR") or COURSE_ROOT / ".labkit")


def trusted_cas_file() -> Path:
    """The CA bundle the local cloud's clients verify TLS with (SSL_CERT_FILE in the kernel, functions and
    tasks): the machine's public CAs and the local cloud's own, as every client on AWS trusts Amazon's."""
    return state_dir() / "trusted-cas.pem"


def port() -> int:
    raw = os.environ.get("LABKIT_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise LabkitError(
            f"LABKIT_PORT={raw!r} is not a port number between 1024 and 65535; "
            f"unset it to use the default {DEFAULT_PORT}."
        )
    return int(raw)


def local_region() -> str:
    region = os.environ.get("LABKIT_REGION", "").strip() or DEFAULT_REGION
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", region):
        raise LabkitError(f"LABKIT_REGION={region!r} is not an AWS region name such as us-east-1.")
    return region


def endpoint(port_number: int | None = None) -> str:
    return f"http://127.0.0.1:{port_number or port()}"
