"""VPC endpoints, and EC2 security groups. The rules of the course's groups that name another group are revoked
first, so that groups naming each other (a task group admitting the load balancer's) can all go.
A group stays in use while a network interface has it (a load balancer's, an ECS task's): AWS takes
minutes to remove those after their owner is deleted, and refuses the group until then."""

from labkit.inventory import ec2
from labkit.teardown.base import Deletion


def revoke_rule(client, rule):
    revoke = client.revoke_security_group_egress if rule.details["IsEgress"] else client.revoke_security_group_ingress
    revoke(GroupId=rule.details["GroupId"], SecurityGroupRuleIds=[rule.id])


DELETIONS = (
    Deletion(ec2.VPC_ENDPOINT, lambda client, endpoint: client.delete_vpc_endpoints(VpcEndpointIds=[endpoint.id])),
    Deletion(ec2.SECURITY_GROUP_RULE, revoke_rule),
    # DependencyViolation: a network interface still has it, or another group's rule names it.
    Deletion(
        ec2.SECURITY_GROUP,
        lambda client, group: client.delete_security_group(GroupId=group.id),
        busy_codes=("DependencyViolation",),
    ),
)
