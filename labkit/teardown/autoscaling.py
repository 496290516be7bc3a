"""Application Auto Scaling: the target tracking alarms and scalable targets of the course's ECS
services, also those whose service or cluster is already deleted (AWS leaves a target registered
then). Deregistering a target deletes its scaling policies and, on AWS, their alarms."""

from labkit.inventory import autoscaling
from labkit.teardown.base import Deletion


def deregister(client, target):
    client.deregister_scalable_target(
        ServiceNamespace="ecs", ResourceId=target.id, ScalableDimension=target.details["ScalableDimension"]
    )


DELETIONS = (
    # Before their targets: on AWS deregistering a target deletes its alarms, and a report saying
    # teardown deleted them would then be untrue.
    Deletion(autoscaling.TARGET_TRACKING_ALARM, lambda client, alarm: client.delete_alarms(AlarmNames=[alarm.id])),
    Deletion(autoscaling.SCALABLE_TARGET, deregister),
)
