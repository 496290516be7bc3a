"""EC2 security groups, and those of their rules that name another group (a task group admitting
the load balancer's group): AWS refuses to delete a group that another group's rule names. And VPC
endpoints (a gateway endpoint lets functions in a VPC reach DynamoDB without a NAT gateway)."""

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource

# Every VPC has one; AWS refuses to delete it, and it is never the course's to change.
DEFAULT_GROUP = "default"


def _wanted_groups(groups, wanted):
    for group in groups:
        tags = tag_dict(group.get("Tags"))
        if group["GroupName"] != DEFAULT_GROUP and wanted(tags):
            yield group, tags


def _groups(clients, wanted):
    for group, tags in _wanted_groups(pages(clients("ec2"), "describe_security_groups", "SecurityGroups"), wanted):
        group_id = group["GroupId"]
        yield Resource(
            id=group_id,
            name=group["GroupName"],
            full_name=f"{group['GroupName']} ({group_id})",
            arn=group.get("SecurityGroupArn", ""),
            tags=tags,
            details=group,
        )


def _ports(rule) -> str:
    if rule["IpProtocol"] == "-1":
        return "all traffic"
    low, high = rule.get("FromPort"), rule.get("ToPort")
    return f"{rule['IpProtocol']} {low}" + (f"-{high}" if high != low else "")


def _rules_naming_groups(clients, wanted):
    # A rule belongs to its group, and carries its tags.
    client = clients("ec2")
    groups = list(pages(client, "describe_security_groups", "SecurityGroups"))
    names = {group["GroupId"]: group["GroupName"] for group in groups}
    for group, tags in _wanted_groups(groups, wanted):
        filters = [{"Name": "group-id", "Values": [group["GroupId"]]}]
        for rule in pages(client, "describe_security_group_rules", "SecurityGroupRules", Filters=filters):
            named = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
            if not named:
                continue
            direction = "to" if rule["IsEgress"] else "from"
            name = f"{group['GroupName']}: {_ports(rule)} {direction} {names.get(named, named)}"
            yield Resource(
                id=rule["SecurityGroupRuleId"],
                name=name,
                full_name=f"{name} ({rule['SecurityGroupRuleId']})",
                arn=rule.get("SecurityGroupRuleArn", ""),
                tags=tags,
                details=rule,
            )


def _vpc_endpoints(clients, wanted):
    for endpoint in pages(clients("ec2"), "describe_vpc_endpoints", "VpcEndpoints"):
        tags = tag_dict(endpoint.get("Tags"))
        if endpoint.get("State", "").lower() not in ("deleting", "deleted") and wanted(tags):
            name = tags.get("Name") or f"{endpoint['ServiceName']} in {endpoint['VpcId']}"
            yield Resource(
                id=endpoint["VpcEndpointId"],
                name=name,
                full_name=f"{name} ({endpoint['VpcEndpointId']})",
                arn="",
                tags=tags,
                details=endpoint,
            )


VPC_ENDPOINT = Kind("VPC endpoint", "ec2", _vpc_endpoints)
SECURITY_GROUP_RULE = Kind("EC2 security group rule", "ec2", _rules_naming_groups)
SECURITY_GROUP = Kind("EC2 security group", "ec2", _groups)
KINDS = (VPC_ENDPOINT, SECURITY_GROUP_RULE, SECURITY_GROUP)
