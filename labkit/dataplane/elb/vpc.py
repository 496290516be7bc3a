"""Where a load balancer stands in its VPC: its security groups, its private address (the source of
its connections to targets), and whether a client or a target gets through
(labkit.dataplane.core.network)."""

from labkit.dataplane.core import network, state


def security_groups(balancer) -> list[str]:
    """Its groups; one created without any gets its VPC's default group, as on AWS."""
    if balancer.security_groups:
        return list(balancer.security_groups)
    default = _ec2(balancer.arn).get_default_security_group(balancer.vpc_id)
    return [default.id] if default is not None else []


def admits_client(balancer, port: int) -> bool:
    """Does the load balancer's security group let an internet client reach this listener port?"""
    return network.admits(security_groups(balancer), port, network.INTERNET)


def reach(balancer, address: str, port: int) -> network.Endpoint | None:
    """The endpoint behind a target if the load balancer's connection gets there, else None: nothing
    answers at the address, or the target's security groups drop the load balancer's traffic."""
    endpoint = network.resolve(address, port)
    if endpoint is None:
        return None
    if endpoint.groups and not network.admits(endpoint.groups, port, _as_source(balancer)):
        return None
    return endpoint


def check_target_address(group, target: dict) -> None:
    """RegisterTargets' rules for IP targets (Elastic Load Balancing User Guide, "Target type"):
    an address of the target group's VPC, or (with AvailabilityZone "all") a private address
    outside it; never a public or loopback address."""
    import ipaddress

    from moto.elbv2.exceptions import ELBClientError

    address, zone = target["Id"], target.get("AvailabilityZone")
    ip = ipaddress.ip_address(address)
    subnets = _ec2(group.arn).describe_subnets(filters={"vpc-id": [group.vpc_id]})
    in_vpc = any(ip in ipaddress.ip_network(subnet.cidr_block) for subnet in subnets)
    if in_vpc:
        if zone == "all":
            raise ELBClientError(
                "ValidationError",
                f"The IP address '{address}' is within the VPC, and cannot have its Availability Zone "
                "overridden to 'all'",
            )
        return
    if not any(ip in ipaddress.ip_network(block) for block in network.PRIVATE_RANGES):
        raise ELBClientError(
            "ValidationError",
            f"The IP address '{address}' is not a valid target: specify an address from the subnets of the "
            f"target group's VPC, or from {', '.join(network.PRIVATE_RANGES)}",
        )
    if zone != "all":
        raise ELBClientError(
            "ValidationError",
            f"You must specify a valid Availability Zone or select 'all' for all enabled Availability zones, "
            f"since the IP address '{address}' is outside the VPC",
        )


def _as_source(balancer) -> network.Source:
    address = state.get(balancer, "address")
    if address is None:
        cidr = balancer.subnets[0].cidr_block if balancer.subnets else None
        address = network.allocate_address(cidr) if cidr else network.INTERNET_CLIENT
        state.put(balancer, "address", address)
    return network.Source(address, frozenset(security_groups(balancer)))


def _ec2(arn: str):
    from moto.ec2.models import ec2_backends

    _, _, _, region, account, _ = arn.split(":", 5)
    return ec2_backends[account][region]
