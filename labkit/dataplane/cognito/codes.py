"""Sign-up as Cognito runs it: its PreSignUp and PostConfirmation triggers (triggers.py), and
confirmation codes as Cognito sends and checks them, in the words of the pool's template or of its
CustomMessage trigger. moto confirms a sign-up whatever code it is
given, and sends none. Here a sign-up whose email Cognito verifies (AutoVerifiedAttributes) gets a
six-digit code in the pool's verification email, delivered to the local mailbox (core.mailbox);
ConfirmSignUp accepts only that code, as AWS does, with AWS's errors otherwise. ForgotPassword
mails a code the same way, which ConfirmForgotPassword requires (moto accepts any code there, and
hands its own out in a response header AWS does not have)."""

import functools
import secrets

from labkit.dataplane.cognito import triggers
from labkit.dataplane.core import mailbox, state
from labkit.dataplane.core.seams import Seam

SENDER = "no-reply@verificationemail.com"  # Cognito's default sender
DEFAULT_SUBJECT = "Your verification code"
CODE_PARAMETER, LINK_PARAMETER = "{####}", "{##Click Here##}"
DEFAULT_MESSAGE = f"Your verification code is {CODE_PARAMETER}. "
MISMATCH = "Invalid verification code provided, please try again."


def _sent_on_sign_up(sign_up):
    @functools.wraps(sign_up)
    def sign_up_and_send(self, client_id, username, password, attributes):
        user, delivery = sign_up(self, client_id, username, password, attributes)
        email = user.attribute_lookup.get("email")
        if delivery is not None and email:
            code = f"{secrets.randbelow(10**6):06d}"
            state.put(user, "confirmation_code", code)
            subject, message = _message(_pool_of(self, client_id), user, "CustomMessage_SignUp", client_id)
            mailbox.deliver(email, subject, message.replace(CODE_PARAMETER, code), SENDER)
        return user, delivery

    return sign_up_and_send


def _checked_on_confirm(confirm_sign_up):
    @functools.wraps(confirm_sign_up)
    def confirm_if_the_code_matches(self):
        from moto.cognitoidp.exceptions import CodeMismatchException, NotAuthorizedError
        from moto.cognitoidp.models import cognitoidp_backends

        backend = cognitoidp_backends[self.current_account][self.region]
        pool = _pool_of(backend, self._get_param("ClientId"))
        user = pool._get_user(self._get_param("Username")) if pool is not None else None
        if user is not None:
            if user.status == "CONFIRMED":
                raise NotAuthorizedError("User cannot be confirmed. Current status is CONFIRMED")
            if self._get_param("ConfirmationCode") != state.get(user, "confirmation_code"):
                raise CodeMismatchException(MISMATCH)
            state.pop(user, "confirmation_code")
        answer = confirm_sign_up(self)
        if user is not None:
            triggers.post_confirmation(pool, user, self._get_param("ClientId"))
        return answer

    return confirm_if_the_code_matches


def _sent_on_forgot_password(forgot_password):
    @functools.wraps(forgot_password)
    def forgot_and_send(self, client_id, username):
        _, delivery = forgot_password(self, client_id, username)
        pool = _pool_of(self, client_id)
        user = pool._get_user(username) if pool is not None else None
        email = user.attribute_lookup.get("email") if user is not None else None
        if email:
            code = f"{secrets.randbelow(10**6):06d}"
            state.put(user, "password_reset_code", code)
            subject, message = _message(pool, user, "CustomMessage_ForgotPassword", client_id)
            mailbox.deliver(email, subject, message.replace(CODE_PARAMETER, code), SENDER)
        return None, delivery  # no code in moto's x-moto header: it comes by mail

    return forgot_and_send


def _checked_on_password_reset(confirm_forgot_password):
    @functools.wraps(confirm_forgot_password)
    def reset_if_the_code_matches(self, client_id, username, password, confirmation_code):
        from moto.cognitoidp.exceptions import CodeMismatchException

        pool = _pool_of(self, client_id)
        user = pool._get_user(username) if pool is not None else None
        if user is not None:
            if confirmation_code != state.get(user, "password_reset_code"):
                raise CodeMismatchException(MISMATCH)
            state.pop(user, "password_reset_code")
        return confirm_forgot_password(self, client_id, username, password, confirmation_code)

    return reset_if_the_code_matches


def _message(pool, user, source: str, client_id: str) -> tuple[str, str]:
    """The mail's subject and text: the pool's template, or what its CustomMessage trigger answers instead."""
    subject, message = _template(pool)
    if pool is None:
        return subject, message
    request = {
        "userAttributes": triggers.user_attributes(user),
        "codeParameter": CODE_PARAMETER,
        "linkParameter": LINK_PARAMETER,
        "usernameParameter": None,
        "clientMetadata": {},
    }
    response = triggers.run(pool, "CustomMessage", source, user.username, client_id, request)
    return response.get("emailSubject") or subject, response.get("emailMessage") or message


def _template(pool) -> tuple[str, str]:
    config = pool.extended_config if pool is not None else {}
    template = config.get("VerificationMessageTemplate") or {}
    subject = template.get("EmailSubject") or config.get("EmailVerificationSubject") or DEFAULT_SUBJECT
    message = template.get("EmailMessage") or config.get("EmailVerificationMessage") or DEFAULT_MESSAGE
    return subject, message


def _pool_of(backend, client_id: str):
    return next((pool for pool in list(backend.user_pools.values()) if client_id in pool.clients), None)


MODEL_SEAMS = (
    Seam(
        "moto.cognitoidp.models.CognitoIdpBackend.sign_up",
        ("self", "client_id", "username", "password", "attributes"),
        replace=lambda original: _sent_on_sign_up(triggers.with_pre_sign_up(original)),
    ),
    Seam(
        "moto.cognitoidp.models.CognitoIdpBackend.forgot_password",
        ("self", "client_id", "username"),
        replace=_sent_on_forgot_password,
    ),
    Seam(
        "moto.cognitoidp.models.CognitoIdpBackend.confirm_forgot_password",
        ("self", "client_id", "username", "password", "confirmation_code"),
        replace=_checked_on_password_reset,
    ),
)
RESPONSE_SEAMS = (
    Seam("moto.cognitoidp.responses.CognitoIdpResponse.confirm_sign_up", ("self",), replace=_checked_on_confirm),
)
