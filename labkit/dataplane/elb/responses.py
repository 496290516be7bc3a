"""Responses the load balancer makes itself: its error pages, fixed responses and redirects,
as complete HTTP/1.1 messages written in one send (labkit/dataplane/README.md, "Serving HTTP")."""

from email.utils import formatdate

SERVER = "awselb/2.0"
# The titles an ALB puts in its own error pages.
ERROR_TITLES = {
    400: "400 Bad Request",
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}
REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    **{code: title.split(" ", 1)[1] for code, title in ERROR_TITLES.items()},
}


def message(
    status: int, reason: str, headers: list[tuple[str, str]], body: bytes, keep_alive: bool, head_only: bool = False
) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head_only else body)


def error_page(status: int, keep_alive: bool, head_only: bool = False) -> bytes:
    title = ERROR_TITLES[status]
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    ).encode()
    return message(status, REASONS[status], _own_headers("text/html", body), body, keep_alive, head_only)


def fixed_response(config: dict, keep_alive: bool, head_only: bool = False) -> bytes:
    status = int(config.get("StatusCode", 200))
    body = config.get("MessageBody", "").encode()
    content_type = config.get("ContentType", "text/plain; charset=utf-8")
    return message(status, REASONS.get(status, ""), _own_headers(content_type, body), body, keep_alive, head_only)


def redirect(status: int, location: str, keep_alive: bool) -> bytes:
    headers = _own_headers("text/html", b"") + [("Location", location)]
    return message(status, REASONS[status], headers, b"", keep_alive)


def _own_headers(content_type: str, body: bytes) -> list[tuple[str, str]]:
    return [
        ("Server", SERVER),
        ("Date", formatdate(usegmt=True)),
        ("Content-Type", content_type),
        ("Content-Length", str(len(body))),
    ]
