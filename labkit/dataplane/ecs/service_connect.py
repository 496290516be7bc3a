"""ECS Service Connect's client aliases on the local cloud: http://backend:8080 from another task.

On AWS, Service Connect puts a proxy (Envoy) in every task of a service that has it enabled; the
task's requests to a client alias (a dnsName and port of a service in the same namespace) go
through that proxy to a healthy task of that service. Locally there is no DNS for the aliases and
no network namespace per task, so the same job is done by one small HTTP forward proxy per Cloud
Map namespace: the tasks of a Service Connect service get HTTP_PROXY pointing at their namespace's
proxy (NO_PROXY keeps loopback, the local cloud and the load balancers, direct), and the proxy
sends a request for alias:port round robin to the running tasks behind that alias. A name that is
no alias in the namespace gets 502, as a request to an unresolvable name fails on AWS.

Only HTTP goes through (HTTP_PROXY is what HTTP clients honour: requests, urllib, httpx); the
default alias of a Service Connect service without clientAliases is discoveryName.namespace on the
port mapping's container port, as AWS documents.

Security groups apply as between tasks on AWS: a task reaches another only if the callee's groups
admit the caller's on the container port. The proxy knows the caller by the task id in its HTTP_PROXY
URL (sent as Proxy-Authorization by HTTP clients); a task that admits no caller is never answered, and
the caller's Envoy gives up with 503 "upstream connect error ... connection timeout", as on AWS.

The proxy behaves as Service Connect's Envoy does: the alias's service's `timeout` applies
(perRequestTimeoutSeconds: no complete answer in time gets Envoy's 504 "upstream request timeout",
15 s when not set, as Envoy's route timeout; idleTimeoutSeconds, 5 minutes when not set: a caller's
connection idle that long is closed, and an answer slower than it closes the connection unanswered,
as AWS documents for an idle timeout shorter than the per-request one), a task that refuses the
connection is passed over for the next, and a task that keeps failing is taken out of rotation for a
while (outliers.py).
"""

import base64
import http.client
import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from labkit.dataplane.core import network
from labkit.dataplane.core.http import end_to_end, no_delay
from labkit.dataplane.ecs import outliers, registry

LOCALHOST = "127.0.0.1"
# Service Connect's defaults when the service's `timeout` does not say (0 there disables one).
PER_REQUEST_TIMEOUT_S = 15
IDLE_TIMEOUT_S = 300

_proxies: dict[str, ThreadingHTTPServer] = {}  # namespace id -> its proxy
_lock = threading.Lock()
_turn = itertools.count()


def client_environment(service, task) -> dict[str, str]:
    """What a task of `service` (moto's Service) needs in its environment to reach the client
    aliases of its namespace; {} when the service does not use Service Connect."""
    namespace = _namespace(service, task)
    if namespace is None:
        return {}
    # The task id as the proxy's user name: clients send it as Proxy-Authorization, so the proxy knows
    # whose security groups a request leaves from.
    url = f"http://{task.id}:task@{LOCALHOST}:{_proxy_for(namespace.id).server_address[1]}"
    direct = f"{LOCALHOST},localhost"
    return {"HTTP_PROXY": url, "http_proxy": url, "NO_PROXY": direct, "no_proxy": direct}


def stop_all() -> None:
    with _lock:
        servers = list(_proxies.values())
        _proxies.clear()
    for server in servers:
        server.shutdown()
        server.server_close()
    outliers.forget_all()


def _namespace(service, task):
    configuration = getattr(service, "service_connect_configuration", None) or {}
    if not configuration.get("enabled"):
        return None
    from moto.servicediscovery.models import servicediscovery_backends

    backend = servicediscovery_backends[task._account_id][task.region_name]
    wanted = configuration.get("namespace", "")
    return next((n for n in backend.list_namespaces() if wanted in (n.name, n.arn, n.id)), None)


def _proxy_for(namespace_id: str) -> ThreadingHTTPServer:
    with _lock:
        server = _proxies.get(namespace_id)
        if server is None:
            server = ThreadingHTTPServer((LOCALHOST, 0), _handler_for(namespace_id))
            server.daemon_threads = True
            threading.Thread(
                target=server.serve_forever, args=(0.2,), daemon=True, name=f"service-connect {namespace_id}"
            ).start()
            _proxies[namespace_id] = server
        return server


def endpoints(namespace_id: str, host: str, port: int, caller: network.Source = network.INTERNET) -> list[int]:
    """The local ports of the running tasks behind alias host:port in the namespace that admit the caller."""
    return [
        local_port
        for runtime, container_port, local_port, _ in behind(namespace_id, host, port)
        if network.admits(runtime.security_groups, container_port, caller)
    ]


def timeouts(entry: dict) -> tuple[float | None, float | None]:
    """(per-request, idle) timeout in seconds of a Service Connect service entry; None: disabled."""
    configured = entry.get("timeout") or {}
    per_request = configured.get("perRequestTimeoutSeconds", PER_REQUEST_TIMEOUT_S)
    idle = configured.get("idleTimeoutSeconds", IDLE_TIMEOUT_S)
    return (float(per_request) or None), (float(idle) or None)


def behind(namespace_id: str, host: str, port: int) -> list[tuple]:
    """(task runtime, container port, local port, the service's Service Connect entry) of each
    running task behind alias host:port."""
    found = []
    for runtime in registry.running():
        if not runtime.running or runtime.service is None:
            continue
        service = runtime.service.service
        namespace = _namespace(service, runtime.task)
        if namespace is None or namespace.id != namespace_id:
            continue
        named_ports = {
            m.get("name"): int(m["containerPort"])
            for d in runtime.task_definition.container_definitions
            for m in d.get("portMappings") or []
            if m.get("containerPort")
        }
        for entry in service.service_connect_configuration.get("services") or []:
            container_port = named_ports.get(entry.get("portName"))
            default_name = f"{entry.get('discoveryName') or entry.get('portName')}.{namespace.name}"
            aliases = entry.get("clientAliases") or [{"dnsName": default_name, "port": container_port}]
            if any(a.get("dnsName", default_name) == host and int(a.get("port") or 0) == port for a in aliases):
                found += [
                    (runtime, container_port, m.host_port, entry)
                    for spec in runtime.specs
                    for m in spec.ports
                    if m.container_port == container_port
                ]
    return found


def _caller(proxy_authorization: str | None) -> network.Source:
    """The calling task's address and security groups, from the task id in its proxy credentials."""
    try:
        task_id = base64.b64decode(proxy_authorization.split(" ", 1)[1]).decode().split(":", 1)[0]
    except (AttributeError, IndexError, ValueError):
        return network.INTERNET
    runtime = next((r for r in registry.running() if r.id == task_id), None)
    return network.INTERNET if runtime is None else network.Source(runtime.address, runtime.security_groups)


class _UpstreamTimeout(Exception):
    def __init__(self, per_request: bool):
        self.per_request = per_request


def _send(ports: list[int], method: str, path: str, body, headers, entry: dict) -> tuple:
    """Send to the next task in turn among those in rotation (never none: outliers.in_rotation); one
    that refuses the connection (still starting, or stopping) is passed over for the next, as Service
    Connect's proxy retries connect failures. Each outcome counts for outlier detection."""
    per_request, idle = timeouts(entry)
    waits = [t for t in (per_request, idle) if t is not None]
    rotation = outliers.in_rotation(ports)
    first = next(_turn)
    for attempt in range(len(rotation)):
        local_port = rotation[(first + attempt) % len(rotation)]
        upstream = http.client.HTTPConnection(LOCALHOST, local_port, timeout=min(waits) if waits else None)
        try:
            upstream.connect()
        except OSError:  # refused, or reset as its listening socket closed
            upstream.close()
            outliers.report(local_port, True, ports)
            if attempt == len(rotation) - 1:
                raise
            continue
        try:
            upstream.request(method, path, body=body, headers=headers)
            answer = upstream.getresponse()
            payload = answer.read()
        except TimeoutError:
            outliers.report(local_port, True, ports)
            raise _UpstreamTimeout(per_request is not None and min(waits) == per_request) from None
        finally:
            upstream.close()
        outliers.report(local_port, answer.status >= 500, ports)
        return answer, payload


def _handler_for(namespace_id: str):
    class ServiceConnectProxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            no_delay(self.connection)

        def log_message(self, *args):
            pass

        def _forward(self):
            target = urlsplit(self.path)
            host = target.hostname or (self.headers.get("Host") or "").split(":")[0]
            port = target.port or 80
            found = behind(namespace_id, host, port)
            if not found:
                return self._refuse(
                    f"{host}:{port} is not a Service Connect client alias of a running service in this namespace"
                )
            ports = endpoints(namespace_id, host, port, _caller(self.headers.get("Proxy-Authorization")))
            if not ports:  # every task's security groups drop the caller: its connections time out
                time.sleep(network.DROPPED_CONNECTION_S)
                return self._refuse(
                    "upstream connect error or disconnect/reset before headers. reset reason: connection timeout",
                    503,
                )
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = dict(end_to_end(self.headers.items()))
            path = (target.path or "/") + (f"?{target.query}" if target.query else "")
            entry = found[0][3]
            _, idle = timeouts(entry)
            self.connection.settimeout(idle)  # the caller's connection, idle between requests
            try:
                answer, payload = _send(ports, self.command, path, body, headers, entry)
            except _UpstreamTimeout as timeout:
                if timeout.per_request:
                    return self._refuse("upstream request timeout", 504)
                self.close_connection = True  # the idle timeout passed first: the connection closes
                return None
            except OSError:  # every task in rotation refused the connection
                return self._refuse(
                    "upstream connect error or disconnect/reset before headers. reset reason: connection failure", 503
                )
            self.send_response(answer.status, answer.reason)
            for name, value in end_to_end(answer.getheaders()):
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _refuse(self, message: str, status: int = 502):
            body = message.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _forward

    return ServiceConnectProxy
