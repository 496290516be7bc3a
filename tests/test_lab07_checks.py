"""Lab 07's checks against wrong answers: each failure says what was expected and what was found.

The solution notebook runs once for the module (its cells but the cleanup), which deploys the services, the
load balancer's listeners and the trust store; each test then makes one mistake with boto3 (no timeout, a trust
store of another CA, an HTTP listener where HTTPS is required) or in the learner's step 4 code (retries without
a budget), runs the check, and puts the right answer back."""

import random
import threading
import time

import boto3
import nbformat
import pytest
import requests
from solution_runs import solution_kernel
from support import CertificateAuthority
from support.checks import checks_of

from labkit import config, labs

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "07_service_to_service.ipynb"
result, assert_fails_saying_exactly = checks_of("07")
kernel = solution_kernel(SOLUTION, "07")


@pytest.fixture(scope="module")
def deployed(kernel):
    """The partner's client certificate files."""
    return tuple(kernel("print(*client_certificate_files, sep='\\n')").split())


def step_4_code(change=("", "")) -> dict:
    """The solution's step 4 cell (retries, budget, breaker), run in a namespace of its own, with one change."""
    path = config.COURSE_ROOT / "solutions" / SOLUTION
    source = next(c.source for c in nbformat.read(path, as_version=4).cells if c.source.startswith("class CircuitOpen"))
    assert change[0] in source
    namespace = {"random": random, "requests": requests, "threading": threading, "time": time}
    exec(source.replace(*change), namespace)
    return {
        name: namespace[name]
        for name in ("call_with_retries", "RetryBudget", "backoff_delay", "CircuitBreaker", "CircuitOpen")
    }


def primary_service_connect(service: str) -> dict:
    found = boto3.client("ecs").describe_services(cluster="shop", services=[service])["services"][0]
    return next(d for d in found["deployments"] if d["status"] == "PRIMARY")["serviceConnectConfiguration"]


def https_listener() -> dict:
    elbv2 = boto3.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=["shop"])["LoadBalancers"][0]["LoadBalancerArn"]
    return next(x for x in elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"] if x["Port"] == 443)


def test_the_solution_passes_every_check(deployed):
    learner = {**step_4_code(), "client_certificate_files": deployed}
    failing = [(r.id, r.message) for r in labs.require("07").run(**learner) if not r.passed]
    assert failing == []


def test_a_catalog_without_a_timeout_fails_saying_envoys_default_holds_each_request_15_s(deployed):
    ecs = boto3.client("ecs")
    right = primary_service_connect("catalog")
    untimed = {**right, "services": [{k: v for k, v in right["services"][0].items() if k != "timeout"}]}
    ecs.update_service(cluster="shop", service="catalog", serviceConnectConfiguration=untimed)
    try:
        assert_fails_saying_exactly(
            "timeout",
            "expected the catalog's Service Connect perRequestTimeoutSeconds between 1 and 3 s, found none (Envoy's "
            "default, 15 s: a slow task holds each request that long): set catalog_timeout = "
            '{"perRequestTimeoutSeconds": 1} and run the cell again',
        )
    finally:
        ecs.update_service(cluster="shop", service="catalog", serviceConnectConfiguration=right)
    assert result("timeout").passed


def test_retries_without_a_budget_fail_saying_how_many_calls_a_dependency_that_is_down_gets(deployed):
    unbudgeted = step_4_code(("if attempt == attempts or not budget.can_retry():", "if attempt == attempts:"))
    assert_fails_saying_exactly(
        "retries",
        "expected at most 113 calls of send for 100 requests that all fail, sharing one RetryBudget(ratio=0.1, "
        "minimum=3), found 300: retry only while budget.can_retry() says yes, or a dependency that is down gets 3 "
        "times its load",
        **unbudgeted,
    )


def test_a_trust_store_of_another_ca_fails_saying_the_partners_certificate_is_refused_in_the_handshake(
    deployed, tmp_path
):
    elbv2, s3 = boto3.client("elbv2"), boto3.client("s3")
    store = https_listener()["MutualAuthentication"]["TrustStoreArn"]
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("partners-trust"))
    s3.put_object(Bucket=bucket, Key="another-ca.pem", Body=CertificateAuthority("Another CA").pem)
    elbv2.modify_trust_store(
        TrustStoreArn=store, CaCertificatesBundleS3Bucket=bucket, CaCertificatesBundleS3Key="another-ca.pem"
    )
    try:
        assert_fails_saying_exactly(
            "mtls",
            "expected the listener to accept the client certificate your CA signed (bookclub), found it refused "
            "during the handshake (tlsv1 alert unknown ca): the trust store holds another CA. Put "
            "pki.pem(ca_certificate) in the bundle, then modify_trust_store",
            client_certificate_files=deployed,
        )
    finally:
        elbv2.modify_trust_store(
            TrustStoreArn=store, CaCertificatesBundleS3Bucket=bucket, CaCertificatesBundleS3Key="clients-ca.pem"
        )
    assert result("mtls", client_certificate_files=deployed).passed


def test_an_http_listener_where_https_is_required_fails_saying_a_client_certificate_is_never_asked_for(deployed):
    elbv2 = boto3.client("elbv2")
    right = https_listener()
    elbv2.delete_listener(ListenerArn=right["ListenerArn"])
    plain = elbv2.create_listener(
        LoadBalancerArn=right["LoadBalancerArn"], Protocol="HTTP", Port=443, DefaultActions=right["DefaultActions"]
    )["Listeners"][0]["ListenerArn"]
    try:
        assert_fails_saying_exactly(
            "mtls",
            "expected an HTTPS listener on port 443, found HTTP: over HTTP a client's certificate is never asked "
            "for, and every byte crosses the internet in clear. Delete it (elbv2.delete_listener) and create it "
            'with Protocol="HTTPS" and your certificate',
            client_certificate_files=deployed,
        )
    finally:
        elbv2.delete_listener(ListenerArn=plain)
        settings = ("Protocol", "Port", "Certificates", "SslPolicy", "MutualAuthentication", "DefaultActions")
        elbv2.create_listener(LoadBalancerArn=right["LoadBalancerArn"], **{k: right[k] for k in settings})
    assert result("mtls", client_certificate_files=deployed).passed


def test_a_catalog_timeout_of_30_s_fails_saying_it_never_fires_before_the_slow_task_answers(deployed):
    ecs = boto3.client("ecs")
    right = primary_service_connect("catalog")
    entry = {**right["services"][0], "timeout": {"perRequestTimeoutSeconds": 30}}
    ecs.update_service(cluster="shop", service="catalog", serviceConnectConfiguration={**right, "services": [entry]})
    try:
        assert_fails_saying_exactly(
            "timeout",
            "expected the catalog's Service Connect perRequestTimeoutSeconds between 1 and 3 s, found 30 s: the slow "
            "catalog task answers after 2 s, so a longer timeout never fires and each request waits it out: set "
            'catalog_timeout = {"perRequestTimeoutSeconds": 1}',
        )
    finally:
        ecs.update_service(cluster="shop", service="catalog", serviceConnectConfiguration=right)
    assert result("timeout").passed


step_4 = checks_of("07", step=4)


def test_a_breaker_that_never_closes_again_fails_saying_so_rather_than_the_check_could_not_run(cloud):
    stuck_open = step_4_code(
        (
            "if self.opened_at is not None and time.monotonic() - self.opened_at < self.open_s:",
            "if self.opened_at is not None:",
        )
    )
    step_4.assert_fails_saying_exactly(
        "breaker",
        "expected the breaker, 0.3 s after it opened, to let a call through (half-open), found 0 call(s) of send: "
        "it raised CircuitOpen, so once open it never closes again. Refuse only while time.monotonic() - opened_at "
        "< open_s",
        **stuck_open,
    )


def test_a_breaker_whose_success_does_not_reset_its_failures_fails_saying_reset_both(cloud):
    half_closed = step_4_code(
        (
            "else:\n                self.failed_in_a_row, self.opened_at = 0, None",
            "else:\n                self.opened_at = None",
        )
    )
    step_4.assert_fails_saying_exactly(
        "breaker",
        "expected a success after the half-open call to close the breaker (failed_in_a_row 0, opened_at None), "
        "found it refused the next calls after a single failure: reset both when a call succeeds",
        **half_closed,
    )
    assert step_4.result("breaker", **step_4_code()).passed


def test_mutual_tls_in_passthrough_fails_saying_any_client_or_none_gets_through(deployed):
    elbv2 = boto3.client("elbv2")
    right = https_listener()
    elbv2.modify_listener(ListenerArn=right["ListenerArn"], MutualAuthentication={"Mode": "passthrough"})
    try:
        assert_fails_saying_exactly(
            "mtls",
            "expected mutual TLS in verify mode (MutualAuthentication Mode verify, with your trust store), found "
            "passthrough: in passthrough the load balancer accepts any client certificate, or none, and only passes "
            'it on to checkout in X-Amzn-Mtls-Clientcert headers. Set MutualAuthentication={"Mode": "verify", '
            '"TrustStoreArn": trust_store_arn}',
            client_certificate_files=deployed,
        )
    finally:
        elbv2.modify_listener(ListenerArn=right["ListenerArn"], MutualAuthentication=right["MutualAuthentication"])
    assert result("mtls", client_certificate_files=deployed).passed


def given_code(starts: str, after: str = "") -> str:
    """The solution's code cell that starts with `starts`, from the line starting with `after` on, run so that
    a LabkitError prints its message alone (as the notebook shows it)."""
    path = config.COURSE_ROOT / "solutions" / SOLUTION
    source = next(c.source for c in nbformat.read(path, as_version=4).cells if c.source.startswith(starts))
    if after:
        source = source[source.index("\n" + after) + 1 :]
    body = "".join("    " + line + "\n" for line in source.splitlines())
    return f"try:\n{body}except LabkitError as error:\n    print(error)\n"


def test_step_2s_given_code_before_checkout_answers_says_to_run_step_1_rather_than_a_json_traceback(kernel):
    printed = kernel(
        "right_url, shop_url = shop_url, shop_url + '/nothing-here'\n"
        "try:\n    catalog_tasks()\nexcept LabkitError as error:\n    print(error)\n"
        "finally:\n    shop_url = right_url\n"
    )
    assert printed.strip() == (
        "checkout answered GET /catalog/whoami with 404: run step 1 first (it deploys the catalog and checkout)"
    )


def test_step_5s_given_code_with_the_partner_refused_says_so_rather_than_an_ssl_traceback(kernel):
    elbv2, s3 = boto3.client("elbv2"), boto3.client("s3")
    store = https_listener()["MutualAuthentication"]["TrustStoreArn"]
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if b["Name"].startswith("partners-trust"))
    s3.put_object(Bucket=bucket, Key="another-ca.pem", Body=CertificateAuthority("Another CA").pem)
    elbv2.modify_trust_store(
        TrustStoreArn=store, CaCertificatesBundleS3Bucket=bucket, CaCertificatesBundleS3Key="another-ca.pem"
    )
    try:
        printed = kernel(given_code("acm, s3 =", "secure_url = "))
    finally:
        elbv2.modify_trust_store(
            TrustStoreArn=store, CaCertificatesBundleS3Bucket=bucket, CaCertificatesBundleS3Key="clients-ca.pem"
        )
    assert printed.strip() == (
        "the partner bookclub's TLS handshake failed (tlsv1 alert unknown ca): the trust store's bundle must be your "
        "CA's certificate, pki.pem(ca_certificate), and the listener's certificate the one your CA issued, "
        "server_certificate"
    )


def test_step_5s_given_code_with_an_http_listener_on_443_says_to_create_an_https_one_rather_than_a_key_error(
    kernel, deployed
):
    elbv2 = boto3.client("elbv2")
    right = https_listener()
    elbv2.delete_listener(ListenerArn=right["ListenerArn"])
    plain = elbv2.create_listener(
        LoadBalancerArn=right["LoadBalancerArn"], Protocol="HTTP", Port=443, DefaultActions=right["DefaultActions"]
    )["Listeners"][0]["ListenerArn"]
    try:
        printed = kernel(given_code("acm, s3 =", "secure_url = "))
    finally:
        elbv2.delete_listener(ListenerArn=plain)
        settings = ("Protocol", "Port", "Certificates", "SslPolicy", "MutualAuthentication", "DefaultActions")
        elbv2.create_listener(LoadBalancerArn=right["LoadBalancerArn"], **{k: right[k] for k in settings})
    assert printed.strip() == (
        'there is no HTTPS listener on port 443: create it with Protocol="HTTPS" and your certificate'
    )
    assert result("mtls", client_certificate_files=deployed).passed
