"""What the local Application Load Balancer adds to a request: GET through a listener vs. GET
straight to the task's port, in one run.

A fresh local cloud (private state folder, free port) runs the echo test service
(tests/data/services/echo) as an ECS service of one task behind an ALB. One keep-alive client per
path (http.client on loopback) sends GET /whoami, alternating blocks between the two paths so that
both see the same machine load. Writes a Markdown table to bench/results/alb.md and prints it.
Target (the containers slice): the ALB adds at most 2 ms at p50.
"""

import http.client
import os
import statistics
import tempfile
import time
from pathlib import Path

from fargate_behind_alb import CLUSTER, create_service, listener_url, load_balanced_network, register_task_definition

from labkit.proc import free_port

ROUNDS, BLOCK, WARM_UP = 10, 200, 200
ECHO = Path(__file__).resolve().parent.parent / "tests" / "data" / "services" / "echo"


def deploy() -> tuple[str, int]:
    """The echo service behind a load balancer: (listener URL, the task's own port)."""
    import boto3

    from labkit import course, images

    env = course.start(quiet=True)
    image = images.build(ECHO, "echo:bench")
    ec2, ecs, elb = boto3.client("ec2"), boto3.client("ecs"), boto3.client("elbv2")
    network = load_balanced_network(ec2, elb)
    group = elb.create_target_group(
        Name="echo", Protocol="HTTP", Port=8080, VpcId=network.vpc, TargetType="ip", HealthCheckPath="/health"
    )["TargetGroups"][0]
    elb.create_listener(
        LoadBalancerArn=network.balancer_arn,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    ecs.create_cluster(clusterName=CLUSTER)
    register_task_definition(ecs, "echo", "echo", image.uri)
    create_service(ecs, network, "echo", 1, {"targetGroupArn": group["TargetGroupArn"], "containerName": "echo"})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        service = ecs.describe_services(cluster=CLUSTER, services=["echo"])["services"][0]
        if service["deployments"][0]["rolloutState"] == "COMPLETED":
            break
        time.sleep(0.1)
    task_arn = ecs.list_tasks(cluster=CLUSTER, serviceName="echo")["taskArns"][0]
    task = ecs.describe_tasks(cluster=CLUSTER, tasks=[task_arn])["tasks"][0]
    return listener_url(env.endpoint, network.balancer_arn), task["containers"][0]["networkBindings"][0]["hostPort"]


def timed_gets(connection: http.client.HTTPConnection, count: int) -> list[float]:
    """Milliseconds per GET /whoami on one kept-alive connection."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", "/whoami")
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status == 200, response.status
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    from labkit.localcloud import control

    os.environ["LABKIT_STATE_DIR"] = tempfile.mkdtemp(prefix="labkit-bench-alb-")
    os.environ["LABKIT_PORT"] = str(free_port())
    try:
        url, task_port = deploy()
        through_alb = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]))
        direct = http.client.HTTPConnection("127.0.0.1", task_port)
        timed_gets(through_alb, WARM_UP)
        timed_gets(direct, WARM_UP)
        alb_times, direct_times = [], []
        for _ in range(ROUNDS):
            alb_times += timed_gets(through_alb, BLOCK)
            direct_times += timed_gets(direct, BLOCK)
    finally:
        control.down()
    rows = [("through the ALB", alb_times), ("straight to the task", direct_times)]
    added = statistics.median(alb_times) - statistics.median(direct_times)
    table = "\n".join(
        [
            f"GET /whoami of the echo service (one ECS task), {ROUNDS * BLOCK} requests per path on "
            f"one keep-alive connection each, alternating blocks of {BLOCK}; {os.cpu_count()} cores, "
            f"{time.strftime('%Y-%m-%d')}",
            "",
            "| path | p50 (ms) | p99 (ms) |",
            "|---|---|---|",
            *[f"| {name} | {statistics.median(times):.2f} | {percentile(times, 0.99):.2f} |" for name, times in rows],
            f"| added by the ALB | {added:.2f} | {percentile(alb_times, 0.99) - percentile(direct_times, 0.99):.2f} |",
            "",
            f"Target: the ALB adds at most 2 ms at p50: {'met' if added <= 2.0 else 'NOT met'}.",
        ]
    )
    out = Path(__file__).parent / "results" / "alb.md"
    out.write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
