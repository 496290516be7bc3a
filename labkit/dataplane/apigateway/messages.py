"""The HTTP request API Gateway received and the response it sends, independent of WSGI."""

import base64
import secrets
import time
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl, unquote


@dataclass
class ApiRequest:
    """One request to an execute-api URL, with the stage already taken off the path."""

    method: str
    raw_path: str  # percent-encoded as sent, starting with "/"
    query_string: str
    header_items: list[tuple[str, str]]  # names as the client spelled them, in order
    body: bytes
    source_ip: str
    protocol: str
    host: str
    received: "Arrival" = field(default_factory=lambda: Arrival.now())

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def path_segments(self) -> list[str]:
        """Decoded segments; one trailing slash is ignored, as API Gateway does."""
        trimmed = self.raw_path.strip("/")
        return [unquote(part) for part in trimmed.split("/")] if trimmed else []

    @property
    def query_items(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    def header(self, name: str) -> str | None:
        """The last value of a header, names compared without case."""
        wanted = name.lower()
        found = None
        for key, value in self.header_items:
            if key.lower() == wanted:
                found = value
        return found

    @property
    def user_agent(self) -> str:
        return self.header("User-Agent") or ""

    @property
    def content_type(self) -> str:
        """The media type alone, without parameters such as charset."""
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


@dataclass
class ApiResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def status_line(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"

    def without_headers(self, names: set[str]) -> "ApiResponse":
        """A copy without the named headers (names given in lower case)."""
        kept = [(key, value) for key, value in self.headers if key.lower() not in names]
        return ApiResponse(self.status, kept, self.body)


@dataclass(frozen=True)
class Arrival:
    """When API Gateway received a request and the ids it gave it."""

    request_id: str
    extended_request_id: str  # REST APIs' x-amz-apigw-id
    epoch_ms: int

    @classmethod
    def now(cls) -> "Arrival":
        # AWS's extended ids are 16 base64 characters ending in "=".
        extended = base64.b64encode(secrets.token_bytes(11)).decode()[:15] + "="
        return cls(str(uuid.uuid4()), extended, int(time.time() * 1000))

    @property
    def clf_time(self) -> str:
        """Common Log Format, as requestContext.requestTime: 04/Mar/2020:19:15:17 +0000."""
        return utc_time("%d/%b/%Y:%H:%M:%S +0000", self.epoch_ms / 1000)


def utc_time(pattern: str, seconds: float) -> str:
    """time.strftime in UTC, with English day (%a) and month (%b) names whatever the locale."""
    moment = time.gmtime(seconds)
    pattern = pattern.replace("%a", _DAYS[moment.tm_wday]).replace("%b", _MONTHS[moment.tm_mon - 1])
    return time.strftime(pattern, moment)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
