"""labkit.diagrams: specs, reproducible renders, committed targets, live introspection, comparison."""

import io
import json
import shutil
import zipfile
from pathlib import Path

import boto3
import pytest
from support import QUEUE_READER, grant

import labkit.diagrams
from labkit import config
from labkit.diagrams import cli, deployed, drawing, spec, targets
from labkit.diagrams.comparison import compare_graphs
from labkit.diagrams.graph import Edge, Graph, Node
from labkit.errors import LabkitError

GOOD_SPEC = """\
title = "a test diagram"

[[groups]]
id = "region"
label = "AWS region"

[[nodes]]
id = "api"
kind = "apigateway"
label = "REST API shop"
group = "region"
name = "shop"

[[nodes]]
id = "fn"
kind = "lambda"
label = "Lambda function shop"
group = "region"
name = "shop"

[[edges]]
from = "api"
to = "fn"
label = "proxy"
"""


def write_spec(tmp_path, text, name="05_test.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- specs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            ('kind = "lambda"', 'kind = "lamda"'),
            "05_test.toml, line 16 (nodes[1] (id 'fn')): kind 'lamda' is not a known kind; did you mean 'lambda'?",
        ),
        (
            ('to = "fn"', 'to = "fnc"'),
            "05_test.toml, line 23 (edges[0]): to 'fnc' is not a node id; did you mean 'fn'?",
        ),
        (
            ('group = "region"\nname = "shop"\n\n[[edges]]', 'group = "regoin"\nname = "shop"\n\n[[edges]]'),
            "05_test.toml, line 18 (nodes[1] (id 'fn')): group 'regoin' is not a group id; did you mean 'region'?",
        ),
        (('label = "REST API shop"\n', ""), "05_test.toml (nodes[0] (id 'api')): the key 'label' is missing"),
        (('id = "fn"', 'id = "api"'), "05_test.toml, line 15 (nodes[1] (id 'api')): id 'api' is used twice"),
        (
            ("[[edges]]", "[[edge]]"),
            "05_test.toml, line 21 (the top level): key 'edge' is not an allowed key; did you mean 'edges'?",
        ),
        (
            ('title = "a test diagram"', 'title = "a test diagram'),
            "05_test.toml: not valid TOML: Illegal character '\\n' (at line 1, column 24)",
        ),
    ],
)
def test_a_spec_mistake_names_the_file_line_and_key(tmp_path, change, expected):
    old, new = change
    assert old in GOOD_SPEC
    path = write_spec(tmp_path, GOOD_SPEC.replace(old, new, 1))
    with pytest.raises(LabkitError) as raised:
        spec.load(path)
    assert str(raised.value) == str(tmp_path / expected)


def test_a_good_spec_reads_as_its_graph(tmp_path):
    graph = spec.load(write_spec(tmp_path, GOOD_SPEC))
    assert [(n.id, n.kind, n.group, n.name) for n in graph.nodes] == [
        ("api", "apigateway", "region", "shop"),
        ("fn", "lambda", "region", "shop"),
    ]
    assert [(e.source, e.target, e.label) for e in graph.edges] == [("api", "fn", "proxy")]


def test_a_lab_is_found_by_its_number_and_an_unknown_one_is_named():
    assert spec.spec_path(2).name == spec.spec_path("02").name == "02_catalog.toml"
    with pytest.raises(LabkitError, match=r"lab 42 has no spec in diagrams .*01_monolith, 02_catalog"):
        spec.spec_path("42")
    with pytest.raises(LabkitError, match="not a lab number"):
        spec.spec_path("catalog")


# --- rendering ---------------------------------------------------------------------------------


def test_a_render_is_byte_identical_twice_and_carries_its_graph(tmp_path, monkeypatch):
    import diagrams

    def random_id():
        raise AssertionError("a node was named by diagrams' random uuid, not by its id")

    monkeypatch.setattr(diagrams.Node, "_rand_id", staticmethod(random_id))
    monkeypatch.chdir(tmp_path)  # nothing may land in the current folder
    graph = spec.load(spec.spec_path("02"))
    first = drawing.render(graph, tmp_path / "out" / "first.png")
    second = drawing.render(graph, tmp_path / "out" / "second.png")
    assert first.read_bytes() == second.read_bytes()
    assert drawing.drawn_from(first) == graph.drawn()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["first.png", "second.png"]


def test_graphviz_names_come_from_the_ids_one_to_one():
    assert drawing.graphviz_name("catalog") == "catalog"
    assert drawing.graphviz_name("sqs:catalog-role") == "sqs_3Acatalog_2Drole"
    assert drawing.graphviz_name("a_b") != drawing.graphviz_name("a-b")


def test_a_missing_graphviz_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(LabkitError, match="Graphviz's `dot` program is missing"):
        drawing.render(spec.load(spec.spec_path("01")), tmp_path / "x.png")


# --- the committed target diagrams ------------------------------------------------------------


def test_every_committed_target_diagram_shows_its_spec():
    assert {p.stem for p in spec.SPEC_DIR.glob("*.png")} >= {"01_monolith", "02_catalog"}
    assert targets.stale() == []
    assert cli.main(["check"]) == 0


def test_a_spec_changed_without_a_render_is_caught_and_render_all_fixes_it(tmp_path):
    copy = tmp_path / "diagrams"
    shutil.copytree(spec.SPEC_DIR, copy)
    changed = copy / "02_catalog.toml"
    changed.write_text(changed.read_text().replace('label = "read, write"', 'label = "reads"'))
    (copy / "09_new.toml").write_text(GOOD_SPEC)
    shutil.copy(copy / "01_monolith.png", copy / "08_orphan.png")
    assert targets.stale(copy) == [
        f"{copy}/02_catalog.png was drawn from an older 02_catalog.toml (edges changed since): run `make diagrams`",
        f"{copy}/09_new.png is missing: run `make diagrams`",
        f"{copy}/08_orphan.png has no spec 08_orphan.toml: add one or delete it",
    ]
    (copy / "08_orphan.png").unlink()
    targets.render_all(copy)
    assert targets.stale(copy) == []


def test_target_shows_the_committed_png():
    image = labkit.diagrams.target(2)
    assert image.data == (spec.SPEC_DIR / "02_catalog.png").read_bytes()


def test_a_comparison_in_markdown_keeps_rule_patterns_and_names_literal():
    course_tags = {"labkit:course": config.COURSE_TAG, "labkit:lab": "02"}
    deployed_graph = Graph(
        "deployed",
        nodes=(
            Node("lambda:catalog", "lambda", "catalog", name="catalog", tags=course_tags),
            Node("alb:my_lb", "alb", "my_lb", name="my_lb", tags=course_tags),
        ),
        edges=(Edge("alb:my_lb", "lambda:catalog", ":80 /orders*, :80 /books*"),),
    )
    markdown = compare_graphs("02", spec.load(spec.spec_path("02")), deployed_graph)._repr_markdown_()
    assert "- edge alb:my\\_lb -\\> lambda:catalog (:80 /orders\\*, :80 /books\\*)" in markdown


# --- live introspection and comparison on the local cloud --------------------------------------


def _zipped_handler() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


class Deployer:
    """Creates resources with plain boto3 and deletes them again, so the shared cloud stays clean."""

    def __init__(self, tags: dict[str, str]):
        self.tags = tags
        self.undo = []
        self.region = boto3.session.Session().region_name

    def role(self, name):
        iam = boto3.client("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
            ],
        }
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), Tags=self.pairs())["Role"][
            "Arn"
        ]
        self.later(iam.delete_role, RoleName=name)
        grant(arn, QUEUE_READER)  # its functions read queues (IAM is enforced for workloads)
        self.later(iam.delete_role_policy, RoleName=name, PolicyName="granted-by-the-test")
        return arn

    def function(self, name, role_arn):
        aws_lambda = boto3.client("lambda")
        arn = aws_lambda.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role_arn,
            Handler="app.handler",
            Code={"ZipFile": _zipped_handler()},
            Tags=self.tags,
        )["FunctionArn"]
        self.later(aws_lambda.delete_function, FunctionName=name)
        return arn

    def table(self, name):
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            Tags=self.pairs(),
        )
        self.later(dynamodb.delete_table, TableName=name)

    def rest_api(self, name):
        apigateway = boto3.client("apigateway")
        api_id = apigateway.create_rest_api(name=name, tags=self.tags)["id"]
        self.later(apigateway.delete_rest_api, restApiId=api_id)
        return api_id

    def lambda_route(self, api_id, path_part, function_arn):
        apigateway = boto3.client("apigateway")
        root = next(r for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/")
        resource = apigateway.create_resource(restApiId=api_id, parentId=root["id"], pathPart=path_part)
        apigateway.put_method(restApiId=api_id, resourceId=resource["id"], httpMethod="GET", authorizationType="NONE")
        apigateway.put_integration(
            restApiId=api_id,
            resourceId=resource["id"],
            httpMethod="GET",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=(f"arn:aws:apigateway:{self.region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"),
        )

    def queue(self, name, tagged=True):
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName=name, tags=self.tags if tagged else {})["QueueUrl"]
        self.later(sqs.delete_queue, QueueUrl=url)
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return attributes["Attributes"]["QueueArn"]

    def topic_to_queue(self, name, queue_arn):
        sns = boto3.client("sns")
        topic_arn = sns.create_topic(Name=name, Tags=self.pairs())["TopicArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.later(sns.delete_topic, TopicArn=topic_arn)

    def event_source_mapping(self, queue_arn, function_name):
        aws_lambda = boto3.client("lambda")
        uuid = aws_lambda.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=function_name)["UUID"]
        self.later(aws_lambda.delete_event_source_mapping, UUID=uuid)

    def pairs(self, key="Key", value="Value"):
        return [{key: k, value: v} for k, v in self.tags.items()]

    def later(self, delete, **arguments):
        self.undo.append(lambda: delete(**arguments))

    def remove_all(self):
        while self.undo:
            self.undo.pop()()


@pytest.fixture
def deploy(cloud):
    def make(lab):
        deployer = Deployer({**cloud.tags, "labkit:lab": lab})
        made.append(deployer)
        return deployer

    made = []
    yield make
    for deployer in made:
        deployer.remove_all()


def test_live_finds_api_function_table_queue_topic_and_their_edges(deploy):
    lab = deploy("97")
    role_arn = lab.role("dglive-role")
    function_arn = lab.function("dglive-fn", role_arn)
    lab.table("dglive-table")
    lab.lambda_route(lab.rest_api("dglive-api"), "items", function_arn)
    queue_arn = lab.queue("dglive-queue")
    lab.topic_to_queue("dglive-topic", queue_arn)
    lab.event_source_mapping(queue_arn, "dglive-fn")
    lab.queue("dglive-untagged", tagged=False)
    deleted = deploy("97")
    lab.function("dglive-orphan", deleted.role("dglive-deleted-role"))
    deleted.remove_all()  # a role deleted under its function: the function is still drawn

    graph = deployed.introspect(lab="97")
    assert [n.id for n in graph.nodes] == [
        "apigateway:dglive-api",
        "dynamodb:dglive-table",
        "iam_role:dglive-role",
        "lambda:dglive-fn",
        "lambda:dglive-orphan",
        "sns:dglive-topic",
        "sqs:dglive-queue",
    ]
    assert [(e.source, e.target, e.label) for e in graph.edges] == [
        ("apigateway:dglive-api", "lambda:dglive-fn", "GET /items"),
        ("lambda:dglive-fn", "iam_role:dglive-role", "runs as"),
        ("sns:dglive-topic", "sqs:dglive-queue", "subscription"),
        ("sqs:dglive-queue", "lambda:dglive-fn", "event source mapping"),
    ]
    assert "sqs:dglive-untagged" in {n.id for n in deployed.introspect(course_only=False).nodes}


def test_live_follows_a_load_balancer_to_ecs_and_cloud_map_and_names_keys_secrets_pools_endpoints(deploy):
    lab = deploy("94")
    ec2, elbv2, ecs, cloudmap = (boto3.client(service) for service in ("ec2", "elbv2", "ecs", "servicediscovery"))
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [
        subnet["SubnetId"] for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    ][:2]

    operation = cloudmap.create_private_dns_namespace(Name="dgmesh.local", Vpc=vpc, Tags=lab.pairs())
    namespace = cloudmap.get_operation(OperationId=operation["OperationId"])["Operation"]["Targets"]["NAMESPACE"]
    lab.later(cloudmap.delete_namespace, Id=namespace)
    registry = cloudmap.create_service(
        Name="orders", NamespaceId=namespace, Tags=lab.pairs(), DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]}
    )["Service"]
    lab.later(cloudmap.delete_service, Id=registry["Id"])

    balancer = elbv2.create_load_balancer(Name="dg-shop", Subnets=subnets, Tags=lab.pairs())["LoadBalancers"][0][
        "LoadBalancerArn"
    ]
    lab.later(elbv2.delete_load_balancer, LoadBalancerArn=balancer)
    target_group = elbv2.create_target_group(
        Name="dg-orders", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip", Tags=lab.pairs()
    )["TargetGroups"][0]["TargetGroupArn"]
    lab.later(elbv2.delete_target_group, TargetGroupArn=target_group)
    listener = elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"]
    lab.later(elbv2.delete_listener, ListenerArn=listener)
    elbv2.create_rule(
        ListenerArn=listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/orders*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": target_group}],
    )

    ecs.create_cluster(clusterName="dg-cluster")
    lab.later(ecs.delete_cluster, cluster="dg-cluster")
    task = ecs.register_task_definition(
        family="dg-orders",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "orders", "image": "orders", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]
    lab.later(ecs.deregister_task_definition, taskDefinition=task)
    security_group = ec2.create_security_group(GroupName="dg-orders", Description="orders", VpcId=vpc)["GroupId"]
    lab.later(ec2.delete_security_group, GroupId=security_group)
    ecs.create_service(
        cluster="dg-cluster",
        serviceName="dg-orders",
        taskDefinition=task,
        desiredCount=1,
        launchType="FARGATE",
        tags=lab.pairs("key", "value"),
        loadBalancers=[{"targetGroupArn": target_group, "containerName": "orders", "containerPort": 8080}],
        serviceRegistries=[{"registryArn": registry["Arn"]}],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [security_group]}},
    )
    lab.later(ecs.delete_service, cluster="dg-cluster", service="dg-orders", force=True)

    kms, secrets, cognito = (boto3.client(service) for service in ("kms", "secretsmanager", "cognito-idp"))
    key = kms.create_key(Tags=lab.pairs("TagKey", "TagValue"))["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/dg-key", TargetKeyId=key)
    lab.later(kms.schedule_key_deletion, KeyId=key, PendingWindowInDays=7)
    lab.later(kms.delete_alias, AliasName="alias/dg-key")
    secrets.create_secret(Name="dg-secret", SecretString="not really", Tags=lab.pairs())
    lab.later(secrets.delete_secret, SecretId="dg-secret", ForceDeleteWithoutRecovery=True)
    pool = cognito.create_user_pool(PoolName="dg-users", UserPoolTags=lab.tags)["UserPool"]["Id"]
    lab.later(cognito.delete_user_pool, UserPoolId=pool)
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{lab.region}.dynamodb",
        VpcEndpointType="Gateway",
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": lab.pairs()}],
    )["VpcEndpoint"]["VpcEndpointId"]
    lab.later(ec2.delete_vpc_endpoints, VpcEndpointIds=[endpoint])

    graph = deployed.introspect(lab="94")
    assert [n.id for n in graph.nodes] == [
        "alb:dg-shop",
        "cloudmap:orders.dgmesh.local",
        "cognito:dg-users",
        "ecs_service:dg-orders",
        "kms:dg-key",
        "secret:dg-secret",
        "target_group:dg-orders",
        "vpc_endpoint:dynamodb",
    ]
    assert [(e.source, e.target, e.label) for e in graph.edges] == [
        ("alb:dg-shop", "target_group:dg-orders", ":80 /orders*"),
        ("ecs_service:dg-orders", "cloudmap:orders.dgmesh.local", "registers"),
        ("target_group:dg-orders", "ecs_service:dg-orders", "targets"),
    ]
    assert graph.node("ecs_service:dg-orders").group == "ecs_cluster:dg-cluster"
    assert [(g.id, g.label) for g in graph.groups] == [("ecs_cluster:dg-cluster", "ECS cluster dg-cluster")]


def test_live_draws_into_the_state_folder(deploy, capsys):
    lab = deploy("96")
    lab.queue("dgdraw-queue")
    image = labkit.diagrams.live(lab=96)
    written = config.state_dir() / "diagrams" / "live-lab96.png"
    assert image.data == written.read_bytes()
    assert [n["id"] for n in drawing.drawn_from(written)["nodes"]] == ["sqs:dgdraw-queue"]
    assert capsys.readouterr().out == ""


def test_a_kind_the_target_does_not_implement_is_skipped_and_noted(cloud, monkeypatch, capsys):
    def data_stores(clients):
        clients("cloudtrail").list_event_data_stores()  # CloudTrail Lake: not in moto
        yield from ()

    stores_lister = deployed.Lister("CloudTrail event data stores", (), (), data_stores)
    monkeypatch.setattr(deployed, "LISTERS", deployed.LISTERS + (stores_lister,))
    labkit.diagrams.live(lab="95")
    assert capsys.readouterr().out == (
        "not shown: CloudTrail event data stores: the target does not implement ListEventDataStores\n"
    )


def test_any_other_refusal_is_a_clear_error(cloud, monkeypatch):
    from botocore.exceptions import ClientError

    def refused(clients):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "ListFunctions")

    monkeypatch.setattr(deployed, "LISTERS", (deployed.Lister("Lambda functions", (), (), refused),))
    with pytest.raises(LabkitError, match=r"^could not list Lambda functions: .*\(AccessDeniedException\)"):
        deployed.collect()


def test_an_unreachable_target_is_a_clear_error(cloud, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(LabkitError, match=r"cannot reach the target .*`labkit up` starts it"):
        deployed.collect()


def test_compare_lists_exactly_what_a_partly_deployed_lab_02_lacks_and_adds(deploy):
    # Names carry a prefix, as on a shared AWS account, so that the lab 02 notebook's own
    # resources on this cloud (and these in its comparison) never mix.
    prefix = "dgcmp-"
    lab, beyond = deploy("02"), deploy("02")
    function_arn = lab.function(prefix + "catalog", lab.role(prefix + "catalog-role"))
    api_id = lab.rest_api(prefix + "catalog")  # no route to the function yet
    beyond.event_source_mapping(beyond.queue(prefix + "scratch"), prefix + "catalog")

    comparison = labkit.diagrams.compare("02", prefix=prefix)
    assert [n.id for n in comparison.missing_nodes] == ["table"]
    assert [e.ends for e in comparison.missing_edges] == [("api", "function")]
    assert [n.id for n in comparison.extra_nodes] == ["sqs:dgcmp-scratch"]
    assert [e.ends for e in comparison.extra_edges] == [("sqs:dgcmp-scratch", "lambda:dgcmp-catalog")]
    assert not comparison.complete
    assert (
        str(comparison)
        == """\
Lab 02 compared with its target: 2 missing, 2 extra.

Missing (in the target, not deployed yet):
  - DynamoDB table books (dynamodb 'books')
  - edge REST API catalog -> Lambda function catalog (Lambda proxy)

Extra (tagged labkit:lab=02, not in the target):
  - sqs 'dgcmp-scratch'
  - edge sqs:dgcmp-scratch -> lambda:dgcmp-catalog (event source mapping)

Not checked: a client (browser, notebook), Bookshop monolith (not resources on the target); \
edge Lambda function catalog -> DynamoDB table books (read, write) (not visible to describe calls)."""
    )
    assert repr(comparison) == "<Comparison lab 02: 2 missing, 2 extra>"
    assert "**Missing** (in the target, not deployed yet):" in comparison._repr_markdown_()

    drawn = drawing.drawn_from(Path(comparison.image().filename))
    assert [n["id"] for n in drawn["nodes"] if n["group"] == "extra"] == ["sqs:dgcmp-scratch"]

    lab.table(prefix + "books")
    lab.lambda_route(api_id, "books", function_arn)
    beyond.remove_all()
    finished = labkit.diagrams.compare("02", prefix=prefix)
    assert finished.complete
    assert str(finished).startswith("Lab 02 matches its target: everything in the diagram is deployed")
