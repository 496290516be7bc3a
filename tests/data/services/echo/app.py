"""The echo service: answers which task it runs in, for the ECS and ALB tests.

GET /health          200 "ok" (500 after GET /sicken, or always with BROKEN=health)
With BROKEN=requests, every other request answers 500 (a bad release whose health check passes).
GET /whoami          {"task": <task id>, "pid", "port", "version", "greeting", "secret"}
GET /slow?seconds=S  answers after S seconds
GET /log?line=TEXT   prints TEXT to stdout
GET /fetch?url=URL   {"status", "body"} of GET URL, made from inside the task (Service Connect); status 0
                     and the error when no answer came
anything else        {"path": <path>, "task": <task id>}
It listens on $PORT, finds its task from the ECS task metadata endpoint, and on SIGTERM finishes
the requests it has before exiting.
"""

import http.client
import json
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


def task_id() -> str:
    uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not uri:
        return "no-task"
    with urllib.request.urlopen(uri + "/task", timeout=5) as response:
        return json.loads(response.read())["TaskARN"].rsplit("/", 1)[-1]


TASK = task_id()
sick = threading.Event()
BROKEN = os.environ.get("BROKEN", "")
if BROKEN == "health":
    sick.set()
active = [0]  # requests in progress, so that a shutdown can wait for them
idle = threading.Condition()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        with idle:
            active[0] += 1
        try:
            self.answer()
        finally:
            with idle:
                active[0] -= 1
                idle.notify_all()

    def answer(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/health":
            return self.reply(500 if sick.is_set() else 200, {"status": "sick" if sick.is_set() else "ok"})
        if BROKEN == "requests":
            return self.reply(500, {"broken": True, "task": TASK})
        if url.path == "/sicken":
            sick.set()
            return self.reply(200, {"sick": True})
        if url.path == "/whoami":
            return self.reply(
                200,
                {
                    "task": TASK,
                    "pid": os.getpid(),
                    "port": int(os.environ["PORT"]),
                    "version": os.environ.get("VERSION", "1"),
                    "greeting": os.environ.get("GREETING"),
                    "secret": os.environ.get("DB_PASSWORD"),
                },
            )
        if url.path == "/slow":
            time.sleep(float(query.get("seconds", ["1"])[0]))
        if url.path == "/log":
            print(query.get("line", [""])[0])
        if url.path == "/fetch":
            return self.reply(200, fetch(query["url"][0]))
        return self.reply(200, {"path": url.path, "task": TASK})

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        head = (
            f"HTTP/1.1 {status} {'OK' if status == 200 else 'Error'}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.wfile.write(head + body)


def fetch(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return {"status": response.status, "body": response.read().decode()}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": error.read().decode()}
    except (OSError, http.client.HTTPException) as error:  # closed unanswered, refused, timed out
        return {"status": 0, "body": f"{type(error).__name__}: {error}"}


def main():
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"echo {TASK} listening on port {os.environ['PORT']}")
    server.serve_forever()
    server.server_close()
    with idle:  # on SIGTERM, requests in progress finish first
        idle.wait_for(lambda: active[0] == 0, timeout=10)


if __name__ == "__main__":
    main()
