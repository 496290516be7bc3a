"""Where the ElastiCache data plane meets moto 5.2.5 (declared in labkit.dataplane.core.seams): node-based
caches get servers and a status on the local clock (caches.py), and the actions moto lacks are added to its
ElastiCacheResponse: the serverless caches (serverless.py), the parameter groups (parameter_groups.py) and
DeleteCacheSubnetGroup."""

import functools
import re

from labkit.dataplane.core.seams import Seam
from labkit.dataplane.elasticache import caches, parameter_groups, serverless

_BACKEND = "moto.elasticache.models.ElastiCacheBackend"
_RESPONSE = "moto.elasticache.responses.ElastiCacheResponse"
# moto's ListTagsForResource refuses the ARNs of the kinds it lacks.
_ADDED_KIND_ARN = re.compile(r"^arn:aws:elasticache:[^:]+:[0-9]+:(serverlesscache|parametergroup):.+$")


def _listing_tags_of_serverless_caches(list_tags):
    @functools.wraps(list_tags)
    def list_tags_for_resource(self, arn):
        if _ADDED_KIND_ARN.match(arn):
            return self.tagging_service.list_tags_for_resource(arn)
        return list_tags(self, arn)

    return list_tags_for_resource


def _added(action):
    return Seam(f"{_RESPONSE}.{action.__name__}", replace=lambda _absent: action)


SEAMS = (
    Seam(f"{_BACKEND}.list_tags_for_resource", ("self", "arn"), replace=_listing_tags_of_serverless_caches),
    Seam(
        f"{_BACKEND}.create_cache_cluster",
        contains="self.cache_clusters[cache_cluster_id] = cache_cluster",
        replace=caches.create_cache_cluster,
    ),
    Seam(f"{_BACKEND}.describe_cache_clusters", ("self", "cache_cluster_id"), replace=caches.describe_cache_clusters),
    Seam(f"{_BACKEND}.delete_cache_cluster", ("self", "cache_cluster_id"), replace=caches.delete_cache_cluster),
    Seam(
        f"{_BACKEND}.create_replication_group",
        contains="self.replication_groups[replication_group_id]",
        replace=caches.create_replication_group,
    ),
    Seam(
        f"{_BACKEND}.describe_replication_groups",
        ("self", "replication_group_id"),
        replace=caches.describe_replication_groups,
    ),
    Seam(
        f"{_BACKEND}.delete_replication_group",
        ("self", "replication_group_id", "retain_primary_cluster"),
        replace=caches.delete_replication_group,
    ),
    _added(caches.delete_cache_subnet_group),
    *(_added(action) for action in serverless.ACTIONS),
    *(_added(action) for action in parameter_groups.ACTIONS),
)
