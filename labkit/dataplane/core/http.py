"""What the data plane's HTTP servers and proxies (the local cloud, load balancer listeners, Service
Connect, API Gateway's HTTP integrations, the Lambda Runtime API) do alike."""

import socket
from collections.abc import Iterable

# Headers about one connection, never passed on by a proxy (RFC 9110, section 7.6.1), with the
# legacy Keep-Alive and Proxy-Connection that clients still send.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# End-to-end, but about the message's framing: whoever sends the message on writes its own.
FRAMING = frozenset({"content-length"})


def end_to_end(headers: Iterable[tuple[str, str]], *, also_drop: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The headers a proxy passes on: neither hop-by-hop nor framing, nor any name in also_drop."""
    dropped = HOP_BY_HOP | FRAMING | {name.lower() for name in also_drop}
    return [(name, value) for name, value in headers if name.lower() not in dropped]


def no_delay(sock: socket.socket) -> None:
    """Every socket of the data plane: without TCP_NODELAY, Nagle's algorithm and delayed ACKs cost
    about 40 ms on each request whose head and body leave in separate sends."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
