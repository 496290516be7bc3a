"""The dashboard's HTTP server: the page, and /api/board (what board.py computes, read anew on each request)."""

import errno
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from labkit.dashboard.board import board
from labkit.dashboard.learners import Sources
from labkit.errors import LabkitError

HOST = "127.0.0.1"


def make_server(sources: Sources, port: int = 0) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1 (a free port when port is 0), not yet serving."""
    page = resources.files("labkit.dashboard").joinpath("page.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/":
                self._send(200, "text/html; charset=utf-8", page)
            elif self.path == "/api/board":
                self._send(200, "application/json", json.dumps(board(sources)).encode())
            else:
                self._send(404, "text/plain", b"not found: the dashboard is at /")

        def _send(self, status: int, content_type: str, body: bytes):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # one request a second per open page: too noisy to print
            pass

    try:
        return ThreadingHTTPServer((HOST, port), Handler)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise LabkitError(f"port {port} on {HOST} is taken: choose another, or leave --port out for a free one")
        raise


def serve(sources: Sources, port: int = 0, say=print) -> None:
    server = make_server(sources, port)
    folders = sources.state_folders()
    say(f"dashboard: http://{HOST}:{server.server_address[1]}/ ({len(folders)} learners' folders; Ctrl-C stops it)")
    for folder in folders:
        if not (folder / "progress.json").exists():
            say(f"  {folder}: no progress.json yet; shown as not started until the learner runs a check")
    try:
        server.serve_forever()
    finally:
        server.server_close()
