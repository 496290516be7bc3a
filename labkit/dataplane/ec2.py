"""The VPC's data plane (labkit.dataplane.core.network holds the addresses and evaluates security
groups). Its route lets a local server stand in for a host outside the VPC that the VPC reaches
(on premises, over a VPN): POST /_labkit/network/hosts {"Address": "10.200.0.7", "Port": 80,
"LocalPort": 43210} makes 10.200.0.7:80 answer from 127.0.0.1:43210, so tests and benchmarks can
register a plain local server as an IP target with AvailabilityZone "all", as AWS allows."""

import json

from labkit.dataplane.core import network

HOSTS_ROUTE = "/_labkit/network/hosts"


def middleware(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") != HOSTS_ROUTE or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            host = json.loads(environ["wsgi.input"].read(length))
            network.attach(host["Address"], int(host["Port"]), int(host["LocalPort"]))
            status, answer = "200 OK", {"Address": host["Address"], "Port": int(host["Port"])}
        except (ValueError, KeyError, TypeError) as error:
            status, answer = "400 Bad Request", {"message": f"expected Address, Port and LocalPort: {error}"}
        body = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


def reset() -> None:
    network.reset()
