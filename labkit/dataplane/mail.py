"""The local cloud's mailbox (core.mailbox), read over HTTP: GET /_labkit/mailbox?to=ADDRESS answers
{"Messages": [{"to", "sender", "subject", "body", "sent_at"}, ...]}, oldest first."""

import json
from urllib.parse import parse_qs

from labkit.dataplane.core import mailbox

ROUTE = "/_labkit/mailbox"


def middleware(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") != ROUTE:
            return app(environ, start_response)
        to = parse_qs(environ.get("QUERY_STRING", "")).get("to", [None])[0]
        body = json.dumps({"Messages": mailbox.messages(to)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi


def reset() -> None:
    mailbox.reset()
