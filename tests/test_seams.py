"""The seam registry: every change the data plane makes to moto is declared, verified and applied once,
and one that no longer fits moto is reported by name in /_labkit/health and `labkit status`."""

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest
from private_cloud import pointed_at_a_private_cloud

from labkit import config
from labkit.dataplane.core import seams

# One set per way the data plane changes moto; a service that adds one adds its name here.
EXPECTED_SETS = {
    "lambda: handlers run",
    "lambda: SQS pollers",
    "lambda: DynamoDB stream pollers",
    "sns: deliveries as AWS makes them",
    "sns: a subscription is not changed by subscribing again",
    "eventbridge: Lambda targets",
    "kms: a disabled or deleting key refuses",
    "secretsmanager: rotation runs the function step by step",
    "elb: listeners serve, targets are health checked",
    "elb: HTTPS listeners serve TLS, trust stores and mutual TLS",
    "acm: private certificates are issued by their private CA",
    "ecs: task status is the process's",
    "ecs: services and tasks run",
    "autoscaling: target tracking scales ECS services",
    "apigateway: deployments snapshot the API",
    "cognito: tokens signed and timed as AWS does",
    "cognito: confirmation codes are sent",
    "cognito: UpdateUserPool keeps what cannot change",
    "cognito: confirmation codes are checked",
    "cognito: resource servers can be updated",
    "cognito: users migrate on sign-in",
    "s3: notifications invoke functions as S3 does",
    "sqs: a receive reads the retention period, not every attribute",
    "cloudwatch: alarms change state and act",
    "cloudwatch: SQS publishes its metrics",
    "cloudwatch: metrics read as AWS reads them",
    "cloudwatch: metric filters make metrics",
    "cloudwatch: metric widgets are drawn",
    "cloudwatch: dashboards validated as CloudWatch validates them",
    "sqs: a sender's trace header becomes AWSTraceHeader",
    "xray: OTLP traces are read through the X-Ray APIs",
    "elasticache: caches are real servers",
    "logs: Logs Insights queries run as Insights does",
    "cloudtrail: LookupEvents answers the management events served",
    "codedeploy: Lambda deployments shift traffic and roll back",
    "cloudformation: a resource it cannot make fails the stack",
    "codebuild: builds run their buildspec",
    "codepipeline: executions run their stages and actions",
}


def _data_plane_once_verified(endpoint: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(f"{endpoint}/_labkit/health", timeout=5) as response:
            found = json.load(response)["data_plane"]
        if found["status"] != "verifying" or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_every_declared_seam_fits_moto_and_is_applied_in_the_local_cloud(cloud):
    found = _data_plane_once_verified(cloud.endpoint)
    assert found["failed"] == []
    assert found["status"] == "ok"
    assert set(found["seams"]) == EXPECTED_SETS
    for name, seam_set in found["seams"].items():
        assert seam_set["status"] == "applied", name
        assert seam_set["where"], f"{name} declares no seam"
        assert all(where.startswith("moto.") for where in seam_set["where"]), name


def test_a_seam_that_no_longer_fits_moto_is_reported_degraded_by_name(tmp_path):
    # moto "upgraded" under the local cloud: its process starts with a Lambda seam of another shape.
    (tmp_path / "moved").mkdir()
    (tmp_path / "moved" / "sitecustomize.py").write_text(
        textwrap.dedent("""
            from moto.awslambda.models import LambdaFunction

            def _invoke_lambda(self, event, context):
                raise AssertionError("the data plane ran over a seam that had moved")

            LambdaFunction._invoke_lambda = _invoke_lambda
        """)
    )
    with pointed_at_a_private_cloud(tmp_path / "state"):
        os.environ["PYTHONPATH"] = str(tmp_path / "moved")
        cli = [sys.executable, "-m", "labkit.cli"]
        subprocess.run([*cli, "up"], check=True, capture_output=True, cwd=config.COURSE_ROOT)
        found = _data_plane_once_verified(config.endpoint())
        status = subprocess.run([*cli, "status"], capture_output=True, text=True, cwd=config.COURSE_ROOT)
    assert found["status"] == "degraded"
    assert found["failed"] == [
        {
            "seam": "lambda: handlers run",
            "problem": "moto.awslambda.models.LambdaFunction._invoke_lambda takes (self, event, context), "
            "not (self, event)",
        }
    ]
    assert found["seams"]["lambda: SQS pollers"]["status"] == "applied"  # the others still apply
    assert status.returncode == 0
    assert (
        "degraded: lambda: handlers run is not applied, because moto changed: "
        "moto.awslambda.models.LambdaFunction._invoke_lambda takes (self, event, context), not (self, event)"
    ) in status.stdout


@pytest.fixture
def fake_moto_module(tmp_path, monkeypatch):
    """A module standing in for one of moto's, not imported yet."""
    (tmp_path / "fake_moto_models.py").write_text(
        textwrap.dedent("""
            class Backend:
                def invoke(self, name, payload):
                    return "moto's answer"

                def describe(self, name):
                    return self.invoke(name, None)
        """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "fake_moto_models"
    sys.modules.pop("fake_moto_models", None)


def _declare(name: str, module: str, seam_list, monkeypatch) -> seams.SeamSet:
    """Declared for the test only: the registry forgets the set afterwards."""
    monkeypatch.setattr(sys.modules[__name__], "SEAMS_UNDER_TEST", tuple(seam_list), raising=False)
    monkeypatch.setitem(seams._sets, name, None)  # remembered as absent, so removed after the test
    del seams._sets[name]
    return seams.declare(name, module, f"{__name__}:SEAMS_UNDER_TEST")


def test_a_set_waits_for_its_module_then_applies_every_seam_once(fake_moto_module, monkeypatch):
    calls = []

    def wrapping(original):
        calls.append("wrapped")
        return lambda self, name, payload: f"labkit's answer, not {original(self, name, payload)}"

    seam_list = [
        seams.Seam(f"{fake_moto_module}.Backend.invoke", ("self", "name", "payload"), replace=wrapping),
        seams.Seam(f"{fake_moto_module}.Backend.describe", ("self", "name"), contains="self.invoke("),
    ]
    seam_set = _declare("test: waits for its module", fake_moto_module, seam_list, monkeypatch)
    assert seam_set.status == seams.PENDING and fake_moto_module not in sys.modules
    import fake_moto_models

    assert seam_set.status == seams.APPLIED
    assert fake_moto_models.Backend().describe("x") == "labkit's answer, not moto's answer"
    seam_set.apply()
    assert calls == ["wrapped"]


def test_a_set_with_one_moved_seam_applies_none_of_them(fake_moto_module, monkeypatch):
    seam_list = [
        seams.Seam(f"{fake_moto_module}.Backend.invoke", ("self", "name", "payload"), replace=lambda _: None),
        seams.Seam(f"{fake_moto_module}.Backend.describe", ("self", "name"), contains="self.invoke_now("),
    ]
    seam_set = _declare("test: one moved", fake_moto_module, seam_list, monkeypatch)
    import fake_moto_models

    assert seam_set.status == seams.FAILED
    assert seam_set.problem == f"{fake_moto_module}.Backend.describe no longer contains 'self.invoke_now('"
    assert fake_moto_models.Backend().invoke("x", None) == "moto's answer"


def test_a_seam_that_is_gone_is_named(fake_moto_module, monkeypatch):
    seam_list = [seams.Seam(f"{fake_moto_module}.Backend.publish", ("self",), replace=lambda _: None)]
    seam_set = _declare("test: gone", fake_moto_module, seam_list, monkeypatch)
    import fake_moto_models  # noqa: F401

    assert seam_set.problem == f"{fake_moto_module}.Backend.publish is gone"
