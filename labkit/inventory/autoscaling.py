"""Application Auto Scaling of ECS services: their scalable targets, and the CloudWatch alarms that
target tracking makes for them (TargetTracking-service/<cluster>/<service>-AlarmHigh-<id>).

AWS leaves a target registered when its service or cluster is deleted, and the alarms carry no
tags, nor does a target registered without Tags. So both are the course's by their ECS service's
tags while ECS still describes the service (a deleted one as INACTIVE: for a while on AWS, for good
on moto), and after that by the target's own tags (RegisterScalableTarget takes Tags since 2023)."""

import re

from botocore.exceptions import ClientError

from labkit.awsapi import pages, tag_dict
from labkit.inventory.base import Kind, Resource, Tags
from labkit.inventory.errors import is_gone, unless_gone

ALARM_NAME = re.compile(r"TargetTracking-(service/[^/]+/.+)-Alarm(High|Low)-[0-9a-f-]+")


def _service_tags(ecs, resource_id: str) -> Tags | None:
    """The tags of the ECS service `service/<cluster>/<service>`, or None once ECS no longer
    describes it."""
    _, cluster, service = resource_id.split("/", 2)
    try:
        found = ecs.describe_services(cluster=cluster, services=[service], include=["TAGS"])["services"]
    except ClientError as error:
        if is_gone(error):  # ClusterNotFoundException
            return None
        raise
    return tag_dict(found[0].get("tags"), "key", "value") if found else None


def _owner_tags(clients, resource_id: str, target_arn: str | None) -> Tags:
    tags = _service_tags(clients("ecs"), resource_id)
    if tags is None and target_arn:
        # Only here: moto has no ListTagsForResource for scalable targets.
        answer = unless_gone(clients("application-autoscaling").list_tags_for_resource, ResourceARN=target_arn)
        tags = (answer or {}).get("Tags")
    return tags or {}


def _targets(clients):
    return pages(
        clients("application-autoscaling"), "describe_scalable_targets", "ScalableTargets", ServiceNamespace="ecs"
    )


def _ecs_targets(clients, wanted):
    for target in _targets(clients):
        tags = _owner_tags(clients, target["ResourceId"], target.get("ScalableTargetARN"))
        if wanted(tags):
            yield Resource(
                id=target["ResourceId"],
                name=target["ResourceId"],
                arn=target.get("ScalableTargetARN", ""),
                tags=tags,
                details=target,
            )


def _target_tracking_alarms(clients, wanted):
    # An alarm whose target is gone too (moto keeps them) goes by its service's tags alone.
    target_arns = {target["ResourceId"]: target.get("ScalableTargetARN") for target in _targets(clients)}
    owners: dict[str, Tags] = {}
    alarms = pages(clients("cloudwatch"), "describe_alarms", "MetricAlarms", AlarmNamePrefix="TargetTracking-service/")
    for alarm in alarms:
        match = ALARM_NAME.fullmatch(alarm["AlarmName"])
        if not match:
            continue
        resource_id = match[1]
        if resource_id not in owners:
            owners[resource_id] = _owner_tags(clients, resource_id, target_arns.get(resource_id))
        if wanted(owners[resource_id]):
            name = alarm["AlarmName"]
            yield Resource(id=name, name=name, arn=alarm["AlarmArn"], tags=owners[resource_id], details=alarm)


TARGET_TRACKING_ALARM = Kind("Target tracking alarm", "cloudwatch", _target_tracking_alarms)
SCALABLE_TARGET = Kind("Auto Scaling target", "application-autoscaling", _ecs_targets)
KINDS = (TARGET_TRACKING_ALARM, SCALABLE_TARGET)
