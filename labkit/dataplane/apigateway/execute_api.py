"""The execute-api endpoint on the local cloud's own port, answered before moto sees the request:

  {endpoint}/restapis/{api id}/{stage}/_user_request_/{path}   path style, what labkit.url_for gives
  http://{api id}.execute-api.localhost:{port}/{stage}/{path}  host style; an HTTP API's $default
                                                               stage takes no stage segment

by the REST API or HTTP API with that id, in whichever account and region moto holds it.
"""

import re
import secrets
import time
import traceback
from urllib.parse import quote, unquote

from labkit.dataplane import cloudwatch
from labkit.dataplane.apigateway import errors, http_v2, rest_v1
from labkit.dataplane.apigateway.messages import ApiRequest, ApiResponse

_PATH_STYLE = re.compile(
    r"^/restapis/(?P<api_id>[^/]+)/(?P<stage>[^/]+)/_user_request_"
    r"(?P<path>/.*)?$"
)
_HOST_STYLE = re.compile(r"^(?P<api_id>[a-z0-9]+)\.execute-api\.localhost(:\d+)?$", re.IGNORECASE)
# Where install() has the request handler keep the headers as sent: WSGI's environ upper-cases
# their names and folds repeated headers into one, and the events must show them as AWS does.
HEADER_ITEMS = "labkit.header_items"


def install() -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    original = MotoRequestHandler.make_environ
    if getattr(original, "labkit_header_items", False):
        return

    def make_environ(self):
        environ = original(self)
        environ[HEADER_ITEMS] = self.headers.items()
        return environ

    make_environ.labkit_header_items = True
    MotoRequestHandler.make_environ = make_environ


def middleware(app):
    def wsgi(environ, start_response):
        raw_uri = environ.get("RAW_URI") or quote(environ.get("PATH_INFO", ""))
        raw_path, _, query = raw_uri.partition("?")
        target = _target(environ.get("HTTP_HOST", ""), raw_path)
        if target is None:
            return app(environ, start_response)
        try:
            response = _answer(*target, query, environ)
        except Exception:  # a bug here must answer like API Gateway, with the reason in the log
            traceback.print_exc()
            response = errors.http_response(errors.internal_server_error("labkit failed"))
        headers = [
            (name, value)
            for name, value in response.headers
            if name.lower() not in ("content-length", "transfer-encoding", "connection")
        ]
        headers.append(("Content-Length", str(len(response.body))))
        start_response(response.status_line, headers)
        return [response.body]

    return wsgi


def _target(host: str, raw_path: str):
    """(api id, stage or None for host style, path after the stage) for execute-api requests."""
    found = _PATH_STYLE.match(raw_path)
    if found:  # "$default" may arrive as "%24default"
        return unquote(found["api_id"]), unquote(found["stage"]), found["path"] or "/"
    found = _HOST_STYLE.match(host)
    if found:
        return found["api_id"].lower(), None, raw_path or "/"
    return None


def _answer(api_id: str, stage: str | None, raw_path: str, query: str, environ) -> ApiResponse:
    found = _find_api(api_id)
    if found is None:
        print(f"API Gateway: no REST or HTTP API with id {api_id!r}", flush=True)
        return errors.http_response(errors.GatewayError(403, "Forbidden", "no such API"))
    kind, account_id, region, api = found
    if stage is None:  # host style: the stage is the first segment, if the API has such a stage
        first, _, rest = raw_path.lstrip("/").partition("/")
        if kind == "rest" or first in api.stages:
            stage, raw_path = first, "/" + rest
        else:
            stage = http_v2.DEFAULT_STAGE
    source_ip = environ.get("REMOTE_ADDR", "")
    headers = _with_forwarding(
        list(environ.get(HEADER_ITEMS) or _headers_from(environ)), source_ip, environ.get("SERVER_PORT", "")
    )
    request = ApiRequest(
        method=environ["REQUEST_METHOD"].upper(),
        raw_path=raw_path,
        query_string=query,
        header_items=headers,
        body=_body(environ),
        source_ip=source_ip,
        protocol=environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        host=environ.get("HTTP_HOST", ""),
    )
    started = time.monotonic()
    if kind == "rest":
        response = rest_v1.handle(api, account_id, region, stage, request)
    else:
        response = http_v2.handle(api, account_id, stage, request)
    cloudwatch.api_request(kind, account_id, region, api, stage, response.status, time.monotonic() - started)
    return response


def _find_api(api_id: str):
    """("rest" or "http", account id, region, moto's API object), or None."""
    from moto.apigateway.models import apigateway_backends
    from moto.apigatewayv2.models import apigatewayv2_backends

    for kind, backends in (("rest", apigateway_backends), ("http", apigatewayv2_backends)):
        for account_id, regions in list(backends.items()):
            for region, backend in list(regions.items()):
                api = backend.apis.get(api_id)
                if api is not None:
                    return kind, account_id, region, api
    return None


def _with_forwarding(headers: list[tuple[str, str]], source_ip: str, port: str) -> list[tuple[str, str]]:
    """The headers API Gateway's front end adds before an integration sees the request."""
    forwarded_for = [value for name, value in headers if name.lower() == "x-forwarded-for"]
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in ("x-forwarded-for", "x-forwarded-port", "x-forwarded-proto")
    ]
    return kept + [
        ("X-Amzn-Trace-Id", f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"),
        ("X-Forwarded-For", ", ".join(forwarded_for + [source_ip])),
        ("X-Forwarded-Port", port),
        ("X-Forwarded-Proto", "http"),
    ]


def _headers_from(environ) -> list[tuple[str, str]]:
    """Headers rebuilt from a plain WSGI environ (names capitalised, repeats already joined)."""
    headers = [(key[5:].replace("_", "-").title(), value) for key, value in environ.items() if key.startswith("HTTP_")]
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers.append((key.replace("_", "-").title(), environ[key]))
    return headers


def _body(environ) -> bytes:
    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        return stream.read()
    length = environ.get("CONTENT_LENGTH") or "0"
    return stream.read(int(length)) if length.isdigit() and int(length) > 0 else b""
