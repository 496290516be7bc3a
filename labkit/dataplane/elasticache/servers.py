"""The Redis OSS server processes behind caches: one `redis-server` per cache, on a free 127.0.0.1 port nobody
is told, behind its gate (gate.py: the endpoint's port, where the cache's security groups are enforced), with no
persistence (a cache), the cache's AUTH token as its password, and, for a cluster-mode endpoint, cluster mode on
with every hash slot its own, announcing the gate's port so that CLUSTER SLOTS and MOVED never send a client
around it. A cache with encryption in transit speaks TLS (tls.py), and only TLS unless its mode is `preferred`,
where the gate sends each connection to a TLS port or a plain one by its first byte, as AWS's one port answers
both. Its process title names the endpoint it serves. Valkey 7.2 speaks the same protocol; Debian 12 packages only
Redis 7.0, which stands in for both engines."""

import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from labkit.dataplane.elasticache import tls
from labkit.dataplane.elasticache.gate import Gate
from labkit.proc import stop_group

EXECUTABLE = "redis-server"
READY_TIMEOUT_S = 5.0
CLUSTER_SLOTS = 16384
START_ATTEMPTS = 3
REQUIRED = "required"  # TransitEncryptionMode: TLS only
PREFERRED = "preferred"  # TransitEncryptionMode: TLS and plain connections both answered


class ServerUnavailable(Exception):
    """redis-server is missing or did not start."""


@dataclass
class Server:
    gate: Gate
    server_port: int  # where redis-server listens (TLS when encrypted): only the gate connects there
    process: subprocess.Popen
    work_dir: str
    encrypted: bool = False
    plain_port: int | None = None  # where it also listens without TLS (mode preferred)

    @property
    def port(self) -> int:
        """The endpoint's port: the gate's."""
        return self.gate.port

    @property
    def pid(self) -> int:
        return self.process.pid


_servers: dict[str, Server] = {}  # by the cache's ARN
_lock = threading.Lock()


def start(
    key: str,
    admits: Callable[[int, int], bool],
    password: str | None = None,
    cluster_mode: bool = False,
    transit_encryption: str | None = None,
) -> Server:
    """A server for the cache named by key (its ARN), started now; the one already running for it if any.
    admits(peer_port, endpoint_port) says whether a connection to the endpoint gets through; transit_encryption
    is the cache's TransitEncryptionMode when it has encryption in transit (`required`, `preferred`), else None."""
    with _lock:
        if key in _servers and _servers[key].process.poll() is None:
            return _servers[key]
    executable = shutil.which(EXECUTABLE)
    if executable is None:
        raise ServerUnavailable(
            "redis-server is not installed: run .ci/bootstrap.sh (Debian: apt-get install redis-server)"
        )
    for attempt in range(START_ATTEMPTS):
        try:
            server = _started(executable, password, cluster_mode, transit_encryption)
            break
        except ServerUnavailable:
            # A free port can be taken between choosing it and the server binding it: choose again.
            if attempt == START_ATTEMPTS - 1:
                raise
    server.gate.serve(server.server_port, admits, plain_port=server.plain_port)
    with _lock:
        _servers[key] = server
    return server


def _started(executable: str, password: str | None, cluster_mode: bool, transit_encryption: str | None) -> Server:
    port = _free_port()
    plain_port = _free_port() if transit_encryption == PREFERRED else None
    gate = Gate()
    work_dir = tempfile.mkdtemp(prefix="labkit-cache-")
    # --save "" and no AOF: a cache, nothing written to disk; cluster mode keeps its nodes.conf in work_dir.
    command = [executable, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    if transit_encryption:
        files = tls.server_files()
        command += ["--tls-port", str(port), "--port", str(plain_port or 0), "--tls-auth-clients", "no"]
        command += ["--tls-cert-file", str(files.certificate), "--tls-key-file", str(files.key)]
        command += ["--tls-ca-cert-file", str(files.ca_certificate)]
    else:
        command += ["--port", str(port)]
    command += ["--dir", work_dir, "--daemonize", "no", "--loglevel", "warning"]
    command += ["--proc-title-template", f"{{title}} {{listen-addr}} endpoint 127.0.0.1:{gate.port}"]
    if password:
        command += ["--requirepass", password]
    if cluster_mode:
        # The cluster bus listens on a port of its own: by default the port plus 10000, which may be taken or
        # beyond 65535 for a port from the ephemeral range.
        command += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
        command += ["--cluster-port", str(_free_port())]
        command += ["--cluster-announce-ip", "127.0.0.1", "--cluster-announce-port", str(gate.port)]
        if transit_encryption:
            # Its clients and its bus speak TLS: it announces the gate's port as its TLS port.
            command += ["--tls-cluster", "yes", "--cluster-announce-tls-port", str(gate.port)]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    server = Server(gate, port, process, work_dir, bool(transit_encryption), plain_port)
    try:
        _wait_until_ready(server, password)
        if cluster_mode:
            _command(server, password, "CLUSTER", "ADDSLOTSRANGE", "0", str(CLUSTER_SLOTS - 1))
            _wait_until_cluster_ok(server, password)
    except BaseException:
        _stop(server)
        raise
    return server


def stop(key: str) -> None:
    with _lock:
        server = _servers.pop(key, None)
    if server is not None:
        _stop(server)


def stop_all() -> None:
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        _stop(server)


def _stop(server: Server) -> None:
    server.gate.close()
    stop_group(server.pid, server.process)
    shutil.rmtree(server.work_dir, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_ready(server: Server, password: str | None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        if server.process.poll() is not None:
            raise ServerUnavailable(f"redis-server exited with status {server.process.returncode} on start")
        try:
            if _command(server, password, "PING") == b"+PONG":
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerUnavailable(f"redis-server did not answer on port {server.server_port} in {READY_TIMEOUT_S} s")
        time.sleep(0.01)


def _wait_until_cluster_ok(server: Server, password: str | None) -> None:
    """Until its cluster state is ok: Redis holds a new node's state at `fail` for 2 s after it starts
    (CLUSTER_WRITABLE_DELAY), answering CLUSTERDOWN meanwhile."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while b"cluster_state:ok" not in _command(server, password, "CLUSTER", "INFO", whole=True):
        if time.monotonic() > deadline:
            raise ServerUnavailable(f"redis-server's cluster state was not ok in {READY_TIMEOUT_S} s")
        time.sleep(0.05)


def _command(server: Server, password: str | None, *words: str, whole: bool = False) -> bytes:
    """One command in RESP, after AUTH when there is a password; the first line of the reply (what one recv
    holds of it when whole)."""
    commands = ([("AUTH", password)] if password else []) + [words]
    with _connection(server) as connection:
        for command in commands:
            parts = [f"*{len(command)}\r\n".encode()]
            for word in command:
                data = word.encode()
                parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
            connection.sendall(b"".join(parts))
            received = connection.recv(4096)
            reply = received.split(b"\r\n", 1)[0]
            if reply.startswith(b"-"):
                raise ServerUnavailable(f"redis-server answered {reply.decode()}")
        return received if whole else reply


def _connection(server: Server) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", server.server_port), timeout=1.0)
    if not server.encrypted:
        return connection
    try:
        return tls.client_context().wrap_socket(connection, server_hostname="127.0.0.1")
    except (OSError, ssl.SSLError):
        connection.close()
        raise
