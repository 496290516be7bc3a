"""Where the ELB data plane meets moto's ELBv2 models (moto 5.2.5): targets are kept by the data
plane, which reports their real health, and listener servers follow listener changes.

Creating a load balancer or a target group is idempotent on AWS: the same name with the same
settings returns the existing one (a notebook cell can run twice); moto makes a second load balancer
of that name and refuses a second target group. Here both return the existing one, and a different
setting under a taken name gets AWS's Duplicate...Name error."""

import functools

from labkit.dataplane.elb import listeners, targets


def patch_models(models) -> None:
    group_class, backend_class = models.FakeTargetGroup, models.ELBv2Backend
    group_class.register = _register
    group_class.deregister = _deregister
    group_class.health_for = _health_for
    for name in ("create_listener", "delete_listener", "delete_load_balancer", "modify_listener"):
        setattr(backend_class, name, _then(getattr(backend_class, name), lambda *_: listeners.sync()))
    for name in (
        "create_listener",
        "delete_listener",
        "delete_load_balancer",
        "modify_listener",
        "create_rule",
        "modify_rule",
        "delete_rule",
        "set_rule_priorities",
    ):
        setattr(backend_class, name, _then(getattr(backend_class, name), lambda *_: targets.rules_changed()))
    backend_class.create_load_balancer = _existing_or_new_load_balancer(backend_class.create_load_balancer)
    backend_class.create_target_group = _existing_or_new_target_group(backend_class.create_target_group)
    backend_class.delete_target_group = _then(backend_class.delete_target_group, lambda _, group: targets.forget(group))


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
