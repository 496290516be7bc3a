"""Lab 06 · secrets and least privilege: a KMS key, the payment provider's key in Secrets Manager, two
least-privilege roles, envelope encryption of card numbers, ECS `secrets`, and a rotation function.

The checks read the target with boto3 and call the provider and the service over HTTP. Where they need the
provider's key they read it from the learner's secret, as the service does."""

import base64
import fnmatch
import json
import time
import uuid

from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from labkit import config
from labkit.awsapi import as_set, pages, policy_statements
from labkit.checks import NOT_FOUND_CODES, Lab, aws_error_code
from labkit.checks import learner as learner_code

lab = Lab("06", "Secrets and least privilege")

KEY_ALIAS, SECRET, TABLE = "payments", "payments-provider-key", "payments"
EXECUTION_ROLE, TASK_ROLE = "payments-execution-role", "payments-task-role"
PROVIDER, ROTATION_FUNCTION = "payment-provider", "rotate-provider-key"
CLUSTER, BALANCER, V1, V2, CONTAINER = "payments", "payments", "payments-v1", "payments-v2", "payments"
V2_HEADER = {"X-Payments-Version": "2"}
REFUSED_KEY = "sk_test_" + "0" * 32  # a key the provider never issued
TEST_CARD = "4111 1111 1111 1111"
YESTERDAY = "o-1001"  # the order whose card step 4 stores


def _alias(ctx) -> str:
    return "alias/" + ctx.env.name(KEY_ALIAS)


def _key(ctx) -> dict:
    with ctx.not_done_if_missing(f"KMS key with the alias {_alias(ctx)!r}", "create it in step 1"):
        return ctx.client("kms").describe_key(KeyId=_alias(ctx))["KeyMetadata"]


@lab.check(
    "key",
    "A customer managed KMS key, enabled, with its alias",
    step=1,
    hints=[
        "Two calls: kms.create_key makes the key (its id is in the answer's KeyMetadata), kms.create_alias names "
        "it; the given code calls your function only while the alias does not exist.",
        'kms.create_key(Description=..., KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT", '
        'Tags=env.tag_list("TagKey", "TagValue")), then kms.create_alias(AliasName=key_alias, TargetKeyId=key_id)',
    ],
)
def key_is_ready(ctx):
    key = _key(ctx)
    ctx.expect(
        key["KeyManager"] == "CUSTOMER",
        f"expected a customer managed key behind {_alias(ctx)}, found an {key['KeyManager']} managed key",
    )
    ctx.expect(
        key.get("KeySpec") == "SYMMETRIC_DEFAULT" and key.get("KeyUsage") == "ENCRYPT_DECRYPT",
        f"expected a symmetric encryption key (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT), found {key.get('KeySpec')}, "
        f"{key.get('KeyUsage')}: GenerateDataKey needs a symmetric key",
    )
    ctx.expect(
        key["KeyState"] == "Enabled",
        f"expected the key to be Enabled, found {key['KeyState']}: enable it with kms.enable_key(KeyId=key_arn)",
    )


def _secret(ctx) -> dict:
    name, manager = ctx.env.name(SECRET), ctx.client("secretsmanager")
    try:
        return manager.describe_secret(SecretId=name)
    except Exception as error:
        if aws_error_code(error) not in NOT_FOUND_CODES:
            raise
    misnamed = sorted(s["Name"] for s in pages(manager, "list_secrets", "SecretList") if _made_by_this_lab(ctx, s))
    if misnamed:
        ctx.fail(
            f"expected the secret to be named {name!r}, found this lab's secret named "
            f"{', '.join(repr(found) for found in misnamed)}: check the spelling of secret_name "
            f'(env.name("{SECRET}")), then run step 2\'s cell again (the clean-up deletes the misnamed one)'
        )
    ctx.missing(f"secret {name!r}", "create it in step 2")


def _made_by_this_lab(ctx, secret: dict) -> bool:
    """Is the secret tagged as this learner's, made in this lab?"""
    tags = {tag["Key"]: tag["Value"] for tag in secret.get("Tags") or []}
    wanted = {**ctx.env.tags, config.LAB_TAG_KEY: lab.id}
    return all(tags.get(key) == value for key, value in wanted.items())


def _api_key(ctx, secret_arn: str, stage: str = "AWSCURRENT") -> str:
    value = ctx.client("secretsmanager").get_secret_value(SecretId=secret_arn, VersionStage=stage)["SecretString"]
    try:
        found = json.loads(value)
    except ValueError:
        found = None
    if not isinstance(found, dict) or not isinstance(found.get("api_key"), str):
        ctx.fail(
            f'expected the secret\'s value to be the JSON {{"api_key": "..."}}, found '
            f"{'JSON with the keys ' + str(sorted(found)) if isinstance(found, dict) else 'text that is no such JSON'}"
        )
    return found["api_key"]


def _provider_url(ctx) -> str:
    return ctx.api_url(ctx.env.name(PROVIDER), fix="run the cell that deploys the payment provider")


def _provider_accepts(ctx, key: str) -> bool:
    return ctx.get(_provider_url(ctx) + "/whoami", headers={"Authorization": f"Bearer {key}"}).status_code == 200


@lab.check(
    "secret",
    "The provider's key is in Secrets Manager, encrypted under your key, and the provider accepts it",
    step=2,
    hints=[
        'secretsmanager.create_secret(Name=secret_name, SecretString=json.dumps({"api_key": api_key}), '
        "KmsKeyId=key_arn, Tags=env.tag_list())",
        "A secret that exists already gets a new value with secretsmanager.put_secret_value(SecretId=secret_name, "
        "SecretString=...); its KMS key is changed with secretsmanager.update_secret(SecretId=..., KmsKeyId=key_arn).",
    ],
)
def secret_is_stored(ctx):
    key = _key(ctx)
    secret = _secret(ctx)
    used = secret.get("KmsKeyId")
    used_arn = ctx.client("kms").describe_key(KeyId=used)["KeyMetadata"]["Arn"] if used else None
    ctx.expect(
        used_arn == key["Arn"],
        f"expected the secret to be encrypted under your key {_alias(ctx)}, found "
        f"{used or 'the AWS managed key aws/secretsmanager'}: pass KmsKeyId=key_arn",
    )
    ctx.expect(
        _provider_accepts(ctx, _api_key(ctx, secret["ARN"])),
        "expected the secret's api_key to be a key the provider accepts, found the provider answers 401 to it: "
        "store the key the provider gave you",
    )


def _role_statements(ctx, role: str) -> list[tuple[str, dict]]:
    """(how to name it, statement) of each statement of the role's inline and attached policies."""
    iam = ctx.client("iam")
    found = []
    for name in pages(iam, "list_role_policies", "PolicyNames", RoleName=role):
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        found += _named(policy_statements(document), f"of its policy {name!r}")
    for attached in pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=role):
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        document = version["PolicyVersion"]["Document"]
        found += _named(policy_statements(document), f"of the attached policy {attached['PolicyName']!r}")
    return found


def _named(statements: list[dict], where: str) -> list[tuple[str, dict]]:
    """Each statement with its name: its Sid, or its place in its policy."""
    return [
        (f"statement {s['Sid']!r} {where}" if s.get("Sid") else f"statement {number} {where}", s)
        for number, s in enumerate(statements, start=1)
    ]


def _allows(statements, action: str, resource: str) -> bool:
    return any(
        s.get("Effect") == "Allow"
        and any(fnmatch.fnmatch(action.lower(), a.lower()) for a in as_set(s.get("Action")))
        and any(fnmatch.fnmatch(resource, r) for r in as_set(s.get("Resource")))
        for _, s in statements
    )


# What a service's actions on every resource, a wildcard in its actions, or both, give away.
_GIVES_AWAY = {
    "secretsmanager": (
        "read every secret in the account",
        "change and delete the secret too (secretsmanager:* includes PutSecretValue and DeleteSecret)",
        "read, change and delete every secret in the account",
    ),
    "kms": (
        "use every key in the account whose key policy trusts the account",
        "administer the key too (kms:* includes PutKeyPolicy and ScheduleKeyDeletion)",
        "use and administer every key in the account whose key policy trusts the account",
    ),
}


def _too_broad(statement: dict) -> tuple[str, str] | None:
    """(the service, what the statement gives away) when it allows Secrets Manager's or KMS's actions on every
    resource or by wildcard, else None."""
    actions = [a.lower() for a in as_set(statement.get("Action"))]
    every_resource = "*" in as_set(statement.get("Resource"))
    for service, gives in _GIVES_AWAY.items():
        ours = [a for a in actions if a == "*" or a.split(":")[0] == service]
        wildcard = any("*" in a for a in ours)
        if ours and (every_resource or wildcard):
            return service, gives[2 if every_resource and wildcard else 1 if wildcard else 0]
    return None


def _expect_least_privilege(ctx, label: str, role: str, statements, wanted: dict[str, str]) -> None:
    """No statement allows Secrets Manager's or KMS's actions by wildcard or on every resource; then each
    action of `wanted` ({action: resource ARN}) is allowed on that resource."""
    for name, statement in statements:
        broad = _too_broad(statement) if statement.get("Effect") == "Allow" else None
        if broad is None:
            continue
        service, gives_away = broad
        grant = "; ".join(
            f"{action} on {resource}" for action, resource in wanted.items() if action.startswith(service)
        )
        ctx.fail(
            f"expected the {label} {role} to be allowed only what it needs, found {name} allowing "
            f"{sorted(as_set(statement.get('Action')))} on {sorted(as_set(statement.get('Resource')))}: whoever runs "
            f"as the role could {gives_away}; grant {grant} instead"
        )
    for action, resource in wanted.items():
        ctx.expect(
            _allows(statements, action, resource),
            f"expected the {label} {role} to allow {action} on {resource}, found no statement that does",
        )


@lab.check(
    "roles",
    "The execution role and the task role allow what payments needs, on its own resources only",
    step=3,
    hints=[
        'One statement per need: {"Sid": "...", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", '
        '"Resource": secret_arn}; {"Sid": "...", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}',
        "The execution role reads and decrypts the secret (ECS does it at task start). The task role reads and "
        "decrypts it too, and also kms:GenerateDataKey and kms:Decrypt on key_arn, dynamodb:PutItem and "
        "dynamodb:GetItem on payments_table_arn.",
    ],
)
def roles_are_least_privilege(ctx):
    key_arn, secret_arn = _key(ctx)["Arn"], _secret(ctx)["ARN"]
    iam = ctx.client("iam")
    for role, fix in ((EXECUTION_ROLE, "run step 3's cell"), (TASK_ROLE, "run step 3's cell")):
        with ctx.not_done_if_missing(f"IAM role {ctx.env.name(role)!r}", fix):
            iam.get_role(RoleName=ctx.env.name(role))
    table_arn = f"arn:aws:dynamodb:{ctx.env.region}:{ctx.env.account_id}:table/{ctx.env.name(TABLE)}"
    read_secret = {"secretsmanager:GetSecretValue": secret_arn, "kms:Decrypt": key_arn}
    execution = ctx.env.name(EXECUTION_ROLE)
    _expect_least_privilege(ctx, "execution role", execution, _role_statements(ctx, execution), read_secret)
    task = ctx.env.name(TASK_ROLE)
    wanted = {
        **read_secret,
        "kms:GenerateDataKey": key_arn,
        "dynamodb:PutItem": table_arn,
        "dynamodb:GetItem": table_arn,
    }
    _expect_least_privilege(ctx, "task role", task, _role_statements(ctx, task), wanted)


def _b64(item: dict, field: str) -> bytes:
    return base64.b64decode(item[field])


@lab.check(
    "envelope",
    "Stored cards open only with KMS, with their order's encryption context",
    step=4,
    hints=[
        'kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext={"order_id": order_id}); '
        "AESGCM(data_key['Plaintext']).encrypt(nonce, card_number.encode(), order_id.encode())",
        "The item: order_id, and ciphertext, nonce and encrypted_key (the data key's CiphertextBlob), each "
        "base64 text. decrypt_card: kms.decrypt(CiphertextBlob=..., EncryptionContext={...}), then "
        "AESGCM(...).decrypt(nonce, ciphertext, order_id.encode()).",
    ],
)
def cards_use_envelope_encryption(ctx):
    key = _key(ctx)
    table = ctx.table(ctx.env.name(TABLE), fix="run step 3's cell, which makes it")
    yesterday = table.get_item(Key={"order_id": YESTERDAY}).get("Item")
    if yesterday is None:
        ctx.not_done(f"no card is stored for order {YESTERDAY} yet: run step 4's cell, which stores it")
    others = [item for item in table.scan(Limit=5).get("Items", []) if item.get("order_id") != YESTERDAY]
    items = [yesterday, *others[:3]]  # the notebook's, and a few the service stored
    kms = ctx.client("kms")
    for item in items:
        order = item.get("order_id")
        fields = {"ciphertext", "nonce", "encrypted_key"}
        ctx.expect(
            fields <= set(item),
            f"expected the item of order {order} to hold ciphertext, nonce and encrypted_key, found {sorted(item)}",
        )
        context = {"order_id": order}
        try:
            kms.decrypt(CiphertextBlob=_b64(item, "encrypted_key"))
            ctx.fail(
                f"expected the data key of order {order} to decrypt only with the encryption context {context}, "
                "found it decrypts without one: pass EncryptionContext={'order_id': order_id} to generate_data_key"
            )
        except kms.exceptions.InvalidCiphertextException:
            pass
        try:
            opened = kms.decrypt(CiphertextBlob=_b64(item, "encrypted_key"), EncryptionContext=context)
        except kms.exceptions.InvalidCiphertextException:
            ctx.fail(
                f"expected the data key of order {order} to decrypt with the encryption context {context}, found "
                "KMS refuses it (InvalidCiphertextException): the context must be exactly {'order_id': order_id}"
            )
        ctx.expect(
            opened["KeyId"] == key["Arn"],
            f"expected the data key of order {order} to come from your key {_alias(ctx)}, found {opened['KeyId']}",
        )
        ctx.expect(
            len(opened["Plaintext"]) == 32,
            f"expected a 256-bit data key (KeySpec AES_256), found {len(opened['Plaintext']) * 8} bits",
        )
        try:
            AESGCM(opened["Plaintext"]).decrypt(_b64(item, "nonce"), _b64(item, "ciphertext"), order.encode())
        except InvalidTag:
            ctx.fail(
                f"expected the card of order {order} to decrypt with AES-GCM, the data key, its nonce and the order "
                "id as associated data, found it does not (InvalidTag): encrypt with "
                "AESGCM(data_key).encrypt(nonce, card_number.encode(), order_id.encode())"
            )


def _task_definition(ctx, family: str, step: int) -> dict:
    ecs = ctx.client("ecs")
    try:
        return ecs.describe_task_definition(taskDefinition=ctx.env.name(family))["taskDefinition"]
    except ecs.exceptions.ClientException:  # ECS's answer for an unknown family
        ctx.missing(f"task definition {ctx.env.name(family)!r}", f"run step {step}'s cell")


def _container(ctx, definition: dict) -> dict:
    containers = {c["name"]: c for c in definition["containerDefinitions"]}
    ctx.expect(CONTAINER in containers, f"expected a container named {CONTAINER!r}, found {sorted(containers)}")
    return containers[CONTAINER]


def _keys_ever_stored(ctx, secret_arn: str) -> set[str]:
    """Every api_key the secret has held, in the versions Secrets Manager still keeps."""
    manager, found = ctx.client("secretsmanager"), set()
    for version in pages(manager, "list_secret_version_ids", "Versions", SecretId=secret_arn, IncludeDeprecated=True):
        try:
            value = manager.get_secret_value(SecretId=secret_arn, VersionId=version["VersionId"])["SecretString"]
            found.add(json.loads(value)["api_key"])
        except (ClientError, ValueError, KeyError, TypeError):
            continue  # a version with no value, or not the JSON asked for
    return found


def _expect_no_key_in_environment(ctx, container: dict, secret_arn: str) -> None:
    keys = {key for key in _keys_ever_stored(ctx, secret_arn) if key}
    for variable in container.get("environment", []):
        value = variable.get("value", "")
        if value in keys or any(key in value for key in keys):
            ctx.fail(
                f"expected the provider's API key to reach the container through secrets, found it written in the "
                f"task definition's environment ({variable['name']}): anyone allowed ecs:DescribeTaskDefinition "
                "reads it, in every revision; use secrets with valueFrom the secret's ARN + ':api_key::'"
            )


def _service(ctx, name: str, step: int) -> dict:
    with ctx.not_done_if_missing(f"cluster {ctx.env.name(CLUSTER)!r}", f"run step {step}'s cell"):
        found = ctx.client("ecs").describe_services(cluster=ctx.env.name(CLUSTER), services=[name])["services"]
    active = [s for s in found if s["status"] == "ACTIVE"]
    if not active:
        ctx.missing(f"ECS service {name!r}", f"run step {step}'s cell")
    service = active[0]
    ctx.expect(
        service["runningCount"] >= 1,
        f"expected a running task of {name}, found none: "
        f"{(service.get('events') or [{}])[0].get('message', 'wait a few seconds and check again')}",
    )
    return service


def _payment(ctx, headers: dict | None = None):
    url = ctx.load_balancer_url(ctx.env.name(BALANCER), fix="run step 5's cell")
    order = f"labkit-check-{uuid.uuid4().hex[:8]}"
    return ctx.post(
        url + "/payments", headers=headers or {}, json={"order_id": order, "card_number": TEST_CARD, "amount_cents": 1}
    )


@lab.check(
    "service",
    "Payments v1 runs on ECS and gets the provider's key from the task definition's secrets",
    step=5,
    hints=[
        '"secrets": [{"name": "PROVIDER_API_KEY", "valueFrom": f"{secret_arn}:api_key::"}] in the container '
        "definition, and no PROVIDER_API_KEY in its environment",
        "The environment: PAYMENTS_TABLE, CARD_KEY_ID and PROVIDER_URL. A task that does not start says why in "
        'ecs.describe_tasks(...)["tasks"][0]["stoppedReason"].',
    ],
)
def v1_reads_the_key_from_secrets(ctx):
    secret_arn = _secret(ctx)["ARN"]
    definition = _task_definition(ctx, V1, 5)
    container = _container(ctx, definition)
    _expect_no_key_in_environment(ctx, container, secret_arn)
    wanted = f"{secret_arn}:api_key::"
    found = {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}
    ctx.expect(
        found.get("PROVIDER_API_KEY") == wanted,
        f"expected the secret PROVIDER_API_KEY with valueFrom {wanted}, found "
        + (", ".join(f"{name} from {value}" for name, value in found.items()) or "no secrets"),
    )
    ctx.expect(
        definition.get("executionRoleArn", "").endswith("/" + ctx.env.name(EXECUTION_ROLE)),
        f"expected the execution role {ctx.env.name(EXECUTION_ROLE)}, found {definition.get('executionRoleArn')}",
    )
    _service(ctx, V1, 5)
    paid = _payment(ctx)
    stale = (
        "; a task reads its secrets when it starts: after a rotation, redeploy it" if paid.status_code == 502 else ""
    )
    ctx.expect(
        paid.status_code == 201,
        f"expected POST /payments through the load balancer to answer 201, found {paid.status_code}: "
        f"{paid.text[:200].strip()}{stale}",
    )


def _function_arn(ctx) -> str:
    name = ctx.env.name(ROTATION_FUNCTION)
    with ctx.not_done_if_missing(f"Lambda function {name!r}", "run step 6's cell"):
        return ctx.client("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]


def _expect_secrets_manager_may_invoke(ctx, function_arn: str) -> None:
    lambda_ = ctx.client("lambda")
    try:
        statements = policy_statements(lambda_.get_policy(FunctionName=function_arn)["Policy"])
    except lambda_.exceptions.ResourceNotFoundException:
        statements = []
    principals = [s.get("Principal", {}).get("Service") for s in statements if isinstance(s.get("Principal"), dict)]
    ctx.expect(
        "secretsmanager.amazonaws.com" in principals,
        "expected the rotation function's resource policy to allow secretsmanager.amazonaws.com to invoke it, "
        f"found {principals or 'no statement'}: lambda_.add_permission(..., Principal='secretsmanager.amazonaws.com')",
    )


def _expect_test_secret_refuses_a_bad_key(ctx, secret_arn: str, function_arn: str) -> None:
    """testSecret, for a pending version whose key the provider refuses, must raise."""
    manager, token = ctx.client("secretsmanager"), str(uuid.uuid4())
    manager.put_secret_value(
        SecretId=secret_arn,
        ClientRequestToken=token,
        SecretString=json.dumps({"api_key": REFUSED_KEY}),
        VersionStages=["AWSPENDING"],
    )
    try:
        event = {"SecretId": secret_arn, "ClientRequestToken": token, "Step": "testSecret"}
        answer = ctx.client("lambda").invoke(FunctionName=function_arn, Payload=json.dumps(event))
        error = json.loads(answer["Payload"].read() or b"null") if answer.get("FunctionError") else None
    finally:
        manager.update_secret_version_stage(SecretId=secret_arn, VersionStage="AWSPENDING", RemoveFromVersionId=token)
    if error is None:
        ctx.fail(
            "expected your rotation function to raise at testSecret when the provider refuses the pending key, found "
            "it returned without an error: the rotation would go on to make a key that does not work AWSCURRENT, "
            "revoke the one that does, and every payment would fail; call GET /whoami with the AWSPENDING key and "
            "raise unless it answers 200"
        )
    if isinstance(error, dict) and error.get("errorType") == "NotImplementedError":
        ctx.not_done(f"your rotation function is not written yet ({error.get('errorMessage')})")


@lab.check(
    "rotation",
    "The rotation function rotates the key at the provider, tests it, and revokes the old one",
    step=6,
    hints=[
        'createSecret: put_secret_value(SecretId=arn, ClientRequestToken=token, VersionStages=["AWSPENDING"], '
        'SecretString=json.dumps({"api_key": new_key})); setSecret: POST /keys with the AWSCURRENT key',
        "testSecret: call_provider('GET', '/whoami', api_key(arn, 'AWSPENDING', token)) and raise unless 200; "
        "finishSecret: update_secret_version_stage(..., MoveToVersionId=token, RemoveFromVersionId=current), then "
        "DELETE /keys/current with the old key",
        "lambda_.add_permission(FunctionName=rotation_arn, StatementId='secretsmanager', "
        "Action='lambda:InvokeFunction', Principal='secretsmanager.amazonaws.com', SourceArn=secret_arn)",
    ],
)
def rotation_works(ctx):
    secret = _secret(ctx)
    function_arn = _function_arn(ctx)
    _expect_secrets_manager_may_invoke(ctx, function_arn)
    if not secret.get("RotationEnabled"):
        ctx.not_done("the secret's rotation is not turned on yet: call rotate_secret in step 6")
    ctx.expect(
        secret.get("RotationLambdaARN") == function_arn,
        f"expected the secret to rotate with {function_arn}, found {secret.get('RotationLambdaARN')}",
    )
    stages = [label for labels in secret.get("VersionIdsToStages", {}).values() for label in labels]
    if "AWSPREVIOUS" not in stages:
        ctx.not_done("the secret has not rotated yet: its only version is the first one")
    current, previous = _api_key(ctx, secret["ARN"]), _api_key(ctx, secret["ARN"], "AWSPREVIOUS")
    ctx.expect(
        _provider_accepts(ctx, current),
        "expected the provider to accept the AWSCURRENT key after the rotation, found it answers 401: setSecret must "
        "register the new key (POST /keys) before finishSecret makes it current",
    )
    ctx.expect(
        current != previous and not _provider_accepts(ctx, previous),
        "expected the provider to refuse the AWSPREVIOUS key once the rotation is over, found it still accepts it: "
        "finishSecret must revoke it (DELETE /keys/current with the old key)",
    )
    _expect_test_secret_refuses_a_bad_key(ctx, secret["ARN"], function_arn)


class _Secrets:
    """A stand-in for a Secrets Manager client, counting reads; its key changes when rotated."""

    def __init__(self):
        self.key, self.reads = "key-1", 0

    def get_secret_value(self, SecretId, **_):  # boto3's parameter name
        self.reads += 1
        return {"SecretString": json.dumps({"api_key": self.key})}


def _expect_the_provider_key_class(ctx) -> None:
    make = ctx.learner_function("ProviderKey")
    run = learner_code.call  # what a method raises is the learner's, in one line
    secrets = _Secrets()
    key = make(secrets, "payments-provider-key", 60)
    first, second = run(key.get), run(key.get)
    ctx.expect(
        (first, second, secrets.reads) == ("key-1", "key-1", 1),
        f"expected get() to read the secret once and keep the key for ttl_s seconds, found {secrets.reads} reads "
        "for two calls: every payment would call Secrets Manager (and pay for it)",
    )
    short = make(secrets, "payments-provider-key", 0.05)
    run(short.get)
    time.sleep(0.1)
    secrets.key, reads = "key-2", secrets.reads
    ctx.expect(
        run(short.get) == "key-2" and secrets.reads == reads + 1,
        "expected get() to read the secret again once ttl_s has passed, found it kept the old key",
    )
    secrets.key, sent = "key-3", []

    def provider(api_key):
        sent.append(api_key)
        return (201, {"id": "ch_1"}) if api_key == "key-3" else (401, {"message": "invalid API key"})

    answer = run(key.call, provider)
    ctx.expect(
        answer == (201, {"id": "ch_1"}) and sent == ["key-1", "key-3"],
        f"expected call() to read the secret again and retry once when the provider answers 401, found the keys "
        f"sent {sent} and the answer {answer}",
    )
    sent.clear()

    def refusing(api_key):
        sent.append(api_key)
        return 401, {"message": "invalid API key"}

    run(key.call, refusing)
    ctx.expect(
        len(sent) == 2,
        f"expected call() to retry only once when the new key is refused too, found {len(sent)} requests",
    )


@lab.check(
    "runtime-key",
    "Payments v2 reads the key at run time, with a short cache and a retry on 401",
    step=7,
    hints=[
        "get(): if self.key is None or time.monotonic() - self.fetched_at >= self.ttl_s: return self.fetch()",
        "call(): status, answer = request_with(self.get()); if status == 401: status, answer = "
        "request_with(self.fetch()); return status, answer",
    ],
)
def v2_reads_the_key_at_run_time(ctx):
    secret_arn = _secret(ctx)["ARN"]
    _expect_the_provider_key_class(ctx)  # first: a class that does not work explains a v2 that does not
    container = _container(ctx, _task_definition(ctx, V2, 7))
    _expect_no_key_in_environment(ctx, container, secret_arn)
    named = {v["name"]: v.get("value") for v in container.get("environment", [])}
    ctx.expect(
        named.get("PROVIDER_SECRET_ID") in (secret_arn, ctx.env.name(SECRET)),
        f"expected PROVIDER_SECRET_ID to name the secret, found {named.get('PROVIDER_SECRET_ID')!r}",
    )
    _service(ctx, V2, 7)
    paid = _payment(ctx, V2_HEADER)
    ctx.expect(
        paid.status_code == 201,
        f"expected POST /payments to v2 to answer 201, found {paid.status_code}: {paid.text[:200]}",
    )
