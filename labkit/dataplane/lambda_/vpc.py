"""A function in a VPC as the network sees it (labkit.dataplane.core.network): its VpcConfig's security
groups, and a private address of its first subnet, allocated once per function version as its Hyperplane
network interface gets one on AWS."""

from labkit.dataplane.core import network, state


def source(account: str, region: str, name: str, version: str) -> tuple[str, network.Source] | None:
    """(VPC id, Source) of the function's version; None when it has no VpcConfig, or it is gone."""
    from moto.awslambda.models import lambda_backends
    from moto.ec2.models import ec2_backends

    try:
        fn = lambda_backends[account][region].get_function(name, version)
    except Exception:  # deleted since its environment started
        return None
    config = fn.vpc_config or {}
    subnets, groups = config.get("SubnetIds") or [], config.get("SecurityGroupIds") or []
    if not subnets:
        return None
    found = state.get(fn, "network")
    if found is None or found[0] != subnets[0]:
        subnet = ec2_backends[account][region].get_subnet(subnets[0])
        found = (subnets[0], subnet.vpc_id, network.allocate_address(subnet.cidr_block))
        state.put(fn, "network", found)
    _, vpc_id, address = found
    return vpc_id, network.Source(address, frozenset(groups))
