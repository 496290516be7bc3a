"""The wire format of AWS's Lambda Runtime API, as the runtime client in a worker speaks it.

Only HTTP/1.1 framing lives here: reading requests off a connection and writing replies. Which
request means what (next invocation, response, error) is decided by the worker (workers.py).
Each reply leaves in ONE send, and connections have TCP_NODELAY set: otherwise Nagle's algorithm
and delayed ACKs add about 40 ms to every call (labkit/dataplane/README.md, "Serving HTTP").
"""

import socket
from dataclasses import dataclass

from labkit.dataplane.core.http import no_delay

API_PREFIX = "/2018-06-01/runtime"
NEXT_PATH = f"{API_PREFIX}/invocation/next"
INIT_ERROR_PATH = f"{API_PREFIX}/init/error"
INVOCATION_PREFIX = f"{API_PREFIX}/invocation/"
ERROR_TYPE_HEADER = "lambda-runtime-function-error-type"

# A reply to a client that stopped reading must not hold the invoking thread for ever.
SEND_TIMEOUT_S = 10.0
_REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found"}


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


class Connection:
    """One TCP connection from the runtime client; the client keeps it open across invocations."""

    def __init__(self, sock: socket.socket):
        no_delay(sock)
        sock.settimeout(SEND_TIMEOUT_S)
        self.sock = sock
        self._buffer = bytearray()

    def fileno(self) -> int:
        return self.sock.fileno()

    def receive(self) -> bool:
        """Read what has arrived (call when the socket is readable); False once the peer closed."""
        try:
            data = self.sock.recv(256 * 1024)
        except OSError:
            return False
        self._buffer += data
        return bool(data)

    def next_request(self) -> Request | None:
        """The next complete request in what has arrived, or None while it is still incomplete."""
        head_end = self._buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        request_line, *header_lines = self._buffer[:head_end].decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body_start = head_end + 4
        body_end = body_start + int(headers.get("content-length") or 0)
        if len(self._buffer) < body_end:
            return None
        body = bytes(self._buffer[body_start:body_end])
        del self._buffer[:body_end]
        method, path, _version = request_line.split(" ", 2)
        return Request(method, path, headers, body)

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        head = [f"HTTP/1.1 {status} {_REASONS[status]}", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def close(self) -> None:
        self.sock.close()
