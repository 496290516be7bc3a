"""The UserMigration trigger, as Cognito runs it on a sign-in: a user the pool does not have signs in
with USER_PASSWORD_AUTH (or ADMIN_USER_PASSWORD_AUTH), and the pool's UserMigration function is asked,
with the username and the password given (UserMigration_Authentication). When it answers with the
user's attributes, Cognito creates the user with that password, CONFIRMED or RESET_REQUIRED as its
finalUserStatus says (RESET_REQUIRED when it says nothing), and the sign-in goes on; when it answers
without them, the user does not exist. moto has no UserMigration, and signs in a RESET_REQUIRED user
as any other: here that user is refused, as AWS refuses it, until the password is reset."""

import functools

from labkit.dataplane.cognito import triggers
from labkit.dataplane.core.seams import Seam

PASSWORD_FLOWS = {"USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH"}
NOT_PASSED_ON = {"sub", "cognito:user_status"}  # Cognito sets these itself


def _on_initiate_auth(initiate_auth):
    @functools.wraps(initiate_auth)
    def initiate_auth_migrating_first(self, client_id, auth_flow, auth_parameters):
        pool = next((p for p in list(self.user_pools.values()) if client_id in p.clients), None)
        _before_sign_in(self, pool, client_id, auth_flow, auth_parameters)
        return initiate_auth(self, client_id, auth_flow, auth_parameters)

    return initiate_auth_migrating_first


def _on_admin_initiate_auth(admin_initiate_auth):
    @functools.wraps(admin_initiate_auth)
    def admin_initiate_auth_migrating_first(self, user_pool_id, client_id, auth_flow, auth_parameters):
        _before_sign_in(self, self.user_pools.get(user_pool_id), client_id, auth_flow, auth_parameters)
        return admin_initiate_auth(self, user_pool_id, client_id, auth_flow, auth_parameters)

    return admin_initiate_auth_migrating_first


def _before_sign_in(backend, pool, client_id: str, auth_flow: str, parameters: dict) -> None:
    from moto.core.exceptions import JsonRESTError

    username, password = (parameters or {}).get("USERNAME"), (parameters or {}).get("PASSWORD")
    if pool is None or auth_flow not in PASSWORD_FLOWS or not username:
        return
    user = pool._get_user(username)
    if user is None:
        user = _migrated(backend, pool, client_id, username, password)
    if (
        user is not None
        and user.password == password
        and str(getattr(user.status, "value", user.status)) == ("RESET_REQUIRED")
    ):
        raise JsonRESTError("PasswordResetRequiredException", "Password reset required for the user")


def _migrated(backend, pool, client_id: str, username: str, password: str | None):
    """The user the UserMigration function describes, created in the pool; None when it describes nobody."""
    from moto.cognitoidp.models import UserStatus

    request = {"password": password, "validationData": {}, "clientMetadata": {}}
    response = triggers.run(pool, "UserMigration", "UserMigration_Authentication", username, client_id, request)
    attributes = response.get("userAttributes") or {}
    if not attributes:
        return None
    given = [{"Name": name, "Value": str(value)} for name, value in attributes.items() if name not in NOT_PASSED_ON]
    user = backend.admin_create_user(pool.id, username, "SUPPRESS", password, given)
    user.password = password
    confirmed = response.get("finalUserStatus") == "CONFIRMED"
    user.status = UserStatus.CONFIRMED if confirmed else UserStatus.RESET_REQUIRED
    return user


SEAMS = (
    Seam(
        "moto.cognitoidp.models.CognitoIdpBackend.initiate_auth",
        ("self", "client_id", "auth_flow", "auth_parameters"),
        replace=_on_initiate_auth,
    ),
    Seam(
        "moto.cognitoidp.models.CognitoIdpBackend.admin_initiate_auth",
        ("self", "user_pool_id", "client_id", "auth_flow", "auth_parameters"),
        replace=_on_admin_initiate_auth,
    ),
)
