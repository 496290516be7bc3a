"""JSON Web Tokens from the local Cognito, verified the way API Gateway verifies them: the signature
against the issuing user pool's own key set (labkit.dataplane.cognito), the issuer (AWS's form,
https://cognito-idp.REGION.amazonaws.com/POOL_ID), the expiry, and the app client the token was
issued to."""

import base64
import json
import re
import time
from dataclasses import dataclass

COGNITO_ISSUER = re.compile(
    r"^https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
    r"(?P<pool_id>[\w-]+)$"
)
COGNITO_POOL_ARN = re.compile(
    r"^arn:aws[\w-]*:cognito-idp:(?P<region>[a-z0-9-]+):"
    r"(?P<account>\d{12}):userpool/(?P<pool_id>[\w-]+)$"
)


class InvalidToken(Exception):
    """Why a token is refused; API Gateway answers 401."""


@dataclass(frozen=True)
class UserPool:
    account_id: str
    region: str
    pool_id: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    def client_ids(self) -> set[str] | None:
        """The pool's app client ids, or None when the local Cognito has no such pool."""
        from moto.cognitoidp.models import cognitoidp_backends

        pool = cognitoidp_backends[self.account_id][self.region].user_pools.get(self.pool_id)
        return None if pool is None else set(pool.clients)


def pool_of_arn(arn: str) -> UserPool | None:
    found = COGNITO_POOL_ARN.match(arn)
    return UserPool(found["account"], found["region"], found["pool_id"]) if found else None


def pool_of_issuer(issuer: str, account_id: str) -> UserPool | None:
    found = COGNITO_ISSUER.match(issuer.rstrip("/"))
    return UserPool(account_id, found["region"], found["pool_id"]) if found else None


def verify(token: str, pools: list[UserPool]) -> tuple[UserPool, dict]:
    """The pool that issued the token and its claims, once issuer, signature and time check out."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    from labkit.dataplane import cognito

    try:
        issuer = json.loads(_segment(token.split(".")[1])).get("iss")
    except (IndexError, ValueError, AttributeError):
        raise InvalidToken("the token is not a JSON Web Token")
    pool = next((pool for pool in pools if pool.issuer == issuer), None)
    if pool is None:
        raise InvalidToken(
            f"the token's issuer {issuer!r} is not one this authorizer trusts "
            f"({', '.join(pool.issuer for pool in pools) or 'none'})"
        )
    keys = cognito.signing_keys(pool.pool_id)
    if keys is None or pool.client_ids() is None:
        raise InvalidToken(f"the user pool {pool.pool_id} does not exist in the local cloud")
    try:
        claims = jwt.decode(token, KeySet.import_key_set(keys), algorithms=["RS256"]).claims
    except (JoseError, ValueError) as error:
        raise InvalidToken(f"the token does not verify against the keys of {pool.pool_id} ({error})")
    now = time.time()
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
        raise InvalidToken("the token has expired")
    if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now:
        raise InvalidToken("the token is not valid yet (nbf)")
    return pool, claims


def client_id(claims: dict) -> str | None:
    """Who the token was issued to: an ID token's aud, an access token's client_id."""
    return claims.get("client_id") if claims.get("token_use") == "access" else claims.get("aud")


def scopes(claims: dict) -> list[str]:
    return str(claims.get("scope") or "").split()


def bearer(value: str | None) -> str | None:
    """The token in an Authorization header value, with or without the "Bearer " prefix."""
    if not value:
        return None
    value = value.strip()
    return value[7:].strip() if value[:7].lower() == "bearer " else value


def _segment(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
