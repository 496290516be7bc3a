"""Checkout, for lab 07: prices a book by asking the catalog service, which it reaches by its ECS
Service Connect alias ($CATALOG_URL, http://catalog:8080): service to service, with no load balancer
between them.

GET  /price?book=ID       {"book", "title", "price", "version", "attempts", "catalog_task"}; 502 with the
                          catalog's last answer when every attempt failed
GET  /catalog/<path>      passed on to the catalog (GET /catalog/whoami: which catalog task answers)
POST /catalog/<path>      likewise (POST /catalog/slow-down?...)
GET  /health              200 while the task can serve
A catalog answer of 5xx (Service Connect's 504 "upstream request timeout" among them) or none at all
is retried $CATALOG_RETRIES times (0 when unset); every answer says which $VERSION answered.
It listens on $HOST:$PORT (0.0.0.0:8080 in a container) and, on SIGTERM, finishes the requests it has.
"""

import http.client
import json
import os
import signal
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CATALOG_TIMEOUT_S = 10  # longer than Service Connect's per-request timeout, which answers first
active = [0]
idle = threading.Condition()


def catalog(method: str, path: str) -> tuple[int, dict]:
    """(status, JSON body) of the catalog's answer; status 0 when none came. urllib sends it through
    the Service Connect proxy that ECS sets in $HTTP_PROXY."""
    request = urllib.request.Request(os.environ["CATALOG_URL"].rstrip("/") + path, method=method)
    try:
        with urllib.request.urlopen(request, timeout=CATALOG_TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        text = error.read().decode(errors="replace")
        try:
            return error.code, json.loads(text)
        except ValueError:  # the proxy's own plain-text answer
            return error.code, {"error": text}
    except (OSError, http.client.HTTPException) as error:
        return 0, {"error": f"{type(error).__name__}: {error}"}


def price(book: str) -> tuple[int, dict]:
    attempts, retries = 0, int(os.environ.get("CATALOG_RETRIES", "0"))
    while attempts <= retries:
        attempts += 1
        status, body = catalog("GET", f"/books/{book}")
        if status and status < 500:
            break
    if status != 200:
        return (status if status == 404 else 502), {"error": "the catalog failed", "catalog": [status, body]}
    answer = {key: body[key] for key in ("title", "price")}
    return 200, {"book": book, **answer, "attempts": attempts, "catalog_task": body["task"]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.counted("GET")

    def do_POST(self):
        self.counted("POST")

    def counted(self, method: str):
        with idle:
            active[0] += 1
        try:
            self.answer(method, urlsplit(self.path))
        finally:
            with idle:
                active[0] -= 1
                idle.notify_all()

    def answer(self, method: str, url):
        if url.path == "/health":
            return self.reply(200, {"status": "ok"})
        if url.path == "/price" and method == "GET":
            return self.reply(*price(parse_qs(url.query).get("book", ["1"])[0]))
        if url.path.startswith("/catalog/"):
            path = url.path[len("/catalog") :] + (f"?{url.query}" if url.query else "")
            status, body = catalog(method, path)
            return self.reply(status or 502, body)
        return self.reply(404, {"error": f"no route {url.path}"})

    def reply(self, status: int, payload: dict):
        body = json.dumps({**payload, "version": os.environ.get("VERSION", "1")}).encode()
        reason = {200: "OK", 404: "Not Found"}.get(status, "Error")
        head = f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode() + body)  # one send: no delayed-ACK stall


def main():
    server = ThreadingHTTPServer((os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080"))), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"checkout version {os.environ.get('VERSION', '1')} listening on port {server.server_address[1]}")
    server.serve_forever()
    server.server_close()
    with idle:  # on SIGTERM, requests in progress finish first
        idle.wait_for(lambda: active[0] == 0, timeout=10)


if __name__ == "__main__":
    main()
