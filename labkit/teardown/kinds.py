"""Every kind of resource teardown knows, in the order they are deleted: what uses a resource goes
before it (an API before its function, a function before its role, a listener before its target
group). A lab that deploys a new kind adds a Kind to its service's module and lists it here."""

from labkit.teardown import (
    apigateway,
    autoscaling,
    cloudmap,
    cognito,
    dynamodb,
    ecr,
    ecs,
    elb,
    events,
    iam,
    kms,
    lambda_,
    logs,
    s3,
    secretsmanager,
    sqs_sns,
    stepfunctions,
)

KINDS = (
    *apigateway.KINDS,
    *lambda_.KINDS,
    *sqs_sns.KINDS,
    *autoscaling.KINDS,
    *ecs.KINDS,
    *elb.KINDS,
    *cloudmap.KINDS,
    *cognito.KINDS,
    *secretsmanager.KINDS,
    *kms.KINDS,
    *dynamodb.KINDS,
    *logs.KINDS,
    *ecr.KINDS,
    *events.KINDS,
    *stepfunctions.KINDS,
    *s3.KINDS,
    *iam.KINDS,
)
