"""The VPC in tests: a local server as an IP target, and a security group open to the internet."""

import itertools
import json
import os
import urllib.request

import boto3

from labkit import config

# Addresses outside the default VPC (172.31.0.0/16) but private, as AWS allows for IP targets
# registered with AvailabilityZone "all"; one per server, unique within the test process.
_addresses = (f"10.200.{n // 250}.{n % 250 + 1}" for n in itertools.count(os.getpid() % 200 * 250))


def on_premises(local_port: int, port: int = 80) -> dict:
    """An IP target (RegisterTargets' Targets entry) that the local server on 127.0.0.1:local_port
    answers for, standing in for a host the VPC reaches over a VPN."""
    address = next(_addresses)
    request = urllib.request.Request(
        config.endpoint() + "/_labkit/network/hosts",
        data=json.dumps({"Address": address, "Port": port, "LocalPort": local_port}).encode(),
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).close()
    return {"Id": address, "Port": port, "AvailabilityZone": "all"}


def open_to_the_internet(name: str, vpc_id: str, from_port: int = 0, to_port: int = 65535) -> str:
    """A security group that admits TCP on the ports from anywhere, as a public load balancer's does."""
    ec2 = boto3.client("ec2")
    filters = [{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [name]}]
    existing = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    if existing:  # a module's fixture made it in this session's shared local cloud
        return existing[0]["GroupId"]
    group = ec2.create_security_group(GroupName=name, Description=f"{name}: open", VpcId=vpc_id)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": from_port, "ToPort": to_port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    return group
