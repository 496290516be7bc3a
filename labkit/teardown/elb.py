"""Elastic Load Balancing v2: the listeners of tagged load balancers, the load balancers, then the
target groups (a target group stays "in use" until its load balancer is fully gone)."""

from labkit.awsapi import chunks, pages, tag_dict
from labkit.teardown.base import Kind, Resource


def _with_tags(client, items, arn_key):
    """(item, tags) for each item; DescribeTags takes at most 20 ARNs a call."""
    for batch in chunks(list(items), 20):
        described = client.describe_tags(ResourceArns=[item[arn_key] for item in batch])
        tags_by_arn = {entry["ResourceArn"]: tag_dict(entry.get("Tags")) for entry in described["TagDescriptions"]}
        for item in batch:
            yield item, tags_by_arn.get(item[arn_key], {})


def _tagged_load_balancers(client, wanted):
    balancers = pages(client, "describe_load_balancers", "LoadBalancers")
    for balancer, tags in _with_tags(client, balancers, "LoadBalancerArn"):
        if wanted(tags):
            yield balancer, tags


def find_listeners(client, wanted):
    # Listeners (and their rules) belong to their load balancer.
    for balancer, tags in _tagged_load_balancers(client, wanted):
        for listener in pages(client, "describe_listeners", "Listeners", LoadBalancerArn=balancer["LoadBalancerArn"]):
            yield Resource(
                id=listener["ListenerArn"],
                tags=tags,
                name=f"{balancer['LoadBalancerName']} :{listener.get('Port', '?')}",
            )


def find_load_balancers(client, wanted):
    for balancer, tags in _tagged_load_balancers(client, wanted):
        yield Resource(id=balancer["LoadBalancerArn"], name=balancer["LoadBalancerName"], tags=tags)


def find_target_groups(client, wanted):
    groups = pages(client, "describe_target_groups", "TargetGroups")
    for group, tags in _with_tags(client, groups, "TargetGroupArn"):
        if wanted(tags):
            yield Resource(id=group["TargetGroupArn"], name=group["TargetGroupName"], tags=tags)


KINDS = (
    Kind(
        "ELB listener",
        "elbv2",
        find_listeners,
        lambda client, listener: client.delete_listener(ListenerArn=listener.id),
    ),
    Kind(
        "ELB load balancer",
        "elbv2",
        find_load_balancers,
        lambda client, balancer: client.delete_load_balancer(LoadBalancerArn=balancer.id),
    ),
    Kind(
        "ELB target group",
        "elbv2",
        find_target_groups,
        lambda client, group: client.delete_target_group(TargetGroupArn=group.id),
        busy_codes=("ResourceInUse",),
    ),
)
