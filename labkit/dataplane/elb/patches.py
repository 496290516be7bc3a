"""Where the ELB data plane meets moto's ELBv2 models (moto 5.2.5): targets are kept by the data
plane, which reports their real health, and listener servers follow listener changes."""
import functools

from labkit.dataplane.elb import listeners, targets


def patch_models(models) -> None:
    group_class, backend_class = models.FakeTargetGroup, models.ELBv2Backend
    group_class.register = _register
    group_class.deregister = _deregister
    group_class.health_for = _health_for
    for name in ("create_listener", "delete_listener", "delete_load_balancer", "modify_listener"):
        setattr(backend_class, name, _then(getattr(backend_class, name), lambda *_: listeners.sync()))
    for name in ("create_listener", "delete_listener", "delete_load_balancer", "modify_listener",
                 "create_rule", "modify_rule", "delete_rule", "set_rule_priorities"):
        setattr(backend_class, name, _then(getattr(backend_class, name),
                                           lambda *_: targets.rules_changed()))
    backend_class.delete_target_group = _then(backend_class.delete_target_group,
                                              lambda _, group: targets.forget(group))


def _then(method, after):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        after(self, result)
        return result
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
        return FakeHealthStatus(target["Id"], port, health_port, targets.UNUSED,
                                *targets.NOT_REGISTERED)
    return FakeHealthStatus(found.id, found.port, health_port, found.state, found.reason,
                            found.description)
