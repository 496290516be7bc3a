"""IAM for workloads on the local cloud: code running as a Lambda function or an ECS task calls AWS
with temporary credentials of its role (sessions.py), and every call made with them is evaluated
against the role's identity-based policies (evaluation.py) before moto answers it. A denied call gets
AWS's AccessDenied for that service (denials.py), naming the assumed role, the action and the
resource. The learner's own credentials stay an administrator's. The last decisions are kept, for
`GET /_labkit/iam/decisions` (lab 08 shows denials).

What a call asks for is read from the request (requests.py: the signer, the operation, its
parameters) and resolved to IAM's action and resource ARNs (resources.py).
"""

import collections
import io
import json
import threading
import time
from dataclasses import dataclass

from labkit.dataplane import kms, secretsmanager
from labkit.dataplane.core import policies
from labkit.dataplane.iam import denials, requests, resources, sessions
from labkit.dataplane.iam.sessions import credentials

__all__ = ["caller", "credentials", "denial", "install", "middleware", "reset", "role_documents"]

DECISIONS_ROUTE = "/_labkit/iam/decisions"
_decisions: collections.deque = collections.deque(maxlen=1000)
_decisions_lock = threading.Lock()
# GetCallerIdentity needs no permission: AWS answers it for any valid credentials.
_WHO_AM_I = ("sts", "GetCallerIdentity")


def install() -> None:
    pass  # IAM needs no change to moto: it answers before moto does


def middleware(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == DECISIONS_ROUTE:
            return _json(start_response, {"Decisions": decisions()})
        signed = requests.signer(environ)
        if signed is None or not signed.access_key_id.startswith(sessions.TEMPORARY_KEY_PREFIX):
            return app(environ, start_response)
        session = sessions.of(signed.access_key_id)
        if session is None:
            return _answer(start_response, *_invalid_token())
        body = _read_body(environ)
        call = requests.call(environ, body, signed)
        if call is not None and (call.service, call.operation) == _WHO_AM_I:
            return _answer(start_response, *_caller_identity(session))
        if call is None:
            return app(environ, start_response)
        refusal = _refusal(session, call, signed.region)
        if refusal is None:
            return app(environ, start_response)
        return _answer(start_response, *refusal)

    return wsgi


@dataclass(frozen=True)
class Caller:
    """Who signed a request and what it calls (CloudTrail records it)."""

    access_key_id: str
    region: str
    session: sessions.Session | None
    """The role session of a temporary key; None for the account's own keys."""
    role_id: str | None
    """AROA..., the role's unique id, as GetCallerIdentity gives it."""
    signing_name: str
    """"sqs", "lambda", "monitoring"...: the service's endpoint prefix."""
    operation: str
    params: dict
    resource_arns: list[str]
    session_issued_at: float | None = None
    """When the session's credentials were issued (epoch seconds); None for the account's own keys."""


def caller(environ, body: bytes, account: str) -> Caller | None:
    """None for an unsigned request or one whose operation cannot be told."""
    signed = requests.signer(environ)
    found = requests.call(environ, body, signed) if signed else None
    if found is None:
        return None
    session = sessions.of(signed.access_key_id)
    arns = [arn for arn in resources.arns(found, signed.region, account) if arn != "*"]
    role_id = "AROA" + sessions.stable_id(session.role_arn) if session else None
    issued_at = sessions.issued_at(session) if session else None
    return Caller(
        signed.access_key_id,
        signed.region,
        session,
        role_id,
        signed.service,
        found.operation,
        found.params,
        arns,
        issued_at,
    )


def reset() -> None:
    sessions.forget_all()
    with _decisions_lock:
        _decisions.clear()


def decisions() -> list[dict]:
    with _decisions_lock:
        return list(_decisions)


def role_documents(role_arn: str) -> list[dict] | None:
    """The identity-based policies of the role (inline and attached), or None when it is gone."""
    from moto.iam.models import iam_backends

    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    try:
        role = iam_backends[account]["aws"].get_role(name)
    except Exception:
        return None
    documents = [policies.parse(document) for document in role.policies.values()]
    for policy in list(role.managed_policies.values()):
        documents += [policies.parse(v.document) for v in policy.versions if v.is_default]
    return documents


def denial(role_arn: str, session_name: str, action: str, resource: str, context: dict | None = None) -> str | None:
    """IAM's AccessDenied message when a role's session may not do `action` on `resource`, None when
    it may: for a service that acts in-process with a role's credentials, as the ECS agent reads a
    container's secrets with the task's execution role. The decision is recorded as any other."""
    session = sessions.Session(role_arn, session_name)
    keys = {"aws:PrincipalArn": role_arn, **(context or {})}
    decision, kind = _decision(session, action, resource, keys, {})
    if decision == policies.ALLOWED:
        return None
    return denials.message(session.assumed_role_arn, action, resource, decision, kind)


def _refusal(session: sessions.Session, call: requests.Call, region: str):
    action = resources.action(call)
    keys = resources.context(call, region, session.role_arn)
    for resource in resources.arns(call, region, session.account):
        decision, kind = _decision(session, action, resource, keys, call.params.get("EncryptionContext") or {})
        if decision != policies.ALLOWED:
            text = denials.message(session.assumed_role_arn, action, resource, decision, kind)
            return denials.response(call.service, _protocol(call.service), text)
    return _key_refusal(session, call, region, keys)


# What Secrets Manager asks KMS on the caller's behalf for a secret under a customer managed key
# (Secrets Manager User Guide, "Secret encryption and decryption").
_SECRET_KEY_ACTIONS = {"GetSecretValue": "kms:Decrypt", "PutSecretValue": "kms:GenerateDataKey"}


def _key_refusal(session: sessions.Session, call: requests.Call, region: str, keys: dict):
    """A secret encrypted with a customer managed key is read only with kms:Decrypt on that key too,
    and written only with kms:GenerateDataKey, which Secrets Manager asks for on the caller's behalf;
    refused, it answers "Access to KMS is not allowed", without IAM's words."""
    action = _SECRET_KEY_ACTIONS.get(call.operation) if call.service == "secretsmanager" else None
    if action is None:
        return None
    sealed = secretsmanager.encryption_key(call.params.get("SecretId") or "", session.account, region)
    if sealed is None:
        return None
    secret_arn, key = sealed
    context = {
        **keys,
        "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
        "kms:EncryptionContext:SecretARN": secret_arn,
    }
    decision, _ = _decision(session, action, key, context, {"SecretARN": secret_arn})
    if decision == policies.ALLOWED:
        return None
    return denials.response("secretsmanager", "json", "Access to KMS is not allowed")


def _decision(session: sessions.Session, action: str, resource: str, keys: dict, encryption_context: dict):
    """(decision, the kind of policy that decided it) for the session's `action` on `resource`."""
    documents = role_documents(session.role_arn) or []
    decision = policies.evaluate(documents, policies.Request(action, resource, keys))
    kind = denials.IDENTITY_BASED
    if action.startswith("kms:") and ":key/" in resource:  # a key policy decides with IAM's policies
        refused = kms.authorize(session.role_arn, action, resource, keys, encryption_context, decision)
        decision, kind = refused or (policies.ALLOWED, kind)
    _record(session, action, resource, decision)
    return decision, kind


def _record(session, action: str, resource: str, decision: str) -> None:
    with _decisions_lock:
        _decisions.append(
            {
                "Time": time.time(),
                "Principal": session.assumed_role_arn,
                "Action": action,
                "Resource": resource,
                "Decision": decision,
            }
        )


def _protocol(service: str) -> str:
    import botocore.session

    try:
        return botocore.session.get_session().get_service_model(service).metadata["protocol"]
    except Exception:
        return "json"


def _caller_identity(session: sessions.Session):
    """As STS answers an assumed role: its ARN, and a user id of the role's id and the session name."""
    role_id = "AROA" + sessions.stable_id(session.role_arn)  # as caller() gives it to CloudTrail
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>{session.assumed_role_arn}</Arn><UserId>{role_id}:{session.session_name}</UserId>"
        f"<Account>{session.account}</Account></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()
    return "200 OK", [("Content-Type", "text/xml")], body


def _invalid_token():
    body = json.dumps(
        {"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."}
    ).encode()
    return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")], body


def _read_body(environ) -> bytes:
    """The request's body, read once and put back for moto."""
    length = environ.get("CONTENT_LENGTH") or "0"
    if environ.get("wsgi.input_terminated"):  # chunked: readable to its end
        body = environ["wsgi.input"].read()
    else:
        body = environ["wsgi.input"].read(int(length)) if length.isdigit() and int(length) else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _answer(start_response, status: str, headers: list, body: bytes):
    start_response(status, [*headers, ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response, payload):
    return _answer(start_response, "200 OK", [("Content-Type", "application/json")], json.dumps(payload).encode())
