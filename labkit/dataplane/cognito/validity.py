"""How long a user pool's tokens last: the app client's AccessTokenValidity and IdTokenValidity in
its TokenValidityUnits (hours by default; one hour when unset), as AWS honours them and moto does
not (its tokens always last an hour). On the local cloud's clock (core.clock): a token valid for 5
minutes expires 5 seconds after it was issued, and says so in its `exp` claim and ExpiresIn. An app client
whose validity is out of AWS's range (access and ID tokens 5 minutes to 1 day, refresh tokens 1 hour to
10 years) is refused, as AWS refuses it and moto does not."""

import functools

from labkit.dataplane.core import clock

UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
DEFAULT_S = 3600
# (setting, its key in TokenValidityUnits, the unit when none is given, the range AWS accepts in seconds)
RANGES = (
    ("AccessTokenValidity", "AccessToken", "hours", (300, 86400)),
    ("IdTokenValidity", "IdToken", "hours", (300, 86400)),
    ("RefreshTokenValidity", "RefreshToken", "days", (3600, 3650 * 86400)),
)


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


def _in_range(extended_config: dict) -> None:
    from moto.cognitoidp.exceptions import InvalidParameterException

    units = extended_config.get("TokenValidityUnits") or {}
    for setting, unit_key, default_unit, (low, high) in RANGES:
        value = extended_config.get(setting)
        if value is not None and not low <= int(value) * UNIT_SECONDS[units.get(unit_key) or default_unit] <= high:
            raise InvalidParameterException("Invalid range for token validity.")


def refused_out_of_range_on_create(create_user_pool_client):
    @functools.wraps(create_user_pool_client)
    def create(self, user_pool_id, generate_secret, extended_config):
        _in_range(extended_config or {})
        return create_user_pool_client(self, user_pool_id, generate_secret, extended_config)

    return create


def refused_out_of_range_on_update(update_user_pool_client):
    @functools.wraps(update_user_pool_client)
    def update(self, user_pool_id, client_id, extended_config):
        _in_range(extended_config or {})
        return update_user_pool_client(self, user_pool_id, client_id, extended_config)

    return update
