"""A cache's endpoint: a TCP proxy on a 127.0.0.1 port of its own in front of the cache's server, which listens
on a port nobody is told. Each connection is admitted (forwarded to the server, both ways) or dropped, as the
cache's security groups decide (reach.py): an admitted connection goes to the server's TLS port or, when it
also has a plain one (encryption in transit `preferred`), to that one unless its first byte opens a TLS
handshake; a dropped connection is held unanswered and let go after
network.DROPPED_CONNECTION_S, as AWS's silent drop ends in the client's timeout."""

import selectors
import socket
import threading
from collections.abc import Callable

from labkit.dataplane.core import network
from labkit.dataplane.core.http import no_delay

LOOPBACK = "127.0.0.1"
_CHUNK = 64 * 1024
_TLS_HANDSHAKE = b"\x16"  # the content type of a TLS handshake record


class Gate:
    def __init__(self):
        self._listener = socket.create_server((LOOPBACK, 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()

    def serve(self, server_port: int, admits: Callable[[int, int], bool], plain_port: int | None = None) -> None:
        """Forward to server_port what admits(peer_port, endpoint_port) lets through, from now on; to plain_port
        what does not open with a TLS handshake, when there is one."""
        self._server_port, self._admits, self._plain_port = server_port, admits, plain_port
        threading.Thread(target=self._accept_forever, name=f"cache-gate-{self.port}", daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        with self._lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            _close(connection)

    def _accept_forever(self) -> None:
        while not self._closed.is_set():
            try:
                client, (_, peer_port) = self._listener.accept()
            except OSError:  # closed
                return
            self._track(client)
            threading.Thread(target=self._handle, args=(client, peer_port), daemon=True).start()

    def _handle(self, client: socket.socket, peer_port: int) -> None:
        upstream = None
        try:
            if not self._admitted(peer_port):
                self._closed.wait(network.DROPPED_CONNECTION_S)  # no answer, then the client gives up
                return
            upstream = socket.create_connection((LOOPBACK, self._upstream_port(client)))
            self._track(upstream)
            no_delay(client)
            no_delay(upstream)
            _pump(client, upstream)
        except OSError:
            pass
        finally:
            for connection in (client, upstream):
                if connection is not None:
                    self._untrack(connection)
                    _close(connection)

    def _upstream_port(self, client: socket.socket) -> int:
        if self._plain_port is None:
            return self._server_port
        # A Redis client speaks first: a TLS ClientHello opens with a handshake record.
        return self._server_port if client.recv(1, socket.MSG_PEEK) == _TLS_HANDSHAKE else self._plain_port

    def _admitted(self, peer_port: int) -> bool:
        try:
            return bool(self._admits(peer_port, self.port))
        except Exception:  # a record half-deleted, a process gone: nothing admits it
            return False

    def _track(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)
        if self._closed.is_set():
            _close(connection)

    def _untrack(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)


def _pump(client: socket.socket, upstream: socket.socket) -> None:
    """Copy both ways until either side closes."""
    other = {client: upstream, upstream: client}
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ)
        selector.register(upstream, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                data = key.fileobj.recv(_CHUNK)
                if not data:
                    return
                other[key.fileobj].sendall(data)


def _close(connection: socket.socket) -> None:
    try:
        connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    connection.close()
