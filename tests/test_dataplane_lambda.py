"""Lambda on the local cloud runs the learner's code, and behaves the way AWS documents it."""

import base64
import io
import json
import os
import re
import signal
import textwrap
import threading
import time
import uuid
import zipfile

import boto3
import pytest
from support import exited, stays, wait_for

from labkit.localcloud import control


@pytest.fixture(scope="module")
def aws(cloud):
    clients = clients_for(boto3.Session())
    # What these tests' handlers call with the role's credentials (IAM is enforced for workloads).
    clients["iam"].put_role_policy(
        RoleName=clients["role"].rsplit("/", 1)[-1],
        PolicyName="what-the-handlers-call",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["dynamodb:*", "sqs:*", "secretsmanager:*"], "Resource": "*"}
                ],
            }
        ),
    )
    return clients


def clients_for(session, **options) -> dict:
    clients = {
        name: session.client(name, **options) for name in ("lambda", "iam", "dynamodb", "logs", "sqs", "secretsmanager")
    }
    role = clients["iam"].create_role(
        RoleName=f"lambda-test-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    clients["role"] = role["Role"]["Arn"]
    return clients


def code_zip(source: str, module: str = "app") -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"{module}.py", textwrap.dedent(source))
    return archive.getvalue()


def deploy(aws, source: str, handler: str = "app.handler", **settings) -> str:
    name = f"fn-{uuid.uuid4().hex[:10]}"
    aws["lambda"].create_function(
        FunctionName=name,
        Runtime=settings.pop("Runtime", "python3.12"),
        Role=aws["role"],
        Handler=handler,
        Code={"ZipFile": code_zip(source)},
        Timeout=settings.pop("Timeout", 3),
        MemorySize=settings.pop("MemorySize", 128),
        **settings,
    )
    return name


def call(aws, name: str, event=None, **options) -> tuple[dict, object]:
    response = aws["lambda"].invoke(FunctionName=name, Payload=json.dumps(event or {}), **options)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def log_messages(aws, name: str) -> list[str]:
    try:
        events = aws["logs"].filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except aws["logs"].exceptions.ResourceNotFoundException:  # not invoked yet
        return []
    return [event["message"] for event in events]


def make_table(aws) -> str:
    table = f"books-{uuid.uuid4().hex[:8]}"
    aws["dynamodb"].create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    return table


WRITE_ITEM = """
    import os
    import boto3

    table = boto3.resource("dynamodb").Table(os.environ["TABLE"])

    def handler(event, context):
        table.put_item(Item={"id": event["id"], "title": event["title"]})
        return {"stored": event["id"]}
"""


def test_a_handler_writes_to_dynamodb_with_plain_boto3(aws):
    table = make_table(aws)
    name = deploy(aws, WRITE_ITEM, Environment={"Variables": {"TABLE": table}})
    response, body = call(aws, name, {"id": "b1", "title": "Dune"})
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert body == {"stored": "b1"}
    item = aws["dynamodb"].get_item(TableName=table, Key={"id": {"S": "b1"}})["Item"]
    assert item["title"] == {"S": "Dune"}


def test_context_and_environment_are_the_ones_aws_gives(aws, cloud):
    name = deploy(
        aws,
        """
        import os

        def handler(event, context):
            names = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
                     "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
                     "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
                     "AWS_EXECUTION_ENV", "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_ENDPOINT_URL",
                     "AWS_ACCESS_KEY_ID", "SHELF"]
            return {"env": {name: os.environ.get(name) for name in names},
                    "request_id": context.aws_request_id, "name": context.function_name,
                    "version": context.function_version, "arn": context.invoked_function_arn,
                    "memory": context.memory_limit_in_mb,
                    "remaining": context.get_remaining_time_in_millis(),
                    "stream": context.log_stream_name, "cwd": os.getcwd(),
                    "custom": context.client_context and context.client_context.custom}
    """,
        Environment={"Variables": {"SHELF": "fiction"}},
        Timeout=2,
    )
    client_context = base64.b64encode(json.dumps({"custom": {"shop": "north"}}).encode())
    _, seen = call(aws, name, ClientContext=client_context.decode())
    arn = aws["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    assert seen["name"] == name and seen["version"] == "$LATEST" and seen["arn"] == arn
    assert int(seen["memory"]) == 128 and seen["custom"] == {"shop": "north"}
    assert 0 < seen["remaining"] <= 2000
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", seen["request_id"])
    env = seen["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{name}"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == seen["stream"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", seen["stream"])
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == cloud.region
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12" and env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == seen["cwd"]
    assert env["AWS_ENDPOINT_URL"] == cloud.endpoint and env["AWS_ACCESS_KEY_ID"]
    assert env["SHELF"] == "fiction"


def test_a_warm_worker_is_reused_and_concurrency_starts_a_second(aws):
    name = deploy(
        aws,
        """
        import os
        import time

        calls = 0

        def handler(event, context):
            global calls
            calls += 1
            time.sleep(event.get("sleep", 0))
            return {"pid": os.getpid(), "calls": calls}
    """,
    )
    counts = [call(aws, name)[1]["calls"] for _ in range(3)]
    assert counts == [1, 2, 3]  # module state survives between invocations: the same process

    pids = []

    def slow_call():
        client = boto3.client("lambda")
        response = client.invoke(FunctionName=name, Payload=json.dumps({"sleep": 0.5}))
        pids.append(json.loads(response["Payload"].read())["pid"])

    threads = [threading.Thread(target=slow_call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(pids)) == 2


# What a new execution environment starts with: its process, folder, time zone and random state.
WHO_AM_I = """
    import os
    import random
    import time

    DRAWN_AT_INIT = random.random()

    def handler(event, context):
        return {"pid": os.getpid(), "cwd": os.getcwd(), "task_root": os.environ["LAMBDA_TASK_ROOT"],
                "drawn": DRAWN_AT_INIT, "zone": time.strftime("%Z"), "secret": os.environ.get("AWS_SECRET_ACCESS_KEY")}
"""


def test_each_new_environment_is_a_process_of_its_own_in_its_code_folder_with_its_own_random_state(aws):
    first, second = deploy(aws, WHO_AM_I), deploy(aws, WHO_AM_I)
    one, other = call(aws, first)[1], call(aws, second)[1]
    assert one["pid"] != other["pid"] and one["pid"] != os.getpid()
    assert (one["cwd"], other["cwd"]) == (one["task_root"], other["task_root"])
    assert one["drawn"] != other["drawn"]  # a random state of its own, as a new process on AWS has
    assert one["zone"] == other["zone"] == "UTC"
    assert one["secret"] and one["secret"] != other["secret"]  # each function's role's own credentials


def test_a_worker_that_died_while_idle_is_replaced_on_the_next_invoke(aws):
    name = deploy(aws, "import os\ndef handler(event, context):\n    return os.getpid()\n")
    first = call(aws, name)[1]
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: exited(first), 5, "the worker to die", interval=0.01)
    response, second = call(aws, name)
    assert "FunctionError" not in response and second != first


def test_an_exception_comes_back_as_aws_shapes_it_and_is_logged(aws):
    name = deploy(
        aws,
        """
        def handler(event, context):
            raise ValueError("no such book: " + event["isbn"])
    """,
    )
    response, error = call(aws, name, {"isbn": "42"})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "ValueError" and error["errorMessage"] == "no such book: 42"
    assert any("app.py" in line and "handler" in line for line in error["stackTrace"])
    messages = wait_for(lambda: [m for m in log_messages(aws, name) if "[ERROR]" in m], 5, "the error in the log")
    assert messages[0].startswith("[ERROR] ValueError: no such book: 42")


def test_a_timeout_kills_the_worker_and_the_next_invoke_works(aws):
    name = deploy(
        aws,
        """
        import time

        def handler(event, context):
            time.sleep(event["sleep"])
            return "done"
    """,
        Timeout=1,
    )
    started = time.monotonic()
    response, error = call(aws, name, {"sleep": 30})
    assert time.monotonic() - started < 5
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    timed_out = re.fullmatch(r"RequestId: \S+ Error: Task timed out after (\d+\.\d\d) seconds", error["errorMessage"])
    # The time it ran: at least the 1 s timeout, and over 2 s on a busy machine.
    assert timed_out and float(timed_out[1]) >= 1
    assert any(f"Task timed out after {timed_out[1]} seconds" in message for message in log_messages(aws, name))
    response, body = call(aws, name, {"sleep": 0})
    assert body == "done" and "FunctionError" not in response


def test_a_value_json_cannot_carry_is_a_marshal_error(aws):
    name = deploy(
        aws,
        """
        def handler(event, context):
            return {"tags": {"sci-fi", "classic"}}
    """,
    )
    response, error = call(aws, name)
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.MarshalError"
    assert error["errorMessage"].startswith("Unable to marshal response")


def test_exceeding_the_memory_size_kills_the_worker_as_on_aws(aws):
    name = deploy(
        aws,
        """
        import time

        def handler(event, context):
            if event.get("hog"):
                hoard = []
                for _ in range(80):  # 640 MB, far past the 128 MB memory size
                    hoard.append(b"x" * (8 * 1024 * 1024))
                    time.sleep(0.01)
                return "survived"
            return "fine"
    """,
        Timeout=5,
    )
    response, error = call(aws, name, {"hog": True})
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ExitError"
    assert re.fullmatch(r"RequestId: \S+ Error: Runtime exited with error: signal: killed", error["errorMessage"])
    reports = [m for m in log_messages(aws, name) if m.startswith("REPORT")]
    assert "Error Type: Runtime.OutOfMemory" in reports[-1]
    assert call(aws, name)[1] == "fine"


@pytest.mark.parametrize(
    "handler, error_type, message",
    [
        (
            "missing_module.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing_module': No module named 'missing_module'",
        ),
        ("app.nowhere", "Runtime.HandlerNotFound", "Handler 'nowhere' missing on module 'app'"),
    ],
)
def test_init_errors_come_back_as_on_aws(aws, handler, error_type, message):
    name = deploy(aws, "def handler(event, context):\n    return 1\n", handler=handler)
    for _ in range(2):  # a failed init is tried again on the next invoke, as on AWS
        response, error = call(aws, name)
        assert response["FunctionError"] == "Unhandled"
        assert error["errorType"] == error_type and error["errorMessage"] == message
    assert any(m.startswith("INIT_REPORT") and error_type in m for m in log_messages(aws, name))


def test_a_qualifier_runs_that_versions_code(aws):
    name = deploy(aws, "def handler(event, context):\n    return 'first'\n")
    first = aws["lambda"].publish_version(FunctionName=name)["Version"]
    aws["lambda"].update_function_code(
        FunctionName=name, ZipFile=code_zip("def handler(event, context):\n    return 'second'\n")
    )
    response, body = call(aws, name, Qualifier=first)
    assert body == "first" and response["ExecutedVersion"] == first
    response, body = call(aws, name)
    assert body == "second" and response["ExecutedVersion"] == "$LATEST"


def test_alias_weights_split_the_traffic(aws):
    name = deploy(aws, "def handler(event, context):\n    return context.function_version\n")
    stable = aws["lambda"].publish_version(FunctionName=name)["Version"]
    aws["lambda"].update_function_code(
        FunctionName=name,
        ZipFile=code_zip("def handler(event, context):\n    return 'canary ' + context.function_version\n"),
    )
    canary = aws["lambda"].publish_version(FunctionName=name)["Version"]
    aws["lambda"].create_alias(
        FunctionName=name,
        Name="live",
        FunctionVersion=stable,
        RoutingConfig={"AdditionalVersionWeights": {canary: 0.3}},
    )
    ran = []
    for _ in range(100):
        response, body = call(aws, name, Qualifier="live")
        expected = stable if response["ExecutedVersion"] == stable else f"canary {canary}"
        assert body == expected
        ran.append(response["ExecutedVersion"])
    # 30 expected; the band is more than 4 standard deviations wide on either side.
    assert 10 <= ran.count(canary) <= 55 and ran.count(stable) + ran.count(canary) == 100
    _, body = call(aws, name, Qualifier=stable)
    assert body == stable


def test_event_invocation_answers_202_and_runs_shortly_after(aws):
    table = make_table(aws)
    name = deploy(aws, WRITE_ITEM, Environment={"Variables": {"TABLE": table}})
    response, body = call(aws, name, {"id": "e1", "title": "Emma"}, InvocationType="Event")
    assert response["StatusCode"] == 202 and body is None
    stored = wait_for(
        lambda: aws["dynamodb"].get_item(TableName=table, Key={"id": {"S": "e1"}}).get("Item"), 5, "the item e1"
    )
    assert stored["title"] == {"S": "Emma"}


def test_a_failing_event_is_retried_twice_with_the_same_request_id(aws):
    name = deploy(aws, "def handler(event, context):\n    raise RuntimeError('flaky')\n")
    call(aws, name, InvocationType="Event")

    def starts():
        return [m for m in log_messages(aws, name) if m.startswith("START")]

    wait_for(lambda: len(starts()) >= 3, 8, "the first attempt and two retries")
    # The retries came 0.5 s and 1 s apart (events.RETRY_DELAYS_S): a fourth would come within 2 s.
    stays(lambda: len(starts()) == 3, 2, "no fourth attempt")
    assert len({line.split()[2] for line in starts()}) == 1


def test_dry_run_answers_204_and_runs_nothing(aws):
    table = make_table(aws)
    name, control = (deploy(aws, WRITE_ITEM, Environment={"Variables": {"TABLE": table}}) for _ in range(2))
    response, body = call(aws, name, {"id": "d1", "title": "Dracula"}, InvocationType="DryRun")
    assert response["StatusCode"] == 204 and body is None

    def stored(key):
        return aws["dynamodb"].get_item(TableName=table, Key={"id": {"S": key}}).get("Item")

    def untouched():
        groups = aws["logs"].describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
        return not stored("d1") and groups == []

    # A positive control: an event sent after the dry run runs, so a dry run that ran had time to.
    call(aws, control, {"id": "c1", "title": "Carmilla"}, InvocationType="Event")
    wait_for(lambda: stored("c1"), 5, "the control event's item")
    stays(untouched, 1, "no item and no log group from the dry run")


def test_start_end_report_and_output_reach_cloudwatch_logs(aws):
    name = deploy(
        aws,
        """
        def handler(event, context):
            print("looking up", event["isbn"])
            return context.aws_request_id
    """,
    )
    _, request_id = call(aws, name, {"isbn": "9780441013593"})
    streams = aws["logs"].describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", streams[0]["logStreamName"])
    messages = log_messages(aws, name)
    start = messages.index(f"START RequestId: {request_id} Version: $LATEST")
    assert messages[start + 1] == "looking up 9780441013593"
    assert messages[start + 2] == f"END RequestId: {request_id}"
    assert re.fullmatch(
        rf"REPORT RequestId: {request_id}\tDuration: [\d.]+ ms\t"
        r"Billed Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB"
        r"\tInit Duration: [\d.]+ ms",
        messages[start + 3],
    )


def test_log_type_tail_returns_the_end_of_the_log(aws):
    name = deploy(
        aws,
        """
        def handler(event, context):
            print("an early line\\n" * 1000)
            print("the last words")
            return "ok"
    """,
    )
    response, _ = call(aws, name, LogType="Tail")
    tail = base64.b64decode(response["LogResult"])
    assert len(tail) <= 4096
    text = tail.decode("utf-8", "replace")
    assert "the last words" in text and "END RequestId" in text and "REPORT RequestId" in text
    assert "LogResult" not in call(aws, name)[0]


def test_an_sqs_trigger_runs_the_handler(aws):
    table = make_table(aws)
    name = deploy(
        aws,
        """
        import json
        import os
        import boto3

        table = boto3.resource("dynamodb").Table(os.environ["TABLE"])

        def handler(event, context):
            for record in event["Records"]:
                table.put_item(Item=json.loads(record["body"]))
    """,
        Environment={"Variables": {"TABLE": table}},
    )
    queue = aws["sqs"].create_queue(QueueName=f"orders-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    aws["lambda"].create_event_source_mapping(EventSourceArn=queue_arn["Attributes"]["QueueArn"], FunctionName=name)
    aws["sqs"].send_message(QueueUrl=queue, MessageBody=json.dumps({"id": "o1", "title": "Ulysses"}))
    stored = wait_for(
        lambda: aws["dynamodb"].get_item(TableName=table, Key={"id": {"S": "o1"}}).get("Item"), 5, "the item o1"
    )
    assert stored["title"] == {"S": "Ulysses"}


def test_secrets_manager_rotation_runs_the_four_steps(aws):
    name = deploy(
        aws,
        """
        def handler(event, context):
            print("step", event["Step"])
    """,
    )
    arn = aws["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    aws["lambda"].add_permission(
        FunctionName=name, StatementId="sm", Action="lambda:InvokeFunction", Principal="secretsmanager.amazonaws.com"
    )
    secret = aws["secretsmanager"].create_secret(Name=f"db-{uuid.uuid4().hex[:8]}", SecretString="s3cret")["ARN"]
    aws["secretsmanager"].rotate_secret(
        SecretId=secret, RotationLambdaARN=arn, RotationRules={"AutomaticallyAfterDays": 30}
    )

    def steps():  # Secrets Manager runs them after RotateSecret has answered (tests/test_dataplane_secretsmanager.py)
        return [m.split()[1] for m in log_messages(aws, name) if m.startswith("step ")]

    wait_for(lambda: len(steps()) == 4, 20, "the four steps")
    assert steps() == ["createSecret", "setSecret", "testSecret", "finishSecret"]


def test_workers_stop_on_reset_and_with_the_local_cloud(isolated_cloud_env):
    # A private cloud: resetting the session's cloud would empty it under the other tests.
    info, _ = control.up()
    session = boto3.Session(region_name=info["region"], aws_access_key_id="testing", aws_secret_access_key="testing")
    private = clients_for(session, endpoint_url=info["endpoint"])
    source = "import os\ndef handler(event, context):\n    return os.getpid()\n"
    worker = call(private, deploy(private, source))[1]
    assert not exited(worker)
    control.reset()
    wait_for(lambda: exited(worker), 5, "reset to stop the worker")
    private = clients_for(session, endpoint_url=info["endpoint"])  # the role went with the reset
    worker = call(private, deploy(private, source))[1]
    control.down()
    wait_for(lambda: exited(worker), 5, "`down` to stop the worker")


@pytest.mark.no_cloud
def test_idle_and_outdated_workers_are_stopped(tmp_path):
    from labkit.dataplane.lambda_.pool import WorkerPool
    from labkit.dataplane.lambda_.workers import WorkerSpec

    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 1\n")

    def spec(key):
        return WorkerSpec(
            key=key,
            family=("acct", "region", "fn", "$LATEST"),
            version="$LATEST",
            handler="app.handler",
            code_dir=str(tmp_path),
            env={},
            memory_mb=128,
        )

    pool = WorkerPool()
    first = pool.acquire(spec("code-1"))
    pool.release(first, reusable=True)
    assert pool.acquire(spec("code-1")) is first  # warm: the same environment again
    pool.release(first, reusable=True)
    second = pool.acquire(spec("code-2"))  # new code: the old environment goes
    assert second is not first and exited(first.pid)
    pool.release(second, reusable=True)
    pool.reap_idle(idle_for_s=0)
    assert exited(second.pid)


def test_other_runtimes_get_a_clear_error(aws):
    name = deploy(aws, "exports.handler = async () => 1;", handler="index.handler", Runtime="nodejs20.x")
    response, error = call(aws, name)
    assert response["FunctionError"] == "Unhandled"
    assert "runs Python functions only" in error["errorMessage"]
    assert "nodejs20.x" in error["errorMessage"]


def test_a_deleted_functions_execution_environment_stops(aws):
    name = deploy(aws, "import os\n\ndef handler(event, context):\n    return os.getpid()\n")
    _, pid = call(aws, name)
    assert not exited(pid)  # warm, waiting for its next invocation
    aws["lambda"].delete_function(FunctionName=name)
    wait_for(lambda: exited(pid), 10, "the deleted function's environment to stop")
