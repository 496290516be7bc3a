"""Delivery (lab 09): CloudFormation stacks, CodePipeline pipelines and CodeBuild projects."""

from labkit.awsapi import chunks, pages, tag_dict
from labkit.inventory.base import Kind, Resource
from labkit.inventory.errors import unless_gone

GONE_STACK_STATES = ("DELETE_COMPLETE", "DELETE_IN_PROGRESS")


def _stacks(clients, wanted):
    for stack in pages(clients("cloudformation"), "describe_stacks", "Stacks"):
        tags = tag_dict(stack.get("Tags"))
        if stack["StackStatus"] not in GONE_STACK_STATES and wanted(tags):
            name = stack["StackName"]
            yield Resource(id=name, name=name, arn=stack["StackId"], tags=tags, details=stack)


def _pipelines(clients, wanted):
    client = clients("codepipeline")
    for summary in pages(client, "list_pipelines", "pipelines"):
        name = summary["name"]
        found = unless_gone(client.get_pipeline, name=name)
        if found is None:
            continue
        arn = found["metadata"]["pipelineArn"]
        answer = unless_gone(client.list_tags_for_resource, resourceArn=arn)
        tags = tag_dict(answer.get("tags") if answer else None, "key", "value")
        if answer is not None and wanted(tags):
            yield Resource(id=name, name=name, arn=arn, tags=tags, details=found["pipeline"])


def _projects(clients, wanted):
    client = clients("codebuild")
    names = list(pages(client, "list_projects", "projects"))
    for batch in chunks(names, 100):  # BatchGetProjects takes at most 100 names
        for project in client.batch_get_projects(names=batch)["projects"]:
            tags = tag_dict(project.get("tags"), "key", "value")
            if wanted(tags):
                yield Resource(id=project["name"], name=project["name"], arn=project["arn"], tags=tags, details=project)


STACK = Kind("CloudFormation stack", "cloudformation", _stacks)
PIPELINE = Kind("CodePipeline pipeline", "codepipeline", _pipelines)
PROJECT = Kind("CodeBuild project", "codebuild", _projects)
KINDS = (PIPELINE, PROJECT, STACK)
