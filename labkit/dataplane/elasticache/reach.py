"""Who reaches a cache, as AWS decides it: a cache is in its VPC (its subnet group's, or the default VPC's),
behind its security groups (its VPC's default group when it was given none), on its port (6379 unless set at
create). Only a process inside that VPC gets through, and only when an ingress rule of one of the groups admits
its address or one of its groups on that port (labkit.dataplane.core.network). The processes the data plane
knows to be in a VPC are Lambda execution environments of functions with a VpcConfig and the processes of ECS
tasks with an ENI (awsvpc: Fargate's, and EC2's in that mode), each with its ENI's address and groups; anything
else (the learner's notebook, a function outside any VPC, any other process) is outside every VPC and never
reaches a cache, whatever its rules say: a cache has no public address."""

from labkit.dataplane import ecs, lambda_
from labkit.dataplane.core import network
from labkit.dataplane.elasticache import peers

DEFAULT_PORT = 6379


def admits(backend, cache, port: int, peer_port: int, endpoint_port: int) -> bool:
    """Does the connection from 127.0.0.1:peer_port to the cache's endpoint get through?"""
    tasks = ecs.network_sources()
    pid = peers.owner(peer_port, endpoint_port, [*lambda_.environment_pids(), *tasks])
    found = None if pid is None else tasks.get(pid) or lambda_.network_source(pid)
    if found is None:
        return False
    vpc_id, source = found
    cache_vpc, groups = placement(backend, cache)
    return vpc_id == cache_vpc and network.admits(groups, port, source)


def placement(backend, cache) -> tuple[str | None, list[str]]:
    """(VPC id, security group ids) of a cache: a node-based one (moto's CacheCluster, ReplicationGroup) or a
    serverless one (serverless.ServerlessCache)."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[backend.account_id][backend.region_name]
    subnet_ids = getattr(cache, "subnet_ids", None) or []
    group_name = getattr(cache, "cache_subnet_group_name", None)
    if not subnet_ids and group_name in backend.cache_subnet_groups:
        subnet_ids = backend.cache_subnet_groups[group_name].subnet_ids
    if subnet_ids:
        vpc_id = ec2.get_subnet(subnet_ids[0]).vpc_id
    else:
        default_vpc = ec2.get_default_vpc()
        vpc_id = default_vpc.id if default_vpc is not None else None
    groups = list(getattr(cache, "security_group_ids", None) or [])
    if not groups and vpc_id is not None:
        default_group = ec2.get_default_security_group(vpc_id)
        groups = [default_group.id] if default_group is not None else []
    return vpc_id, groups
