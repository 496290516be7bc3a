"""Amazon Cognito user pools on the local cloud: tokens signed as AWS signs them.

moto signs every pool's tokens with one fixed key (key id "dummy") and publishes that one key for
every pool, so a token from one pool verifies against another's keys. Here each pool gets its own
RSA key pair when it is created (keys.py); its tokens carry that key's id, and
/{pool id}/.well-known/jwks.json on the local cloud publishes the pool's public key, as
https://cognito-idp.{region}.amazonaws.com/{pool id}/.well-known/jwks.json does on AWS (the tokens'
issuer stays AWS's: labkit.urls.jwks_url gives the URL to fetch on either target).
"""

import json
import re

from labkit.dataplane.cognito import keys
from labkit.dataplane.core import seams

JWKS_PATH = re.compile(r"^/(?P<pool_id>[a-z]{2}-[a-z]+-\d_[0-9A-Za-z]+)/\.well-known/jwks\.json$")


def install() -> None:
    seams.declare(
        "cognito: each pool signs with its own key", "moto.cognitoidp.models", "labkit.dataplane.cognito.keys:SEAMS"
    )


def middleware(app):
    def wsgi(environ, start_response):
        match = JWKS_PATH.match(environ.get("PATH_INFO", ""))
        if match is None:
            return app(environ, start_response)
        found = keys.published(match["pool_id"])
        status = "200 OK" if found is not None else "404 Not Found"
        answer = found if found is not None else {"message": f"User pool {match['pool_id']} does not exist."}
        body = json.dumps(answer).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return wsgi
