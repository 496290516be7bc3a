"""A listener's data plane: a threaded HTTP/1.1 proxy on its own 127.0.0.1 port.

Each request goes through the listener's rules (read live from moto, so a changed rule applies to
the next request) to a fixed response, a redirect or a target group, where it is forwarded to a
target round robin over keep-alive connections. Failures answer as an ALB does: 502 when the
target closes or resets the connection, 503 when the group has no target to send to, 504 when the
target does not answer within the load balancer's idle timeout. An HTTPS listener terminates TLS
first (tls.py), and tells the target about the client's certificate as the ALB does
(client_cert_headers.py).
"""

import http.client
import random
import secrets
import socketserver
import time
from http.server import BaseHTTPRequestHandler

from labkit.dataplane import cloudwatch
from labkit.dataplane.core import network, state
from labkit.dataplane.core.http import end_to_end, no_delay
from labkit.dataplane.elb import client_cert_headers, mutual_auth, responses, rules, targets, tls, vpc

# Safe to send twice (RFC 9110): after a reused keep-alive connection turns out closed, the
# request is sent again on a fresh one, as proxies do.
IDEMPOTENT = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
DEFAULT_IDLE_TIMEOUT_S = 60.0


class _TryAnotherTarget(Exception):
    """The target refused the connection: the request never reached it."""


class _Unreachable(Exception):
    """Nothing answers at the target's address, or its security groups drop the load balancer."""


class ListenerServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, backend, balancer, listener):
        self.backend = backend  # moto's ELBv2Backend: target groups by ARN
        self.balancer = balancer
        self.listener = listener
        super().__init__(("127.0.0.1", 0), _ListenerHandler)

    @property
    def local_port(self) -> int:
        return self.server_address[1]

    def idle_timeout(self) -> float:
        return float(self.balancer.attrs.get("idle_timeout.timeout_seconds", DEFAULT_IDLE_TIMEOUT_S))

    @property
    def scheme(self) -> str:
        return "https" if self.listener.protocol == "HTTPS" else "http"


class _ListenerHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ListenerServer
    tls_session: tls.Session | None = None

    def setup(self):
        super().setup()
        no_delay(self.connection)
        # The idle timeout applies to the client's side of the connection too.
        self.connection.settimeout(self.server.idle_timeout())

    def handle(self):
        balancer = self.server.balancer
        # An internal load balancer's clients are in the VPC, which locally cannot be told apart.
        if balancer.scheme != "internal" and not vpc.admits_client(balancer, int(self.server.listener.port)):
            time.sleep(network.DROPPED_CONNECTION_S)  # dropped: no answer, then the client gives up
            return
        if self.server.scheme == "https" and not self._handshake():
            return
        super().handle()

    def _handshake(self) -> bool:
        """TLS before any request; a client refused here never reaches the rules or a target."""
        listener = self.server.listener
        try:
            context = tls.context_for(self.server.backend, listener)
        except Exception:  # its certificate or trust store is gone: nothing to serve TLS with
            return False
        self.tls_session = tls.accept(self.connection, context, mutual_auth.of(listener)["Mode"])
        if self.tls_session is None:
            return False
        self.rfile, self.wfile = tls.reader(self.tls_session), self.tls_session.stream
        return True

    def finish(self):
        super().finish()
        if self.tls_session is not None:
            self.tls_session.close()

    def log_message(self, format, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def _serve(self):
        self.routed_to = self.target_answered_in = None  # what the request's metrics say (_send)
        body = self._read_body()
        if body is None:
            return self._send(responses.error_page(400, keep_alive=False))
        path, _, query = self.path.partition("?")
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = rules.Request(self.command, path, query, headers, self.client_address[0])
        action = rules.action_for(self.server.listener, request)
        head_only = self.command == "HEAD"
        keep_alive = not self.close_connection
        if action is None:
            return self._send(responses.error_page(503, keep_alive, head_only))
        if action.type == "fixed-response":
            return self._send(
                responses.fixed_response(action.data.get("FixedResponseConfig", {}), keep_alive, head_only)
            )
        if action.type == "redirect":
            return self._send(self._redirect(action.data.get("RedirectConfig", {}), request))
        return self._send(self._forward(action, body, keep_alive, head_only))

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

    def _send(self, message: bytes) -> None:
        self.wfile.write(message)
        answered_in = self.target_answered_in
        status = int(message[9:12])  # every answer starts "HTTP/1.1 NNN"
        cloudwatch.alb_request(self.server.balancer, self.routed_to, status, answered_in is not None, answered_in)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return _read_chunked(self.rfile)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.isdigit():
            return None
        return self.rfile.read(int(length))

    def _forward(self, action, body: bytes, keep_alive: bool, head_only: bool) -> bytes:
        group = self._choose_group(action)
        if group is None:
            return responses.error_page(503, keep_alive, head_only)
        runtime = targets.runtime_of(group)
        runtime.count_request()
        self.routed_to = group
        tried: set = set()
        while True:
            target = runtime.pick(exclude=tried)
            if target is None:
                # Nothing registered or healthy: 503. Every target refused: 502.
                return responses.error_page(502 if tried else 503, keep_alive, head_only)
            try:
                return self._exchange(target, body, keep_alive, head_only)
            except _TryAnotherTarget:
                tried.add(target)
            except _Unreachable:
                # AWS's load balancer waits 10 s for the connection, then answers 504.
                time.sleep(min(network.DROPPED_CONNECTION_S, self.server.idle_timeout()))
                return responses.error_page(504, keep_alive, head_only)

    def _choose_group(self, action):
        arns = rules.target_group_arns(action)
        weights = [1] * len(arns)
        if "ForwardConfig" in action.data and not action.data.get("TargetGroupArn"):
            weights = [int(g.get("Weight", 1)) for g in action.data["ForwardConfig"]["TargetGroups"]]
        if not arns or not any(weights):
            return None
        arn = arns[0] if len(arns) == 1 else random.choices(arns, weights)[0]
        return self.server.backend.target_groups.get(arn)

    def _exchange(self, target, body: bytes, keep_alive: bool, head_only: bool) -> bytes:
        headers = self._upstream_headers(body)
        send_body = body if body or self.command in ("POST", "PUT", "PATCH") else None
        for fresh in (False, True):
            connection, reused = self._connection_to(target, fresh)
            try:
                sent = time.monotonic()
                connection.request(self.command, self.path, send_body, headers)
                response = connection.getresponse()
                data = response.read()
                self.target_answered_in = time.monotonic() - sent
            except TimeoutError:
                connection.close()
                return responses.error_page(504, keep_alive, head_only)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                if reused and self.command in IDEMPOTENT:
                    continue  # the idle connection had been closed by the target: send it again
                return responses.error_page(502, keep_alive, head_only)
            except (OSError, http.client.HTTPException):
                connection.close()
                return responses.error_page(502, keep_alive, head_only)
            if response.will_close:
                connection.close()
            else:
                target.idle_connections.append(connection)
            return self._relay(response, data, keep_alive)
        return responses.error_page(502, keep_alive, head_only)

    def _connection_to(self, target, fresh: bool) -> tuple[http.client.HTTPConnection, bool]:
        timeout = self.server.idle_timeout()  # read each time: an attribute change applies at once
        if not fresh:
            try:
                connection = target.idle_connections.pop()
                connection.sock.settimeout(timeout)
                return connection, True
            except IndexError:
                pass
        endpoint = vpc.reach(self.server.balancer, target.id, target.port)
        if endpoint is None:
            raise _Unreachable()
        connection = http.client.HTTPConnection("127.0.0.1", endpoint.local_port, timeout=timeout)
        try:
            connection.connect()
        except OSError:  # refused: nothing listens there (any more)
            raise _TryAnotherTarget from None
        no_delay(connection.sock)
        return connection, False

    def _upstream_headers(self, body: bytes) -> dict[str, str]:
        # A client's own X-Amzn-Mtls-* headers never pass: only the load balancer says what it verified.
        headers = {
            name: value
            for name, value in end_to_end(self.headers.items())
            if not name.lower().startswith(client_cert_headers.PREFIX)
        }
        if self.tls_session is not None:
            headers.update(client_cert_headers.headers(self.tls_session.mode, self.tls_session.client_chain))
        client = self.client_address[0]
        forwarded_for = self.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{forwarded_for}, {client}" if forwarded_for else client
        headers["X-Forwarded-Proto"] = self.server.scheme
        headers["X-Forwarded-Port"] = str(self.server.listener.port)
        headers.setdefault("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        return headers

    def _relay(self, response: http.client.HTTPResponse, data: bytes, keep_alive: bool) -> bytes:
        headers = end_to_end(response.getheaders())
        if self.command == "HEAD" or response.status in (204, 304) or response.status < 200:
            length = response.getheader("Content-Length")
            if length is not None and self.command == "HEAD":
                headers.append(("Content-Length", length))
        else:
            headers.append(("Content-Length", str(len(data))))
        return responses.message(response.status, response.reason, headers, data, keep_alive)

    def _redirect(self, config: dict, request: rules.Request) -> bytes:
        listener = self.server.listener
        aws_port = str(listener.port)
        values = {
            "#{protocol}": self.server.scheme,
            "#{host}": request.host,
            "#{port}": aws_port,
            "#{path}": request.path.lstrip("/"),
            "#{query}": request.query,
        }

        def fill(key: str, default: str) -> str:
            text = str(config.get(key, default))
            for placeholder, value in values.items():
                text = text.replace(placeholder, value)
            return text

        scheme = fill("Protocol", "#{protocol}").lower()
        port = fill("Port", "#{port}")
        # A port of one of this load balancer's listeners is reached locally on that listener's
        # own port, so the redirect can be followed.
        local = _local_port_of(self.server.balancer, port)
        address = (
            f"{fill('Host', '#{host}')}:{local}"
            if local
            else (
                fill("Host", "#{host}") + ("" if (scheme, port) in (("http", "80"), ("https", "443")) else f":{port}")
            )
        )
        query = fill("Query", "#{query}")
        location = f"{scheme}://{address}{fill('Path', '/#{path}')}" + (f"?{query}" if query else "")
        status = 301 if config.get("StatusCode", "HTTP_301") == "HTTP_301" else 302
        return responses.redirect(status, location, keep_alive=not self.close_connection)


def _local_port_of(balancer, aws_port: str) -> int | None:
    for listener in list(balancer.listeners.values()):
        server = state.get(listener, "server")
        if str(listener.port) == aws_port and server is not None:
            return server.local_port
    return None


def _read_chunked(stream) -> bytes | None:
    parts = []
    while True:
        size_line = stream.readline(65537)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            return None
        if size == 0:
            while stream.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers are dropped
            return b"".join(parts)
        parts.append(stream.read(size))
        stream.readline(3)
