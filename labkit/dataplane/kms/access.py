"""Who may use a key, as KMS decides it (KMS Developer Guide, "Determining access to an AWS KMS key"):
an explicit Deny in the key policy or in the caller's IAM policies refuses; else the call is allowed
when the key policy allows the caller itself, or a grant on the key does, or when the key policy allows
the account (its root) and the caller's IAM policies allow the action. IAM policies alone never give
access to a key. What is refused is refused with IAM's message, naming which kind of policy lacked the
allow: "because no resource-based policy allows the kms:Decrypt action" when the key policy trusts
neither the caller nor its account, "because no identity-based policy allows ..." when it trusts the
account and the role's policies do not allow the action."""

import base64

from labkit.dataplane.core import policies

RESOURCE_BASED, IDENTITY_BASED = "resource-based", "identity-based"  # as iam.denials names them


def _key(key_arn: str):
    """moto's key for this ARN, or None (an unknown key: moto answers NotFoundException)."""
    from moto.kms.models import kms_backends

    parts = key_arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("key/"):
        return None
    return kms_backends[parts[4]][parts[3]].keys.get(parts[5].removeprefix("key/"))


def key_of_ciphertext(ciphertext_blob: str, account: str, region: str) -> str | None:
    """The ARN of the key a Decrypt's ciphertext (base64, as the JSON request carries it) was made
    with, or None when it names no key of this account and region: AWS evaluates Decrypt against the
    key the ciphertext names."""
    from moto.kms.models import kms_backends
    from moto.kms.utils import _deserialize_ciphertext_blob

    try:
        key_id = _deserialize_ciphertext_blob(base64.b64decode(ciphertext_blob)).key_id
    except Exception:
        return None
    key = kms_backends[account][region].keys.get(key_id)
    return key.arn if key is not None else None


def authorize(
    role_arn: str, action: str, key_arn: str, context: dict, encryption_context: dict, identity: str
) -> tuple[str, str] | None:
    """None when KMS allows the role `action` on the key; else (decision, the kind of policy that
    refused: RESOURCE_BASED or IDENTITY_BASED). `identity` is the role's IAM policies' decision."""
    key = _key(key_arn)
    if key is None:
        return None
    try:
        document = policies.parse(key.policy)
    except (ValueError, TypeError):
        document = {}
    account = key_arn.split(":")[4]
    request = policies.Request(action, key_arn, context, principal={"AWS": role_arn})
    key_decision = policies.evaluate([document], request)
    if key_decision == policies.EXPLICIT_DENY:
        return policies.EXPLICIT_DENY, RESOURCE_BASED
    if identity == policies.EXPLICIT_DENY:
        return policies.EXPLICIT_DENY, IDENTITY_BASED
    direct = policies.evaluate([_without_the_account(document, account)], request)
    if direct == policies.ALLOWED or _granted(key, role_arn, action, encryption_context):
        return None
    if key_decision != policies.ALLOWED:  # the key policy trusts neither the role nor its account
        return policies.IMPLICIT_DENY, RESOURCE_BASED
    if identity != policies.ALLOWED:
        return policies.IMPLICIT_DENY, IDENTITY_BASED
    return None


def _without_the_account(document: dict, account: str) -> dict:
    """The key policy's statements as they apply to a principal by name: the account ("its root")
    taken out of each Principal, so what is left allows the caller only by naming it (or "*")."""
    account_names = {account, f"arn:aws:iam::{account}:root"}
    statements = document.get("Statement", [])
    kept = []
    for statement in [statements] if isinstance(statements, dict) else statements:
        principal = statement.get("Principal")
        if isinstance(principal, dict) and "AWS" in principal:
            named = principal["AWS"] if isinstance(principal["AWS"], list) else [principal["AWS"]]
            left = [who for who in named if who not in account_names]
            if not left:
                continue
            statement = {**statement, "Principal": {**principal, "AWS": left}}
        kept.append(statement)
    return {**document, "Statement": kept}


def _granted(key, role_arn: str, action: str, encryption_context: dict) -> bool:
    operation = action.split(":", 1)[1]
    for grant in list(key.grants.values()):
        if grant.grantee_principal != role_arn or operation not in (grant.operations or []):
            continue
        constraints = grant.constraints or {}
        subset = constraints.get("EncryptionContextSubset")
        equals = constraints.get("EncryptionContextEquals")
        if subset is not None and any(encryption_context.get(k) != v for k, v in subset.items()):
            continue
        if equals is not None and equals != encryption_context:
            continue
        return True
    return False
