"""ElastiCache: caches first, then the subnet and parameter groups they were made with, which AWS refuses
to delete while a cache still uses them (until the cache is gone, minutes on AWS)."""

from labkit.inventory import elasticache
from labkit.teardown.base import Deletion

IN_USE = ("CacheSubnetGroupInUse", "InvalidCacheParameterGroupState")
# A cache still creating or modifying cannot be deleted yet.
NOT_READY = ("InvalidCacheClusterState", "InvalidReplicationGroupState", "InvalidServerlessCacheStateFault")


def _deletion(kind, operation: str, id_parameter: str, busy_codes: tuple[str, ...]) -> Deletion:
    """Each kind goes by one call that names the resource by its id."""
    return Deletion(
        kind,
        lambda client, resource: getattr(client, operation)(**{id_parameter: resource.id}),
        busy_codes=busy_codes,
    )


DELETIONS = tuple(
    _deletion(*row)
    for row in (
        (elasticache.REPLICATION_GROUP, "delete_replication_group", "ReplicationGroupId", NOT_READY),
        (elasticache.CACHE_CLUSTER, "delete_cache_cluster", "CacheClusterId", NOT_READY),
        (elasticache.SERVERLESS_CACHE, "delete_serverless_cache", "ServerlessCacheName", NOT_READY),
        (elasticache.SUBNET_GROUP, "delete_cache_subnet_group", "CacheSubnetGroupName", IN_USE),
        (elasticache.PARAMETER_GROUP, "delete_cache_parameter_group", "CacheParameterGroupName", IN_USE),
    )
)
