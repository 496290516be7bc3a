"""A TLS handshake with a listener, shown as it happened (lab 07): the certificate chain the server sent,
whether the handshake completed, and the alert the client got when it did not. No HTTP request is sent.

pyOpenSSL, because Python's ssl module (before 3.13) does not give the chain a server sent."""

import select
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography import x509
from OpenSSL import SSL


@dataclass
class Handshake:
    completed: bool
    chain: list[str] = field(default_factory=list)  # "subject, issued by issuer", the server's first
    alert: str = ""  # what OpenSSL reported when it did not complete
    protocol: str = ""

    def __str__(self) -> str:
        lines = [f"the server sent {len(self.chain)} certificate(s):"] + [f"  {c}" for c in self.chain]
        if self.completed:
            return "\n".join([*lines, f"handshake completed ({self.protocol})"])
        return "\n".join([*lines, f"handshake refused: {self.alert}"])


def shake_hands(url: str, ca_file: str | None, client: tuple[str, str] | None = None, timeout_s=5.0) -> Handshake:
    """The handshake with the HTTPS listener at `url`, as a client that trusts the CA in ca_file (None: any
    server, to test only the client's side), presenting the client certificate (certificate file, key file)."""
    target = urlsplit(url)
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    if ca_file:
        context.load_verify_locations(ca_file)
        context.set_verify(SSL.VERIFY_PEER, lambda *args: args[-1])  # refuse a server the CA did not sign
    if client:
        context.use_certificate_chain_file(client[0])
        context.use_privatekey_file(client[1])
    sock = socket.create_connection((target.hostname, target.port or 443), timeout=timeout_s)
    connection = SSL.Connection(context, sock)
    connection.set_tlsext_host_name(target.hostname.encode())
    connection.set_connect_state()
    try:
        _patiently(connection.do_handshake, sock, time.monotonic() + timeout_s)
        if connection.get_protocol_version_name() == "TLSv1.3":
            _await_the_servers_verdict(connection, sock)
        completed, alert = True, ""
    except SSL.Error as error:
        completed, alert = False, _reason(error)
    except TimeoutError:
        completed, alert = False, f"no answer within {timeout_s} s"
    chain = [_described(c.to_cryptography()) for c in connection.get_peer_cert_chain() or []]
    protocol = connection.get_protocol_version_name()
    connection.close()
    return Handshake(completed, chain, alert, protocol)


def _patiently(step, sock: socket.socket, deadline: float):
    """step() on a socket with a timeout, which pyOpenSSL treats as non-blocking: wait for data and go on."""
    while True:
        try:
            return step()
        except SSL.WantReadError:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([sock], [], [], remaining)[0]:
                raise TimeoutError from None


def _await_the_servers_verdict(connection: SSL.Connection, sock: socket.socket) -> None:
    """In TLS 1.3 the server verifies a client's certificate after the client's Finished: its alert, if any,
    comes next (after its session tickets). Half a second of silence means it accepted."""
    try:
        while True:
            _patiently(lambda: connection.recv(1), sock, time.monotonic() + 0.5)
    except (TimeoutError, SSL.ZeroReturnError):
        pass


def _described(certificate: x509.Certificate) -> str:
    return f"{certificate.subject.rfc4514_string()}, issued by {certificate.issuer.rfc4514_string()}"


def _reason(error: SSL.Error) -> str:
    reasons = [entry[-1] for entry in error.args[0] if isinstance(entry, tuple)] if error.args else []
    return "; ".join(reasons) or repr(error)
