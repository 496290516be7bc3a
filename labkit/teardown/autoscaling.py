"""Application Auto Scaling: the scalable targets of ECS services the course tagged. AWS leaves a
target registered when its service is deleted: it is deregistered first, which also deletes its
scaling policies and their alarms."""

from labkit.inventory import autoscaling
from labkit.teardown.base import Deletion


def deregister(client, target):
    client.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=target.id, ScalableDimension=target.details["ScalableDimension"]
    )


DELETIONS = (Deletion(autoscaling.SCALABLE_TARGET, deregister),)
