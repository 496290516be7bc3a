"""ElastiCache on the local cloud, as a learner meets it: a cache created with boto3 answers Redis commands
at the endpoint its describe call returns, and its server goes when the cache, the cloud's state or the
cloud itself does.

A local cloud of this file's own: the last tests reset it and stop it.
"""

from pathlib import Path

import boto3
import pytest
import redis
from botocore.exceptions import ClientError
from private_cloud import private_cloud
from support import exited, wait_for

from labkit.localcloud import control
from labkit.teardown import teardown


@pytest.fixture(scope="module")
def cloud():
    with private_cloud("labkit-elasticache-test-") as env:
        yield env


@pytest.fixture
def elasticache(cloud):
    return boto3.client("elasticache")


def server_pid(port: int) -> int:
    """The pid of the redis-server listening on port (it names its address in its process title)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "redis-server" in command and f"127.0.0.1:{port}" in command:
                return int(entry.name)
    raise AssertionError(f"no redis-server process listens on 127.0.0.1:{port}")


def cluster(elasticache, cluster_id: str) -> dict:
    return elasticache.describe_cache_clusters(CacheClusterId=cluster_id, ShowCacheNodeInfo=True)["CacheClusters"][0]


def available_cluster(elasticache, cluster_id: str) -> dict:
    return wait_for(
        lambda: (found := cluster(elasticache, cluster_id))["CacheClusterStatus"] == "available" and found,
        10,
        f"cache cluster {cluster_id} to be available",
    )


def test_a_cache_cluster_is_creating_then_available_and_answers_set_and_get_at_its_node_endpoint(elasticache):
    created = elasticache.create_cache_cluster(
        CacheClusterId="catalog-cache", Engine="valkey", CacheNodeType="cache.t4g.micro", NumCacheNodes=1
    )["CacheCluster"]
    assert created["CacheClusterStatus"] == "creating"

    endpoint = available_cluster(elasticache, "catalog-cache")["CacheNodes"][0]["Endpoint"]
    client = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    assert client.set("book:1", "Dune", ex=60) is True
    assert client.get("book:1") == b"Dune"
    assert 0 < client.ttl("book:1") <= 60


def test_deleting_a_cache_cluster_stops_its_server_and_it_is_then_gone(elasticache):
    elasticache.create_cache_cluster(
        CacheClusterId="short-lived", Engine="redis", CacheNodeType="cache.t4g.micro", NumCacheNodes=1
    )
    port = available_cluster(elasticache, "short-lived")["CacheNodes"][0]["Endpoint"]["Port"]
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


def test_a_replication_group_serves_at_its_primary_endpoint(elasticache):
    elasticache.create_replication_group(
        ReplicationGroupId="sessions",
        ReplicationGroupDescription="sessions",
        Engine="valkey",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=1,
    )

    def available():
        group = elasticache.describe_replication_groups(ReplicationGroupId="sessions")["ReplicationGroups"][0]
        return group["Status"] == "available" and group

    endpoint = wait_for(available, 10, "the replication group to be available")["NodeGroups"][0]["PrimaryEndpoint"]
    client = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    client.set("session:42", "alice")
    assert client.get("session:42") == b"alice"


def test_a_cluster_mode_replication_group_serves_a_cluster_client_at_its_configuration_endpoint(elasticache):
    group = elasticache.create_replication_group(
        ReplicationGroupId="sharded",
        ReplicationGroupDescription="sharded",
        Engine="redis",
        CacheNodeType="cache.t4g.micro",
        ClusterMode="enabled",
        NumNodeGroups=1,
    )["ReplicationGroup"]
    endpoint = group["ConfigurationEndpoint"]

    client = redis.RedisCluster(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    client.set("{book}:1", "Dune")
    assert client.get("{book}:1") == b"Dune"


def test_a_serverless_cache_is_tagged_served_and_deleted(elasticache):
    created = elasticache.create_serverless_cache(
        ServerlessCacheName="catalog", Engine="valkey", Tags=[{"Key": "labkit:lab", "Value": "10"}]
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
    client = redis.Redis(host=endpoint["Address"], port=endpoint["Port"], socket_timeout=2)
    client.set("k", "v")
    assert client.get("k") == b"v"
    pid = server_pid(endpoint["Port"])

    assert elasticache.delete_serverless_cache(ServerlessCacheName="catalog")["ServerlessCache"]["Status"] == "deleting"
    wait_for(lambda: exited(pid), 5, "the serverless cache's redis-server to exit")


def test_a_serverless_cache_that_does_not_exist_is_not_found(elasticache):
    with pytest.raises(ClientError) as raised:
        elasticache.describe_serverless_caches(ServerlessCacheName="nothing-here")
    assert raised.value.response["Error"]["Code"] == "ServerlessCacheNotFoundFault"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_a_cache_subnet_group_can_be_deleted(elasticache):
    subnets = [s["SubnetId"] for s in boto3.client("ec2").describe_subnets()["Subnets"]][:1]
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName="caches", CacheSubnetGroupDescription="caches", SubnetIds=subnets
    )

    elasticache.delete_cache_subnet_group(CacheSubnetGroupName="caches")

    with pytest.raises(ClientError) as raised:
        elasticache.describe_cache_subnet_groups(CacheSubnetGroupName="caches")
    assert raised.value.response["Error"]["Code"] == "CacheSubnetGroupNotFoundFault"


def test_teardown_removes_the_labs_caches_and_their_subnet_and_parameter_groups_and_stops_the_servers(
    elasticache, cloud
):
    tags = [{"Key": key, "Value": value} for key, value in cloud.tags.items()] + [{"Key": "labkit:lab", "Value": "10"}]
    subnets = [s["SubnetId"] for s in boto3.client("ec2").describe_subnets()["Subnets"]][:1]
    elasticache.create_cache_subnet_group(
        CacheSubnetGroupName="lab10-caches", CacheSubnetGroupDescription="caches", SubnetIds=subnets, Tags=tags
    )
    elasticache.create_cache_parameter_group(
        CacheParameterGroupName="lab10-lru", CacheParameterGroupFamily="valkey8", Description="lru", Tags=tags
    )
    elasticache.create_cache_cluster(
        CacheClusterId="lab10-cluster", Engine="valkey", CacheNodeType="cache.t4g.micro", NumCacheNodes=1, Tags=tags
    )
    group = elasticache.create_replication_group(
        ReplicationGroupId="lab10-group",
        ReplicationGroupDescription="catalog",
        Engine="valkey",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=1,
        CacheSubnetGroupName="lab10-caches",
        Tags=tags,
    )["ReplicationGroup"]
    serverless = elasticache.create_serverless_cache(ServerlessCacheName="lab10-serverless", Engine="valkey", Tags=tags)
    pids = [
        server_pid(cluster(elasticache, "lab10-cluster")["CacheNodes"][0]["Endpoint"]["Port"]),
        server_pid(group["NodeGroups"][0]["PrimaryEndpoint"]["Port"]),
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
    elasticache.create_cache_cluster(
        CacheClusterId="reset-me", Engine="valkey", CacheNodeType="cache.t4g.micro", NumCacheNodes=1
    )
    pid = server_pid(cluster(elasticache, "reset-me")["CacheNodes"][0]["Endpoint"]["Port"])

    control.reset()

    wait_for(lambda: exited(pid), 5, "the reset cloud's redis-server to exit")


def test_labkit_down_stops_every_cache_server(elasticache):
    elasticache.create_replication_group(
        ReplicationGroupId="left-running",
        ReplicationGroupDescription="left running",
        Engine="valkey",
        CacheNodeType="cache.t4g.micro",
        NumCacheClusters=1,
    )
    group = elasticache.describe_replication_groups(ReplicationGroupId="left-running")["ReplicationGroups"][0]
    pid = server_pid(group["NodeGroups"][0]["PrimaryEndpoint"]["Port"])

    control.down()

    assert exited(pid)
