"""TLS on an HTTPS listener, as the ALB terminates it: the listener's certificate from ACM (with its
chain), the protocols its SSL policy allows, and its mutual authentication (mutual_auth.py):

- off: no client certificate asked for;
- verify: the client must present a certificate that chains to the trust store's CA certificates,
  unexpired (unless the listener ignores expiry) and on none of its revocation lists (revocations.py),
  or the handshake fails with OpenSSL's alert;
- passthrough: any client certificate, or none, is accepted and passed on to the target.

pyOpenSSL, not the ssl module: passthrough needs a verify callback that accepts any chain, and the
target's headers need the client's whole chain.
"""

import io
import socket
import struct
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from OpenSSL import SSL, crypto

from labkit.dataplane.core import state
from labkit.dataplane.elb import mutual_auth, revocations, trust_stores

X509_V_ERR_CERT_HAS_EXPIRED = 10
SSL_MODE_NO_AUTO_CHAIN = 0x00000008  # OpenSSL's ssl.h
_VERSIONS = {
    "TLSv1": SSL.TLS1_VERSION,
    "TLSv1.1": SSL.TLS1_1_VERSION,
    "TLSv1.2": SSL.TLS1_2_VERSION,
    "TLSv1.3": SSL.TLS1_3_VERSION,
}


@dataclass
class Session:
    """One client's TLS connection: the stream the HTTP handler reads and writes, and the client's
    certificate chain (leaf first; empty without one)."""

    connection: SSL.Connection
    stream: "_Stream"
    client_chain: list[x509.Certificate]
    mode: str

    def close(self) -> None:
        try:
            self.connection.shutdown()  # close_notify, as a well-behaved server ends a TLS connection
        except (SSL.Error, OSError):
            pass


def protocols(ssl_policy: str | None) -> tuple[int, int]:
    """The oldest and newest TLS versions the listener's security policy allows (moto lists each
    policy's protocols as AWS documents them: ELBSecurityPolicy-2016-08, the API's default, TLS 1.0 to
    1.2; ELBSecurityPolicy-TLS13-1-2-2021-06 TLS 1.2 and 1.3; ...-TLS13-1-3-... TLS 1.3 only)."""
    from moto.elbv2.ssl_policies import SSL_POLICIES

    allowed = [_VERSIONS[name] for name in SSL_POLICIES[ssl_policy]["ssl_protocols"] if name in _VERSIONS]
    return min(allowed), max(allowed)


def context_for(backend, listener) -> SSL.Context:
    """The listener's TLS context, made again when its certificate, policy or mutual authentication
    (or its trust store's bundle) changed."""
    mutual = mutual_auth.of(listener)
    store = trust_stores.get(backend, mutual["TrustStoreArn"]) if mutual["Mode"] == "verify" else None
    # Revocations are read at each handshake: a change to them needs no new context.
    shape = (listener.certificate, listener.ssl_policy, tuple(sorted(mutual.items())), store and store.bundle)
    cached = state.get(listener, "tls")
    if cached is not None and cached[0] == shape:
        return cached[1]
    context = _make_context(backend, listener, mutual, store)
    state.put(listener, "tls", (shape, context))
    return context


def accept(sock: socket.socket, context: SSL.Context, mode: str) -> Session | None:
    """The server side of the handshake on an accepted socket; None when it fails (the client has
    been refused by then, with the alert OpenSSL sends)."""
    _blocking_with_timeouts(sock)
    connection = SSL.Connection(context, sock)
    connection.set_accept_state()
    try:
        connection.do_handshake()
    except (SSL.Error, OSError):
        return None
    leaf = connection.get_peer_certificate(as_cryptography=True)
    chain = connection.get_peer_cert_chain(as_cryptography=True) or []
    client_chain = ([leaf] if leaf is not None else []) + [c for c in chain if c != leaf]
    return Session(connection, _Stream(connection), client_chain, mode)


def _blocking_with_timeouts(sock: socket.socket) -> None:
    """Python's socket timeout makes the descriptor non-blocking, where OpenSSL would give up at once
    (WantReadError); a blocking socket with the kernel's own timeouts waits as long, then gives up."""
    seconds = sock.gettimeout() or 0.0
    sock.settimeout(None)
    timeval = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


def reader(session: Session) -> io.BufferedReader:
    return io.BufferedReader(session.stream, 65536)


def _make_context(backend, listener, mutual: dict, store) -> SSL.Context:
    from moto.acm.models import AWS_ROOT_CA, acm_backends

    bundle = acm_backends[backend.account_id][backend.region_name].get_certificate(listener.certificate)
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    oldest, newest = protocols(listener.ssl_policy)
    context.set_min_proto_version(oldest)
    context.set_max_proto_version(newest)
    # The listener sends the chain imported with its certificate, never one OpenSSL would build from the trust
    # store's CAs (those verify clients). SSL_MODE_NO_AUTO_CHAIN, which pyOpenSSL does not name.
    context.set_mode(SSL_MODE_NO_AUTO_CHAIN)
    context.use_certificate(x509.load_pem_x509_certificate(bundle.cert))
    context.use_privatekey(load_pem_private_key(bundle.key, password=None))
    # moto appends Amazon's intermediate to every chain it keeps (GetCertificate shows it); the listener sends
    # the chain that was imported, without its roots, which stay with the client as servers send them.
    appended = x509.load_pem_x509_certificate(AWS_ROOT_CA)
    for certificate in x509.load_pem_x509_certificates(bundle.chain):
        if certificate.issuer != certificate.subject and certificate != appended:
            context.add_extra_chain_cert(certificate)
    mode = mutual["Mode"]
    if mode == "verify":
        cas = [crypto.X509.from_cryptography(ca) for ca in store.certificates]
        for ca in cas:
            context.get_cert_store().add_cert(ca)
        if mutual.get("AdvertiseTrustStoreCaNames") == "on":  # named in the certificate request
            context.set_client_ca_list([ca.get_subject() for ca in cas])
        ignore_expiry = mutual.get("IgnoreClientCertificateExpiry", False)

        def verified(_connection, certificate, error, depth, ok) -> bool:
            if depth == 0 and revocations.revoked(store, certificate.to_cryptography()):
                return False
            return bool(ok) or (ignore_expiry and error == X509_V_ERR_CERT_HAS_EXPIRED)

        context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, verified)
    elif mode == "passthrough":
        context.set_verify(SSL.VERIFY_PEER, lambda *_: True)  # any chain: the target decides
    return context


class _Stream(io.RawIOBase):
    """A TLS connection as the file objects http.server reads and writes."""

    def __init__(self, connection: SSL.Connection):
        self._connection = connection

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        try:
            return self._connection.recv_into(buffer)
        except SSL.ZeroReturnError:
            return 0  # the client's close_notify
        except SSL.WantReadError:
            raise TimeoutError("idle timeout") from None  # the socket's timeout passed
        except SSL.SysCallError as error:
            if error.args and error.args[0] == -1:
                return 0  # closed without close_notify
            raise ConnectionResetError(str(error)) from None
        except SSL.Error as error:
            raise ConnectionResetError(str(error)) from None

    def write(self, data) -> int:
        try:
            self._connection.sendall(bytes(data))
        except SSL.Error as error:
            raise ConnectionResetError(str(error)) from None
        return len(data)
