"""Elastic Load Balancing v2: the listeners of tagged load balancers, the load balancers, then the
target groups (a target group stays "in use" until its load balancer is fully gone), and the trust
stores, which AWS refuses to delete while a listener uses one."""

from labkit.inventory import elb
from labkit.teardown.base import Deletion

DELETIONS = (
    Deletion(elb.LISTENER, lambda client, listener: client.delete_listener(ListenerArn=listener.id)),
    Deletion(elb.LOAD_BALANCER, lambda client, balancer: client.delete_load_balancer(LoadBalancerArn=balancer.id)),
    Deletion(
        elb.TARGET_GROUP,
        lambda client, group: client.delete_target_group(TargetGroupArn=group.id),
        busy_codes=("ResourceInUse",),
    ),
    Deletion(
        elb.TRUST_STORE,
        lambda client, store: client.delete_trust_store(TrustStoreArn=store.id),
        busy_codes=("TrustStoreInUse",),
    ),
)
