"""ElastiCache caches (node-based clusters, replication groups, serverless caches) and what they are made
with (subnet groups, parameter groups). Tags are read per resource (ListTagsForResource); caches already
deleting are not listed: they are on their way out."""

from collections.abc import Callable
from functools import partial

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone

DELETING = "deleting"


def _listed(operation: str, items_key: str, name_key: str, keep: Callable[[dict], bool], clients, wanted, **params):
    """The items a describe call lists (those `keep` accepts) whose tags `wanted` accepts, named by name_key."""
    client = clients("elasticache")
    items = [item for item in pages(client, operation, items_key, **params) if keep(item)]
    for item in items:
        listed = unless_gone(client.list_tags_for_resource, ResourceName=item["ARN"])
        if listed is None:
            continue
        tags = tag_dict(listed.get("TagList"))
        if wanted(tags):
            yield Resource(id=item[name_key], name=item[name_key], arn=item["ARN"], tags=tags, details=item)


def _not_deleting(item: dict) -> bool:
    return item.get("Status") != DELETING


def _course_cluster(cluster: dict) -> bool:
    # A replication group's member clusters go with their group.
    return not cluster.get("ReplicationGroupId") and cluster.get("CacheClusterStatus") != DELETING


def _course_parameter_group(group: dict) -> bool:
    return not group["CacheParameterGroupName"].startswith("default.")  # AWS's own, never the course's


def _every(item: dict) -> bool:
    return True


def _kind(label: str, operation: str, items_key: str, name_key: str, keep: Callable[[dict], bool], **params) -> Kind:
    return Kind(label, "elasticache", partial(_listed, operation, items_key, name_key, keep, **params))


CACHE_CLUSTER = _kind(
    "ElastiCache cache cluster",
    "describe_cache_clusters",
    "CacheClusters",
    "CacheClusterId",
    _course_cluster,
    ShowCacheNodeInfo=True,
)
REPLICATION_GROUP = _kind(
    "ElastiCache replication group",
    "describe_replication_groups",
    "ReplicationGroups",
    "ReplicationGroupId",
    _not_deleting,
)
SERVERLESS_CACHE = _kind(
    "ElastiCache serverless cache",
    "describe_serverless_caches",
    "ServerlessCaches",
    "ServerlessCacheName",
    _not_deleting,
)
SUBNET_GROUP = _kind(
    "ElastiCache subnet group", "describe_cache_subnet_groups", "CacheSubnetGroups", "CacheSubnetGroupName", _every
)
PARAMETER_GROUP = _kind(
    "ElastiCache parameter group",
    "describe_cache_parameter_groups",
    "CacheParameterGroups",
    "CacheParameterGroupName",
    _course_parameter_group,
)
KINDS = (CACHE_CLUSTER, REPLICATION_GROUP, SERVERLESS_CACHE, SUBNET_GROUP, PARAMETER_GROUP)
