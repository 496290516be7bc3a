"""Each user pool's signing key: made with the pool, the key id in its tokens' header, the public
half published as the pool's JSON Web Key Set."""

import functools
import secrets

from labkit.dataplane.cognito import triggers, validity
from labkit.dataplane.core.seams import Seam

KEY_SIZE = 2048  # AWS's Cognito keys are 2048-bit RSA, RS256


def published(pool_id: str) -> dict | None:
    """The pool's JWKS document, or None for a pool that does not exist."""
    pool = _pool(pool_id)
    if pool is None:
        return None
    return {"keys": [{**pool.json_web_key.as_dict(private=False), "alg": "RS256", "use": "sig"}]}


def _own_key(init):
    @functools.wraps(init)
    def with_own_key(self, *args, **kwargs):
        from joserfc import jwk

        init(self, *args, **kwargs)
        # A key id as AWS's look: base64 of a digest; its own for each pool.
        self.json_web_key = jwk.RSAKey.generate_key(KEY_SIZE, parameters={"kid": secrets.token_urlsafe(32)})

    return with_own_key


def _signed_with_own_key(create_jwt):
    @functools.wraps(create_jwt)
    def signed(self, client_id, username, token_use, expires_in=None, extra_data=None):
        from joserfc import jwt

        token, expires_in = create_jwt(self, client_id, username, token_use, expires_in, extra_data)
        # moto's header names its one fixed key; the claims are moto's, as the PreTokenGeneration
        # trigger leaves them for an ID token.
        claims = jwt.decode(token, self.json_web_key).claims
        if token_use == "id":
            claims = triggers.id_token_claims(self, claims, client_id, username)
        header = {"kid": self.json_web_key.kid, "alg": "RS256"}
        return jwt.encode(header, claims, self.json_web_key), expires_in

    return signed


def _pool(pool_id: str):
    from moto.cognitoidp.models import cognitoidp_backends

    region = pool_id.split("_", 1)[0]
    for regions in list(cognitoidp_backends.values()):
        if region in regions and pool_id in regions[region].user_pools:
            return regions[region].user_pools[pool_id]
    return None


_POOL = "moto.cognitoidp.models.CognitoIdpUserPool"
SEAMS = (
    Seam(f"{_POOL}.__init__", ("self", "account_id", "region", "name", "extended_config"), replace=_own_key),
    Seam(
        f"{_POOL}.create_jwt",
        ("self", "client_id", "username", "token_use", "expires_in", "extra_data"),
        contains='"kid": "dummy"',
        replace=lambda original: validity.as_the_client_says(_signed_with_own_key(original)),
    ),
    Seam(
        "moto.cognitoidp.models.CognitoIdpBackend.create_user_pool_client",
        ("self", "user_pool_id", "generate_secret", "extended_config"),
        replace=validity.refused_out_of_range_on_create,
    ),
    Seam(
        "moto.cognitoidp.models.CognitoIdpBackend.update_user_pool_client",
        ("self", "user_pool_id", "client_id", "extended_config"),
        replace=validity.refused_out_of_range_on_update,
    ),
)
