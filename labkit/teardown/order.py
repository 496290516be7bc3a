"""Every kind of resource teardown deletes, in the order it deletes them: what uses a resource goes
before it (an API before its function, a function before its role, a listener before its target
group, a load balancer or ECS service before its security groups). A kind the inventory lists gets
its Deletion in its service's module, placed here."""

from labkit.teardown import (
    acm,
    apigateway,
    autoscaling,
    cloudmap,
    cloudwatch,
    codedeploy,
    cognito,
    delivery,
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

DELETIONS = (
    *delivery.DELETIONS,
    *apigateway.DELETIONS,
    *lambda_.DELETIONS,
    *sqs_sns.DELETIONS,
    *cloudwatch.DELETIONS,
    *codedeploy.DELETIONS,
    *autoscaling.DELETIONS,
    *ecs.DELETIONS,
    *elb.DELETIONS,
    *acm.DELETIONS,
    *ec2.DELETIONS,
    *cloudmap.DELETIONS,
    *cognito.DELETIONS,
    *secretsmanager.DELETIONS,
    *kms.DELETIONS,
    *dynamodb.DELETIONS,
    *logs.DELETIONS,
    *ecr.DELETIONS,
    *events.DELETIONS,
    *stepfunctions.DELETIONS,
    *s3.DELETIONS,
    *iam.DELETIONS,
)
