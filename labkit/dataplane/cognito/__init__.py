"""Amazon Cognito user pools on the local cloud: tokens signed, timed and issued as AWS does.

moto signs every pool's tokens with one fixed key (key id "dummy") and publishes that one key for
every pool, so a token from one pool verifies against another's keys. Here each pool gets its own
RSA key pair when it is created (keys.py); its tokens carry that key's id, and
/{pool id}/.well-known/jwks.json on the local cloud publishes the pool's public key, as
https://cognito-idp.{region}.amazonaws.com/{pool id}/.well-known/jwks.json does on AWS (the tokens'
issuer stays AWS's: labkit.urls.jwks_url gives the URL to fetch on either target). Tokens last as
long as the app client says (validity.py), and a pool's domain answers the client credentials grant
at its token endpoint (oauth2.py), with the scopes of resource servers that can be updated
(resource_servers.py). Confirmation codes go to the local mailbox and are checked (codes.py); a
user the pool does not have yet can be migrated on sign-in by its UserMigration trigger (migration.py).
"""

import json
import re

from labkit.dataplane.cognito import keys, oauth2
from labkit.dataplane.core import seams

JWKS_PATH = re.compile(r"^/(?P<pool_id>[a-z]{2}-[a-z]+-\d_[0-9A-Za-z]+)/\.well-known/jwks\.json$")


def install() -> None:
    here = "labkit.dataplane.cognito"
    seams.declare("cognito: tokens signed and timed as AWS does", "moto.cognitoidp.models", f"{here}.keys:SEAMS")
    seams.declare("cognito: UpdateUserPool keeps what cannot change", "moto.cognitoidp.models", f"{here}.pools:SEAMS")
    seams.declare("cognito: confirmation codes are sent", "moto.cognitoidp.models", f"{here}.codes:MODEL_SEAMS")
    seams.declare(
        "cognito: confirmation codes are checked", "moto.cognitoidp.responses", f"{here}.codes:RESPONSE_SEAMS"
    )
    seams.declare("cognito: users migrate on sign-in", "moto.cognitoidp.models", f"{here}.migration:SEAMS")
    seams.declare(
        "cognito: resource servers can be updated", "moto.cognitoidp.responses", f"{here}.resource_servers:SEAMS"
    )


def signing_keys(pool_id: str) -> dict | None:
    """The pool's JSON Web Key Set (what its JWKS URL publishes), or None when there is no such pool:
    how API Gateway's authorizers verify the pool's tokens."""
    return keys.published(pool_id)


TOKEN_PATH = re.compile(rf"^{oauth2.ROUTE_PREFIX}(?P<domain>[a-z0-9-]+)/oauth2/token$")


def middleware(app):
    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if match := JWKS_PATH.match(path):
            found = keys.published(match["pool_id"])
            missing = {"message": f"User pool {match['pool_id']} does not exist."}
            return _json(start_response, 200 if found else 404, found or missing)
        if (match := TOKEN_PATH.match(path)) and environ.get("REQUEST_METHOD") == "POST":
            form = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            return _json(start_response, *oauth2.answer(match["domain"], form, environ.get("HTTP_AUTHORIZATION")))
        return app(environ, start_response)

    return wsgi


def _json(start_response, status: int, answer: dict):
    body = json.dumps(answer).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
