"""The course's labs: their order, titles and checks modules (labkit/labs/labNN.py)."""

import importlib

from labkit import config
from labkit.errors import LabkitError

COURSE = (
    ("00", "Start here"),
    ("01", "The monolith"),
    ("02", "Catalog: API Gateway + Lambda + DynamoDB"),
    ("03", "Orders on ECS Fargate behind an ALB"),
    ("04", "Order events: SNS, SQS, Lambda consumers"),
    ("05", "Identity: Cognito and API authorizers"),
    ("06", "Secrets and least privilege"),
    ("07", "Service to service: Service Connect, mTLS"),
    ("08", "Observability: CloudWatch, OpenTelemetry"),
    ("09", "Delivery: CodePipeline, canary, rollback"),
    ("10", "Scale and cache"),
    ("11", "Capstone"),
)


def load(lab_id: str):
    """The lab's `Lab` object, or None when the lab has no checks module yet."""
    try:
        module = importlib.import_module(f"labkit.labs.lab{lab_id}")
    except ModuleNotFoundError as error:
        if error.name == f"labkit.labs.lab{lab_id}":
            return None
        raise
    return module.lab


def require(lab_id: str):
    known = [lab for lab, _ in COURSE]
    lab_id = lab_id.zfill(2)
    if lab_id not in known:
        raise LabkitError(f"there is no lab {lab_id}; the labs are {known[0]} to {known[-1]}.")
    lab = load(lab_id)
    if lab is None:
        raise LabkitError(f"lab {lab_id} has no checks yet.")
    return lab


def has_notebook(lab_id: str) -> bool:
    return any(any((config.COURSE_ROOT / folder).glob(f"{lab_id}_*.ipynb")) for folder in ("notebooks", "solutions"))
