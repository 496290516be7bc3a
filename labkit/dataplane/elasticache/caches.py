"""Node-based caches (CreateCacheCluster, CreateReplicationGroup) as moto 5.2.5 records them, each given a
real server (servers.py) whose endpoint the describe calls return, and a status on the local clock
(lifecycle.py). moto's endpoints are names under cache.amazonaws.com that answer nothing; its caches are
`available` at once and stay `deleting` forever once deleted, and it takes an AuthToken without encryption in
transit, which AWS refuses."""

import functools
import re

from moto.elasticache.exceptions import ElastiCacheException, InvalidParameterValueException

from labkit.dataplane.core import state
from labkit.dataplane.elasticache import lifecycle, reach, servers

LOOPBACK = "127.0.0.1"
SERVED_ENGINES = ("redis", "valkey")
AUTH_WITHOUT_ENCRYPTION = "The AUTH token is only supported when encryption-in-transit is enabled"
# ElastiCache's AUTH token: 16 to 128 characters, letters, digits and ! & # $ ^ < > - only (the AUTH overview).
AUTH_TOKEN = re.compile(r"[A-Za-z0-9!&#$^<>-]{16,128}")


def _transit_encryption(kwargs: dict) -> str | None:
    """The cache's TransitEncryptionMode when it has encryption in transit, else None; an AuthToken without it,
    or one AWS would not take, is refused, as AWS does."""
    token = kwargs.get("auth_token")
    if not kwargs.get("transit_encryption_enabled"):
        if token:
            raise InvalidParameterValueException(AUTH_WITHOUT_ENCRYPTION)
        return None
    if token is not None and not AUTH_TOKEN.fullmatch(token):
        raise InvalidParameterValueException("Invalid AuthToken provided.")
    return kwargs.get("transit_encryption_mode") or servers.REQUIRED  # AWS's default mode


def _endpoint(port: int) -> dict:
    return {"address": LOOPBACK, "port": port}


def create_cache_cluster(create):
    @functools.wraps(create)
    def create_and_serve(self, **kwargs):
        engine = (kwargs.get("engine") or "redis").lower()
        transit_encryption = _transit_encryption(kwargs)
        if engine not in SERVED_ENGINES:
            return create(self, **kwargs)  # memcached: recorded only, as moto has it
        cluster = create(self, **kwargs)
        # Its security groups admit connections on its port on AWS (moto's, 6379 unless given); the endpoint's
        # local port is another.
        admits = functools.partial(reach.admits, self, cluster, cluster.port)
        try:
            server = servers.start(
                cluster.arn, admits, password=kwargs.get("auth_token"), transit_encryption=transit_encryption
            )
        except BaseException:
            self.cache_clusters.pop(cluster.cache_cluster_id, None)
            raise
        cluster.engine = engine
        cluster.num_cache_nodes = 1
        cluster.port = server.port
        cluster.cache_cluster_status = lifecycle.CREATING
        cluster.cache_nodes = [
            {
                "CacheNodeId": "0001",
                "CacheNodeStatus": lifecycle.CREATING,
                "CacheNodeCreateTime": cluster.cache_cluster_create_time,
                "Endpoint": {"Address": LOOPBACK, "Port": server.port},
                "ParameterGroupStatus": "in-sync",
                "CustomerAvailabilityZone": cluster.preferred_availability_zone or f"{self.region_name}a",
            }
        ]
        lifecycle.creating(cluster, "cluster")
        return cluster

    return create_and_serve


def describe_cache_clusters(describe):
    @functools.wraps(describe)
    def describe_now(self, cache_cluster_id=None):
        for key, cluster in list(self.cache_clusters.items()):
            if lifecycle.gone(cluster):
                del self.cache_clusters[key]
                continue
            cluster.cache_cluster_status = lifecycle.status(cluster, cluster.cache_cluster_status)
            for node in getattr(cluster, "cache_nodes", []):
                node["CacheNodeStatus"] = cluster.cache_cluster_status
        return describe(self, cache_cluster_id)

    return describe_now


def delete_cache_cluster(delete):
    @functools.wraps(delete)
    def delete_and_stop(self, cache_cluster_id):
        cluster = delete(self, cache_cluster_id)
        servers.stop(cluster.arn)
        if state.get(cluster, "gone_at") is None:
            lifecycle.deleting(cluster)
        return cluster

    return delete_and_stop


def create_replication_group(create):
    @functools.wraps(create)
    def create_and_serve(self, **kwargs):
        engine = (kwargs.get("engine") or "redis").lower()
        transit_encryption = _transit_encryption(kwargs)
        group = create(self, **kwargs)
        cluster_mode = group.cluster_mode == "enabled"
        admits = functools.partial(reach.admits, self, group, group.port)
        try:
            server = servers.start(
                group.arn,
                admits,
                password=kwargs.get("auth_token"),
                cluster_mode=cluster_mode,
                transit_encryption=transit_encryption,
            )
        except BaseException:
            self.replication_groups.pop(group.replication_group_id, None)
            raise
        group.engine = engine
        group.transit_encryption_mode = transit_encryption
        group.port = server.port
        group.status = lifecycle.CREATING
        if cluster_mode:
            group.configuration_endpoint = _endpoint(server.port)
        for node_group in group.node_groups:
            node_group["status"] = lifecycle.CREATING
            if not cluster_mode:
                node_group["primary_endpoint"] = _endpoint(server.port)
                node_group["reader_endpoint"] = _endpoint(server.port)
                node_group["port"] = server.port
            for member in node_group["node_group_members"]:
                member["read_endpoint"] = _endpoint(server.port)
        lifecycle.creating(group, "replication group")
        return group

    return create_and_serve


def describe_replication_groups(describe):
    @functools.wraps(describe)
    def describe_now(self, replication_group_id=None):
        for key, group in list(self.replication_groups.items()):
            if lifecycle.gone(group):
                del self.replication_groups[key]
                continue
            group.status = lifecycle.status(group, group.status)
            for node_group in group.node_groups:
                node_group["status"] = group.status
        return describe(self, replication_group_id)

    return describe_now


def delete_replication_group(delete):
    @functools.wraps(delete)
    def delete_and_stop(self, replication_group_id, retain_primary_cluster):
        group = delete(self, replication_group_id, retain_primary_cluster)
        servers.stop(group.arn)
        for node_group in group.node_groups:
            node_group["status"] = lifecycle.DELETING
        if state.get(group, "gone_at") is None:
            lifecycle.deleting(group)
        return group

    return delete_and_stop


class CacheSubnetGroupInUse(ElastiCacheException):
    code = "CacheSubnetGroupInUse"

    def __init__(self, name: str):
        super().__init__(f"Cache subnet group {name} is currently in use by a cache cluster.")


def delete_cache_subnet_group(self):
    """DeleteCacheSubnetGroup, which moto 5.2.5 lacks (a method of its ElastiCacheResponse)."""
    from moto.core.responses import ActionResult
    from moto.elasticache.exceptions import CacheSubnetGroupNotFound

    name = self._get_param("CacheSubnetGroupName")
    backend = self.elasticache_backend
    if name not in backend.cache_subnet_groups:
        raise CacheSubnetGroupNotFound(name)
    # AWS refuses while a cache uses the group, a deleting one too: until it is gone, minutes on AWS.
    users = [*backend.replication_groups.values(), *backend.cache_clusters.values()]
    if any(getattr(user, "cache_subnet_group_name", None) == name and not lifecycle.gone(user) for user in users):
        raise CacheSubnetGroupInUse(name)
    group = backend.cache_subnet_groups.pop(name)
    backend.tagging_service.delete_all_tags_for_resource(group.arn)
    return ActionResult({})
