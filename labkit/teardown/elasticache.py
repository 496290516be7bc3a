"""ElastiCache: caches first, then the subnet and parameter groups they were made with, which AWS refuses
to delete while a cache still uses them (until the cache is gone, minutes on AWS)."""

from labkit.inventory import elasticache
from labkit.teardown.base import Deletion

IN_USE = ("CacheSubnetGroupInUse", "InvalidCacheParameterGroupState")
# A cache still creating or modifying cannot be deleted yet.
NOT_READY = ("InvalidCacheClusterState", "InvalidReplicationGroupState", "InvalidServerlessCacheStateFault")

DELETIONS = (
    Deletion(
        elasticache.REPLICATION_GROUP,
        lambda client, group: client.delete_replication_group(ReplicationGroupId=group.id),
        busy_codes=NOT_READY,
    ),
    Deletion(
        elasticache.CACHE_CLUSTER,
        lambda client, cluster: client.delete_cache_cluster(CacheClusterId=cluster.id),
        busy_codes=NOT_READY,
    ),
    Deletion(
        elasticache.SERVERLESS_CACHE,
        lambda client, cache: client.delete_serverless_cache(ServerlessCacheName=cache.id),
        busy_codes=NOT_READY,
    ),
    Deletion(
        elasticache.SUBNET_GROUP,
        lambda client, group: client.delete_cache_subnet_group(CacheSubnetGroupName=group.id),
        busy_codes=IN_USE,
    ),
    Deletion(
        elasticache.PARAMETER_GROUP,
        lambda client, group: client.delete_cache_parameter_group(CacheParameterGroupName=group.id),
        busy_codes=IN_USE,
    ),
)
