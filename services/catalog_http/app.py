"""The catalog as an HTTP service in containers, for lab 07: the service that checkout calls by its
ECS Service Connect alias (http://catalog:8080).

GET  /books/<id>                     {"id", "title", "price", "task"}, after this task's delay
GET  /whoami                         {"task", "delay_s"}: which task answered, and how slow it is
POST /slow-down?task=ID&seconds=S    the task ID delays every /books answer by S seconds; another task
                                     answers {"slowed": false} and changes nothing (the caller asks again)
GET  /health                         200 while the task can serve
A slow task is how the lab shows what one bad endpoint does to its callers. It listens on $HOST:$PORT
(0.0.0.0:8080 in a container) and, on SIGTERM, finishes the requests it has first.
"""

import json
import os
import signal
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

BOOKS = {
    "1": {"title": "Designing Data-Intensive Applications", "price": 42.0},
    "2": {"title": "Release It!", "price": 35.5},
    "3": {"title": "Building Microservices", "price": 39.9},
}


def task_id() -> str:
    # ECS gives every container its task's metadata endpoint (task metadata endpoint v4).
    uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not uri:
        return f"process-{os.getpid()}"
    with urllib.request.urlopen(uri + "/task", timeout=5) as response:
        return json.loads(response.read())["TaskARN"].rsplit("/", 1)[-1]


TASK = task_id()
delay_s = [0.0]
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
        self.counted(self.answer_get)

    def do_POST(self):
        self.counted(self.answer_post)

    def counted(self, answer):
        with idle:
            active[0] += 1
        try:
            answer(urlsplit(self.path))
        finally:
            with idle:
                active[0] -= 1
                idle.notify_all()

    def answer_get(self, url):
        if url.path == "/health":
            return self.reply(200, {"status": "ok"})
        if url.path == "/whoami":
            return self.reply(200, {"task": TASK, "delay_s": delay_s[0]})
        if url.path.startswith("/books/"):
            book_id = url.path.rsplit("/", 1)[1]
            if book_id not in BOOKS:
                return self.reply(404, {"error": f"book {book_id} not found"})
            time.sleep(delay_s[0])
            return self.reply(200, {"id": book_id, **BOOKS[book_id], "task": TASK})
        return self.reply(404, {"error": f"no route {url.path}"})

    def answer_post(self, url):
        if url.path != "/slow-down":
            return self.reply(404, {"error": f"no route {url.path}"})
        query = parse_qs(url.query)
        mine = query.get("task", [""])[0] == TASK
        if mine:
            delay_s[0] = float(query.get("seconds", ["0"])[0])
        return self.reply(200, {"task": TASK, "slowed": mine, "delay_s": delay_s[0]})

    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        reason = {200: "OK", 404: "Not Found"}.get(status, "Error")
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode() + body)  # one send: no delayed-ACK stall


def main():
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080"))), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"catalog {TASK} listening on port {server.server_address[1]}")
    server.serve_forever()
    server.server_close()
    with idle:  # on SIGTERM, requests in progress finish first
        idle.wait_for(lambda: active[0] == 0, timeout=10)


if __name__ == "__main__":
    main()
