"""The VPC as the data plane sees it: private addresses, what listens behind them, and security groups.

On AWS a task's ENI has a private IP from its subnet, and a load balancer reaches it there on the
container port; nothing outside the VPC can. Locally every process listens on 127.0.0.1, so each
private address is virtual: `attach` says which local port answers for (private IP, port), and the
load balancer and Service Connect connect through `resolve`. An address nothing answers for is
unreachable, as on AWS (a connection that times out).

Security groups decide who gets through, as AWS evaluates them: a connection is admitted when any
ingress rule of any of the destination's groups allows the protocol and port from the source (a
CIDR containing the source's address, or a group the source is a member of). A VPC's default group
admits its own members, as AWS's default rule does (moto stores no such rule). Clients from the
internet (the learner's notebook, and tasks reaching an internet-facing load balancer through its
public name) come from INTERNET_CLIENT.
"""

import ipaddress
import os
import threading
from dataclasses import dataclass

# Where the local cloud's internet clients come from: an address of TEST-NET-3 (RFC 5737), inside
# 0.0.0.0/0 and inside no VPC.
INTERNET_CLIENT = "203.0.113.10"
# The private ranges (RFC 1918, RFC 6598) an IP target outside its VPC may have.
PRIVATE_RANGES = ("10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16")
# How long a connection a security group drops hangs before the client is let go. On AWS nothing
# answers and the client times out on its own; locally the wait is shortened.
DROPPED_CONNECTION_S = float(os.environ.get("LABKIT_DROPPED_CONNECTION_S", "3"))
# AWS reserves the first four addresses of each subnet (network, router, DNS, future) and the last.
_RESERVED_AFTER_NETWORK = 3


@dataclass(frozen=True)
class Source:
    """Who opens a connection: its address and the security groups of its network interface."""

    address: str
    groups: frozenset[str] = frozenset()


INTERNET = Source(INTERNET_CLIENT)


@dataclass
class Endpoint:
    local_port: int
    groups: frozenset[str]  # the security groups of the interface that holds the address


_endpoints: dict[tuple[str, int], Endpoint] = {}
_allocated: set[str] = set()
_lock = threading.Lock()


def allocate_address(cidr_block: str) -> str:
    """A free private address in the subnet's range, as a new ENI gets one."""
    network = ipaddress.ip_network(cidr_block)
    with _lock:
        for offset, address in enumerate(network.hosts()):  # hosts(): neither network nor broadcast
            if offset >= _RESERVED_AFTER_NETWORK and str(address) not in _allocated:
                _allocated.add(str(address))
                return str(address)
    raise RuntimeError(f"no free address left in {cidr_block}")


def release_address(address: str) -> None:
    with _lock:
        _allocated.discard(address)
        for key in [key for key in _endpoints if key[0] == address]:
            del _endpoints[key]


def attach(address: str, port: int, local_port: int, groups=()) -> None:
    """(address, port) is answered by 127.0.0.1:local_port, behind these security groups."""
    with _lock:
        _endpoints[(address, int(port))] = Endpoint(local_port, frozenset(groups))


def detach(address: str, port: int) -> None:
    with _lock:
        _endpoints.pop((address, int(port)), None)


def resolve(address: str, port: int) -> Endpoint | None:
    """What answers at (address, port), or None: nothing does, the connection would time out."""
    with _lock:
        return _endpoints.get((address, int(port)))


def admits(groups, port: int, source: Source, protocol: str = "tcp") -> bool:
    """Do the security groups (ids) let `source` connect to `port`?"""
    for group in _security_groups(groups):
        if group.is_default and group.id in source.groups:
            return True  # the default group's own rule: all traffic from its members
        for rule in group.ingress_rules:
            if _rule_admits(rule, port, source, protocol):
                return True
    return False


def reset() -> None:
    with _lock:
        _endpoints.clear()
        _allocated.clear()


def _rule_admits(rule, port: int, source: Source, protocol: str) -> bool:
    if rule.ip_protocol not in ("-1", protocol, "6" if protocol == "tcp" else protocol):
        return False
    if rule.ip_protocol != "-1" and not (int(rule.from_port) <= port <= int(rule.to_port)):
        return False
    if rule.source_group.get("GroupId") in source.groups:
        return True
    cidr = rule.ip_range.get("CidrIp")
    return cidr is not None and ipaddress.ip_address(source.address) in ipaddress.ip_network(cidr, strict=False)


def _security_groups(ids):
    from moto.ec2.models import ec2_backends

    wanted = set(ids)
    found = []
    for regions in list(ec2_backends.values()):
        for backend in list(regions.values()):
            for by_id in list(backend.groups.values()):
                found += [group for group_id, group in list(by_id.items()) if group_id in wanted]
    return found
