"""The serverless slice on the local cloud, in one run, next to a floor measured the same way.

    .venv/bin/python bench/bench_serverless.py      about a minute; loopback only; stops by itself

Starts a private local cloud (temporary state folder, free port) and deploys one handler, which
imports boto3 at module level (as the course's handlers do) and answers as a Lambda proxy
integration expects. Then, in one run:
- warm round trips, the series taking turns in blocks of 100 calls: the handler through an API
  Gateway URL (REST API, Lambda proxy integration), the same REST API with a MOCK integration (API
  Gateway's own work), the handler through Invoke (boto3), the handler's execution environment
  alone (driven from this process, no local cloud: what a process of its own costs), and the
  floor: a minimal Python HTTP echo server on loopback, in a process of its own like the local
  cloud. Every HTTP series uses one requests.Session (keep-alive) and the same number of requests;
  then where the warm round trip goes, step by step;
- cold starts: the first request through an API Gateway URL, and the first Invoke, of new functions;
- throughput with 1, 4 and 16 client threads, each with its own session or boto3 client;
- the same handler run as a fresh `python` process per invoke.
Writes bench/results/serverless.md and prints it, with the targets of bench/README.md.
"""

import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Lambda may assume the functions' role (CreateFunction checks the trust policy, as AWS does).
LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
WARMUP = 50
REQUESTS = 1000  # per warm series
# Turns of this many calls: whatever else the machine does weighs on every series alike, while each
# series runs back to back as a client calls one service (taking turns call by call would wake a
# sleeping process for every call, which costs the small floor more than the rest).
BLOCK = 100
COLD_FUNCTIONS = 5  # per way in
CONCURRENCY = (1, 4, 16)
THROUGHPUT_REQUESTS = 480  # per target and concurrency, split between the client threads
WARMUP_PER_THREAD = 5
FRESH_PROCESS_RUNS = 20
TARGET_P50_MS = 5.0
TARGET_FASTER_THAN_FRESH = 50
TARGET_TIMES_FLOOR = 1.5
TARGET_P99_TIMES_FLOOR_P99 = 3.0
TARGET_COLD_P50_MS = 50.0  # a new environment forked from the warm template (labkit/dataplane/lambda_/template.py)
TARGET_COLD_FASTER_THAN_FRESH = 3
EVENT = {"path": "/books"}
HANDLER = """\
import json

import boto3  # as the course's handlers do: part of a cold start, not of a warm invoke


def handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"path": event["path"]})}
"""
FLOOR = "floor: minimal Python HTTP echo server on loopback"
API_LAMBDA = "API Gateway URL, warm: REST API, Lambda proxy integration"
API_MOCK = "API Gateway URL, warm: REST API, MOCK integration"
INVOKE = "Invoke, warm (boto3)"
WORKER = "execution environment alone: one Runtime API exchange, driven from the bench's process"


class EchoHandler(BaseHTTPRequestHandler):
    """The floor: answers every GET with a small JSON body in one send, keeping the connection."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        body = json.dumps({"path": self.path}).encode()
        self.wfile.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )

    def log_message(self, *args):
        pass


def serve_floor() -> None:
    """The floor's process: prints its port, serves until killed."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


def code_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", HANDLER)
    return archive.getvalue()


def deploy_function(role: str) -> str:
    import boto3

    from labkit import awsapi

    name = f"bench-{uuid.uuid4().hex[:8]}"
    awsapi.once_the_role_is_usable(
        lambda: boto3.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": code_zip()},
            Timeout=10,
        )
    )
    return name


def deploy_rest_api(warm_function: str, cold_functions: list[str]) -> dict[str, str]:
    """GET /books (Lambda proxy to the warm function), GET /mock (MOCK) and GET /cold{i} (Lambda
    proxy to cold function i); returns their URLs by path."""
    import boto3

    from labkit import urls

    apigateway = boto3.client("apigateway")
    lambda_ = boto3.client("lambda")
    api = apigateway.create_rest_api(name="bench")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]

    def resource(path_part: str) -> str:
        created = apigateway.create_resource(restApiId=api, parentId=root, pathPart=path_part)
        apigateway.put_method(restApiId=api, resourceId=created["id"], httpMethod="GET", authorizationType="NONE")
        return created["id"]

    def lambda_proxy(path_part: str, function: str) -> None:
        arn = lambda_.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
        apigateway.put_integration(
            restApiId=api,
            resourceId=resource(path_part),
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations",
        )
        lambda_.add_permission(
            FunctionName=function,
            StatementId="bench-api",
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api}/*/GET/{path_part}",
        )

    lambda_proxy("books", warm_function)
    for index, function in enumerate(cold_functions):
        lambda_proxy(f"cold{index}", function)
    mock = resource("mock")
    apigateway.put_integration(
        restApiId=api,
        resourceId=mock,
        httpMethod="GET",
        type="MOCK",
        requestTemplates={"application/json": '{"statusCode": 200}'},
    )
    apigateway.put_integration_response(
        restApiId=api,
        resourceId=mock,
        httpMethod="GET",
        statusCode="200",
        responseTemplates={"application/json": '{"path": "$context.resourcePath"}'},
    )
    apigateway.create_deployment(restApiId=api, stageName="bench")
    base = urls.url_for(api, "bench")
    paths = ["books", "mock", *(f"cold{index}" for index in range(len(cold_functions)))]
    return {path: f"{base}/{path}" for path in paths}


def http_get(session, url: str) -> None:
    """GET a URL whose answer echoes its last path segment, as the handler, MOCK and floor do."""
    response = session.get(url)
    response.raise_for_status()
    assert response.json() == {"path": "/" + url.rsplit("/", 1)[-1]}, response.text


def invoke(client, name: str) -> None:
    response = client.invoke(FunctionName=name, Payload=json.dumps(EVENT))
    answer = json.loads(response["Payload"].read())
    assert "FunctionError" not in response and json.loads(answer["body"]) == EVENT, answer


def start_worker(code_dir: str):
    """An execution environment as the Lambda data plane runs one (awslambdaric in its own process,
    its Runtime API served by the invoking thread), without the local cloud around it: the part of a
    warm invoke that a separate process costs, measured alone."""
    from labkit.dataplane.lambda_.workers import Worker, WorkerSpec

    env = {
        "PATH": os.environ["PATH"],
        "AWS_LAMBDA_FUNCTION_NAME": "bench-alone",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench-alone",
        "AWS_REGION": "us-east-1",
        "PYTHONPATH": code_dir,
    }
    worker = Worker(WorkerSpec("bench", ("bench",), "$LATEST", "app.handler", code_dir, env, 512))
    arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-alone"
    payload = json.dumps(EVENT).encode()

    def call() -> None:
        outcome = worker.invoke(str(uuid.uuid4()), payload, arn, 10.0)
        assert outcome.kind == "response" and json.loads(json.loads(outcome.body)["body"]) == EVENT, outcome

    return worker, call


def elapsed_ms(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def warm_round_trips(calls: dict) -> dict[str, list[float]]:
    """Milliseconds per call after the warm-up, the series taking turns in blocks of BLOCK calls."""
    for call in calls.values():
        for _ in range(WARMUP):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(REQUESTS // BLOCK):
        for name, call in calls.items():
            times[name] += [elapsed_ms(call) for _ in range(BLOCK)]
    return times


def throughput(make_call, threads: int) -> float:
    """Calls per second with `threads` client threads, each calling through its own make_call()."""
    calls = [make_call() for _ in range(threads)]
    per_thread = THROUGHPUT_REQUESTS // threads
    warm = threading.Barrier(threads + 1)

    def run(call):
        for _ in range(WARMUP_PER_THREAD):
            call()  # all threads at once: as many workers warm as the pool allows
        warm.wait()
        for _ in range(per_thread):
            call()

    clients = [threading.Thread(target=run, args=(call,)) for call in calls]
    for client in clients:
        client.start()
    warm.wait()
    started = time.perf_counter()
    for client in clients:
        client.join()
    return per_thread * threads / (time.perf_counter() - started)


def fresh_process_ms(code_dir: str) -> list[float]:
    script = "import json, sys; import app; print(json.dumps(app.handler(json.loads(sys.argv[1]), None)))"
    command = [sys.executable, "-c", script, json.dumps(EVENT)]
    return [
        elapsed_ms(lambda: subprocess.run(command, cwd=code_dir, check=True, capture_output=True))
        for _ in range(FRESH_PROCESS_RUNS)
    ]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    load_before = os.getloadavg()[0]  # other work on the machine skews every number below
    state = tempfile.mkdtemp(prefix="labkit-bench-")
    os.environ["LABKIT_STATE_DIR"] = state
    from labkit import course
    from labkit.localcloud import control
    from labkit.proc import free_port

    os.environ["LABKIT_PORT"] = str(free_port())
    code_dir = Path(state, "handler")
    code_dir.mkdir()
    (code_dir / "app.py").write_text(HANDLER)
    floor = subprocess.Popen([sys.executable, __file__, "--floor"], stdout=subprocess.PIPE, text=True)
    worker, worker_call = start_worker(str(code_dir))
    try:
        floor_url = f"http://127.0.0.1:{int(floor.stdout.readline())}/books"
        course.start(quiet=True)
        import boto3
        import requests

        role = boto3.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
        warm_function = deploy_function(role)
        cold_api = [deploy_function(role) for _ in range(COLD_FUNCTIONS)]
        cold_invoke = [deploy_function(role) for _ in range(COLD_FUNCTIONS)]
        api_urls = deploy_rest_api(warm_function, cold_api)

        def session_call(url):
            session = requests.Session()
            return lambda: http_get(session, url)

        def invoke_call():
            client = boto3.client("lambda")
            return lambda: invoke(client, warm_function)

        warm = warm_round_trips(
            {
                FLOOR: session_call(floor_url),
                API_LAMBDA: session_call(api_urls["books"]),
                API_MOCK: session_call(api_urls["mock"]),
                INVOKE: invoke_call(),
                WORKER: worker_call,
            }
        )
        cold_session, cold_client = requests.Session(), boto3.client("lambda")
        cold = {
            "api": [
                elapsed_ms(lambda url=api_urls[f"cold{index}"]: http_get(cold_session, url))
                for index in range(COLD_FUNCTIONS)
            ],
            "invoke": [elapsed_ms(lambda name=name: invoke(cold_client, name)) for name in cold_invoke],
        }
        rates = {
            name: {threads: throughput(make_call, threads) for threads in CONCURRENCY}
            for name, make_call in (
                ("API Gateway URL (Lambda proxy)", lambda: session_call(api_urls["books"])),
                ("Invoke (boto3)", invoke_call),
                ("floor", lambda: session_call(floor_url)),
            )
        }
        fresh = fresh_process_ms(str(code_dir))
    finally:
        worker.stop()
        control.down()
        floor.kill()
        floor.wait()
        shutil.rmtree(state, ignore_errors=True)
    report = render(warm, cold, rates, fresh, load_before, os.getloadavg()[0])
    (Path(__file__).parent / "results" / "serverless.md").write_text(report)
    print(report, end="")


def render(warm, cold, rates, fresh, load_before: float, load_after: float) -> str:
    p50 = {name: statistics.median(values) for name, values in warm.items()}
    fresh_p50 = statistics.median(fresh)
    api = p50[API_LAMBDA]
    api_p99, floor_p99 = percentile(warm[API_LAMBDA], 0.99), percentile(warm[FLOOR], 0.99)
    notes = {
        FLOOR: "its own process, like the local cloud; TCP_NODELAY, one send per response",
        API_LAMBDA: "the handler in a warm worker; the targets below",
        API_MOCK: "API Gateway's own work, no Lambda",
        INVOKE: "through the Lambda API, one boto3 client",
        WORKER: "no HTTP client, no local cloud: the separate process's share",
    }
    floor, mock, alone = p50[FLOOR], p50[API_MOCK], p50[WORKER]
    steps = [
        ("a client's HTTP round trip to a minimal server (the floor)", floor),
        ("the local cloud's HTTP front end and API Gateway's own work (MOCK minus floor)", mock - floor),
        ("the execution environment, a process of its own: one Runtime API exchange (alone)", alone),
        (
            "Lambda's bookkeeping in the local cloud: event, permission check, worker pool, logs (the rest)",
            api - mock - alone,
        ),
    ]
    step_rows = [f"| {label} | {ms:.2f} | {ms / floor:.2f}x |" for label, ms in steps]
    step_rows.append(f"| **the warm round trip (REST API, Lambda proxy)** | {api:.2f} | {api / floor:.2f}x |")
    latency = [
        f"| {name} | {p50[name]:.2f} | {percentile(warm[name], 0.99):.2f} | "
        f"{p50[name] / p50[FLOOR]:.1f}x | {notes[name]} |"
        for name in warm
    ]
    for label, key in (
        ("API Gateway URL, cold: first request to a new function", "api"),
        ("Invoke, cold: first Invoke of a new function", "invoke"),
    ):
        latency.append(
            f"| {label} | {statistics.median(cold[key]):.0f} | "
            f"{max(cold[key]):.0f} (max) | | p50 of {COLD_FUNCTIONS} functions; a new environment forked "
            "from the warm template, then the handler's import and init |"
        )
    latency.append(
        f"| fresh `python` process per invoke, same handler | {fresh_p50:.0f} | "
        f"{max(fresh):.0f} (max) | | {FRESH_PROCESS_RUNS} runs; "
        "python -c 'import app; app.handler(...)' |"
    )
    throughput_rows = [
        f"| {name} | " + " | ".join(f"{rates[name][threads]:.0f}" for threads in CONCURRENCY) + " |" for name in rates
    ]
    cold_p50 = statistics.median(cold["invoke"])
    checks = [
        (f"warm API Gateway round trip p50 at most {TARGET_P50_MS:.0f} ms", f"{api:.2f} ms", api <= TARGET_P50_MS),
        (
            f"cold first Invoke p50 at most {TARGET_COLD_P50_MS:.0f} ms",
            f"{cold_p50:.0f} ms",
            cold_p50 <= TARGET_COLD_P50_MS,
        ),
        (
            f"a cold start at least {TARGET_COLD_FASTER_THAN_FRESH}x faster than a fresh process",
            f"{fresh_p50 / cold_p50:.1f}x",
            fresh_p50 / cold_p50 >= TARGET_COLD_FASTER_THAN_FRESH,
        ),
        (
            f"at least {TARGET_FASTER_THAN_FRESH}x faster than a fresh process per invoke",
            f"{fresh_p50 / api:.0f}x",
            fresh_p50 / api >= TARGET_FASTER_THAN_FRESH,
        ),
        (
            f"p50 at most {TARGET_TIMES_FLOOR}x the floor's p50",
            f"{api / floor:.2f}x",
            api / floor <= TARGET_TIMES_FLOOR,
        ),
        (
            f"p99 at most {TARGET_P99_TIMES_FLOOR_P99:.0f}x the floor's p99",
            f"{api_p99 / floor_p99:.2f}x",
            api_p99 / floor_p99 <= TARGET_P99_TIMES_FLOOR_P99,
        ),
    ]
    return (
        "\n".join(
            [
                f"Serverless slice on the local cloud, one run of bench/bench_serverless.py: "
                f"{os.cpu_count()} cores, load average {load_before:.1f} before and {load_after:.1f} "
                f"after, {time.strftime('%Y-%m-%d')}. The handler imports boto3 and returns a Lambda "
                f"proxy response.",
                "",
                f"Round trips: warm series {REQUESTS} calls each after {WARMUP} warm-up, taking turns "
                f"in blocks of {BLOCK}; HTTP through one requests.Session per series (keep-alive).",
                "",
                "| round trip | p50 (ms) | p99 (ms) | p50 / floor | notes |",
                "|---|---|---|---|---|",
                *latency,
                "",
                "Where the warm round trip goes: p50s of the series above, each step the difference of two.",
                "",
                "| step | p50 (ms) | / floor |",
                "|---|---|---|",
                *step_rows,
                "",
                f"Throughput (calls/s): {THROUGHPUT_REQUESTS} calls per cell, split between the client "
                f"threads of one process; at most 4 warm workers per function.",
                "",
                "| through | " + " | ".join(f"{threads} thread{'s' * (threads > 1)}" for threads in CONCURRENCY) + " |",
                "|---|" + "---|" * len(CONCURRENCY),
                *throughput_rows,
                "",
                "Targets (bench/README.md), REST API with Lambda proxy integration:",
                "",
                "| target | measured | result |",
                "|---|---|---|",
                *(f"| {target} | {measured} | {'pass' if met else 'FAIL'} |" for target, measured, met in checks),
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--floor"]:
        serve_floor()
    else:
        main()
