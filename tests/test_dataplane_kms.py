"""AWS KMS on the local cloud refuses as AWS does: a disabled key, a key pending deletion, a wrong
encryption context, and a workload whose key policy and IAM policies do not together allow the call
(moto 5.2.5 lets the first two and the last pass); data keys really round-trip."""

import base64
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from test_dataplane_lambda import call, clients_for, deploy

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
CALL_KMS = """
import base64
import boto3
from botocore.exceptions import ClientError

kms = boto3.client("kms")

def handler(event, context):
    params = dict(event["params"])
    if "CiphertextBlob" in params:
        params["CiphertextBlob"] = base64.b64decode(params["CiphertextBlob"])
    try:
        found = getattr(kms, event["operation"])(**params)
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
    return {"code": None, "plaintext": base64.b64encode(found.get("Plaintext", b"")).decode()}
"""


@pytest.fixture(scope="module")
def kms(cloud):
    return boto3.client("kms")


def refusal(action) -> tuple[str, str]:
    with pytest.raises(ClientError) as refused:
        action()
    return refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]


def test_a_data_key_decrypts_back_to_the_plaintext_generate_data_key_gave(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    data_key = kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"order": "o-1"})
    assert len(data_key["Plaintext"]) == 32
    found = kms.decrypt(CiphertextBlob=data_key["CiphertextBlob"], EncryptionContext={"order": "o-1"})
    assert found["Plaintext"] == data_key["Plaintext"]
    assert found["KeyId"] == data_key["KeyId"]


def test_a_disabled_key_refuses_every_cryptographic_call_until_it_is_enabled_again(kms):
    key = kms.create_key()["KeyMetadata"]
    sealed = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tok_4242")["CiphertextBlob"]
    kms.disable_key(KeyId=key["KeyId"])

    disabled = ("DisabledException", f"{key['Arn']} is disabled.")
    assert refusal(lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tok")) == disabled
    assert refusal(lambda: kms.decrypt(CiphertextBlob=sealed)) == disabled
    assert refusal(lambda: kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")) == disabled
    assert refusal(lambda: kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")) == disabled

    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"tok_4242"


def test_a_key_pending_deletion_refuses_with_its_state_and_a_cancelled_deletion_leaves_it_disabled(kms):
    key = kms.create_key()["KeyMetadata"]
    sealed = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tok_4242")["CiphertextBlob"]
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)

    pending = ("KMSInvalidStateException", f"{key['Arn']} is pending deletion.")
    assert refusal(lambda: kms.decrypt(CiphertextBlob=sealed)) == pending
    assert refusal(lambda: kms.enable_key(KeyId=key["KeyId"])) == pending
    assert refusal(lambda: kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tok")) == pending
    assert refusal(lambda: kms.generate_data_key(KeyId=key["KeyId"], KeySpec="AES_256")) == pending

    kms.cancel_key_deletion(KeyId=key["KeyId"])
    assert refusal(lambda: kms.decrypt(CiphertextBlob=sealed)) == ("DisabledException", f"{key['Arn']} is disabled.")
    kms.enable_key(KeyId=key["KeyId"])
    assert kms.decrypt(CiphertextBlob=sealed)["Plaintext"] == b"tok_4242"


def test_a_key_is_disabled_enabled_and_scheduled_for_deletion_by_its_arn_as_by_its_id(kms):
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["Arn"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    kms.enable_key(KeyId=key["Arn"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Enabled"
    kms.schedule_key_deletion(KeyId=key["Arn"], PendingWindowInDays=7)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.cancel_key_deletion(KeyId=key["Arn"])
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"


def test_decrypt_with_a_wrong_or_missing_encryption_context_is_an_invalid_ciphertext(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    sealed = kms.encrypt(KeyId=key, Plaintext=b"tok_4242", EncryptionContext={"order": "o-1"})["CiphertextBlob"]
    invalid = ("InvalidCiphertextException", "")  # AWS says no more than the code
    assert refusal(lambda: kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"order": "o-2"})) == invalid
    assert refusal(lambda: kms.decrypt(CiphertextBlob=sealed)) == invalid
    extra = {"order": "o-1", "shop": "b"}
    assert refusal(lambda: kms.decrypt(CiphertextBlob=sealed, EncryptionContext=extra)) == invalid
    assert kms.decrypt(CiphertextBlob=sealed, EncryptionContext={"order": "o-1"})["Plaintext"] == b"tok_4242"


def test_decrypt_naming_another_key_than_the_ciphertexts_is_an_incorrect_key(kms):
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    sealed = kms.encrypt(KeyId=key, Plaintext=b"tok_4242")["CiphertextBlob"]
    assert refusal(lambda: kms.decrypt(CiphertextBlob=sealed, KeyId=other)) == (
        "IncorrectKeyException",
        "The key ID in the request does not identify a KMS key that can perform this operation.",
    )
    assert kms.decrypt(CiphertextBlob=sealed, KeyId=key)["Plaintext"] == b"tok_4242"


# A workload (here a function; an ECS task's role is the same to KMS) calls KMS with its role.


@pytest.fixture
def workload(cloud):
    """A function running as a role of its own: (clients, the function's name, the role's ARN)."""
    aws = clients_for(boto3.Session())
    return aws, deploy(aws, CALL_KMS), aws["role"]


def role_allows(aws, *statements) -> None:
    aws["iam"].put_role_policy(
        RoleName=aws["role"].rsplit("/", 1)[-1],
        PolicyName="kms",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
    )


def key_with_policy(kms, *statements) -> dict:
    # A policy that does not trust the account would lock the creator out: AWS asks for the bypass.
    policy = {"Version": "2012-10-17", "Statement": list(statements)}
    return kms.create_key(Policy=json.dumps(policy), BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]


def as_workload(workload, operation: str, **params) -> dict:
    aws, name, _ = workload
    if "CiphertextBlob" in params:
        params["CiphertextBlob"] = base64.b64encode(params["CiphertextBlob"]).decode()
    return call(aws, name, {"operation": operation, "params": params})[1]


def assumed(workload) -> str:
    aws, name, role = workload
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[-1]}/{name}"


TRUST_THE_ACCOUNT = {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"}


def test_a_key_that_trusts_the_account_needs_the_roles_iam_policy_too_and_decrypt_is_judged_on_its_key(kms, workload):
    key = key_with_policy(kms, TRUST_THE_ACCOUNT)
    sealed = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tok_4242")["CiphertextBlob"]

    refused = as_workload(workload, "decrypt", CiphertextBlob=sealed)
    assert refused == {
        "code": "AccessDeniedException",
        "message": f"User: {assumed(workload)} is not authorized to perform: kms:Decrypt on resource: {key['Arn']} "
        "because no identity-based policy allows the kms:Decrypt action",
    }
    role_allows(workload[0], {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"]})
    assert as_workload(workload, "decrypt", CiphertextBlob=sealed) == {
        "code": None,
        "plaintext": base64.b64encode(b"tok_4242").decode(),
    }


def test_an_iam_policy_alone_gives_no_access_to_a_key_whose_policy_does_not_trust_the_account(kms, workload):
    admin = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/key-admin"}, "Action": "kms:*"}
    key = key_with_policy(kms, {**admin, "Resource": "*"})
    role_allows(workload[0], {"Effect": "Allow", "Action": "kms:*", "Resource": "*"})

    refused = as_workload(workload, "encrypt", KeyId=key["Arn"], Plaintext="tok")
    assert refused == {
        "code": "AccessDeniedException",
        "message": f"User: {assumed(workload)} is not authorized to perform: kms:Encrypt on resource: {key['Arn']} "
        "because no resource-based policy allows the kms:Encrypt action",
    }


def test_a_key_policy_that_names_the_role_is_enough_without_any_iam_policy(kms, workload):
    _, _, role = workload
    key = key_with_policy(
        kms,
        TRUST_THE_ACCOUNT,
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
    )
    assert as_workload(workload, "encrypt", KeyId=key["KeyId"], Plaintext="tok")["code"] is None
    refused = as_workload(workload, "generate_data_key", KeyId=key["KeyId"], KeySpec="AES_256")
    assert refused["message"].endswith("because no identity-based policy allows the kms:GenerateDataKey action")


def test_an_explicit_deny_in_the_key_policy_wins_over_the_roles_allow(kms, workload):
    _, _, role = workload
    deny = {"Effect": "Deny", "Principal": {"AWS": role}, "Action": "kms:Decrypt", "Resource": "*"}
    key = key_with_policy(kms, TRUST_THE_ACCOUNT, deny)
    role_allows(workload[0], {"Effect": "Allow", "Action": "kms:*", "Resource": "*"})
    sealed = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tok")["CiphertextBlob"]

    refused = as_workload(workload, "decrypt", CiphertextBlob=sealed)
    assert refused["message"] == (
        f"User: {assumed(workload)} is not authorized to perform: kms:Decrypt on resource: {key['Arn']} "
        "with an explicit deny in a resource-based policy"
    )
    assert as_workload(workload, "encrypt", KeyId=key["KeyId"], Plaintext="tok")["code"] is None


def test_a_grant_lets_the_role_decrypt_only_within_its_encryption_context(kms, workload):
    _, _, role = workload
    key = key_with_policy(kms, TRUST_THE_ACCOUNT)
    kms.create_grant(
        KeyId=key["KeyId"],
        GranteePrincipal=role,
        Operations=["Decrypt"],
        Constraints={"EncryptionContextSubset": {"service": "payments"}},
    )
    ours = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tok", EncryptionContext={"service": "payments", "o": "1"})
    theirs = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"tok", EncryptionContext={"service": "orders"})

    found = as_workload(
        workload, "decrypt", CiphertextBlob=ours["CiphertextBlob"], EncryptionContext={"service": "payments", "o": "1"}
    )
    assert found["code"] is None
    refused = as_workload(
        workload, "decrypt", CiphertextBlob=theirs["CiphertextBlob"], EncryptionContext={"service": "orders"}
    )
    assert refused["code"] == "AccessDeniedException"


def test_a_key_policy_condition_on_the_callers_account_is_evaluated(kms, workload):
    _, _, role = workload
    statement = {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:Encrypt", "Resource": "*"}
    ours = key_with_policy(kms, {**statement, "Condition": {"StringEquals": {"kms:CallerAccount": ACCOUNT}}})
    theirs = key_with_policy(kms, {**statement, "Condition": {"StringEquals": {"kms:CallerAccount": "210987654321"}}})
    assert as_workload(workload, "encrypt", KeyId=ours["KeyId"], Plaintext="tok")["code"] is None
    assert as_workload(workload, "encrypt", KeyId=theirs["KeyId"], Plaintext="tok")["code"] == "AccessDeniedException"
