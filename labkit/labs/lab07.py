"""Lab 07 · service to service: checkout calls the catalog through ECS Service Connect, with a timeout and one
retry; checkout v2 takes a weighted share of the load balancer's traffic; the learner's client retries with
jitter and a budget, and a circuit breaker; an HTTPS listener refuses, in the TLS handshake, a client whose
certificate the learner's CA did not sign.

The checks read ECS and ELB with boto3, call the load balancer over HTTP and TLS, and call the learner's
functions with `send` functions of their own."""

import tempfile
import time
import warnings
from pathlib import Path

import requests
import urllib3

from labkit import handshake, pki, urls
from labkit.awsapi import pages
from labkit.checks import Lab
from labkit.checks import learner as learner_code

lab = Lab("07", "Service to service: Service Connect, mTLS")

CLUSTER, NAMESPACE, BALANCER = "shop", "shop", "shop"
CATALOG, CHECKOUT_V1, CHECKOUT_V2 = "catalog", "checkout-v1", "checkout-v2"
ALIAS, PORT = "catalog", 8080
TIMEOUT_RANGE_S = (1, 3)  # longer than the catalog's normal answer, well under checkout's 10 s
V2_WEIGHT_PERCENT = (1, 25)
WEIGHT_SAMPLE = 100  # at 10 %, all 100 miss v2 once in 37,000 runs
BUDGET_REQUESTS, BUDGET_RATIO, BUDGET_MINIMUM = 100, 0.1, 3


def _service(ctx, name: str, fix: str) -> dict:
    ecs = ctx.client("ecs")
    found = [
        s
        for s in ecs.describe_services(cluster=ctx.env.name(CLUSTER), services=[name])["services"]
        if s["status"] == "ACTIVE"
    ]
    if not found:
        ctx.missing(f"ECS service {name!r} in the cluster {ctx.env.name(CLUSTER)}", fix)
    return found[0]


def _service_connect(service: dict) -> dict:
    """The Service Connect configuration of the service's primary deployment (AWS shows it there)."""
    primary = [d for d in service.get("deployments") or [] if d.get("status") == "PRIMARY"]
    return (primary[0].get("serviceConnectConfiguration") if primary else None) or {}


def _in_the_namespace(ctx, configuration: dict, service: str) -> None:
    configuration = configuration or {}
    namespace = configuration.get("namespace") or ""
    ctx.expect(
        configuration.get("enabled") and namespace.rsplit("/", 1)[-1] in (ctx.env.name(NAMESPACE), _namespace_id(ctx)),
        f"expected {service} to be in Service Connect's namespace {ctx.env.name(NAMESPACE)} (enabled True), found "
        f"enabled {configuration.get('enabled')}, namespace {namespace or None}",
    )


def _namespace_id(ctx) -> str | None:
    namespaces = pages(ctx.client("servicediscovery"), "list_namespaces", "Namespaces")
    return next((n["Id"] for n in namespaces if n["Name"] == ctx.env.name(NAMESPACE)), None)


def _catalog_entry(ctx) -> dict:
    catalog = _service(ctx, CATALOG, "run step 1")
    configuration = _service_connect(catalog)
    _in_the_namespace(ctx, configuration, "the catalog")
    entries = configuration.get("services") or []
    aliases = [(a.get("dnsName"), a.get("port")) for e in entries for a in e.get("clientAliases") or []]
    ctx.expect(
        (ALIAS, PORT) in aliases,
        f"expected the catalog to offer the client alias {ALIAS}:{PORT}, found "
        f"{', '.join(f'{host}:{port}' for host, port in aliases) or 'none'}: catalog_service_connect needs a "
        'service entry {"portName": "web", "discoveryName": "catalog", "clientAliases": [{"port": 8080, '
        '"dnsName": "catalog"}]}',
    )
    return next(e for e in entries if (ALIAS, PORT) in [(a.get("dnsName"), a.get("port")) for a in e["clientAliases"]])


def _price(ctx, url: str, book: str = "1") -> requests.Response:
    return ctx.get(url + "/price", params={"book": book})


@lab.check(
    "service-connect",
    "Checkout reaches the catalog by its Service Connect alias catalog:8080",
    step=1,
    hints=[
        'The catalog offers: {"enabled": True, "namespace": namespace_name, "services": [{"portName": "web", '
        '"discoveryName": "catalog", "clientAliases": [{"port": 8080, "dnsName": "catalog"}]}]}',
        'Checkout only calls: checkout_service_connect = {"enabled": True, "namespace": namespace_name}; a '
        'timeout, when given, goes in the entry: entry["timeout"] = timeout.',
    ],
)
def service_connect(ctx):
    _catalog_entry(ctx)
    checkout = _service(ctx, CHECKOUT_V1, "run step 1")
    _in_the_namespace(ctx, _service_connect(checkout), "checkout v1")
    url = ctx.load_balancer_url(ctx.env.name(BALANCER), fix="run the cell before step 1")
    answer = _price(ctx, url)
    ctx.expect(
        answer.status_code == 200,
        f"expected GET /price?book=1 through the load balancer to answer 200, found {answer.status_code} "
        f"{answer.text[:200]}",
    )


@lab.check(
    "timeout",
    "The catalog has a per-request timeout, and checkout retries a failed call once",
    step=2,
    hints=[
        "A Service Connect timeout goes in the catalog's service entry: "
        'catalog_timeout = {"perRequestTimeoutSeconds": 1}.',
        "checkout_retries = 1: the given code puts it in checkout's task definition as CATALOG_RETRIES.",
    ],
)
def timeout(ctx):
    entry = _catalog_entry(ctx)
    seconds = (entry.get("timeout") or {}).get("perRequestTimeoutSeconds")
    low, high = TIMEOUT_RANGE_S
    ctx.expect(
        seconds is not None and low <= seconds <= high,
        f"expected the catalog's Service Connect perRequestTimeoutSeconds between {low} and {high} s, found "
        + (
            "none (Envoy's default, 15 s: a slow task holds each request that long): "
            'set catalog_timeout = {"perRequestTimeoutSeconds": 1} and run the cell again'
            if seconds is None
            else f"{seconds} s: "
            + (
                "the slow catalog task answers after 2 s, so a longer timeout never fires and each request waits "
                'it out: set catalog_timeout = {"perRequestTimeoutSeconds": 1}'
                if seconds > high
                else "shorter than the catalog's normal answer would fail healthy calls too: whole seconds, 1 at least"
            )
        ),
    )
    checkout = _service(ctx, CHECKOUT_V1, "run step 1")
    definition = ctx.client("ecs").describe_task_definition(taskDefinition=checkout["taskDefinition"])["taskDefinition"]
    environment = {e["name"]: e["value"] for c in definition["containerDefinitions"] for e in c.get("environment", [])}
    retries = environment.get("CATALOG_RETRIES")
    ctx.expect(
        retries == "1",
        f"expected checkout to retry a failed catalog call once (CATALOG_RETRIES 1), found {retries}: "
        + ("with no retry, a timed-out call is a failed request" if retries in (None, "0") else "one retry is enough"),
    )


@lab.check(
    "weights",
    "The HTTP listener sends 90 % of checkout's traffic to v1 and 10 % to v2",
    step=3,
    hints=[
        'modify_listener(ListenerArn=http_listener_arn, DefaultActions=[{"Type": "forward", "ForwardConfig": '
        '{"TargetGroups": [...]}}])',
        '"TargetGroups": [{"TargetGroupArn": checkout_v1_group, "Weight": 90}, {"TargetGroupArn": '
        'checkout_v2_group, "Weight": 10}]',
    ],
)
def weights(ctx):
    elbv2 = ctx.client("elbv2")
    with ctx.not_done_if_missing(f"load balancer {ctx.env.name(BALANCER)!r}", "run the cell before step 1"):
        balancer = elbv2.describe_load_balancers(Names=[ctx.env.name(BALANCER)])["LoadBalancers"][0]
    listener = _listener(ctx, balancer["LoadBalancerArn"], 80, "run the cell before step 1")
    groups = {g["TargetGroupArn"]: g["TargetGroupName"] for g in pages(elbv2, "describe_target_groups", "TargetGroups")}
    action = listener["DefaultActions"][0]
    weighted = {
        groups.get(g["TargetGroupArn"], g["TargetGroupArn"]): g.get("Weight", 1)
        for g in (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    } or {groups.get(action.get("TargetGroupArn"), action.get("TargetGroupArn")): 1}
    v1, v2 = ctx.env.name(CHECKOUT_V1), ctx.env.name(CHECKOUT_V2)
    if set(weighted) == {v1}:
        ctx.not_done(f"the port 80 listener still forwards everything to {v1}: give it a weighted forward in step 3")
    total = sum(weighted.values()) or 1
    share = 100 * weighted.get(v2, 0) / total
    low, high = V2_WEIGHT_PERCENT
    ctx.expect(
        set(weighted) == {v1, v2} and low <= share <= high,
        f"expected the port 80 listener to forward to {v1} and {v2}, {v2} with {low} to {high} % of the weight, "
        f"found {', '.join(f'{name} weight {w}' for name, w in weighted.items())}",
    )
    url = ctx.load_balancer_url(ctx.env.name(BALANCER))
    versions = {_price(ctx, url).json().get("version") for _ in range(WEIGHT_SAMPLE)}
    ctx.expect(
        versions == {"1", "2"},
        f"expected both checkout versions to answer {WEIGHT_SAMPLE} requests, found only version {sorted(versions)}: "
        "is checkout v2 running and healthy in its target group?",
    )


def _listener(ctx, balancer_arn: str, port: int, fix: str) -> dict:
    listeners = pages(ctx.client("elbv2"), "describe_listeners", "Listeners", LoadBalancerArn=balancer_arn)
    found = [listener for listener in listeners if listener["Port"] == port]
    if not found:
        ctx.missing(f"listener on port {port} of the load balancer {ctx.env.name(BALANCER)}", fix)
    return found[0]


class _Failure:
    """A `send` of the check's own: answers 503 `failures` times, then 200; counts its calls."""

    def __init__(self, failures: int):
        self.failures, self.calls = failures, 0

    def __call__(self) -> requests.Response:
        self.calls += 1
        response = requests.Response()
        response.status_code = 503 if self.calls <= self.failures else 200
        return response


@lab.check(
    "retries",
    "call_with_retries retries with jittered backoff, within the retry budget",
    step=4,
    hints=[
        "backoff_delay: random.uniform(0, min(cap_s, base_s * 2 ** attempt)). can_retry: refuse when "
        "self.retries + 1 > self.requests * self.ratio + self.minimum, else count the retry and say yes.",
        "In call_with_retries: for each attempt, call send(); return an answer under 500; otherwise stop when it "
        "was the last attempt or budget.can_retry() is False, else time.sleep(backoff_delay(...)) and go on.",
    ],
)
def retries(ctx):
    backoff_delay = ctx.learner_function("backoff_delay")
    delays = [backoff_delay(3, 0.1, 10.0) for _ in range(20)]
    ctx.expect(
        all(isinstance(d, int | float) and 0 <= d <= 0.8 for d in delays) and len(set(delays)) > 1,
        "expected backoff_delay(3, 0.1, 10.0) to be a random wait between 0 and 0.8 s (base 0.1 × 2³), found "
        f"{sorted(set(delays))[:5]}: jitter means a different wait each time",
    )
    capped = max(backoff_delay(10, 0.1, 0.5) for _ in range(20))
    ctx.expect(capped <= 0.5, f"expected backoff_delay to wait at most cap_s (0.5 s), found {capped:.2f} s")
    call_with_retries, budget_class = ctx.learner_function("call_with_retries"), ctx.learner_value("RetryBudget")
    flaky = _Failure(failures=1)
    answer = call_with_retries(flaky, budget_class(BUDGET_RATIO, BUDGET_MINIMUM), attempts=3, base_s=0.001)
    ctx.expect(
        getattr(answer, "status_code", None) == 200 and flaky.calls == 2,
        "expected a send that fails once to be called twice and its 200 returned, found "
        f"{flaky.calls} call(s), returning {getattr(answer, 'status_code', answer)}",
    )
    down = _Failure(failures=10**6)
    budget = budget_class(BUDGET_RATIO, BUDGET_MINIMUM)
    for _ in range(BUDGET_REQUESTS):
        call_with_retries(down, budget, attempts=3, base_s=0.0001, cap_s=0.001)
    most = BUDGET_REQUESTS + int(BUDGET_REQUESTS * BUDGET_RATIO) + BUDGET_MINIMUM
    ctx.expect(
        down.calls <= most,
        f"expected at most {most} calls of send for {BUDGET_REQUESTS} requests that all fail, sharing one "
        f"RetryBudget(ratio={BUDGET_RATIO}, minimum={BUDGET_MINIMUM}), found {down.calls}: retry only while "
        "budget.can_retry() says yes, or a dependency that is down gets 3 times its load",
    )
    ctx.expect(
        down.calls > BUDGET_REQUESTS,
        f"expected some retries within the budget ({most - BUDGET_REQUESTS} at most), found none",
    )


@lab.check(
    "breaker",
    "The circuit breaker opens after its failures in a row, refuses without calling, then tries again",
    step=4,
    hints=[
        "Keep failed_in_a_row and opened_at: while time.monotonic() - opened_at < open_s, raise CircuitOpen "
        "without calling send.",
        "After open_s, let a call through: a success resets failed_in_a_row and opened_at to 0 and None; a "
        "failure sets opened_at again.",
    ],
)
def breaker(ctx):
    breaker_class, circuit_open = ctx.learner_value("CircuitBreaker"), ctx.learner_value("CircuitOpen")
    down = _Failure(failures=10**6)
    breaker = breaker_class(failures=3, open_s=0.3)
    refused = 0
    for _ in range(10):
        try:
            _call(ctx, breaker, down)
        except circuit_open:
            refused += 1
    ctx.expect(
        down.calls == 3 and refused == 7,
        f"expected a breaker of 3 failures to call a failing send 3 times and refuse the next 7 calls with "
        f"CircuitOpen, found {down.calls} call(s) of send and {refused} refused",
    )
    time.sleep(0.35)
    healed = _Failure(failures=0)
    try:
        answer = _call(ctx, breaker, healed)
    except circuit_open:
        answer = None
    ctx.expect(
        healed.calls == 1 and getattr(answer, "status_code", None) == 200,
        f"expected the breaker, {0.3} s after it opened, to let a call through (half-open), found "
        f"{healed.calls} call(s) of send"
        + (
            ": it raised CircuitOpen, so once open it never closes again. Refuse only while "
            "time.monotonic() - opened_at < open_s"
            if answer is None
            else ""
        ),
    )
    for send in (down, healed):  # closed again: one failure after the success must not open it
        try:
            _call(ctx, breaker, send)
        except circuit_open:
            ctx.fail(
                "expected a success after the half-open call to close the breaker (failed_in_a_row 0, opened_at "
                "None), found it refused the next calls after a single failure: reset both when a call succeeds"
            )


def _call(ctx, breaker, send):
    """breaker.call(send): CircuitOpen passes through, anything else is the learner's error in one line."""
    circuit_open = ctx.learner_value("CircuitOpen")

    def attempt():
        try:
            return breaker.call(send), None
        except circuit_open as refused:
            return None, refused

    answer, refused = learner_code.call(attempt)
    if refused is not None:
        raise refused
    return answer


@lab.check(
    "mtls",
    "The HTTPS listener on port 443 refuses, in the handshake, a client without a certificate from your CA",
    step=5,
    hints=[
        'create_listener(LoadBalancerArn=balancer_arn, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": '
        'certificate_arn}], MutualAuthentication={"Mode": "verify", "TrustStoreArn": trust_store_arn}, ...)',
        "The trust store's bundle is your CA's certificate, pki.pem(ca_certificate), put in trust_bucket under "
        "clients-ca.pem; after changing it, modify_trust_store with the same bucket and key.",
    ],
)
def mutual_tls(ctx):
    elbv2 = ctx.client("elbv2")
    with ctx.not_done_if_missing(f"load balancer {ctx.env.name(BALANCER)!r}", "run the cell before step 1"):
        balancer = elbv2.describe_load_balancers(Names=[ctx.env.name(BALANCER)])["LoadBalancers"][0]
    listener = _listener(ctx, balancer["LoadBalancerArn"], 443, "create it in step 5")
    ctx.expect(
        listener["Protocol"] == "HTTPS",
        f"expected an HTTPS listener on port 443, found {listener['Protocol']}: over HTTP a client's certificate is "
        "never asked for, and every byte crosses the internet in clear. Delete it "
        '(elbv2.delete_listener) and create it with Protocol="HTTPS" and your certificate',
    )
    mutual = listener.get("MutualAuthentication") or {}
    ctx.expect(
        mutual.get("Mode") == "verify",
        f"expected mutual TLS in verify mode (MutualAuthentication Mode verify, with your trust store), found "
        f"{mutual.get('Mode', 'off')}"
        + (
            ": in passthrough the load balancer accepts any client certificate, or none, and only passes it on to "
            'checkout in X-Amzn-Mtls-Clientcert headers. Set MutualAuthentication={"Mode": "verify", '
            '"TrustStoreArn": trust_store_arn}'
            if mutual.get("Mode") == "passthrough"
            else ""
        ),
    )
    stores = elbv2.describe_trust_stores(TrustStoreArns=[mutual["TrustStoreArn"]])["TrustStores"]
    ctx.expect(
        stores and stores[0]["Status"] == "ACTIVE",
        f"expected the listener's trust store to be ACTIVE, found {stores[0]['Status'] if stores else 'none'}",
    )
    secure_url = urls.listener_urls(balancer["LoadBalancerArn"]).get("HTTPS:443")
    if secure_url is None:
        ctx.not_done("the HTTPS listener on port 443 does not serve yet")
    with tempfile.TemporaryDirectory() as folder:
        stranger = _stranger_client(Path(folder))
        refused = handshake.shake_hands(secure_url, None, client=stranger)
        ctx.expect(
            not refused.completed,
            "expected the listener to refuse, in the handshake, a client certificate from a CA that is not yours, "
            "found the handshake completed: is the trust store's bundle your CA's certificate only?",
        )
        anonymous = handshake.shake_hands(secure_url, None)
        ctx.expect(
            not anonymous.completed,
            "expected the listener to refuse a client without a certificate, found the handshake completed",
        )
    mine = ctx.learner_value("client_certificate_files")
    mine = tuple(str(path) for path in mine)
    accepted = handshake.shake_hands(secure_url, None, client=mine)
    ctx.expect(
        accepted.completed,
        "expected the listener to accept the client certificate your CA signed (bookclub), found it refused during "
        f"the handshake ({accepted.alert}): the trust store holds another CA. Put pki.pem(ca_certificate) in the "
        "bundle, then modify_trust_store",
    )
    with warnings.catch_warnings():  # the check trusts any server certificate: it tests the client's side
        warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
        answer = requests.get(secure_url + "/price", params={"book": "1"}, cert=mine, verify=False, timeout=30)
    ctx.expect(
        answer.status_code == 200, f"expected GET /price over mutual TLS to answer 200, found {answer.status_code}"
    )


def _stranger_client(folder: Path) -> tuple[str, str]:
    """Files of a client certificate from a CA of the check's own: (certificate, key)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "labkit check: a stranger's CA")])
    now = datetime.datetime.now(datetime.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    certificate, private_key = pki.issue(key, ca, "labkit-check-stranger", client=True, days=1)
    (folder / "stranger.pem").write_bytes(certificate)
    (folder / "stranger.key").write_bytes(private_key)
    return str(folder / "stranger.pem"), str(folder / "stranger.key")
