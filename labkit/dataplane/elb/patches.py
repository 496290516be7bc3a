"""Where the ELB data plane meets moto's ELBv2 models (moto 5.2.5): targets are kept by the data
plane, which reports their real health, and listener servers follow listener changes.

Creating a load balancer or a target group is idempotent on AWS: the same name with the same
settings returns the existing one (a notebook cell can run twice); moto makes a second load balancer
of that name and refuses a second target group. Here both return the existing one, and a different
setting under a taken name gets AWS's Duplicate...Name error. SEAMS (at the end) lists each change."""

import functools

from labkit.dataplane.core.seams import Seam
from labkit.dataplane.elb import listeners, targets, vpc


def _then(method, after):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        after(self, result)
        return result

    return wrapper


def _existing_or_new_load_balancer(create):
    @functools.wraps(create)
    def wrapper(self, name, *args, **kwargs):
        from moto.elbv2.exceptions import DuplicateLoadBalancerName

        existing = next((b for b in self.load_balancers.values() if b.name == name), None)
        if existing is None:
            return create(self, name, *args, **kwargs)
        wanted = (kwargs.get("scheme") or "internet-facing", kwargs.get("loadbalancer_type") or "application")
        if (existing.scheme or "internet-facing", existing.type) != wanted:
            raise DuplicateLoadBalancerName()
        return existing

    return wrapper


# CreateTargetGroup's health check settings (moto's keyword) and the target group's attribute: a
# repeated name with any setting changed is a DuplicateTargetGroupName on AWS, not the old group.
_HEALTH_CHECK_SETTINGS = {
    "healthcheck_protocol": "health_check_protocol",
    "healthcheck_port": "health_check_port",
    "healthcheck_path": "health_check_path",
    "healthcheck_interval_seconds": "health_check_interval_seconds",
    "healthcheck_timeout_seconds": "health_check_timeout_seconds",
    "healthy_threshold_count": "healthy_threshold_count",
    "unhealthy_threshold_count": "unhealthy_threshold_count",
    "matcher": "matcher",
}


def _existing_or_new_target_group(create):
    @functools.wraps(create)
    def wrapper(self, name, **kwargs):
        from moto.elbv2.exceptions import DuplicateTargetGroupName

        existing = next((g for g in self.target_groups.values() if g.name == name), None)
        if existing is None:
            return create(self, name, **kwargs)
        asked = {
            "protocol": kwargs.get("protocol"),
            "port": kwargs.get("port"),
            "vpc_id": kwargs.get("vpc_id"),
            "target_type": kwargs.get("target_type") or "instance",
            **{attribute: kwargs.get(setting) for setting, attribute in _HEALTH_CHECK_SETTINGS.items()},
        }
        if any(value is not None and str(getattr(existing, key)) != str(value) for key, value in asked.items()):
            raise DuplicateTargetGroupName()
        return existing

    return wrapper


def _register(self, new_targets):
    from moto.elbv2.exceptions import TargetNotRunning

    runtime = targets.runtime_of(self)
    for target in new_targets:
        instance = self.ec2_backend.get_instance_by_id(target["Id"])
        if instance is not None and instance.state != "running":
            raise TargetNotRunning(instance_id=target["Id"])
        if self.target_type == "ip":
            vpc.check_target_address(self, target)
        runtime.register(target["Id"], int(target.get("Port") or self.port))


def _deregister(self, old_targets):
    from moto.elbv2.exceptions import InvalidTargetError

    runtime = targets.runtime_of(self)
    for target in old_targets:
        if runtime.deregister(target["Id"], int(target.get("Port") or self.port)) is None:
            raise InvalidTargetError()


def _health_for(self, target, ec2_backend):
    from moto.elbv2.models import FakeHealthStatus

    port = int(target.get("Port") or self.port)
    found = targets.runtime_of(self).find(target["Id"], port)
    health_port = str(port) if self.health_check_port in (None, "traffic-port") else self.health_check_port
    if found is None:
        return FakeHealthStatus(target["Id"], port, health_port, targets.UNUSED, *targets.NOT_REGISTERED)
    return FakeHealthStatus(found.id, found.port, health_port, found.state, found.reason, found.description)


def _listeners_and_targets_follow(method):
    return _then(_then(method, lambda *_: listeners.sync()), lambda *_: targets.rules_changed())


def _targets_follow(method):
    return _then(method, lambda *_: targets.rules_changed())


_GROUP = "moto.elbv2.models.FakeTargetGroup"
_BACKEND = "moto.elbv2.models.ELBv2Backend"
SEAMS = (
    Seam(f"{_GROUP}.register", ("self", "targets"), replace=lambda _: _register),
    Seam(f"{_GROUP}.deregister", ("self", "targets"), replace=lambda _: _deregister),
    Seam(f"{_GROUP}.health_for", ("self", "target", "ec2_backend"), replace=lambda _: _health_for),
    Seam(
        f"{_BACKEND}.create_listener",
        (
            "self",
            "load_balancer_arn",
            "protocol",
            "port",
            "ssl_policy",
            "certificate",
            "actions",
            "alpn_policy",
            "tags",
        ),
        replace=_listeners_and_targets_follow,
    ),
    Seam(f"{_BACKEND}.delete_listener", ("self", "listener_arn"), replace=_listeners_and_targets_follow),
    Seam(f"{_BACKEND}.delete_load_balancer", ("self", "arn"), replace=_listeners_and_targets_follow),
    Seam(
        f"{_BACKEND}.modify_listener",
        ("self", "arn", "port", "protocol", "ssl_policy", "certificates", "actions"),
        replace=_listeners_and_targets_follow,
    ),
    Seam(
        f"{_BACKEND}.create_rule",
        ("self", "listener_arn", "conditions", "priority", "actions", "tags"),
        replace=_targets_follow,
    ),
    Seam(f"{_BACKEND}.modify_rule", ("self", "rule_arn", "conditions", "actions"), replace=_targets_follow),
    Seam(f"{_BACKEND}.delete_rule", ("self", "arn"), replace=_targets_follow),
    Seam(f"{_BACKEND}.set_rule_priorities", ("self", "rule_priorities"), replace=_targets_follow),
    Seam(
        f"{_BACKEND}.create_load_balancer",
        (
            "self",
            "name",
            "security_groups",
            "subnet_ids",
            "subnet_mappings",
            "scheme",
            "loadbalancer_type",
            "ip_address_type",
            "tags",
        ),
        replace=_existing_or_new_load_balancer,
    ),
    Seam(f"{_BACKEND}.create_target_group", ("self", "name", "kwargs"), replace=_existing_or_new_target_group),
    Seam(
        f"{_BACKEND}.delete_target_group",
        ("self", "target_group_arn"),
        replace=lambda original: _then(original, lambda _, group: targets.forget(group)),
    ),
)
