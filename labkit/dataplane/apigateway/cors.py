"""CORS for HTTP APIs, from the API's corsConfiguration: API Gateway answers preflight requests
itself, whatever the routes, and sets the CORS headers on every response, replacing any the
integration sent. (REST APIs have no such setting: an OPTIONS method with a MOCK integration
answers preflights, and the integration adds the headers.)"""

from labkit.dataplane.apigateway.messages import ApiRequest, ApiResponse

_CORS_HEADERS = {
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
}


def is_preflight(request: ApiRequest) -> bool:
    return (
        request.method == "OPTIONS"
        and request.header("Origin") is not None
        and request.header("Access-Control-Request-Method") is not None
    )


def preflight(config: dict, request: ApiRequest) -> ApiResponse:
    headers = _origin_headers(config, request.header("Origin") or "")
    if headers:
        methods = config.get("allowMethods") or []
        allowed_headers = config.get("allowHeaders") or []
        if methods:
            headers.append(("access-control-allow-methods", ",".join(methods)))
        if allowed_headers:
            headers.append(("access-control-allow-headers", ",".join(allowed_headers)))
        if config.get("maxAge") is not None:
            headers.append(("access-control-max-age", str(config["maxAge"])))
    return ApiResponse(204, headers, b"")


def decorate(config: dict, request: ApiRequest, response: ApiResponse) -> ApiResponse:
    origin = request.header("Origin")
    cleaned = response.without_headers(_CORS_HEADERS)
    if origin is None:
        return cleaned
    headers = _origin_headers(config, origin)
    if headers and config.get("exposeHeaders"):
        headers.append(("access-control-expose-headers", ",".join(config["exposeHeaders"])))
    return ApiResponse(cleaned.status, cleaned.headers + headers, cleaned.body)


def _origin_headers(config: dict, origin: str) -> list[tuple[str, str]]:
    """Allow-Origin (and Allow-Credentials) when the origin is allowed, else nothing."""
    origins = config.get("allowOrigins") or []
    if origin in origins:
        allowed = origin
    elif "*" in origins:
        allowed = "*"
    else:
        return []
    headers = [("access-control-allow-origin", allowed)]
    if config.get("allowCredentials"):
        headers.append(("access-control-allow-credentials", "true"))
    return headers
