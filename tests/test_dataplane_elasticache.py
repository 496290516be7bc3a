"""ElastiCache on the local cloud, as a learner meets it: a cache created with boto3 answers Redis commands
at the endpoint its describe call returns, to a Lambda function or an ECS task in its VPC that its security groups
admit and to nothing else (a function or task they do not admit, or outside the VPC, and the notebook, wait and
time out), and its
server goes when the cache, the cloud's state or the cloud itself does.

A local cloud of this file's own: the last tests reset it and stop it.
"""

import ssl
from pathlib import Path

import boto3
import pytest
import redis
from botocore.exceptions import ClientError
from private_cloud import private_cloud
from redis.backoff import NoBackoff
from redis.retry import Retry
from support import exited, wait_for
from test_dataplane_lambda import call, clients_for, deploy

from labkit import config, pki
from labkit.dataplane.elasticache import tls
from labkit.localcloud import control
from labkit.teardown import teardown

# Sets a key and reads it back at the endpoint the event names, as a catalog function would; says how it failed
# if it did. No retries: one timeout is the answer.
CACHE_CLIENT = """
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    def handler(event, context):
        options = dict(host=event["host"], port=event["port"], socket_timeout=1, socket_connect_timeout=1)
        options |= {"password": event["password"]} if event.get("password") else {}
        options |= {"ssl": True} if event.get("tls") else {}  # as on AWS: no CA file
        try:
            if event.get("cluster"):
                client = redis.RedisCluster(**options, retry=Retry(NoBackoff(), 0))
                ports = sorted({node.port for node in client.get_nodes()})
            else:
                client, ports = redis.Redis(**options, retry=Retry(NoBackoff(), 0)), None
            client.set(event["key"], event["value"], ex=60)
            return {"value": client.get(event["key"]).decode(), "ttl": client.ttl(event["key"]), "ports": ports}
        except redis.exceptions.RedisError as error:
            return {"error": type(error).__name__}
"""
# The same from an ECS task's container: the endpoint in its environment, what it read (or how it failed) in
# its log, then it exits.
TASK_CACHE_CLIENT = """
import os
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

options = dict(host=os.environ["CACHE_HOST"], port=int(os.environ["CACHE_PORT"]), socket_timeout=1)
options |= {"ssl": True} if os.environ.get("TLS") else {}
client = redis.Redis(**options, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
try:
    client.set("book:1", os.environ["VALUE"], ex=60)
    print("read", client.get("book:1").decode())
except redis.exceptions.RedisError as error:
    print("failed", type(error).__name__)
"""
CACHE_PORT = 6379
TASK_LOG_GROUP = "/ecs/cache-client"


@pytest.fixture(scope="module")
def cloud():
    with private_cloud("labkit-elasticache-test-") as env:
        yield env


@pytest.fixture
def elasticache(cloud):
    return boto3.client("elasticache")


@pytest.fixture(scope="module")
def vpc(cloud):
    """The default VPC: two subnets, a group for functions and one for caches that admits it on 6379."""
    ec2 = boto3.client("ec2")
    vpc_id = next(v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if v.get("IsDefault"))
    subnets = sorted(
        s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    )[:2]
    functions = ec2.create_security_group(GroupName="functions", Description="functions", VpcId=vpc_id)["GroupId"]
    caches = ec2.create_security_group(GroupName="caches", Description="caches", VpcId=vpc_id)["GroupId"]
    admit(caches, functions)
    return {"id": vpc_id, "subnets": subnets, "functions": functions, "caches": caches}


@pytest.fixture(scope="module")
def aws(cloud):
    return clients_for(boto3.Session())


@pytest.fixture(scope="module")
def containers(cloud):
    """An ECS cluster and a log group for tasks that talk to a cache."""
    boto3.client("ecs").create_cluster(clusterName="cache-clients")
    boto3.client("logs").create_log_group(logGroupName=TASK_LOG_GROUP)
    return "cache-clients"


@pytest.fixture(scope="module")
def in_the_vpc(aws, vpc):
    """A function in the VPC, in the functions' group."""
    return function_in(aws, vpc, vpc["functions"])


def admit(group: str, source_group: str, port: int = CACHE_PORT) -> None:
    boto3.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [{"GroupId": source_group}]}
        ],
    )


def function_in(aws, vpc, group: str) -> str:
    return deploy(aws, CACHE_CLIENT, VpcConfig=in_vpc(vpc, group))


def in_vpc(vpc: dict, group: str) -> dict:
    return {"SubnetIds": vpc["subnets"], "SecurityGroupIds": [group]}


def set_and_get(aws, function: str, endpoint: dict, key: str = "book:1", value: str = "Dune", **options) -> dict:
    """What the function answers after SET key value EX 60, then GET key, at the endpoint."""
    event = {"host": endpoint["Address"], "port": endpoint["Port"], "key": key, "value": value, **options}
    response, answer = call(aws, function, event)
    assert "FunctionError" not in response, answer
    return answer


def task_reads(cloud, containers: str, vpc: dict, group: str, endpoint: dict, value: str, tls: bool = False) -> str:
    """What a Fargate task in the VPC, in the security group, says in its log once it has set book:1 to value
    at the endpoint (over TLS with tls) and read it back, and exited."""
    ecs, family = boto3.client("ecs"), f"cache-client-{value.lower()}"
    ecs.register_task_definition(
        family=family,
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        executionRoleArn=f"arn:aws:iam::{cloud.account_id}:role/ecsTaskExecutionRole",
        containerDefinitions=[
            {
                "name": "client",
                "image": "python:3.11-slim",
                "command": ["python", "-c", TASK_CACHE_CLIENT],
                "environment": [
                    {"name": "CACHE_HOST", "value": endpoint["Address"]},
                    {"name": "CACHE_PORT", "value": str(endpoint["Port"])},
                    {"name": "VALUE", "value": value},
                    *([{"name": "TLS", "value": "1"}] if tls else []),
                ],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": TASK_LOG_GROUP,
                        "awslogs-region": cloud.region,
                        "awslogs-stream-prefix": "ecs",
                    },
                },
            }
        ],
    )
    arn = ecs.run_task(
        cluster=containers,
        taskDefinition=family,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": vpc["subnets"], "securityGroups": [group]}},
    )["tasks"][0]["taskArn"]
    wait_for(
        lambda: ecs.describe_tasks(cluster=containers, tasks=[arn])["tasks"][0]["lastStatus"] == "STOPPED",
        15,
        "the cache client task to exit",
    )
    stream = f"ecs/client/{arn.rsplit('/', 1)[-1]}"
    events = boto3.client("logs").get_log_events(logGroupName=TASK_LOG_GROUP, logStreamName=stream)["events"]
    return "\n".join(event["message"] for event in events)


def server_pid(port: int) -> int:
    """The pid of the redis-server behind the endpoint on port (its process title names the endpoint)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().split()
            except OSError:
                continue
            if command and "redis-server" in command[0] and command[-2:] == ["endpoint", f"127.0.0.1:{port}"]:
                return int(entry.name)
    raise AssertionError(f"no redis-server process serves the endpoint 127.0.0.1:{port}")


def create_cluster(elasticache, cluster_id: str, **options) -> dict:
    """A one-node cache cluster, valkey unless options say otherwise, as CreateCacheCluster answers."""
    defaults = {"Engine": "valkey", "CacheNodeType": "cache.t4g.micro", "NumCacheNodes": 1}
    return elasticache.create_cache_cluster(CacheClusterId=cluster_id, **(defaults | options))["CacheCluster"]


def create_group(elasticache, group_id: str, **options) -> dict:
    """A valkey replication group of one node, as CreateReplicationGroup answers."""
    return elasticache.create_replication_group(
        ReplicationGroupId=group_id,
        ReplicationGroupDescription=group_id,
        Engine="valkey",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=1,
        **options,
    )["ReplicationGroup"]


def create_subnet_group(elasticache, name: str, subnets: list[str] | None = None, **options) -> None:
    """A cache subnet group, of the given subnets or else of the first the account has."""
    subnets = subnets or [s["SubnetId"] for s in boto3.client("ec2").describe_subnets()["Subnets"]][:1]
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName=name, CacheSubnetGroupDescription=name, SubnetIds=subnets, **options
    )


def cluster(elasticache, cluster_id: str) -> dict:
    return elasticache.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)["CacheClusters"][0]


def node_endpoint(cluster: dict) -> dict:
    return cluster["CacheNodes"][0]["Endpoint"]


def primary_endpoint(group: dict) -> dict:
    return group["NodeGroups"][0]["PrimaryEndpoint"]


def available_cluster(elasticache, cluster_id: str) -> dict:
    return wait_for(
        lambda: (found := cluster(elasticache, cluster_id))["CacheClusterStatus"] == "available" and found,
        10,
        f"cache cluster {cluster_id} to be available",
    )


def available_group(elasticache, group_id: str) -> dict:
    def available():
        group = elasticache.describe_replication_groups(ReplicationGroupId=group_id)["ReplicationGroups"][0]
        return group["Status"] == "available" and group

    return wait_for(available, 10, f"replication group {group_id} to be available")


def test_a_cache_cluster_is_creating_then_available_and_answers_a_function_its_security_group_admits(
    elasticache, aws, vpc, in_the_vpc
):
    created = create_cluster(elasticache, "catalog-cache", SecurityGroupIds=[vpc["caches"]])
    assert created["CacheClusterStatus"] == "creating"

    endpoint = node_endpoint(available_cluster(elasticache, "catalog-cache"))

    assert set_and_get(aws, in_the_vpc, endpoint) == {"value": "Dune", "ttl": 60, "ports": None}


def test_a_function_the_caches_group_does_not_admit_times_out_until_an_ingress_rule_admits_its_group(
    elasticache, aws, vpc
):
    ec2 = boto3.client("ec2")
    strangers = ec2.create_security_group(GroupName="strangers", Description="strangers", VpcId=vpc["id"])["GroupId"]
    stranger = function_in(aws, vpc, strangers)
    create_cluster(elasticache, "guarded", SecurityGroupIds=[vpc["caches"]])
    endpoint = node_endpoint(available_cluster(elasticache, "guarded"))

    assert set_and_get(aws, stranger, endpoint) == {"error": "TimeoutError"}
    admit(vpc["caches"], strangers, port=CACHE_PORT + 1)  # another port admits nothing on the cache's
    assert set_and_get(aws, stranger, endpoint) == {"error": "TimeoutError"}

    admit(vpc["caches"], strangers)  # nothing restarted: the next connection is admitted

    assert set_and_get(aws, stranger, endpoint, value="Hyperion")["value"] == "Hyperion"


def test_an_ecs_task_whose_group_the_caches_group_admits_reads_what_it_wrote_and_one_it_does_not_times_out(
    cloud, elasticache, vpc, containers
):
    ec2 = boto3.client("ec2")
    tasks = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc["id"])["GroupId"]
    others = ec2.create_security_group(GroupName="other-tasks", Description="others", VpcId=vpc["id"])["GroupId"]
    admit(vpc["caches"], tasks)
    create_cluster(elasticache, "task-cache", SecurityGroupIds=[vpc["caches"]])
    endpoint = node_endpoint(available_cluster(elasticache, "task-cache"))

    assert task_reads(cloud, containers, vpc, tasks, endpoint, "Dune") == "read Dune"
    assert task_reads(cloud, containers, vpc, others, endpoint, "Hyperion") == "failed TimeoutError"


@pytest.mark.parametrize("encryption", [{}, {"TransitEncryptionEnabled": False}])
def test_an_auth_token_without_encryption_in_transit_is_refused_as_aws_does(elasticache, encryption):
    token = {"AuthToken": "a-token-of-twenty-chars", **encryption}

    with pytest.raises(ClientError) as group:
        create_group(elasticache, "open-with-token", **token)
    with pytest.raises(ClientError) as cluster:
        create_cluster(elasticache, "open-with-token", **token)

    for refused in (group, cluster):
        assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
        assert refused.value.response["Error"]["Message"] == (
            "The AUTH token is only supported when encryption-in-transit is enabled"
        )
    assert elasticache.describe_replication_groups()["ReplicationGroups"] == []


@pytest.mark.parametrize("token", ["short-token", "a" * 129, "with/a/slash/in/it", "with@an@at@sign@in@it"])
def test_an_auth_token_aws_would_not_take_is_refused_as_aws_does(elasticache, token):
    with pytest.raises(ClientError) as refused:
        create_group(elasticache, "bad-token", AuthToken=token, TransitEncryptionEnabled=True)

    error = refused.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("InvalidParameterValue", "Invalid AuthToken provided.")
    assert elasticache.describe_replication_groups()["ReplicationGroups"] == []


def test_a_cache_encrypted_in_transit_answers_only_tls_clients_that_give_its_token_with_ssl_alone_as_on_aws(
    elasticache, aws, vpc, in_the_vpc
):
    token = "a-token-of-twenty-chars"
    created = create_group(
        elasticache, "sealed", TransitEncryptionEnabled=True, AuthToken=token, SecurityGroupIds=[vpc["caches"]]
    )
    assert (created["TransitEncryptionEnabled"], created["TransitEncryptionMode"]) == (True, "required")
    endpoint = primary_endpoint(available_group(elasticache, "sealed"))

    assert set_and_get(aws, in_the_vpc, endpoint, password=token, tls=True)["value"] == "Dune"
    assert set_and_get(aws, in_the_vpc, endpoint, password=token) == {"error": "ConnectionError"}  # plain
    assert set_and_get(aws, in_the_vpc, endpoint, tls=True) == {"error": "AuthenticationError"}


def test_a_cache_whose_encryption_in_transit_is_preferred_answers_tls_and_plain_clients(
    elasticache, aws, vpc, in_the_vpc
):
    create_group(
        elasticache,
        "migrating",
        TransitEncryptionEnabled=True,
        TransitEncryptionMode="preferred",
        SecurityGroupIds=[vpc["caches"]],
    )
    endpoint = primary_endpoint(available_group(elasticache, "migrating"))

    assert set_and_get(aws, in_the_vpc, endpoint, tls=True)["value"] == "Dune"
    assert set_and_get(aws, in_the_vpc, endpoint, value="Hyperion")["value"] == "Hyperion"


def test_a_tls_client_that_trusts_only_the_public_cas_is_refused_in_the_handshake(elasticache, aws, vpc):
    create_group(elasticache, "checked", TransitEncryptionEnabled=True, SecurityGroupIds=[vpc["caches"]])
    endpoint = primary_endpoint(available_group(elasticache, "checked"))
    public_only = {"Variables": {"SSL_CERT_FILE": ssl.get_default_verify_paths().openssl_cafile}}
    doubting = deploy(aws, CACHE_CLIENT, Environment=public_only, VpcConfig=in_vpc(vpc, vpc["functions"]))

    assert set_and_get(aws, doubting, endpoint, tls=True) == {"error": "ConnectionError"}


def test_a_tls_client_whose_bundle_holds_another_local_clouds_ca_first_still_verifies_the_cache(elasticache, aws, vpc):
    create_group(elasticache, "two-clouds", TransitEncryptionEnabled=True, SecurityGroupIds=[vpc["caches"]])
    endpoint = primary_endpoint(available_group(elasticache, "two-clouds"))
    _, another_clouds_ca = tls._new_ca()  # as a cloud of another course folder makes it
    bundle = config.state_dir() / "two-clouds.pem"
    bundle.write_bytes(pki.pem(another_clouds_ca) + config.trusted_cas_file().read_bytes())
    trusting_both = {"Variables": {"SSL_CERT_FILE": str(bundle)}}
    client = deploy(aws, CACHE_CLIENT, Environment=trusting_both, VpcConfig=in_vpc(vpc, vpc["functions"]))

    assert set_and_get(aws, client, endpoint, tls=True)["value"] == "Dune"


def test_an_ecs_task_reads_a_cache_encrypted_in_transit_with_ssl_alone_as_on_aws(cloud, elasticache, vpc, containers):
    ec2 = boto3.client("ec2")
    tasks = ec2.create_security_group(GroupName="tls-tasks", Description="tasks", VpcId=vpc["id"])["GroupId"]
    admit(vpc["caches"], tasks)
    create_group(elasticache, "task-tls", TransitEncryptionEnabled=True, SecurityGroupIds=[vpc["caches"]])
    endpoint = primary_endpoint(available_group(elasticache, "task-tls"))

    assert task_reads(cloud, containers, vpc, tasks, endpoint, "Solaris", tls=True) == "read Solaris"


def test_the_notebook_trusts_the_local_clouds_ca_beside_the_public_ones(cloud):
    trusted = [
        dict(part[0] for part in ca["subject"]).get("commonName", "")
        for ca in ssl.create_default_context().get_ca_certs()
    ]

    assert [name for name in trusted if name.startswith("labkit local cloud ElastiCache CA ")]
    assert len(trusted) > 50  # the machine's public CAs too: a notebook still reaches real sites


def test_a_function_outside_any_vpc_cannot_reach_a_cache_even_one_open_to_every_address(elasticache, aws, vpc):
    ec2 = boto3.client("ec2")
    open_group = ec2.create_security_group(GroupName="open", Description="open", VpcId=vpc["id"])["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=open_group,
        IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    create_cluster(elasticache, "open-cache", SecurityGroupIds=[open_group])
    endpoint = node_endpoint(available_cluster(elasticache, "open-cache"))
    outside = deploy(aws, CACHE_CLIENT)

    assert set_and_get(aws, outside, endpoint) == {"error": "TimeoutError"}
    assert set_and_get(aws, function_in(aws, vpc, vpc["functions"]), endpoint)["value"] == "Dune"


def test_the_notebook_outside_the_vpc_cannot_reach_a_cache(elasticache, vpc):
    create_cluster(elasticache, "private", SecurityGroupIds=[vpc["caches"]])
    endpoint = node_endpoint(available_cluster(elasticache, "private"))
    client = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=1, retry=Retry(NoBackoff(), 0))

    with pytest.raises(redis.exceptions.TimeoutError):
        client.ping()


def test_a_cache_given_no_security_group_is_in_its_vpcs_default_group_which_admits_its_own_members(
    elasticache, aws, vpc, in_the_vpc
):
    ec2 = boto3.client("ec2")
    default_group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["id"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    create_cluster(elasticache, "defaults")
    endpoint = node_endpoint(available_cluster(elasticache, "defaults"))

    assert set_and_get(aws, in_the_vpc, endpoint) == {"error": "TimeoutError"}
    assert set_and_get(aws, function_in(aws, vpc, default_group), endpoint)["value"] == "Dune"


def test_deleting_a_cache_cluster_stops_its_server_and_it_is_then_gone(elasticache):
    create_cluster(elasticache, "short-lived", Engine="redis")
    port = node_endpoint(available_cluster(elasticache, "short-lived"))["Port"]
    pid = server_pid(port)

    deleted = elasticache.delete_cache_cluster(CacheClusterId="short-lived")["CacheCluster"]

    assert deleted["CacheClusterStatus"] == "deleting"
    wait_for(lambda: exited(pid), 5, "the deleted cluster's redis-server to exit")

    def gone():
        try:
            cluster(elasticache, "short-lived")
        except ClientError as error:
            return error.response["Error"]
        return None

    error = wait_for(gone, 10, "the deleted cluster to leave describe_cache_clusters")
    assert error == {
        "Code": "CacheClusterNotFound",
        "Message": "Cache cluster short-lived not found.",
        "Type": "Sender",
    }


def test_a_replication_group_serves_at_its_primary_endpoint(elasticache, aws, vpc, in_the_vpc):
    create_subnet_group(elasticache, "sessions", vpc["subnets"])
    create_group(elasticache, "sessions", CacheSubnetGroupName="sessions", SecurityGroupIds=[vpc["caches"]])

    endpoint = primary_endpoint(available_group(elasticache, "sessions"))
    assert set_and_get(aws, in_the_vpc, endpoint, key="session:42", value="alice")["value"] == "alice"


def test_a_cluster_mode_replication_group_serves_a_cluster_client_only_through_its_configuration_endpoint(
    elasticache, aws, vpc, in_the_vpc
):
    group = elasticache.create_replication_group(
        ReplicationGroupId="sharded",
        ReplicationGroupDescription="sharded",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        ClusterMode="enabled",
        NumNodeGroups=1,
        SecurityGroupIds=[vpc["caches"]],
    )["ReplicationGroup"]
    endpoint = group["ConfigurationEndpoint"]

    answer = set_and_get(aws, in_the_vpc, endpoint, key="{book}:1", cluster=True)

    # CLUSTER SLOTS names the endpoint's port, never the server's own: every command goes through the endpoint.
    assert answer == {"value": "Dune", "ttl": 60, "ports": [endpoint["Port"]]}


def test_a_cluster_mode_replication_group_encrypted_in_transit_announces_its_endpoint_as_its_tls_port(
    elasticache, aws, vpc, in_the_vpc
):
    group = elasticache.create_replication_group(
        ReplicationGroupId="sharded-sealed",
        ReplicationGroupDescription="sharded and encrypted",
        Engine="valkey",
        CacheNodeType="cache.t4g.micro",
        ClusterMode="enabled",
        NumNodeGroups=1,
        TransitEncryptionEnabled=True,
        SecurityGroupIds=[vpc["caches"]],
    )["ReplicationGroup"]
    endpoint = group["ConfigurationEndpoint"]

    answer = set_and_get(aws, in_the_vpc, endpoint, key="{book}:1", cluster=True, tls=True)

    assert answer == {"value": "Dune", "ttl": 60, "ports": [endpoint["Port"]]}


def test_a_serverless_cache_is_tagged_served_over_tls_to_its_vpc_and_deleted(elasticache, aws, vpc, in_the_vpc):
    created = elasticache.create_serverless_cache(
        ServerlessCacheName="catalog",
        Engine="valkey",
        SubnetIds=vpc["subnets"],
        SecurityGroupIds=[vpc["caches"]],
        Tags=[{"Key": "labkit:lab", "Value": "10"}],
    )["ServerlessCache"]
    assert (created["Status"], created["Engine"], created["ARN"]) == (
        "creating",
        "valkey",
        "arn:aws:elasticache:us-east-1:123456789012:serverlesscache:catalog",
    )
    assert elasticache.list_tags_for_resource(ResourceName=created["ARN"])["TagList"] == [
        {"Key": "labkit:lab", "Value": "10"}
    ]

    def available():
        cache = elasticache.describe_serverless_caches(ServerlessCacheName="catalog")["ServerlessCaches"][0]
        return cache["Status"] == "available" and cache

    endpoint = wait_for(available, 10, "the serverless cache to be available")["Endpoint"]
    assert set_and_get(aws, in_the_vpc, endpoint, key="k", value="v", tls=True)["value"] == "v"
    assert set_and_get(aws, in_the_vpc, endpoint, key="k", value="v") == {"error": "ConnectionError"}  # TLS only
    pid = server_pid(endpoint["Port"])

    assert elasticache.delete_serverless_cache(ServerlessCacheName="catalog")["ServerlessCache"]["Status"] == "deleting"
    wait_for(lambda: exited(pid), 5, "the serverless cache's redis-server to exit")


def test_a_serverless_cache_that_does_not_exist_is_not_found(elasticache):
    with pytest.raises(ClientError) as raised:
        elasticache.describe_serverless_caches(ServerlessCacheName="nothing-here")
    assert raised.value.response["Error"]["Code"] == "ServerlessCacheNotFoundFault"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_cache_subnet_group_can_be_deleted(elasticache):
    create_subnet_group(elasticache, "caches")

    elasticache.delete_cache_subnet_group(CacheSubnetGroupName="caches")

    with pytest.raises(ClientError) as raised:
        elasticache.describe_cache_subnet_groups(CacheSubnetGroupName="caches")
    assert raised.value.response["Error"]["Code"] == "CacheSubnetGroupNotFoundFault"


def test_a_cache_subnet_group_a_deleting_cache_still_uses_is_refused_until_the_cache_is_gone(elasticache):
    create_subnet_group(elasticache, "leaving")
    create_group(elasticache, "leaving", CacheSubnetGroupName="leaving")
    elasticache.delete_replication_group(ReplicationGroupId="leaving")

    with pytest.raises(ClientError) as refused:
        elasticache.delete_cache_subnet_group(CacheSubnetGroupName="leaving")

    assert refused.value.response["Error"]["Code"] == "CacheSubnetGroupInUse"
    assert refused.value.response["Error"]["Message"] == (
        "Cache subnet group leaving is currently in use by a cache cluster."
    )

    def deleted() -> bool:
        try:
            elasticache.delete_cache_subnet_group(CacheSubnetGroupName="leaving")
        except ClientError as error:
            assert error.response["Error"]["Code"] == "CacheSubnetGroupInUse"
            return False
        return True

    wait_for(deleted, 10, "the subnet group to be deletable once the cache is gone")
    with pytest.raises(ClientError) as gone:
        elasticache.describe_replication_groups(ReplicationGroupId="leaving")
    assert gone.value.response["Error"]["Code"] == "ReplicationGroupNotFoundFault"


def test_teardown_removes_the_labs_caches_and_their_subnet_and_parameter_groups_and_stops_the_servers(
    elasticache, cloud
):
    tags = [{"Key": key, "Value": value} for key, value in cloud.tags.items()] + [{"Key": "labkit:lab", "Value": "10"}]
    create_subnet_group(elasticache, "lab10-caches", Tags=tags)
    elasticache.create_cache_parameter_group(
        CacheParameterGroupName="lab10-lru", CacheParameterGroupFamily="valkey8", Description="lru", Tags=tags
    )
    create_cluster(elasticache, "lab10-cluster", Tags=tags)
    group = create_group(elasticache, "lab10-group", CacheSubnetGroupName="lab10-caches", Tags=tags)
    serverless = elasticache.create_serverless_cache(ServerlessCacheName="lab10-serverless", Engine="valkey", Tags=tags)
    pids = [
        server_pid(node_endpoint(cluster(elasticache, "lab10-cluster"))["Port"]),
        server_pid(primary_endpoint(group)["Port"]),
        server_pid(serverless["ServerlessCache"]["Endpoint"]["Port"]),
    ]

    report = teardown(lab="10")

    assert sorted((entry.kind, entry.name) for entry in report.deleted) == [
        ("ElastiCache cache cluster", "lab10-cluster"),
        ("ElastiCache parameter group", "lab10-lru"),
        ("ElastiCache replication group", "lab10-group"),
        ("ElastiCache serverless cache", "lab10-serverless"),
        ("ElastiCache subnet group", "lab10-caches"),
    ]
    assert report.left == []
    assert all(exited(pid) for pid in pids)


def test_reset_stops_every_cache_server(elasticache):
    create_cluster(elasticache, "reset-me")
    pid = server_pid(node_endpoint(cluster(elasticache, "reset-me"))["Port"])

    control.reset()

    wait_for(lambda: exited(pid), 5, "the reset cloud's redis-server to exit")


def test_labkit_down_stops_every_cache_server(elasticache):
    group = create_group(elasticache, "left-running")
    pid = server_pid(primary_endpoint(group)["Port"])

    control.down()

    assert exited(pid)
