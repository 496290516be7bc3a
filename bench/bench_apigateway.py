"""Warm round trips through an API Gateway URL on the local cloud, against a floor in the same run.

On a private local cloud (fresh state folder, free port), with one requests.Session per series:
- REST API, Lambda proxy integration: the real handler runs in a warm worker (Lambda data plane);
- REST API, MOCK integration: API Gateway's own work alone;
- the local cloud's /_labkit/health: its HTTP server alone (werkzeug closes every connection);
- the floor: a minimal Python HTTP echo server on loopback (keep-alive, TCP_NODELAY, one send),
  and the same server closing every connection, as the local cloud's server does.
Each series runs twice: alone, one after the other, and interleaved (the series take turns request
by request, so that whatever else the machine does weighs on all of them alike).
Writes a Markdown table to bench/results/apigateway.md and prints it.
Targets (DESIGN.md section 8): Lambda proxy p50 at most 5 ms, and within 3 times the floor's p50.
"""
import io
import json
import os
import socket
import statistics
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WARMUP = 50
REQUESTS = 500
FLOOR = "floor: minimal Python HTTP echo on loopback"
HANDLER = ("import json\n"
           "def handler(event, context):\n"
           "    return {'statusCode': 200, 'headers': {'Content-Type': 'application/json'},\n"
           "            'body': json.dumps({'path': event['path']})}\n")


class EchoHandler(BaseHTTPRequestHandler):
    """The floor: answers every GET with a small JSON body in one send; the connection stays open
    unless the path starts with /close."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        body = json.dumps({"path": self.path}).encode()
        self.close_connection = self.path.startswith("/close")
        connection = b"Connection: close\r\n" if self.close_connection else b""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n%s"
                         b"Content-Length: %d\r\n\r\n%s" % (connection, len(body), body))

    def log_message(self, *args):
        pass


def timed(targets: dict[str, str], interleave: bool) -> dict[str, list[float]]:
    """Milliseconds per GET for each target after its warm-up, sorted."""
    import requests

    sessions = {name: requests.Session() for name in targets}
    times: dict[str, list[float]] = {name: [] for name in targets}
    turns = ([list(targets)] * (WARMUP + REQUESTS) if interleave
             else [[name] for name in targets for _ in range(WARMUP + REQUESTS)])
    for turn in turns:
        for name in turn:
            started = time.perf_counter()
            response = sessions[name].get(targets[name])
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            times[name].append(elapsed_ms)
    for session in sessions.values():
        session.close()
    return {name: sorted(values[WARMUP:]) for name, values in times.items()}


def deploy_rest_api(with_lambda: bool) -> dict[str, str]:
    """A REST API with GET /mock (MOCK) and, given the Lambda data plane, GET /books (Lambda
    proxy); returns the URLs to time by what they measure."""
    import boto3

    from labkit import urls

    apigateway = boto3.client("apigateway")
    api = apigateway.create_rest_api(name="bench")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    mock = apigateway.create_resource(restApiId=api, parentId=root, pathPart="mock")["id"]
    apigateway.put_method(restApiId=api, resourceId=mock, httpMethod="GET",
                          authorizationType="NONE")
    apigateway.put_integration(restApiId=api, resourceId=mock, httpMethod="GET", type="MOCK",
                               requestTemplates={"application/json": '{"statusCode": 200}'})
    apigateway.put_integration_response(
        restApiId=api, resourceId=mock, httpMethod="GET", statusCode="200",
        responseTemplates={"application/json": '{"path": "$context.resourcePath"}'})
    if with_lambda:
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("app.py", HANDLER)
        role = boto3.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")
        function = boto3.client("lambda").create_function(
            FunctionName="bench", Runtime="python3.12", Role=role["Role"]["Arn"],
            Handler="app.handler", Code={"ZipFile": code.getvalue()})["FunctionArn"]
        books = apigateway.create_resource(restApiId=api, parentId=root, pathPart="books")["id"]
        apigateway.put_method(restApiId=api, resourceId=books, httpMethod="GET",
                              authorizationType="NONE")
        apigateway.put_integration(
            restApiId=api, resourceId=books, httpMethod="GET", type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}"
                "/invocations")
    apigateway.create_deployment(restApiId=api, stageName="bench")
    base = urls.url_for(api, "bench")
    paths = {"REST API, MOCK integration": base + "/mock"}
    if with_lambda:
        paths["REST API, Lambda proxy integration"] = base + "/books"
    return paths


def main() -> None:
    state = tempfile.mkdtemp(prefix="labkit-bench-")
    os.environ["LABKIT_STATE_DIR"] = state
    from labkit import course, dataplane
    from labkit.localcloud import control
    from labkit.proc import free_port

    os.environ["LABKIT_PORT"] = str(free_port())
    with_lambda = "lambda_" in dataplane.SERVICE_MODULES
    floor = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    threading.Thread(target=floor.serve_forever, daemon=True).start()
    try:
        environment = course.start(quiet=True)
        targets = deploy_rest_api(with_lambda)
        targets["local cloud /_labkit/health (its HTTP server alone)"] = (
            environment.endpoint + "/_labkit/health")
        targets[FLOOR] = f"http://127.0.0.1:{floor.server_address[1]}/books"
        targets["the floor, closing every connection"] = (
            f"http://127.0.0.1:{floor.server_address[1]}/close/books")
        alone, interleaved = timed(targets, interleave=False), timed(targets, interleave=True)
    finally:
        control.down()
        floor.shutdown()
    rows = [f"| {name} | {_summary(alone, name)} | {_summary(interleaved, name)} |"
            for name in targets]
    measured = ("REST API, Lambda proxy integration" if with_lambda
                else "REST API, MOCK integration (the Lambda data plane was not installed)")
    table = "\n".join([
        f"Warm round trips with requests.Session: {REQUESTS} requests per series after {WARMUP} "
        f"warm-up, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}. Targets (DESIGN.md "
        f"section 8) for {measured}: p50 at most 5 ms and within 3x the floor's p50.",
        "",
        "| round trip | alone: p50 / p99 (ms), p50 / floor | interleaved: p50 / p99 (ms), "
        "p50 / floor |",
        "|---|---|---|",
        *rows,
    ])
    out = Path(__file__).parent / "results" / "apigateway.md"
    out.write_text(table + "\n")
    print(table)


def _summary(results: dict[str, list[float]], name: str) -> str:
    times = results[name]
    p50, p99 = statistics.median(times), times[int(len(times) * 0.99) - 1]
    return f"{p50:.2f} / {p99:.2f}, {p50 / statistics.median(results[FLOOR]):.1f}x"


if __name__ == "__main__":
    main()
