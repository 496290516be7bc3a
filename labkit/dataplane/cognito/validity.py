"""How long a user pool's tokens last: the app client's AccessTokenValidity and IdTokenValidity in
its TokenValidityUnits (hours by default; one hour when unset), as AWS honours them and moto does
not (its tokens always last an hour). On the local cloud's clock (core.clock): a token valid for 5
minutes expires 5 seconds after it was issued, and says so in its `exp` claim and ExpiresIn."""

import functools

from labkit.dataplane.core import clock

UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
DEFAULT_S = 3600


def aws_seconds(client, token_use: str) -> int:
    """How long the client's tokens of that use ("access", "id") last on AWS's clock."""
    config = client.extended_config if client is not None else {}
    setting = "AccessTokenValidity" if token_use == "access" else "IdTokenValidity"
    if config.get(setting) is None:
        return DEFAULT_S
    unit = (config.get("TokenValidityUnits") or {}).get("AccessToken" if token_use == "access" else "IdToken")
    return int(config[setting]) * UNIT_SECONDS[unit or "hours"]


def local_seconds(client, token_use: str) -> int:
    return max(1, round(clock.local_seconds(aws_seconds(client, token_use))))


def as_the_client_says(create_jwt):
    @functools.wraps(create_jwt)
    def create(self, client_id, username, token_use, expires_in=None, extra_data=None):
        lifetime = local_seconds(self.clients.get(client_id), token_use)
        return create_jwt(self, client_id, username, token_use, lifetime, extra_data)

    return create
