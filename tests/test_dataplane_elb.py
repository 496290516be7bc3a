"""The Application Load Balancer's data plane, as a learner notices it: each listener answers on a
local port, routes by its rules, sends traffic only to healthy targets, and fails as an ALB does.

Targets here are small HTTP servers in this test process, registered as IP targets; each answers
with its name, so a test sees where a request went.
"""

import json
import socket
import struct
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from support import on_premises, open_to_the_internet, stays, wait_for


class Backend:
    """A target: GET /health answers 200 (or 500 once sick), /slow?seconds=S waits, /reset
    resets the connection, anything else answers {"name", "path", "headers"}. It keeps the paths
    it was asked for, in order."""

    def __init__(self, name: str):
        self.name, self.sick = name, False
        self.paths: list[str] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urlsplit(self.path)
                backend.paths.append(url.path)
                if url.path == "/health":
                    return self.reply(500 if backend.sick else 200, {"ok": not backend.sick})
                if url.path == "/slow":
                    time.sleep(float(parse_qs(url.query)["seconds"][0]))
                if url.path == "/reset":
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self.reply(200, {"name": backend.name, "path": self.path, "headers": dict(self.headers.items())})

            def reply(self, status, payload):
                body = json.dumps(payload).encode()
                self.wfile.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.target = on_premises(self.server.server_address[1])


class LoadBalancer:
    """One ALB for the file; each test adds listeners and target groups of its own."""

    def __init__(self, env):
        self.env, self.elb = env, boto3.client("elbv2")
        ec2 = boto3.client("ec2")
        self.vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
        web = open_to_the_internet("routing-web", self.vpc)
        self.arn = self.elb.create_load_balancer(Name="routing", Subnets=subnets, SecurityGroups=[web])[
            "LoadBalancers"
        ][0]["LoadBalancerArn"]
        self.ports = iter(range(9000, 9100))
        self.backends: list[Backend] = []
        self.groups: list[str] = []

    def group(self, name: str, *backends: Backend, **settings) -> str:
        arn = self.elb.create_target_group(
            Name=name,
            Protocol="HTTP",
            Port=80,
            VpcId=self.vpc,
            TargetType="ip",
            HealthCheckPath="/health",
            HealthCheckIntervalSeconds=5,
            HealthyThresholdCount=2,
            UnhealthyThresholdCount=2,
            **settings,
        )["TargetGroups"][0]["TargetGroupArn"]
        if arn not in self.groups:  # the same name and settings are the same group
            self.groups.append(arn)
        if backends:
            self.elb.register_targets(TargetGroupArn=arn, Targets=[b.target for b in backends])
        return arn

    def backend(self, name: str) -> Backend:
        backend = Backend(name)
        self.backends.append(backend)
        return backend

    def listener(self, default_group: str | None = None, default_action: dict | None = None):
        """(listener ARN, its local URL)."""
        port = next(self.ports)
        action = default_action or {"Type": "forward", "TargetGroupArn": default_group}
        arn = self.elb.create_listener(LoadBalancerArn=self.arn, Protocol="HTTP", Port=port, DefaultActions=[action])[
            "Listeners"
        ][0]["ListenerArn"]
        return arn, self.url(port)

    def url(self, port: int) -> str:
        with urllib.request.urlopen(self.env.endpoint + "/_labkit/loadbalancers") as response:
            found = json.loads(response.read())["LoadBalancers"]
        listeners = next(b for b in found if b["LoadBalancerArn"] == self.arn)["Listeners"]
        return next(listener["Url"] for listener in listeners if listener["Port"] == port)

    def states(self, group: str) -> list[tuple[int, str, str | None]]:
        found = self.elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        return sorted((d["Target"]["Port"], d["TargetHealth"]["State"], d["TargetHealth"].get("Reason")) for d in found)

    def wait_until(self, group: str, *states: str, timeout: float = 5.0):
        """Wait until the group's targets are in these states, one each; return them."""

        def in_those_states():
            found = self.states(group)
            return found if sorted(state for _, state, _ in found) == sorted(states) else None

        return wait_for(in_those_states, timeout, f"the targets of {group} to be {', '.join(states)}")


@pytest.fixture(scope="module")
def alb(cloud):
    balancer = LoadBalancer(cloud)
    yield balancer
    # The session's cloud is shared: later tests and notebooks make groups of the same names.
    balancer.elb.delete_load_balancer(LoadBalancerArn=balancer.arn)
    for group in balancer.groups:
        balancer.elb.delete_target_group(TargetGroupArn=group)
    for backend in balancer.backends:
        backend.server.shutdown()
        backend.server.server_close()


def names(url: str, paths: list[str], **headers) -> list[str]:
    session = requests.Session()
    return [session.get(url + path, headers=headers).json()["name"] for path in paths]


def test_the_local_cloud_lists_each_listener_with_its_local_url(alb, cloud):
    _, url = alb.listener(
        default_action={
            "Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "up"},
        }
    )
    with urllib.request.urlopen(cloud.endpoint + "/_labkit/loadbalancers") as response:
        balancer = next(b for b in json.loads(response.read())["LoadBalancers"] if b["LoadBalancerArn"] == alb.arn)
    assert balancer["LoadBalancerName"] == "routing"
    assert balancer["DNSName"].startswith("routing-")
    listener = balancer["Listeners"][-1]
    assert listener["Url"] == url == f"http://127.0.0.1:{listener['LocalPort']}"
    assert requests.get(url).text == "up"


def test_a_path_rule_sends_orders_to_their_group_and_the_rest_to_the_default(alb):
    orders, monolith = alb.backend("orders"), alb.backend("monolith")
    orders_group, monolith_group = alb.group("orders", orders), alb.group("monolith", monolith)
    listener, url = alb.listener(monolith_group)
    alb.elb.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/orders/*", "/order?"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": orders_group}],
    )
    alb.wait_until(orders_group, "healthy")
    alb.wait_until(monolith_group, "healthy")
    assert names(url, ["/orders/1", "/orders/", "/orders/1?x=2", "/orders"]) == ["orders"] * 4
    assert names(url, ["/", "/books/1", "/Orders/1", "/order", "/ordersx/1"]) == ["monolith"] * 5


def test_host_header_http_header_and_query_string_rules(alb):
    api, canary, beta, default = (alb.backend(n) for n in ("api", "canary", "beta", "default"))
    groups = {b.name: alb.group(f"cond-{b.name}", b) for b in (api, canary, beta, default)}
    listener, url = alb.listener(groups["default"])
    rules = [
        (1, {"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Canary", "Values": ["yes"]}}, "canary"),
        (2, {"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "beta", "Value": "t*"}]}}, "beta"),
        (3, {"Field": "host-header", "HostHeaderConfig": {"Values": ["api.*.example.com"]}}, "api"),
    ]
    for priority, condition, name in rules:
        alb.elb.create_rule(
            ListenerArn=listener,
            Priority=priority,
            Conditions=[condition],
            Actions=[{"Type": "forward", "TargetGroupArn": groups[name]}],
        )
    for group in groups.values():
        alb.wait_until(group, "healthy")
    assert names(url, ["/"], **{"X-Canary": "YES"}) == ["canary"]  # values ignore case
    assert names(url, ["/?beta=true", "/?BETA=TRUE&x=1"]) == ["beta", "beta"]
    assert names(url, ["/"], Host="api.eu.example.com") == ["api"]
    assert names(url, ["/", "/?beta=false"], Host="www.example.com") == ["default", "default"]


def test_a_weighted_forward_splits_requests_by_weight(alb):
    blue, green = alb.backend("blue"), alb.backend("green")
    blue_group, green_group = alb.group("blue", blue), alb.group("green", green)
    _, url = alb.listener(
        default_action={
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": blue_group, "Weight": 80},
                    {"TargetGroupArn": green_group, "Weight": 20},
                ]
            },
        }
    )
    alb.wait_until(blue_group, "healthy")
    alb.wait_until(green_group, "healthy")
    served = names(url, ["/"] * 500)
    assert 0.15 <= served.count("green") / len(served) <= 0.25, served.count("green")


def test_fixed_responses_and_redirects(alb):
    listener, url = alb.listener(
        default_action={
            "Type": "fixed-response",
            "FixedResponseConfig": {
                "StatusCode": "404",
                "ContentType": "application/json",
                "MessageBody": '{"error": "no route"}',
            },
        }
    )
    alb.elb.create_rule(
        ListenerArn=listener,
        Priority=1,
        Conditions=[{"Field": "path-pattern", "Values": ["/old/*"]}],
        Actions=[{"Type": "redirect", "RedirectConfig": {"Path": "/new/#{path}", "StatusCode": "HTTP_301"}}],
    )
    alb.elb.create_rule(
        ListenerArn=listener,
        Priority=2,
        Conditions=[{"Field": "path-pattern", "Values": ["/secure"]}],
        Actions=[
            {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_302"}}
        ],
    )
    missing = requests.get(url + "/nothing")
    assert (missing.status_code, missing.json()) == (404, {"error": "no route"})
    assert missing.headers["Content-Type"] == "application/json"
    assert missing.headers["Server"] == "awselb/2.0"
    moved = requests.get(url + "/old/books?page=2", allow_redirects=False)
    assert moved.status_code == 301
    # #{path} is the path without its leading slash; the query is kept. The port is this
    # listener's local one, so the redirect can be followed here.
    assert moved.headers["Location"] == f"{url}/new/old/books?page=2"
    secure = requests.get(url + "/secure", allow_redirects=False)
    assert (secure.status_code, secure.headers["Location"]) == (302, "https://127.0.0.1/secure")


def test_traffic_goes_round_robin_to_healthy_targets_only(alb):
    first, second = alb.backend("first"), alb.backend("second")
    group = alb.group("pair", first, second)
    _, url = alb.listener(group)
    assert {state for _, state, _ in alb.states(group)} == {"initial"}
    alb.wait_until(group, "healthy", "healthy")
    assert names(url, ["/"] * 6) == ["first", "second"] * 3 or names(url, ["/"] * 6) == ["second", "first"] * 3

    second.sick = True
    found = alb.wait_until(group, "healthy", "unhealthy")
    unhealthy = next(
        d
        for d in alb.elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        if d["TargetHealth"]["State"] == "unhealthy"
    )
    assert unhealthy["TargetHealth"]["Reason"] == "Target.ResponseCodeMismatch"
    assert unhealthy["TargetHealth"]["Description"] == "Health checks failed with these codes: [500]"
    assert set(names(url, ["/"] * 20)) == {"first"}, found

    first.sick = True  # every target unhealthy: the load balancer fails open, as AWS does
    alb.wait_until(group, "unhealthy", "unhealthy")
    assert set(names(url, ["/"] * 6)) == {"first", "second"}
    first.sick = second.sick = False
    alb.wait_until(group, "healthy", "healthy", timeout=5)


def test_503_when_no_target_can_take_the_request(alb):
    empty = alb.group("empty")
    _, url = alb.listener(empty)
    response = requests.get(url + "/anything")
    assert response.status_code == 503
    assert response.headers["Server"] == "awselb/2.0"
    assert response.text == (
        "<html>\r\n<head><title>503 Service Temporarily Unavailable</title>"
        "</head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable"
        "</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    alb.elb.register_targets(TargetGroupArn=empty, Targets=[alb.backend("late").target])
    assert alb.states(empty)[0][1:] == ("initial", "Elb.RegistrationInProgress")
    assert requests.get(url).status_code == 503  # not yet checked: no healthy target


def test_504_when_the_target_outlasts_the_idle_timeout_and_502_when_it_resets(alb):
    group = alb.group("slow", alb.backend("slow"))
    _, url = alb.listener(group)
    alb.elb.modify_load_balancer_attributes(
        LoadBalancerArn=alb.arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "1"}]
    )
    alb.wait_until(group, "healthy")
    try:
        started = time.monotonic()
        slow = requests.get(url + "/slow?seconds=2.5")
        assert slow.status_code == 504 and "504 Gateway Time-out" in slow.text
        assert 0.9 < time.monotonic() - started < 2.0
        assert requests.get(url + "/slow?seconds=0.1").status_code == 200
        reset = requests.get(url + "/reset")
        assert reset.status_code == 502 and "502 Bad Gateway" in reset.text
    finally:
        alb.elb.modify_load_balancer_attributes(
            LoadBalancerArn=alb.arn, Attributes=[{"Key": "idle_timeout.timeout_seconds", "Value": "60"}]
        )


def test_a_deregistered_target_drains_its_requests_in_flight(alb):
    backend = alb.backend("draining")
    group = alb.group("draining", backend)
    alb.elb.modify_target_group_attributes(
        TargetGroupArn=group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "90"}]
    )  # 1.5 s locally
    _, url = alb.listener(group)
    alb.wait_until(group, "healthy")
    in_flight: list = []
    request = threading.Thread(target=lambda: in_flight.append(requests.get(url + "/slow?seconds=1")))
    request.start()
    wait_for(lambda: "/slow" in backend.paths, 5, "the slow request to reach the target")
    alb.elb.deregister_targets(TargetGroupArn=group, Targets=[backend.target])
    ((_, state, reason),) = alb.states(group)
    assert (state, reason) == ("draining", "Target.DeregistrationInProgress")
    assert requests.get(url).status_code == 503  # no new request reaches a draining target
    request.join(5)
    assert in_flight[0].status_code == 200 and in_flight[0].json()["name"] == "draining"
    wait_for(lambda: alb.states(group) == [], 3, "the target to be gone once the delay is over")


def test_targets_of_a_group_no_listener_uses_are_unused(alb):
    idle = alb.backend("idle")
    group = alb.group("idle", idle)
    # The positive control: a group a listener uses, registered after the idle one, gets checked.
    used = alb.group("used", alb.backend("used"))
    alb.listener(used)
    alb.wait_until(used, "healthy")
    alb.wait_until(group, "unused")
    stays(
        lambda: alb.states(group)[0][1:] == ("unused", "Target.NotInUse") and idle.paths == [],
        1,
        "the idle group's target unused and never checked",
    )


def test_requests_carry_the_forwarded_headers(alb):
    group = alb.group("headers", alb.backend("headers"))
    _, url = alb.listener(group)
    alb.wait_until(group, "healthy")
    headers = requests.get(url + "/", headers={"X-Forwarded-For": "203.0.113.7"}).json()["headers"]
    assert headers["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"
    assert headers["X-Forwarded-Proto"] == "http"
    assert headers["X-Amzn-Trace-Id"].startswith("Root=1-")


def test_a_repeated_target_group_is_the_same_one_and_a_changed_one_is_refused(cloud):
    elb, vpc = boto3.client("elbv2"), boto3.client("ec2").describe_vpcs()["Vpcs"][0]["VpcId"]
    settings = {"Name": "twice", "Protocol": "HTTP", "Port": 80, "VpcId": vpc, "TargetType": "ip"}
    first = elb.create_target_group(**settings, HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    again = elb.create_target_group(**settings, HealthCheckPath="/health")["TargetGroups"][0]["TargetGroupArn"]
    with pytest.raises(elb.exceptions.DuplicateTargetGroupNameException) as refused:
        elb.create_target_group(**settings, HealthCheckPath="/healthz")
    assert again == first
    assert refused.value.response["Error"]["Message"] == "A target group with the specified name already exists."
    (group,) = elb.describe_target_groups(Names=["twice"])["TargetGroups"]
    assert group["HealthCheckPath"] == "/health"


def test_a_listener_its_security_group_does_not_admit_leaves_the_client_waiting_until_a_rule_does(alb):
    ec2 = boto3.client("ec2")
    shut = ec2.create_security_group(GroupName="routing-shut", Description="no ingress", VpcId=alb.vpc)["GroupId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    walled = alb.elb.create_load_balancer(Name="walled", Subnets=subnets, SecurityGroups=[shut])["LoadBalancers"][0]
    up = {"StatusCode": "200", "ContentType": "text/plain", "MessageBody": "up"}
    alb.elb.create_listener(
        LoadBalancerArn=walled["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": up}],
    )
    with urllib.request.urlopen(alb.env.endpoint + "/_labkit/loadbalancers") as response:
        found = json.loads(response.read())["LoadBalancers"]
    url = next(b for b in found if b["LoadBalancerArn"] == walled["LoadBalancerArn"])["Listeners"][0]["Url"]

    # As on AWS, a dropped connection is never answered: the client's own timeout ends it.
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(url, timeout=1)
    ec2.authorize_security_group_ingress(
        GroupId=shut,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    assert requests.get(url, timeout=5).text == "up"
    alb.elb.delete_load_balancer(LoadBalancerArn=walled["LoadBalancerArn"])


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"Id": "127.0.0.1", "Port": 8080},
            "The IP address '127.0.0.1' is not a valid target: specify an address from the subnets of the "
            "target group's VPC, or from 10.0.0.0/8, 100.64.0.0/10, 172.16.0.0/12, 192.168.0.0/16",
        ),
        (
            {"Id": "10.9.8.7", "Port": 8080},
            "You must specify a valid Availability Zone or select 'all' for all enabled Availability zones, "
            "since the IP address '10.9.8.7' is outside the VPC",
        ),
        (
            {"Id": "172.31.9.9", "Port": 8080, "AvailabilityZone": "all"},
            "The IP address '172.31.9.9' is within the VPC, and cannot have its Availability Zone overridden to 'all'",
        ),
    ],
    ids=["loopback", "outside the VPC without a zone", "inside the VPC with zone all"],
)
def test_an_ip_target_aws_refuses_is_refused_with_its_message(alb, target, message):
    group = alb.group("addresses")
    with pytest.raises(ClientError) as refused:
        alb.elb.register_targets(TargetGroupArn=group, Targets=[target])
    assert refused.value.response["Error"]["Code"] == "ValidationError"
    assert refused.value.response["Error"]["Message"] == message


def test_ip_targets_in_the_vpc_or_private_with_zone_all_are_accepted(alb):
    group = alb.group("accepted")
    alb.elb.register_targets(
        TargetGroupArn=group,
        Targets=[{"Id": "172.31.9.9", "Port": 8080}, {"Id": "10.9.8.7", "Port": 8080, "AvailabilityZone": "all"}],
    )
    found = alb.elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert sorted(d["Target"]["Id"] for d in found) == ["10.9.8.7", "172.31.9.9"]


def test_a_target_nothing_answers_for_times_out_its_health_checks_and_the_request_gets_504(alb):
    group = alb.group("nobody-home")
    alb.elb.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.9.8.6", "Port": 80, "AvailabilityZone": "all"}])
    _, url = alb.listener(group)
    [(_, _, reason)] = alb.wait_until(group, "unhealthy", timeout=20)
    assert reason == "Target.Timeout"
    description = alb.elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"][0]
    assert description["TargetHealth"]["Description"] == "Request timed out"
    assert requests.get(url, timeout=10).status_code == 504  # failing open to the unhealthy target
