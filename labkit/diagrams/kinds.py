"""The kinds of node a diagram can hold, and the `diagrams` class whose icon draws each.

A spec's `kind` and a live node's kind use the same names, so a live resource is matched to the spec
node of the same kind and name. A lab that needs a new kind adds one line here.
"""

import importlib

ICONS = {
    # things on your machine
    "client": ("diagrams.onprem.client", "Client"),
    "user": ("diagrams.onprem.client", "User"),
    "users": ("diagrams.onprem.client", "Users"),
    "browser": ("diagrams.azure.general", "Browser"),
    "process": ("diagrams.programming.language", "Python"),
    "module": ("diagrams.programming.language", "Python"),
    "monolith": ("diagrams.programming.framework", "Flask"),
    "sqlite": ("diagrams.generic.database", "SQL"),
    # AWS resources
    "apigateway": ("diagrams.aws.network", "APIGateway"),
    "httpapi": ("diagrams.aws.network", "APIGateway"),
    "lambda": ("diagrams.aws.compute", "Lambda"),
    "dynamodb": ("diagrams.aws.database", "Dynamodb"),
    # ElastiCache's own icon: a cache may be Valkey, Redis OSS or Memcached (the library has no Valkey icon).
    "elasticache": ("diagrams.aws.database", "ElastiCache"),
    "sqs": ("diagrams.aws.integration", "SQS"),
    "sns": ("diagrams.aws.integration", "SNS"),
    "ecs_service": ("diagrams.aws.compute", "ElasticContainerServiceService"),
    "alb": ("diagrams.aws.network", "ALB"),
    "nlb": ("diagrams.aws.network", "NLB"),
    "target_group": ("diagrams.aws.network", "ElasticLoadBalancing"),
    "cognito": ("diagrams.aws.security", "Cognito"),
    "kms": ("diagrams.aws.security", "KMS"),
    "secret": ("diagrams.aws.security", "SecretsManager"),
    "s3": ("diagrams.aws.storage", "SimpleStorageServiceS3Bucket"),
    "iam_role": ("diagrams.aws.security", "IAMRole"),
    "cloudmap": ("diagrams.aws.network", "CloudMap"),
    "vpc_endpoint": ("diagrams.aws.network", "Endpoint"),
    "eventbridge": ("diagrams.aws.integration", "Eventbridge"),
    "cloudwatch_logs": ("diagrams.aws.management", "CloudwatchLogs"),
    "cloudwatch_alarm": ("diagrams.aws.management", "CloudwatchAlarm"),
    "cloudwatch_dashboard": ("diagrams.aws.management", "Cloudwatch"),
    "cloudtrail": ("diagrams.aws.management", "Cloudtrail"),
    "xray": ("diagrams.aws.devtools", "XRay"),
    "cloudformation": ("diagrams.aws.management", "Cloudformation"),
    "codepipeline": ("diagrams.aws.devtools", "Codepipeline"),
    "codebuild": ("diagrams.aws.devtools", "Codebuild"),
    "codedeploy": ("diagrams.aws.devtools", "Codedeploy"),
}

KINDS = tuple(ICONS)


def icon_class(kind: str):
    module, name = ICONS[kind]
    return getattr(importlib.import_module(module), name)
