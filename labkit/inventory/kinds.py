"""Every kind of resource the inventory lists, service by service. Teardown deletes each of them
(tests/test_inventory.py checks it), in an order of its own (labkit.teardown.order)."""

from labkit.inventory import (
    apigateway,
    autoscaling,
    cloudmap,
    cognito,
    dynamodb,
    ec2,
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
    *autoscaling.KINDS,
    *cloudmap.KINDS,
    *cognito.KINDS,
    *dynamodb.KINDS,
    *ec2.KINDS,
    *ecr.KINDS,
    *ecs.KINDS,
    *elb.KINDS,
    *events.KINDS,
    *iam.KINDS,
    *kms.KINDS,
    *lambda_.KINDS,
    *logs.KINDS,
    *s3.KINDS,
    *secretsmanager.KINDS,
    *sqs_sns.KINDS,
    *stepfunctions.KINDS,
)
