"""Lab 06's checks against wrong answers: each failure says what was expected and what was found.

The solution notebook runs once for the module (its cells but the cleanup), which deploys the key, the secret,
the roles, both payments services and the rotation function; each test then makes one mistake with boto3 (a
role allowed secretsmanager:* on *, a card's data key made without an encryption context, the provider's key
in a task definition's environment, a rotation function that skips testSecret...), runs the check, and puts
the right answer back. The rotation function and ProviderKey are the solution notebook's own (its %%writefile
cells), with one part changed."""

import base64
import json
import re
import time

import boto3
import pytest
import requests
from solution_files import written_file
from solution_runs import deployed_by_solution
from support.checks import checks_of

from labkit import config, course, fargate, labs, packaging, urls, waits
from labkit.errors import LabkitError
from labkit.labs import lab06

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "06_secrets_and_least_privilege.ipynb"
result, assert_fails_saying_exactly = checks_of("06")
ROTATION = written_file(SOLUTION, "rotation_file")
PROVIDER_KEY = written_file(SOLUTION, "provider_key_file")


@pytest.fixture(scope="module")
def deployed(cloud):
    """The lab as its solution leaves it before the cleanup: (the key's ARN, the secret's ARN)."""
    with deployed_by_solution(SOLUTION, "06"):
        key = boto3.client("kms").describe_key(KeyId="alias/" + lab06.KEY_ALIAS)["KeyMetadata"]["Arn"]
        secret = boto3.client("secretsmanager").describe_secret(SecretId=lab06.SECRET)["ARN"]
        yield key, secret


def provider_key_class(change=("", "")):
    """The solution's ProviderKey, with one change made to its source."""
    assert change[0] in PROVIDER_KEY
    namespace = {}
    exec(PROVIDER_KEY.replace(*change), namespace)
    return namespace["ProviderKey"]


def current_api_key(secret_arn: str) -> str:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    return json.loads(value)["api_key"]


def test_a_secret_whose_name_has_a_typo_fails_naming_the_secret_found_and_what_to_fix(cloud):
    """Before the solution is deployed (this module's tests run in order, in one process): the key exists, and
    the lab's only secret is misnamed, as `env.name("payment-provider-key")` would make it."""
    env = course.current()
    kms, manager = boto3.client("kms"), boto3.client("secretsmanager")
    key = kms.create_key(KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/" + lab06.KEY_ALIAS, TargetKeyId=key)
    tags = {**env.tags, config.LAB_TAG_KEY: "06"}
    manager.create_secret(
        Name="payment-provider-key",
        SecretString=json.dumps({"api_key": "sk_test_" + "1" * 32}),
        KmsKeyId=key,
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    try:
        assert_fails_saying_exactly(
            "secret",
            "expected the secret to be named 'payments-provider-key', found this lab's secret named "
            "'payment-provider-key': check the spelling of secret_name (env.name(\"payments-provider-key\")), then "
            "run step 2's cell again (the clean-up deletes the misnamed one)",
        )
    finally:
        manager.delete_secret(SecretId="payment-provider-key", ForceDeleteWithoutRecovery=True)
        kms.delete_alias(AliasName="alias/" + lab06.KEY_ALIAS)
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    assert result("secret").message == "there is no KMS key with the alias 'alias/payments' yet: create it in step 1"


def test_the_solution_passes_every_check(deployed):
    failing = [(r.id, r.message) for r in labs.require("06").run(ProviderKey=provider_key_class()) if not r.passed]
    assert failing == []


def test_an_execution_role_allowed_secretsmanager_everything_on_every_resource_fails_naming_the_statement(deployed):
    key, secret = deployed
    iam, role = boto3.client("iam"), lab06.EXECUTION_ROLE
    right = iam.get_role_policy(RoleName=role, PolicyName="provider-key")["PolicyDocument"]
    broad = [
        {"Sid": "ReadSecrets", "Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
        {"Sid": "DecryptTheProviderKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key},
    ]
    iam.put_role_policy(
        RoleName=role,
        PolicyName="provider-key",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": broad}),
    )
    try:
        assert_fails_saying_exactly(
            "roles",
            "expected the execution role payments-execution-role to be allowed only what it needs, found statement "
            "'ReadSecrets' of its policy 'provider-key' allowing ['secretsmanager:*'] on ['*']: whoever runs as the "
            "role could read, change and delete every secret in the account; grant secretsmanager:GetSecretValue on "
            f"{secret} instead",
        )
    finally:
        iam.put_role_policy(RoleName=role, PolicyName="provider-key", PolicyDocument=json.dumps(right))


def test_a_task_role_allowed_every_kms_action_on_its_key_fails_saying_it_could_administer_the_key(deployed):
    key, _ = deployed
    iam, role = boto3.client("iam"), lab06.TASK_ROLE
    right = iam.get_role_policy(RoleName=role, PolicyName="payments")["PolicyDocument"]
    everything = [{**s, "Action": "kms:*"} if s.get("Sid") == "CardDataKeys" else s for s in right["Statement"]]
    iam.put_role_policy(
        RoleName=role, PolicyName="payments", PolicyDocument=json.dumps({**right, "Statement": everything})
    )
    try:
        assert_fails_saying_exactly(
            "roles",
            "expected the task role payments-task-role to be allowed only what it needs, found statement "
            f"'CardDataKeys' of its policy 'payments' allowing ['kms:*'] on ['{key}']: whoever runs as the role could "
            "administer the key too (kms:* includes PutKeyPolicy and ScheduleKeyDeletion); grant kms:Decrypt on "
            f"{key}; kms:GenerateDataKey on {key} instead",
        )
    finally:
        iam.put_role_policy(RoleName=role, PolicyName="payments", PolicyDocument=json.dumps(right))


def test_a_task_role_without_generate_data_key_fails_saying_which_action_on_which_key(deployed):
    key, _ = deployed
    iam, role = boto3.client("iam"), lab06.TASK_ROLE
    right = iam.get_role_policy(RoleName=role, PolicyName="payments")["PolicyDocument"]
    without = [{**s, "Action": ["kms:Decrypt"]} if s.get("Sid") == "CardDataKeys" else s for s in right["Statement"]]
    iam.put_role_policy(
        RoleName=role, PolicyName="payments", PolicyDocument=json.dumps({**right, "Statement": without})
    )
    try:
        assert_fails_saying_exactly(
            "roles",
            f"expected the task role payments-task-role to allow kms:GenerateDataKey on {key}, found no statement "
            "that does",
        )
    finally:
        iam.put_role_policy(RoleName=role, PolicyName="payments", PolicyDocument=json.dumps(right))


def test_a_card_whose_data_key_was_made_without_an_encryption_context_fails(deployed):
    key, _ = deployed
    payments = boto3.resource("dynamodb").Table(lab06.TABLE)
    right = payments.get_item(Key={"order_id": lab06.YESTERDAY})["Item"]
    data_key = boto3.client("kms").generate_data_key(KeyId=key, KeySpec="AES_256")  # no EncryptionContext
    payments.put_item(Item={**right, "encrypted_key": base64.b64encode(data_key["CiphertextBlob"]).decode()})
    try:
        assert_fails_saying_exactly(
            "envelope",
            "expected the data key of order o-1001 to decrypt only with the encryption context "
            "{'order_id': 'o-1001'}, found it decrypts without one: pass EncryptionContext={'order_id': order_id} "
            "to generate_data_key",
        )
    finally:
        payments.put_item(Item=right)


def test_the_provider_key_hard_coded_in_the_task_definitions_environment_fails_and_asks_for_secrets(deployed):
    _, secret = deployed
    ecs = boto3.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=lab06.V1)["taskDefinition"]
    container = definition["containerDefinitions"][0]
    hard_coded = {
        **container,
        "secrets": [],
        "environment": [*container["environment"], {"name": "PROVIDER_API_KEY", "value": current_api_key(secret)}],
    }
    wrong = ecs.register_task_definition(
        family=lab06.V1,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=definition["executionRoleArn"],
        taskRoleArn=definition["taskRoleArn"],
        containerDefinitions=[hard_coded],
    )["taskDefinition"]["taskDefinitionArn"]
    try:
        assert_fails_saying_exactly(
            "service",
            "expected the provider's API key to reach the container through secrets, found it written in the task "
            "definition's environment (PROVIDER_API_KEY): anyone allowed ecs:DescribeTaskDefinition reads it, in "
            "every revision; use secrets with valueFrom the secret's ARN + ':api_key::'",
        )
    finally:
        ecs.deregister_task_definition(taskDefinition=wrong)


@pytest.fixture
def rotation_deployed_as(tmp_path):
    """Deploys a variant of the rotation function; the solution's is deployed again afterwards."""
    lambda_ = boto3.client("lambda")

    def deploy(source):
        (tmp_path / "handler.py").write_text(source)
        lambda_.update_function_code(
            FunctionName=lab06.ROTATION_FUNCTION, ZipFile=packaging.zip_bytes(tmp_path / "handler.py")
        )
        lambda_.get_waiter("function_updated_v2").wait(FunctionName=lab06.ROTATION_FUNCTION)

    yield deploy
    deploy(ROTATION)


def test_a_rotation_function_that_skips_test_secret_fails_when_the_provider_refuses_the_pending_key(
    deployed, rotation_deployed_as
):
    tested = 'status = call_provider("GET", "/whoami", api_key(arn, "AWSPENDING", token))'
    assert tested in ROTATION
    rotation_deployed_as(ROTATION.replace(tested, "return  # the key was registered: surely it works"))
    assert_fails_saying_exactly(
        "rotation",
        "expected your rotation function to raise at testSecret when the provider refuses the pending key, found it "
        "returned without an error: the rotation would go on to make a key that does not work AWSCURRENT, revoke the "
        "one that does, and every payment would fail; call GET /whoami with the AWSPENDING key and raise unless it "
        "answers 200",
        ProviderKey=provider_key_class(),
    )
    labels = boto3.client("secretsmanager").describe_secret(SecretId=lab06.SECRET)["VersionIdsToStages"]
    assert sorted(label for stages in labels.values() for label in stages) == ["AWSCURRENT", "AWSPREVIOUS"]


def test_a_provider_key_that_does_not_read_the_secret_again_on_a_401_fails(deployed):
    no_retry = provider_key_class(("if status == 401:", "if False:"))
    assert_fails_saying_exactly(
        "runtime-key",
        "expected call() to read the secret again and retry once when the provider answers 401, found the keys sent "
        "['key-1'] and the answer (401, {'message': 'invalid API key'})",
        ProviderKey=no_retry,
    )


def test_a_provider_key_that_reads_the_secret_for_every_payment_fails(deployed):
    uncached = provider_key_class(("if self.key is None or", "if True or"))
    assert_fails_saying_exactly(
        "runtime-key",
        "expected get() to read the secret once and keep the key for ttl_s seconds, found 2 reads for two calls: "
        "every payment would call Secrets Manager (and pay for it)",
        ProviderKey=uncached,
    )


def test_a_v1_task_started_before_a_rotation_fails_the_service_check_which_says_to_redeploy(deployed):
    _, secret = deployed
    manager, old_key = boto3.client("secretsmanager"), current_api_key(secret)
    rotating = manager.rotate_secret(SecretId=secret)["VersionId"]
    waits.wait_until(
        "the rotation to revoke the old key",
        lambda: (
            "AWSCURRENT" in manager.describe_secret(SecretId=secret)["VersionIdsToStages"][rotating]
            and not provider_accepts(old_key)
        ),
        timeout_s=30,
    )
    try:
        assert_fails_saying_exactly(
            "service",
            'expected POST /payments through the load balancer to answer 201, found 502: {"message":"the payment '
            'provider refused our API key"}; a task reads its secrets when it starts: after a rotation, redeploy it',
        )
    finally:
        group = boto3.client("elbv2").describe_target_groups(Names=[lab06.V1])["TargetGroups"][0]["TargetGroupArn"]
        fargate.redeploy(fargate.front_door(course.current(), lab06.BALANCER), lab06.V1, group)
    assert result("service").passed


def provider_accepts(key: str) -> bool:
    v2 = boto3.client("apigatewayv2")
    api = next(a["ApiId"] for a in v2.get_apis()["Items"] if a["Name"] == lab06.PROVIDER)
    answer = requests.get(urls.url_for(api) + "/whoami", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    return answer.status_code == 200


def test_a_task_definition_whose_secret_is_misnamed_stops_step_5s_wait_with_ecss_reason_not_a_minute_later(deployed):
    _, secret = deployed
    env, ecs = course.current(), boto3.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=lab06.V1)["taskDefinition"]
    misnamed = secret.replace("payments-provider-key", "payments-provder-key")
    container = {
        **definition["containerDefinitions"][0],
        "secrets": [{"name": "PROVIDER_API_KEY", "valueFrom": misnamed}],
    }
    wrong = ecs.register_task_definition(
        family=lab06.V1,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=definition["executionRoleArn"],
        taskRoleArn=definition["taskRoleArn"],
        containerDefinitions=[container],
    )["taskDefinition"]["taskDefinitionArn"]
    door = fargate.front_door(env, lab06.BALANCER)
    group = boto3.client("elbv2").describe_target_groups(Names=[lab06.V1])["TargetGroups"][0]["TargetGroupArn"]
    started = time.monotonic()
    try:
        with pytest.raises(LabkitError) as stopped:
            fargate.run_service(env, door, lab06.V1, wrong, group)
        waited = time.monotonic() - started
    finally:
        fargate.run_service(env, door, lab06.V1, definition["taskDefinitionArn"], group)
        ecs.deregister_task_definition(taskDefinition=wrong)
    assert waited < 30
    # The execution role may read the right secret only: IAM refuses the misnamed one before it looks for it.
    said = re.fullmatch(
        re.escape("the payments-v1 service's tasks do not start: ")
        + r"(\d+)"
        + re.escape(
            " stopped before running, the latest with ResourceInitializationError: unable to pull secrets or registry "
            "auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been "
            f"retried 1 time(s): failed to fetch secret {misnamed} from secrets manager: AccessDeniedException: User: "
            "arn:aws:sts::123456789012:assumed-role/payments-execution-role/"
        )
        + r"[0-9a-f-]{36}"
        + re.escape(
            f" is not authorized to perform: secretsmanager:GetSecretValue on resource: {misnamed} because no "
            "identity-based policy allows the secretsmanager:GetSecretValue action"
        )
        + r" status code: 400, request id: [0-9a-f-]{36}",
        str(stopped.value),
    )
    assert said and int(said.group(1)) >= fargate.GIVE_UP_AFTER_FAILED_STARTS, str(stopped.value)
    assert result("service").passed
