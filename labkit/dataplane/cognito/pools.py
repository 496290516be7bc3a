"""UpdateUserPool as AWS does it: settings the request leaves out go back to their defaults, except
those a pool can never change after it is created (UpdateUserPool does not take them), which moto
resets too: an email-username pool stayed one on AWS, and stopped being one in moto."""

import functools

from labkit.dataplane.core.seams import Seam

# Set at CreateUserPool only (the UpdateUserPool API has no such parameters).
IMMUTABLE = ("UsernameAttributes", "AliasAttributes", "UsernameConfiguration", "Schema")


def _keeping_the_immutable(update_extended_config):
    @functools.wraps(update_extended_config)
    def update(self, extended_config):
        before = getattr(self, "extended_config", {})  # none yet when the pool is being created
        kept = {name: before[name] for name in IMMUTABLE if name in before}
        update_extended_config(self, extended_config)
        self.extended_config.update(kept)

    return update


SEAMS = (
    Seam(
        "moto.cognitoidp.models.CognitoIdpUserPool.update_extended_config",
        ("self", "extended_config"),
        replace=_keeping_the_immutable,
    ),
)
