"""What the local cloud served, kept as it came, cheaply: the few request headers that say who called
what, a small body, the status, and an error's body. Reading them into events waits for LookupEvents
(events.py), so an API call pays for a copy and an append, nothing more."""

import collections
import io
import threading
import time
from dataclasses import dataclass

# Management calls have small bodies; an upload (S3 PutObject, a data event) is not copied.
MAX_BODY = 16 * 1024
KEPT = 5000
# What requests.call reads to tell the operation, and what the event shows of the caller.
ENVIRON_KEYS = (
    "HTTP_AUTHORIZATION",
    "HTTP_X_AMZ_TARGET",
    "QUERY_STRING",
    "CONTENT_TYPE",
    "REQUEST_METHOD",
    "PATH_INFO",
    "REMOTE_ADDR",
    "HTTP_USER_AGENT",
)


@dataclass(frozen=True)
class Served:
    when: float
    environ: dict
    body: bytes
    status: int
    response_headers: dict
    error_body: bytes


_served: collections.deque = collections.deque(maxlen=KEPT)
_lock = threading.Lock()


def middleware(app):
    def wsgi(environ, start_response):
        if "HTTP_AUTHORIZATION" not in environ or environ.get("PATH_INFO", "").startswith("/_labkit/"):
            return app(environ, start_response)
        when = time.time()
        body = _small_body(environ)
        seen = {}

        def noting_start_response(status, headers, exc_info=None):
            seen["status"], seen["headers"] = int(status[:3]), headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = app(environ, noting_start_response)
        error_body = b""
        if seen.get("status", 200) >= 400:  # an error's body is small: read it for its code
            error_body = b"".join(result)
            if hasattr(result, "close"):
                result.close()
            result = [error_body]
        kept = {key: environ[key] for key in ENVIRON_KEYS if key in environ}
        headers = {name.lower(): value for name, value in seen.get("headers", [])}
        with _lock:
            _served.append(Served(when, kept, body, seen.get("status", 200), headers, error_body))
        return result

    return wsgi


def take() -> list[Served]:
    """What was served since the last take, oldest first."""
    with _lock:
        found = list(_served)
        _served.clear()
    return found


def reset() -> None:
    with _lock:
        _served.clear()


def _small_body(environ) -> bytes:
    length = environ.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or not 0 < int(length) <= MAX_BODY or environ.get("wsgi.input_terminated"):
        return b""
    body = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(body)
    return body
