"""How fast the local cloud runs a Lambda function, next to the alternatives and the floor.

Starts a private local cloud (temporary state folder, free port), deploys a handler that imports
boto3 at module level (as the course's handlers do) and echoes its event, then measures, in one run:
cold invoke (first invoke of a new function), warm Invoke p50/p99, throughput with 1, 4 and 16
client threads (each with its own boto3 client), GetFunction on the same cloud (moto's own cost of
a Lambda API call), the same handler run as a fresh `python` process per invoke, and a minimal
Python HTTP echo server on loopback (the floor). Everything stays on 127.0.0.1 and is bounded in
count. Prints a Markdown table and writes it to bench/results/lambda_invoke.md.
"""
import http.client
import io
import json
import os
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

COLD_FUNCTIONS = 5
WARM_CALLS = 300
THROUGHPUT_CALLS = 240  # per concurrency level, split between the threads
CONCURRENCY = (1, 4, 16)
FRESH_PROCESS_CALLS = 20
ECHO_CALLS = 300
EVENT = {"isbn": "9780441013593", "title": "Dune"}
HANDLER = """\
import boto3

def handler(event, context):
    return event
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed_ms(action) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def code_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", HANDLER)
    return archive.getvalue()


def deploy(client, role: str) -> str:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    client.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                           Handler="app.handler", Code={"ZipFile": code_zip()}, Timeout=10)
    return name


def invoke(client, name: str) -> None:
    response = client.invoke(FunctionName=name, Payload=json.dumps(EVENT))
    assert json.loads(response["Payload"].read()) == EVENT and "FunctionError" not in response


def throughput(name: str, threads: int) -> float:
    import boto3
    clients = [boto3.client("lambda") for _ in range(threads)]
    for client in clients:
        invoke(client, name)  # connections open, and as many workers warm as the pool allows
    per_thread = THROUGHPUT_CALLS // threads

    def run(client):
        for _ in range(per_thread):
            invoke(client, name)

    workers = [threading.Thread(target=run, args=(client,)) for client in clients]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return per_thread * threads / (time.perf_counter() - started)


def fresh_process_ms(code_dir: str) -> list[float]:
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); import app; "
              "print(json.dumps(app.handler(json.loads(sys.argv[2]), None)))")
    command = [sys.executable, "-c", script, code_dir, json.dumps(EVENT)]
    return [timed_ms(lambda: subprocess.run(command, check=True, capture_output=True))
            for _ in range(FRESH_PROCESS_CALLS)]


class EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def log_message(self, *args):
        pass


def echo_server_ms() -> list[float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EchoHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
    body = json.dumps(EVENT)

    def one():
        connection.request("POST", "/", body, {"Content-Type": "application/json"})
        assert connection.getresponse().read() == body.encode()

    try:
        one()
        return [timed_ms(one) for _ in range(ECHO_CALLS)]
    finally:
        connection.close()
        server.shutdown()


def main() -> None:
    load_before = os.getloadavg()[0]  # other work on the machine skews every number below
    state = tempfile.mkdtemp(prefix="labkit-bench-")
    os.environ.update(LABKIT_STATE_DIR=state, LABKIT_PORT=str(free_port()))
    from labkit import config, course
    from labkit.localcloud import control
    course.start(quiet=True)
    try:
        import boto3
        client = boto3.client("lambda")
        role = boto3.client("iam").create_role(
            RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        time.sleep(2.0)  # let the cloud's background warm-up of moto's services finish
        cold = []
        for _ in range(COLD_FUNCTIONS):
            cold_name = deploy(client, role)
            cold.append(timed_ms(lambda: invoke(client, cold_name)))
        name = deploy(client, role)
        for _ in range(20):
            invoke(client, name)
        warm = [timed_ms(lambda: invoke(client, name)) for _ in range(WARM_CALLS)]
        get_function = [timed_ms(lambda: client.get_function(FunctionName=name))
                        for _ in range(WARM_CALLS)]
        rates = {threads: throughput(name, threads) for threads in CONCURRENCY}
        code_dir = next((config.state_dir() / "lambda-code").iterdir())
        fresh = fresh_process_ms(str(code_dir))
    finally:
        control.down()
    echo = echo_server_ms()

    warm_p50, fresh_p50, echo_p50 = (statistics.median(warm), statistics.median(fresh),
                                     statistics.median(echo))
    rows = [
        ("cold Invoke, first of a new function (ms)", f"{statistics.median(cold):.0f}",
         f"p50 of {COLD_FUNCTIONS} functions; max {max(cold):.0f}; includes importing boto3"),
        ("warm Invoke p50 (ms)", f"{warm_p50:.2f}", f"{WARM_CALLS} calls, one boto3 client"),
        ("warm Invoke p99 (ms)", f"{percentile(warm, 0.99):.2f}", ""),
        ("GetFunction p50 on the same cloud (ms)", f"{statistics.median(get_function):.2f}",
         "moto's own cost of a Lambda API call: the part of Invoke that is not running code"),
    ]
    rows += [(f"throughput, {threads} client thread{'s' * (threads > 1)} (invokes/s)",
              f"{rate:.0f}", f"{THROUGHPUT_CALLS} calls" + (
                  "; at most 4 workers per function" if threads > 4 else ""))
             for threads, rate in rates.items()]
    rows += [
        ("fresh `python` process per invoke p50 (ms)", f"{fresh_p50:.0f}",
         f"{FRESH_PROCESS_CALLS} runs of the same handler; warm Invoke is "
         f"{fresh_p50 / warm_p50:.0f}x faster (target: at least 50x)"),
        ("minimal Python HTTP echo on loopback p50 (ms)", f"{echo_p50:.2f}",
         f"the floor; warm Invoke is {warm_p50 / echo_p50:.1f}x it (target for API Gateway "
         f"URLs: within 3x)"),
    ]
    table = "\n".join([
        f"Lambda Invoke on the local cloud ({os.cpu_count()} cores, load average "
        f"{load_before:.1f} before the run, {time.strftime('%Y-%m-%d')}); the handler imports "
        f"boto3 and echoes its event",
        "",
        "| measure | result | notes |",
        "|---|---|---|",
        *(f"| {measure} | {result} | {notes} |" for measure, result, notes in rows),
    ])
    out = Path(__file__).parent / "results" / "lambda_invoke.md"
    out.write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
