"""Delivery: pipelines first (nothing starts a build or deploys a stack after), CodeBuild projects, then
stacks, each waited for until CloudFormation has deleted what it made (before the kinds it made: a
stack's function, API, queue and role go with it). Artifact buckets are S3 buckets, emptied and
deleted with the others."""

from labkit.inventory import delivery
from labkit.inventory.errors import unless_gone
from labkit.teardown.base import Deletion, wait_until


def delete_stack(client, stack):
    client.delete_stack(StackName=stack.arn)

    def gone():
        found = unless_gone(client.describe_stacks, StackName=stack.arn)
        status = found["Stacks"][0]["StackStatus"] if found and found["Stacks"] else "DELETE_COMPLETE"
        if status == "DELETE_FAILED":
            raise RuntimeError(f"stack {stack.name} is DELETE_FAILED: see its events")
        return status == "DELETE_COMPLETE"

    wait_until(gone, f"the deletion of stack {stack.name}")


DELETIONS = (
    Deletion(delivery.PIPELINE, lambda client, pipeline: client.delete_pipeline(name=pipeline.id)),
    Deletion(delivery.PROJECT, lambda client, project: client.delete_project(name=project.id)),
    Deletion(delivery.STACK, delete_stack),
)
