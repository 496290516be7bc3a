"""ElastiCache caches (node-based clusters, replication groups, serverless caches) and what they are made
with (subnet groups, parameter groups). Tags are read per resource (ListTagsForResource); caches already
deleting are not listed: they are on their way out."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone

DELETING = "deleting"


def _tagged(client, items, arn_key: str, name_key: str, wanted):
    for item in items:
        listed = unless_gone(client.list_tags_for_resource, ResourceName=item[arn_key])
        if listed is None:
            continue
        tags = tag_dict(listed.get("TagList"))
        if wanted(tags):
            yield Resource(id=item[name_key], name=item[name_key], arn=item[arn_key], tags=tags, details=item)


def _clusters(clients, wanted):
    client = clients("elasticache")
    # A replication group's member clusters go with their group.
    clusters = [
        cluster
        for cluster in pages(client, "describe_cache_clusters", "CacheClusters", ShowCacheNodeInfo=True)
        if not cluster.get("ReplicationGroupId") and cluster.get("CacheClusterStatus") != DELETING
    ]
    yield from _tagged(client, clusters, "ARN", "CacheClusterId", wanted)


def _replication_groups(clients, wanted):
    client = clients("elasticache")
    groups = [
        group
        for group in pages(client, "describe_replication_groups", "ReplicationGroups")
        if group.get("Status") != DELETING
    ]
    yield from _tagged(client, groups, "ARN", "ReplicationGroupId", wanted)


def _serverless_caches(clients, wanted):
    client = clients("elasticache")
    caches = [
        cache
        for cache in pages(client, "describe_serverless_caches", "ServerlessCaches")
        if cache.get("Status") != DELETING
    ]
    yield from _tagged(client, caches, "ARN", "ServerlessCacheName", wanted)


def _subnet_groups(clients, wanted):
    client = clients("elasticache")
    groups = pages(client, "describe_cache_subnet_groups", "CacheSubnetGroups")
    yield from _tagged(client, groups, "ARN", "CacheSubnetGroupName", wanted)


def _parameter_groups(clients, wanted):
    client = clients("elasticache")
    groups = [
        group
        for group in pages(client, "describe_cache_parameter_groups", "CacheParameterGroups")
        if not group["CacheParameterGroupName"].startswith("default.")  # AWS's own, never the course's
    ]
    yield from _tagged(client, groups, "ARN", "CacheParameterGroupName", wanted)


CACHE_CLUSTER = Kind("ElastiCache cache cluster", "elasticache", _clusters)
REPLICATION_GROUP = Kind("ElastiCache replication group", "elasticache", _replication_groups)
SERVERLESS_CACHE = Kind("ElastiCache serverless cache", "elasticache", _serverless_caches)
SUBNET_GROUP = Kind("ElastiCache subnet group", "elasticache", _subnet_groups)
PARAMETER_GROUP = Kind("ElastiCache parameter group", "elasticache", _parameter_groups)
KINDS = (CACHE_CLUSTER, REPLICATION_GROUP, SERVERLESS_CACHE, SUBNET_GROUP, PARAMETER_GROUP)
