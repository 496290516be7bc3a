"""labkit.inventory, driven through boto3 against the local cloud: what it lists for the course and
what it leaves out, and that teardown and the live diagrams, which both find resources through it,
see the same ones."""

import ast
import io
import json
import zipfile

import boto3
from support import QUEUE_READER, grant

from labkit import config
from labkit.awsapi import Clients
from labkit.diagrams import deployed
from labkit.inventory import Selection, kinds, sqs_sns
from labkit.teardown import order, tagged, teardown

# The inventory kinds the diagram below draws, by the node kind it draws them as.
INVENTORY_KIND_OF_NODE = {
    "sqs": "SQS queue",
    "sns": "SNS topic",
    "lambda": "Lambda function",
    "iam_role": "IAM role",
    "dynamodb": "DynamoDB table",
    "secret": "Secrets Manager secret",
}


def lab_tags(lab):
    return {config.COURSE_TAG_KEY: config.COURSE_TAG, config.OWNER_TAG_KEY: "learner", config.LAB_TAG_KEY: lab}


def test_the_inventory_lists_a_tagged_queue_with_its_tags_and_leaves_an_untagged_one_out_of_the_courses(make_queue):
    tagged_url = make_queue("inv91-orders", lab_tags("91"))
    make_queue("inv91-scratch", {})

    course = sqs_sns.QUEUE.resources(Clients(), Selection(lab="91").wants)

    assert [(queue.id, queue.name, queue.arn, queue.tags) for queue in course] == [
        (tagged_url, "inv91-orders", "arn:aws:sqs:us-east-1:123456789012:inv91-orders", lab_tags("91"))
    ]
    everything = {queue.name: queue.tags for queue in sqs_sns.QUEUE.resources(Clients())}
    assert everything["inv91-orders"] == lab_tags("91") and everything["inv91-scratch"] == {}


def test_a_selection_wants_its_course_lab_and_owner_and_says_which_in_words():
    mine = lab_tags("91")
    selection = Selection(lab="91", owner="learner")

    assert selection.wants(mine)
    assert not selection.wants({**mine, config.OWNER_TAG_KEY: "someone-else"})
    assert not selection.wants({**mine, config.LAB_TAG_KEY: "92"})
    assert not selection.wants({**mine, config.COURSE_TAG_KEY: "another-course"})
    assert Selection().wants({config.COURSE_TAG_KEY: config.COURSE_TAG})
    assert str(selection) == "labkit:course=monolith-to-microservices, labkit:lab=91, labkit:owner=learner"


def test_a_subscription_carries_its_topics_tags_and_an_untagged_topics_is_left_out(make_queue):
    sns = boto3.client("sns")
    make_queue("inv91-events", lab_tags("91"))
    pairs = [{"Key": key, "Value": value} for key, value in lab_tags("91").items()]
    topics = {
        "inv91-tagged": sns.create_topic(Name="inv91-tagged", Tags=pairs),
        "inv91-untagged": sns.create_topic(Name="inv91-untagged"),
    }
    try:
        for topic in topics.values():
            sns.subscribe(
                TopicArn=topic["TopicArn"], Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:inv91-events"
            )

        found = sqs_sns.SUBSCRIPTION.resources(Clients(), Selection(lab="91").wants)

        assert [(subscription.name, subscription.tags) for subscription in found] == [
            ("inv91-tagged -> sqs inv91-events", lab_tags("91"))
        ]
        assert found[0].details["TopicArn"] == topics["inv91-tagged"]["TopicArn"]
    finally:
        for topic in topics.values():
            sns.delete_topic(TopicArn=topic["TopicArn"])


def test_a_queue_deleted_while_it_is_being_listed_is_left_out_without_an_error(cloud):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="inv91-vanishing", tags=lab_tags("91"))["QueueUrl"]

    def wanted_then_deleted(tags):
        # Deleted (as by a teardown in another terminal) after the listing read its tags, before
        # it read its ARN.
        if tags == lab_tags("91"):
            sqs.delete_queue(QueueUrl=url)
            return True
        return False

    assert sqs_sns.QUEUE.resources(Clients(), wanted_then_deleted) == []


def test_the_inventory_teardown_and_the_diagrams_import_neither_moto_nor_the_data_plane():
    # They must work on a real AWS account unchanged: boto3 only.
    imported = set()
    for package in ("inventory", "teardown", "diagrams"):
        for path in (config.COURSE_ROOT / "labkit" / package).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module:  # from labkit import dataplane
                    imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    assert {"labkit.inventory.base.Kind", "botocore.exceptions.ClientError"} <= imported  # the scan read them
    assert [name for name in imported if name.split(".")[0] == "moto" or name.startswith("labkit.dataplane")] == []


def test_teardown_deletes_every_kind_the_inventory_lists_once():
    deleted = [deletion.kind for deletion in order.DELETIONS]
    assert sorted(kind.label for kind in deleted) == sorted(kind.label for kind in kinds.KINDS)
    assert len(set(deleted)) == len(deleted)


def _handler_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return 'ok'\n")
    return buffer.getvalue()


def deploy_lab_92():
    """A small lab: a function with its role, fed by a queue that a topic fans out to, a table, a
    secret; and an untagged copy of the queue and table beside it."""
    tags, pairs = lab_tags("92"), [{"Key": k, "Value": v} for k, v in lab_tags("92").items()]
    iam, aws_lambda, sqs, sns = (boto3.client(service) for service in ("iam", "lambda", "sqs", "sns"))
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
        ],
    }
    role_arn = iam.create_role(RoleName="inv92-role", AssumeRolePolicyDocument=json.dumps(trust), Tags=pairs)["Role"][
        "Arn"
    ]
    grant(role_arn, QUEUE_READER)  # the function's mapping reads a queue with it
    aws_lambda.create_function(
        FunctionName="inv92-fn",
        Runtime="python3.11",
        Role=role_arn,
        Handler="app.handler",
        Code={"ZipFile": _handler_zip()},
        Tags=tags,
    )
    queue_url = sqs.create_queue(QueueName="inv92-queue", tags=tags)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic_arn = sns.create_topic(Name="inv92-topic", Tags=pairs)["TopicArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    aws_lambda.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="inv92-fn")
    dynamodb = boto3.client("dynamodb")
    for name, table_tags in (("inv92-table", pairs), ("inv92-untagged-table", [])):
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            **({"Tags": table_tags} if table_tags else {}),
        )
    sqs.create_queue(QueueName="inv92-untagged-queue")
    boto3.client("secretsmanager").create_secret(Name="inv92-secret", SecretString="not really", Tags=pairs)


def remove_lab_92_decoys():
    sqs = boto3.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName="inv92-untagged-queue")["QueueUrl"])
    boto3.client("dynamodb").delete_table(TableName="inv92-untagged-table")


def test_teardown_and_the_diagram_see_the_same_resources_for_a_lab(cloud, capsys):
    deploy_lab_92()
    try:
        in_teardown = {(entry.kind, entry.name) for entry in tagged("92")}
        in_diagram = {(INVENTORY_KIND_OF_NODE[node.kind], node.name) for node in deployed.introspect(lab="92").nodes}

        assert in_diagram == {
            ("Lambda function", "inv92-fn"),
            ("IAM role", "inv92-role"),
            ("SQS queue", "inv92-queue"),
            ("SNS topic", "inv92-topic"),
            ("DynamoDB table", "inv92-table"),
            ("Secrets Manager secret", "inv92-secret"),
        }
        # Teardown sees them too, and the parts a diagram draws as edges (a subscription, a mapping).
        assert {(kind, name) for kind, name in in_teardown if kind in INVENTORY_KIND_OF_NODE.values()} == in_diagram
        assert {kind for kind, _ in in_teardown} - set(INVENTORY_KIND_OF_NODE.values()) == {
            "SNS subscription",
            "Lambda event source mapping",
        }

        assert teardown(lab="92").ok
        assert tagged("92") == [] and deployed.introspect(lab="92").nodes == ()
        assert {"sqs:inv92-untagged-queue", "dynamodb:inv92-untagged-table"} <= {
            node.id for node in deployed.introspect(course_only=False).nodes
        }
    finally:
        teardown(lab="92")
        remove_lab_92_decoys()
        capsys.readouterr()


def test_teardown_deletes_a_labs_tagged_alarms_and_its_log_groups_metric_filters(cloud, capsys):
    cloudwatch, logs = boto3.client("cloudwatch"), boto3.client("logs")
    tags = [{"Key": k, "Value": v} for k, v in lab_tags("93").items()]
    cloudwatch.put_metric_alarm(
        AlarmName="inv93-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        Tags=tags,
    )
    cloudwatch.put_metric_alarm(
        AlarmName="inv93-untagged",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    logs.create_log_group(logGroupName="/inv93/orders", tags=lab_tags("93"))
    logs.put_metric_filter(
        logGroupName="/inv93/orders",
        filterName="inv93-failures",
        filterPattern="ERROR",
        metricTransformations=[{"metricName": "Failures", "metricNamespace": "Orders", "metricValue": "1"}],
    )
    try:
        assert [(entry.kind, entry.name) for entry in tagged("93")] == [
            ("CloudWatch alarm", "inv93-errors"),
            ("CloudWatch Logs metric filter", "/inv93/orders: inv93-failures"),
            ("CloudWatch log group", "/inv93/orders"),
        ]
        assert teardown(lab="93").ok
        assert tagged("93") == []
        assert logs.describe_metric_filters(logGroupName="/inv93/orders")["metricFilters"] == []
        left = cloudwatch.describe_alarms(AlarmNamePrefix="inv93-")
        assert [a["AlarmName"] for a in left["MetricAlarms"] + left["CompositeAlarms"]] == ["inv93-untagged"]
    finally:
        teardown(lab="93")
        cloudwatch.delete_alarms(AlarmNames=["inv93-untagged"])
        capsys.readouterr()
