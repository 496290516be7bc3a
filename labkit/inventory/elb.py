"""Elastic Load Balancing v2: load balancers, their listeners, target groups, and the trust stores
of mutual TLS."""

from labkit.awsapi import chunks, pages, tag_dict
from labkit.inventory.base import Kind, Resource


def _with_tags(client, items, arn_key):
    """(item, tags) for each item; DescribeTags takes at most 20 ARNs a call."""
    for batch in chunks(list(items), 20):
        described = client.describe_tags(ResourceArns=[item[arn_key] for item in batch])
        tags_by_arn = {entry["ResourceArn"]: tag_dict(entry.get("Tags")) for entry in described["TagDescriptions"]}
        for item in batch:
            yield item, tags_by_arn.get(item[arn_key], {})


def _wanted_load_balancers(client, wanted):
    balancers = pages(client, "describe_load_balancers", "LoadBalancers")
    for balancer, tags in _with_tags(client, balancers, "LoadBalancerArn"):
        if wanted(tags):
            yield balancer, tags


def _listeners(clients, wanted):
    # Listeners (and their rules) belong to their load balancer.
    client = clients("elbv2")
    for balancer, tags in _wanted_load_balancers(client, wanted):
        for listener in pages(client, "describe_listeners", "Listeners", LoadBalancerArn=balancer["LoadBalancerArn"]):
            arn = listener["ListenerArn"]
            name = f"{balancer['LoadBalancerName']} :{listener.get('Port', '?')}"
            yield Resource(id=arn, name=name, arn=arn, tags=tags, details=listener)


def _load_balancers(clients, wanted):
    for balancer, tags in _wanted_load_balancers(clients("elbv2"), wanted):
        arn = balancer["LoadBalancerArn"]
        yield Resource(id=arn, name=balancer["LoadBalancerName"], arn=arn, tags=tags, details=balancer)


def _target_groups(clients, wanted):
    client = clients("elbv2")
    groups = pages(client, "describe_target_groups", "TargetGroups")
    for group, tags in _with_tags(client, groups, "TargetGroupArn"):
        if wanted(tags):
            arn = group["TargetGroupArn"]
            yield Resource(id=arn, name=group["TargetGroupName"], arn=arn, tags=tags, details=group)


def _trust_stores(clients, wanted):
    client = clients("elbv2")
    stores = pages(client, "describe_trust_stores", "TrustStores")
    for store, tags in _with_tags(client, stores, "TrustStoreArn"):
        if wanted(tags):
            arn = store["TrustStoreArn"]
            yield Resource(id=arn, name=store["Name"], arn=arn, tags=tags, details=store)


LISTENER = Kind("ELB listener", "elbv2", _listeners)
# Application, network and gateway load balancers: details["Type"] tells them apart.
LOAD_BALANCER = Kind("ELB load balancer", "elbv2", _load_balancers)
TARGET_GROUP = Kind("ELB target group", "elbv2", _target_groups)
TRUST_STORE = Kind("ELB trust store", "elbv2", _trust_stores)
KINDS = (LISTENER, LOAD_BALANCER, TARGET_GROUP, TRUST_STORE)
