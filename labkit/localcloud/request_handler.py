"""How the local cloud's HTTP server answers a connection: moto's request handler (werkzeug's), but
keeping the connection open from one request to the next.

werkzeug's development server closes every connection after one request ("Connection: close"),
because Python's http.server cannot tell where a body the application did not read ends. Every
AWS call then paid a new TCP connection and a new thread, although boto3 and HTTP clients keep
connections open to AWS. Here the request body is bounded by its Content-Length and read to its end
after the response, so the next request starts where it should; a request with a chunked body
still closes the connection. Each response leaves in one send (head and body together).
"""

import traceback

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.exceptions import InternalServerError
from werkzeug.wsgi import LimitedStream

from labkit.dataplane.core.http import no_delay

# Responses that never have a body, whatever their headers say (RFC 9110, section 6.4.1).
_BODILESS_STATUSES = {204, 304}


class LocalCloudRequestHandler(MotoRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive

    def setup(self):
        super().setup()
        no_delay(self.connection)

    def log_request(self, *args, **kwargs):
        pass  # no line per request in the cloud's log

    def run_wsgi(self) -> None:  # http.server has answered "Expect: 100-continue" already
        self.environ = environ = self.make_environ()
        length = environ.get("CONTENT_LENGTH") or "0"
        if environ.get("wsgi.input_terminated"):  # chunked: readable to its end, then close
            body = environ["wsgi.input"]
            self.close_connection = True
        elif length.isdigit():
            body = environ["wsgi.input"] = LimitedStream(self.rfile, int(length))
        else:
            body = None
            self.close_connection = True
        response = _Response(self, environ["REQUEST_METHOD"] == "HEAD")
        try:
            _run(self.server.app, environ, response)
        except (ConnectionError, TimeoutError):
            raise  # the client went away; werkzeug's handle() ends the connection
        except Exception:
            self.close_connection = True
            traceback.print_exc()  # into the cloud's log, as werkzeug logs it
            if response.sent:
                return
            _run(InternalServerError(), environ, _Response(self, head_request=False))
        if body is not None:
            _read_to_end(body)


class _Response:
    """One WSGI response: its head and first body chunk in one send, then further chunks."""

    def __init__(self, handler: LocalCloudRequestHandler, head_request: bool):
        self.handler = handler
        self.head_request = head_request
        self.status: str | None = None
        self.headers: list[tuple[str, str]] | None = None
        self.sent = False
        self.bodiless = False  # HEAD, 1xx, 204, 304: whatever the application yields is not sent
        self.chunked = False
        self.declared_length: int | None = None  # Content-Length, when the body has a length
        self.body_length = 0

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.headers is not None:
            raise AssertionError("Headers already set")
        self.status, self.headers = status, headers
        return self.write

    def write(self, data: bytes) -> None:
        assert self.headers is not None, "write() before start_response"
        assert isinstance(data, bytes), "applications must write bytes"
        out = b""
        if not self.sent:
            out = self._head()
            self.sent = True
        if data and not self.bodiless:
            self.body_length += len(data)
            out += b"%x\r\n%s\r\n" % (len(data), data) if self.chunked else data
        if out:
            self.handler.wfile.write(out)

    def finish(self) -> None:
        if not self.sent:
            self.write(b"")
        if self.chunked:
            self.handler.wfile.write(b"0\r\n\r\n")
        elif self.declared_length is not None and self.body_length != self.declared_length:
            # The client cannot find where this response ends; the connection must not carry more.
            self.handler.close_connection = True

    def _head(self) -> bytes:
        handler = self.handler
        code = int(self.status.split(None, 1)[0])
        lines = [
            f"{handler.protocol_version} {self.status}",
            f"Server: {handler.version_string()}",
            f"Date: {handler.date_time_string()}",
        ]
        said_close = False
        for name, value in self.headers:
            lines.append(f"{name}: {value}")
            lowered = name.lower()
            if lowered == "content-length" and value.strip().isdigit():
                self.declared_length = int(value)
            elif lowered == "connection" and value.strip().lower() == "close":
                said_close = handler.close_connection = True
        self.bodiless = self.head_request or code < 200 or code in _BODILESS_STATUSES
        if self.bodiless:
            self.declared_length = None
        elif self.declared_length is None:
            self.chunked = True
            lines.append("Transfer-Encoding: chunked")
        if handler.close_connection and not said_close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _run(app, environ, response: _Response) -> None:
    body = app(environ, response.start_response)
    try:
        for data in body:
            response.write(data)
        response.finish()
    finally:
        if hasattr(body, "close"):
            body.close()


def _read_to_end(stream) -> None:
    """What the application left of the request body, so that the next request starts after it."""
    while stream.read(64 * 1024):
        pass
