"""`labkit teardown` against a local cloud of its own: it deletes exactly what the course tagged for
the chosen lab, in dependency order, reports it, and never touches (not even modifies) anything
else.

First, with few resources on the cloud (every survey lists them all), a deletion that fails and a
kind that cannot be listed. Then three copies of a deployment of every kind teardown knows are made:
lab 02's, lab 03's and an untagged decoy, and the tests go on in file order, as the story goes: a
refusal, a "no" at the prompt, lab 02's teardown, then everything's.
"""

import dataclasses
import io
import json
import sys
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError
from private_cloud import private_cloud
from support import CertificateAuthority, wait_for

from labkit import cli
from labkit.teardown import order, run_cli, teardown
from labkit.teardown.base import AWS_PACING

# Every kind the local cloud can make: moto has no PutCompositeAlarm (README's CloudWatch note).
LABEL_OF_EVERY_KIND = {deletion.kind.label for deletion in order.DELETIONS} - {"CloudWatch composite alarm"}
# What is left of a deleted resource: nothing (None); but AWS keeps a KMS key for 7 days, pending
# deletion (its aliases go at once), a private CA for 7 days, DELETED, and a scalable target's lookup
# finds an empty list.
STATE_WHEN_GONE = {"kms key": ("PendingDeletion", []), "scalable target": [], "private ca": "DELETED"}


@pytest.fixture(scope="module")
def cloud():
    """A local cloud for this file only: teardown of "everything" must not reach other tests'."""
    with private_cloud("labkit-teardown-test-") as env:
        yield env


class Aws:
    """The clients the tests use, made after course.start pointed boto3 at the test cloud."""

    def __init__(self):
        for attribute, service in (
            ("ag", "apigateway"),
            ("ag2", "apigatewayv2"),
            ("iam", "iam"),
            ("lam", "lambda"),
            ("sqs", "sqs"),
            ("sns", "sns"),
            ("ddb", "dynamodb"),
            ("sm", "secretsmanager"),
            ("kms", "kms"),
            ("logs", "logs"),
            ("ecs", "ecs"),
            ("elb", "elbv2"),
            ("ec2", "ec2"),
            ("s3", "s3"),
            ("sd", "servicediscovery"),
            ("idp", "cognito-idp"),
            ("ecr", "ecr"),
            ("events", "events"),
            ("sfn", "stepfunctions"),
            ("scaling", "application-autoscaling"),
            ("cw", "cloudwatch"),
            ("acm", "acm"),
            ("pca", "acm-pca"),
            ("cd", "codedeploy"),
            ("cfn", "cloudformation"),
            ("pipelines", "codepipeline"),
            ("builds", "codebuild"),
        ):
            setattr(self, attribute, boto3.client(service))


@pytest.fixture(scope="module")
def aws(cloud):
    return Aws()


def course_tags(lab):
    return {"labkit:course": "monolith-to-microservices", "labkit:owner": "learner", "labkit:lab": lab}


def make_security_groups(aws, prefix, vpc, tags):
    """A load balancer's group and a task group that admits it by a rule naming it, as the labs make
    them; returns their ids."""
    pairs = [{"Key": key, "Value": value} for key, value in tags.items()]
    tagged = {"TagSpecifications": [{"ResourceType": "security-group", "Tags": pairs}]} if tags else {}
    balancer, tasks = (
        aws.ec2.create_security_group(GroupName=f"{prefix}-{name}", Description=name, VpcId=vpc, **tagged)["GroupId"]
        for name in ("alb", "tasks")
    )
    aws.ec2.authorize_security_group_ingress(
        GroupId=tasks,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "UserIdGroupPairs": [{"GroupId": balancer}]}
        ],
    )
    return [balancer, tasks]


def security_groups(aws, group_ids):
    """Each group still there: its name, and the groups its rules name."""
    found = aws.ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": group_ids}])["SecurityGroups"]
    return sorted(
        (group["GroupName"], [pair["GroupId"] for rule in group["IpPermissions"] for pair in rule["UserIdGroupPairs"]])
        for group in found
    )


def track_cpu(aws, resource_id):
    """A target tracking policy on the service's CPU: it makes its alarms, TargetTracking-<resource id>-..."""
    aws.scaling.put_scaling_policy(
        PolicyName="cpu",
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension="ecs:service:DesiredCount",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 50.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
        },
    )


def target_tracking_alarms(aws, resource_id):
    """The names of the alarms target tracking made for the service, their ids left out."""
    alarms = aws.cw.describe_alarms(AlarmNamePrefix=f"TargetTracking-{resource_id}-")["MetricAlarms"]
    return sorted(alarm["AlarmName"].split("-Alarm")[1].split("-")[0] for alarm in alarms)


def deploy(aws, prefix, tags):
    """One resource (or pair) of every kind teardown knows, named `prefix-...`, carrying `tags`
    (none for a decoy). Returns the ids the checks need."""
    pairs = [{"Key": key, "Value": value} for key, value in tags.items()]
    lower_pairs = [{"key": key, "value": value} for key, value in tags.items()]

    def tagged(name, value):  # some APIs refuse an empty tag list
        return {name: value} if tags else {}

    ids = {"prefix": prefix}
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
        ],
    }
    role = aws.iam.create_role(
        RoleName=f"{prefix}-role", AssumeRolePolicyDocument=json.dumps(trust), **tagged("Tags", pairs)
    )["Role"]
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}
    )
    ids["policy"] = aws.iam.create_policy(
        PolicyName=f"{prefix}-policy", PolicyDocument=document, **tagged("Tags", pairs)
    )["Policy"]["Arn"]
    aws.iam.create_policy_version(PolicyArn=ids["policy"], PolicyDocument=document, SetAsDefault=True)
    aws.iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=ids["policy"])
    aws.iam.put_role_policy(RoleName=role["RoleName"], PolicyName="inline", PolicyDocument=document)
    aws.iam.create_instance_profile(InstanceProfileName=f"{prefix}-profile")
    aws.iam.add_role_to_instance_profile(InstanceProfileName=f"{prefix}-profile", RoleName=role["RoleName"])

    ids["queue"] = aws.sqs.create_queue(QueueName=f"{prefix}-queue", **tagged("tags", tags))["QueueUrl"]
    aws.sqs.send_message(QueueUrl=ids["queue"], MessageBody=f"{prefix} order 1")
    queue_arn = f"arn:aws:sqs:us-east-1:123456789012:{prefix}-queue"
    jobs_url = aws.sqs.create_queue(QueueName=f"{prefix}-jobs", **tagged("tags", tags))["QueueUrl"]
    ids["topic"] = aws.sns.create_topic(Name=f"{prefix}-topic", **tagged("Tags", pairs))["TopicArn"]
    aws.sns.subscribe(TopicArn=ids["topic"], Protocol="sqs", Endpoint=queue_arn)

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return 'ok'\n")
    ids["function"] = f"{prefix}-fn"
    aws.lam.create_function(
        FunctionName=ids["function"],
        Runtime="python3.11",
        Role=role["Arn"],
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
        Publish=True,
        **tagged("Tags", tags),
    )
    aws.lam.create_alias(FunctionName=ids["function"], Name="live", FunctionVersion="1")
    aws.lam.create_event_source_mapping(
        FunctionName=ids["function"],
        BatchSize=1,
        EventSourceArn=aws.sqs.get_queue_attributes(QueueUrl=jobs_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ],
    )

    ids["table"] = f"{prefix}-table"
    aws.ddb.create_table(
        TableName=ids["table"],
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        **tagged("Tags", pairs),
    )
    aws.ddb.put_item(TableName=ids["table"], Item={"id": {"S": "book-1"}})
    ids["secret"] = aws.sm.create_secret(
        Name=f"{prefix}-secret", SecretString=f"{prefix} s3cret", **tagged("Tags", pairs)
    )["ARN"]
    ids["key"] = aws.kms.create_key(
        **tagged("Tags", [{"TagKey": key, "TagValue": value} for key, value in tags.items()])
    )["KeyMetadata"]["KeyId"]
    aws.kms.create_alias(AliasName=f"alias/{prefix}-key", TargetKeyId=ids["key"])
    ids["log group"] = f"/labkit/{prefix}"
    aws.logs.create_log_group(logGroupName=ids["log group"], **tagged("tags", tags))
    aws.logs.put_metric_filter(
        logGroupName=ids["log group"],
        filterName=f"{prefix}-errors",
        filterPattern="ERROR",
        metricTransformations=[{"metricName": f"{prefix}-errors", "metricNamespace": "Bookshop", "metricValue": "1"}],
    )
    ids["alarm"] = f"{prefix}-errors"
    aws.cw.put_metric_alarm(
        AlarmName=ids["alarm"],
        Namespace="Bookshop",
        MetricName=f"{prefix}-errors",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        **tagged("Tags", pairs),
    )

    ids["rest api"] = aws.ag.create_rest_api(name=f"{prefix}-rest", **tagged("tags", tags))["id"]
    ids["http api"] = aws.ag2.create_api(Name=f"{prefix}-http", ProtocolType="HTTP", **tagged("Tags", tags))["ApiId"]

    ids["cluster"] = f"{prefix}-cluster"
    aws.ecs.create_cluster(clusterName=ids["cluster"], **tagged("tags", lower_pairs))
    ids["task definition"] = aws.ecs.register_task_definition(
        family=f"{prefix}-task",
        containerDefinitions=[{"name": "app", "image": "app", "memory": 128}],
        **tagged("tags", lower_pairs),
    )["taskDefinition"]["taskDefinitionArn"]
    ids["service"] = f"{prefix}-svc"
    aws.ecs.create_service(
        cluster=ids["cluster"],
        serviceName=ids["service"],
        desiredCount=1,
        taskDefinition=ids["task definition"],
        **tagged("tags", lower_pairs),
    )
    ids["scalable target"] = f"service/{ids['cluster']}/{ids['service']}"
    aws.scaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=ids["scalable target"],
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=1,
        MaxCapacity=2,
    )
    track_cpu(aws, ids["scalable target"])

    vpc = aws.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [subnet["SubnetId"] for subnet in aws.ec2.describe_subnets()["Subnets"]][:2]
    ids["security groups"] = make_security_groups(aws, prefix, vpc, tags)
    ids["load balancer"] = aws.elb.create_load_balancer(
        Name=f"{prefix}-lb", Subnets=subnets, SecurityGroups=ids["security groups"][:1], **tagged("Tags", pairs)
    )["LoadBalancers"][0]["LoadBalancerArn"]
    ids["target group"] = aws.elb.create_target_group(
        Name=f"{prefix}-tg", Protocol="HTTP", Port=80, VpcId=vpc, **tagged("Tags", pairs)
    )["TargetGroups"][0]["TargetGroupArn"]
    ids["listener"] = aws.elb.create_listener(
        LoadBalancerArn=ids["load balancer"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": ids["target group"]}],
    )["Listeners"][0]["ListenerArn"]

    ids["bucket"] = f"{prefix}-bucket"
    aws.s3.create_bucket(Bucket=ids["bucket"])
    if tags:
        aws.s3.put_bucket_tagging(Bucket=ids["bucket"], Tagging={"TagSet": pairs})
    aws.s3.put_object(Bucket=ids["bucket"], Key="catalog.json", Body=f"{prefix} books".encode())

    ca = CertificateAuthority(f"{prefix} CA")
    aws.s3.put_object(Bucket=ids["bucket"], Key="clients-ca.pem", Body=ca.pem)
    ids["trust store"] = aws.elb.create_trust_store(
        Name=f"{prefix}-trust",
        CaCertificatesBundleS3Bucket=ids["bucket"],
        CaCertificatesBundleS3Key="clients-ca.pem",
        **tagged("Tags", pairs),
    )["TrustStores"][0]["TrustStoreArn"]
    certificate, key = ca.issue(f"{prefix}.example.test")
    ids["certificate"] = aws.acm.import_certificate(
        Certificate=certificate, PrivateKey=key, CertificateChain=ca.pem, **tagged("Tags", pairs)
    )["CertificateArn"]
    ids["private ca"] = aws.pca.create_certificate_authority(
        CertificateAuthorityConfiguration={
            "KeyAlgorithm": "RSA_2048",
            "SigningAlgorithm": "SHA256WITHRSA",
            "Subject": {"CommonName": f"{prefix} private CA"},
        },
        CertificateAuthorityType="ROOT",
        **tagged("Tags", pairs),
    )["CertificateAuthorityArn"]

    operation = aws.sd.create_http_namespace(Name=f"{prefix}-ns", **tagged("Tags", pairs))
    ids["namespace"] = aws.sd.get_operation(OperationId=operation["OperationId"])["Operation"]["Targets"]["NAMESPACE"]
    ids["discovery service"] = aws.sd.create_service(
        Name=f"{prefix}-svc", NamespaceId=ids["namespace"], **tagged("Tags", pairs)
    )["Service"]["Id"]
    aws.sd.register_instance(
        ServiceId=ids["discovery service"], InstanceId="task-1", Attributes={"AWS_INSTANCE_IPV4": "10.0.0.1"}
    )

    ids["user pool"] = aws.idp.create_user_pool(PoolName=f"{prefix}-pool", **tagged("UserPoolTags", tags))["UserPool"][
        "Id"
    ]
    aws.idp.create_user_pool_domain(Domain=f"{prefix}-login", UserPoolId=ids["user pool"])
    ids["repository"] = f"{prefix}-repo"
    aws.ecr.create_repository(repositoryName=ids["repository"], **tagged("tags", pairs))
    ids["rule"] = f"{prefix}-rule"
    aws.events.put_rule(Name=ids["rule"], EventPattern=json.dumps({"source": ["bookshop"]}), **tagged("Tags", pairs))
    aws.events.put_targets(Rule=ids["rule"], Targets=[{"Id": "queue", "Arn": queue_arn}])
    ids["state machine"] = aws.sfn.create_state_machine(
        name=f"{prefix}-flow",
        roleArn=role["Arn"],
        **tagged("tags", lower_pairs),
        definition=json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}),
    )["stateMachineArn"]
    ids["codedeploy application"] = f"{prefix}-deploys"
    aws.cd.create_application(
        applicationName=ids["codedeploy application"], computePlatform="Lambda", **tagged("tags", pairs)
    )
    aws.cd.create_deployment_group(
        applicationName=ids["codedeploy application"],
        deploymentGroupName="live",
        serviceRoleArn=role["Arn"],
        **tagged("tags", pairs),
    )
    deploy_delivery(aws, prefix, ids, pairs, lower_pairs)
    return ids


def deploy_delivery(aws, prefix, ids, pairs, lower_pairs):
    """Lab 09's kinds: a stack (and the queue it makes), a CodeBuild project, a pipeline."""
    ids["stack"] = f"{prefix}-stack"
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{prefix}-stack-q"}}}}
    aws.cfn.create_stack(StackName=ids["stack"], TemplateBody=json.dumps(template), Tags=pairs)
    ids["project"] = f"{prefix}-build"
    environment = {
        "type": "LINUX_CONTAINER",
        "image": "aws/codebuild/standard:7.0",
        "computeType": "BUILD_GENERAL1_SMALL",
    }
    aws.builds.create_project(
        name=ids["project"],
        source={"type": "NO_SOURCE", "buildspec": "version: 0.2"},
        artifacts={"type": "NO_ARTIFACTS"},
        environment=environment,
        serviceRole=f"arn:aws:iam::123456789012:role/{prefix}-role",
        **({"tags": lower_pairs} if lower_pairs else {}),
    )
    trust = {
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
    }
    pipeline_role = aws.iam.create_role(
        RoleName=f"{prefix}-pipeline", AssumeRolePolicyDocument=json.dumps(trust), **({"Tags": pairs} if pairs else {})
    )
    ids["pipeline"] = f"{prefix}-pipeline"
    source = {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}
    approval = {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
    aws.pipelines.create_pipeline(
        pipeline={
            "name": ids["pipeline"],
            "roleArn": pipeline_role["Role"]["Arn"],
            "artifactStore": {"type": "S3", "location": ids["bucket"]},
            "stages": [
                {
                    "name": "Source",
                    "actions": [
                        {
                            "name": "S",
                            "actionTypeId": source,
                            "outputArtifacts": [{"name": "Src"}],
                            "configuration": {"S3Bucket": ids["bucket"], "S3ObjectKey": "none.zip"},
                        }
                    ],
                },
                {"name": "Approve", "actions": [{"name": "A", "actionTypeId": approval}]},
            ],
        },
        **({"tags": lower_pairs} if lower_pairs else {}),
    )


def _absent(error):
    code = error.response.get("Error", {}).get("Code", "")
    return any(word in code for word in ("NotFound", "NoSuch", "DoesNotExist", "NonExistent"))


def _probe(read):
    try:
        return read()
    except ClientError as error:
        if _absent(error):
            return None
        raise


def task_definition_status(aws, arn):
    """ACTIVE or INACTIVE (deregistered), or None once deleted: DELETE_IN_PROGRESS until no task
    uses it, then gone, which DescribeTaskDefinition words as a ClientException."""
    try:
        status = aws.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["status"]
    except ClientError as error:
        if error.response["Error"]["Message"] == "Unable to describe task definition.":
            return None
        raise
    return None if status == "DELETE_IN_PROGRESS" else status


def state(aws, ids):
    """What can be observed of one deployment, kind by kind; None where a resource is gone."""
    prefix = ids["prefix"]

    def active(status):  # ECS keeps describing what it deleted, as INACTIVE
        return status if status == "ACTIVE" else None

    def role():
        name = f"{prefix}-role"
        return (
            aws.iam.get_role(RoleName=name)["Role"]["Arn"],
            [p["PolicyArn"] for p in aws.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]],
            aws.iam.list_role_policies(RoleName=name)["PolicyNames"],
            [
                p["InstanceProfileName"]
                for p in aws.iam.list_instance_profiles_for_role(RoleName=name)["InstanceProfiles"]
            ],
        )

    def mappings():
        found = [
            m["UUID"]
            for m in aws.lam.list_event_source_mappings()["EventSourceMappings"]
            if m["FunctionArn"].endswith(f":{ids['function']}")
        ]
        return found or None

    def subscriptions():
        found = [s["Endpoint"] for s in aws.sns.list_subscriptions()["Subscriptions"] if s["TopicArn"] == ids["topic"]]
        return found or None

    def ecs_status(described, key):
        return active(described[key][0]["status"]) if described[key] else None

    def discovery_instances():
        aws.sd.get_service(Id=ids["discovery service"])  # raises ServiceNotFound once it is gone
        return [instance["Id"] for instance in aws.sd.list_instances(ServiceId=ids["discovery service"])["Instances"]]

    def key_state():
        metadata = aws.kms.describe_key(KeyId=ids["key"])["KeyMetadata"]
        aliases = [a["AliasName"] for a in aws.kms.list_aliases(KeyId=ids["key"])["Aliases"]]
        return metadata["KeyState"], aliases

    def stack_status():
        try:
            return aws.cfn.describe_stacks(StackName=ids["stack"])["Stacks"][0]["StackStatus"]
        except ClientError as error:  # CloudFormation's not-found is a ValidationError
            if error.response["Error"]["Message"] == f"Stack with id {ids['stack']} does not exist":
                return None
            raise

    def log_group():
        groups = aws.logs.describe_log_groups(logGroupNamePrefix=ids["log group"])["logGroups"]
        return [group["logGroupName"] for group in groups] or None

    return {
        "iam role": _probe(role),
        "iam policy": _probe(lambda: aws.iam.get_policy(PolicyArn=ids["policy"])["Policy"]["DefaultVersionId"]),
        "queue messages": _probe(
            lambda: aws.sqs.get_queue_attributes(QueueUrl=ids["queue"], AttributeNames=["ApproximateNumberOfMessages"])[
                "Attributes"
            ]
        ),
        "topic": _probe(lambda: aws.sns.get_topic_attributes(TopicArn=ids["topic"])["Attributes"]["TopicArn"]),
        "subscriptions": subscriptions(),
        "function": _probe(lambda: aws.lam.get_function(FunctionName=ids["function"])["Configuration"]["CodeSha256"]),
        "alias": _probe(lambda: aws.lam.get_alias(FunctionName=ids["function"], Name="live")["FunctionVersion"]),
        "event source mappings": mappings(),
        "table item": _probe(lambda: aws.ddb.get_item(TableName=ids["table"], Key={"id": {"S": "book-1"}})["Item"]),
        "secret": _probe(lambda: aws.sm.get_secret_value(SecretId=ids["secret"])["SecretString"]),
        "kms key": _probe(key_state),
        "log group": _probe(log_group),
        "metric filters": [
            f["filterName"]
            for f in aws.logs.describe_metric_filters(filterNamePrefix=ids["alarm"])["metricFilters"]
            if f["logGroupName"] == ids["log group"]
        ]
        or None,
        "alarm": [a["AlarmName"] for a in aws.cw.describe_alarms(AlarmNames=[ids["alarm"]])["MetricAlarms"]] or None,
        "rest api": _probe(lambda: aws.ag.get_rest_api(restApiId=ids["rest api"])["name"]),
        "http api": _probe(lambda: aws.ag2.get_api(ApiId=ids["http api"])["Name"]),
        "ecs cluster": _probe(lambda: ecs_status(aws.ecs.describe_clusters(clusters=[ids["cluster"]]), "clusters")),
        "ecs service": _probe(
            lambda: ecs_status(aws.ecs.describe_services(cluster=ids["cluster"], services=[ids["service"]]), "services")
        ),
        "scalable target": _probe(
            lambda: [
                t["MaxCapacity"]
                for t in aws.scaling.describe_scalable_targets(
                    ServiceNamespace="ecs", ResourceIds=[ids["scalable target"]]
                )["ScalableTargets"]
            ]
        ),
        "target tracking alarms": target_tracking_alarms(aws, ids["scalable target"]) or None,
        "task definition": task_definition_status(aws, ids["task definition"]),
        "load balancer": _probe(
            lambda: aws.elb.describe_load_balancers(LoadBalancerArns=[ids["load balancer"]])["LoadBalancers"][0][
                "LoadBalancerName"
            ]
        ),
        "listener": _probe(lambda: aws.elb.describe_listeners(ListenerArns=[ids["listener"]])["Listeners"][0]["Port"]),
        "target group": _probe(
            lambda: aws.elb.describe_target_groups(TargetGroupArns=[ids["target group"]])["TargetGroups"][0][
                "TargetGroupName"
            ]
        ),
        "security groups": security_groups(aws, ids["security groups"]) or None,
        "bucket object": _probe(lambda: aws.s3.get_object(Bucket=ids["bucket"], Key="catalog.json")["Body"].read()),
        "namespace": _probe(lambda: aws.sd.get_namespace(Id=ids["namespace"])["Namespace"]["Name"]),
        "discovery instances": _probe(discovery_instances),
        "user pool": _probe(lambda: aws.idp.describe_user_pool(UserPoolId=ids["user pool"])["UserPool"].get("Domain")),
        "repository": _probe(
            lambda: aws.ecr.describe_repositories(repositoryNames=[ids["repository"]])["repositories"][0][
                "repositoryName"
            ]
        ),
        "rule targets": _probe(lambda: [t["Id"] for t in aws.events.list_targets_by_rule(Rule=ids["rule"])["Targets"]]),
        "state machine": _probe(lambda: aws.sfn.describe_state_machine(stateMachineArn=ids["state machine"])["status"]),
        "codedeploy application": _probe(
            lambda: aws.cd.get_application(applicationName=ids["codedeploy application"])["application"][
                "computePlatform"
            ]
        ),
        "codedeploy group": _probe(
            lambda: aws.cd.get_deployment_group(
                applicationName=ids["codedeploy application"], deploymentGroupName="live"
            )["deploymentGroupInfo"]["deploymentConfigName"]
        ),
        "trust store": _probe(
            lambda: aws.elb.describe_trust_stores(TrustStoreArns=[ids["trust store"]])["TrustStores"][0]["Name"]
        ),
        "certificate": _probe(
            lambda: aws.acm.describe_certificate(CertificateArn=ids["certificate"])["Certificate"]["DomainName"]
        ),
        "stack": stack_status(),
        "stack queue": _probe(lambda: aws.sqs.get_queue_url(QueueName=f"{prefix}-stack-q")["QueueUrl"]),
        "pipeline": _probe(lambda: aws.pipelines.get_pipeline(name=ids["pipeline"])["pipeline"]["name"]),
        "build project": [p["name"] for p in aws.builds.batch_get_projects(names=[ids["project"]])["projects"]] or None,
        "private ca": _probe(
            lambda: aws.pca.describe_certificate_authority(CertificateAuthorityArn=ids["private ca"])[
                "CertificateAuthority"
            ]["Status"]
        ),
    }


def remains(aws, ids):
    """What is left of a deployment: {} once every resource is gone (a KMS key pending deletion)."""
    return {kind: value for kind, value in state(aws, ids).items() if value != STATE_WHEN_GONE.get(kind)}


@pytest.fixture(scope="module")
def world(aws):
    """Lab 02's, lab 03's and an untagged decoy deployment, and how each looked when made."""
    deployments = {
        "02": deploy(aws, "td02", course_tags("02")),
        "03": deploy(aws, "td03", course_tags("03")),
        "decoy": deploy(aws, "tdx", {}),
    }
    # Tagged, but for another course: the value of labkit:course must match, not just the key.
    deployments["other course"] = {
        "queue": aws.sqs.create_queue(
            QueueName="tdx-other-course", tags={"labkit:course": "another-course", "labkit:lab": "02"}
        )["QueueUrl"]
    }
    before = {name: state(aws, ids) for name, ids in deployments.items() if name != "other course"}
    return deployments, before


def deleted_lines(output):
    # The answer typed at the prompt is not echoed here, so the first line follows the prompt.
    output = output.replace("[y/N] ", "[y/N] \n")
    return [line for line in output.splitlines() if line.startswith("  deleted ")]


class Terminal(io.StringIO):
    """Standard input as a learner at a terminal: isatty, answering what it was given."""

    def isatty(self):
        return True


def test_a_resource_that_cannot_be_deleted_is_reported_and_left(aws, cloud, capsys):
    tags = course_tags("04")
    pairs = [{"Key": key, "Value": value} for key, value in tags.items()]
    queue = aws.sqs.create_queue(QueueName="td04-queue", tags=tags)["QueueUrl"]
    # An honest AWS condition: a table with deletion protection refuses DeleteTable.
    aws.ddb.create_table(
        TableName="td04-table",
        BillingMode="PAY_PER_REQUEST",
        Tags=pairs,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        DeletionProtectionEnabled=True,
    )
    aws.sm.create_secret(Name="td04-secret", SecretString="x", Tags=pairs)
    try:
        assert run_cli(target="local", lab="04", assume_yes=True) == 1

        out = capsys.readouterr().out
        assert "td04-queue" in "".join(deleted_lines(out)) and "td04-secret" in "".join(deleted_lines(out))
        assert "  FAILED  DynamoDB table                td04-table: ValidationException" in out
        assert "DeletionProtectionEnabled" in out
        left = out[out.index("Left: 1 ") :]
        assert "DynamoDB table" in left and "td04-table" in left
        assert _probe(lambda: aws.sqs.get_queue_attributes(QueueUrl=queue)) is None
        assert _probe(lambda: aws.ddb.describe_table(TableName="td04-table"))
    finally:  # the later tests tear everything down and expect success
        aws.ddb.update_table(TableName="td04-table", DeletionProtectionEnabled=False)
        aws.ddb.delete_table(TableName="td04-table")


def test_a_kind_that_cannot_be_listed_is_left_and_the_report_says_so(aws, cloud, monkeypatch, capsys):
    aws.sqs.create_queue(QueueName="td05-queue", tags=course_tags("05"))

    def list_with_a_call_moto_lacks(clients, wanted):
        return clients("cognito-idp").list_tags_for_resource(
            ResourceArn="arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x"
        )

    def unlistable(deletion):
        return dataclasses.replace(
            deletion, kind=dataclasses.replace(deletion.kind, lister=list_with_a_call_moto_lacks)
        )

    monkeypatch.setattr(
        order,
        "DELETIONS",
        tuple(
            unlistable(deletion) if deletion.kind.label == "Cognito user pool" else deletion
            for deletion in order.DELETIONS
        ),
    )

    report = teardown(lab="05")  # the notebooks' cleanup call

    assert not report.ok
    assert [(entry.kind, entry.name) for entry in report.deleted] == [("SQS queue", "td05-queue")]
    assert report.failed == []
    assert [(entry.kind, entry.note.split(":")[0]) for entry in report.left] == [
        ("Cognito user pool", "could not be listed")
    ]
    assert "NotImplemented" in report.left[0].note
    left = capsys.readouterr().out.split("Left: 1 ")[1]
    assert "Cognito user pool" in left and "could not be listed: NotImplemented" in left


def test_without_a_terminal_and_without_yes_it_lists_but_refuses(world, aws, monkeypatch, capsys):
    deployments, before = world
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # a "y" piped in is no confirmation

    assert run_cli(target="local", lab=None, assume_yes=False) == 2

    out, err = capsys.readouterr()
    assert "--yes" in err and "nothing deleted" in err
    assert "td02-queue" in out and "td03-queue" in out  # what it would delete is listed
    assert "tdx-" not in out
    assert state(aws, deployments["02"]) == before["02"]
    assert state(aws, deployments["03"]) == before["03"]


def test_answering_no_at_the_prompt_deletes_nothing(world, aws, monkeypatch, capsys):
    deployments, before = world
    monkeypatch.setattr(sys, "stdin", Terminal("n\n"))

    assert run_cli(target="local", lab="02", assume_yes=False) == 1

    out = capsys.readouterr().out
    assert "resources? [y/N]" in out and "Nothing deleted." in out
    assert state(aws, deployments["02"]) == before["02"]


def test_teardown_of_lab_02_deletes_exactly_lab_02s_resources(world, aws, monkeypatch, capsys):
    deployments, before = world
    monkeypatch.setattr(sys, "stdin", Terminal("y\n"))

    assert run_cli(target="local", lab="2", assume_yes=False) == 0  # "2" means lab "02"

    out = capsys.readouterr().out
    lines = deleted_lines(out)
    assert lines and all("td02" in line for line in lines), out
    assert {line[10:40].strip() for line in lines} == LABEL_OF_EVERY_KIND, out
    assert "scheduled for deletion in 7 days" in out
    assert "Left: nothing tagged labkit:course=monolith-to-microservices, labkit:lab=02" in out
    assert remains(aws, deployments["02"]) == {}
    assert state(aws, deployments["03"]) == before["03"]
    assert state(aws, deployments["decoy"]) == before["decoy"]
    assert _probe(lambda: aws.sqs.get_queue_url(QueueName="tdx-other-course"))


def test_teardown_of_everything_leaves_every_decoy_untouched(world, aws, capsys):
    deployments, before = world

    assert cli.main(["teardown", "--target", "local", "--yes"]) == 0

    out = capsys.readouterr().out
    assert deleted_lines(out) and all("td03" in line for line in deleted_lines(out)), out
    assert remains(aws, deployments["03"]) == {}
    decoy = deployments["decoy"]
    assert state(aws, decoy) == before["decoy"]
    received = aws.sqs.receive_message(QueueUrl=decoy["queue"])["Messages"]
    assert [message["Body"] for message in received] == ["tdx order 1"]
    assert _probe(lambda: aws.sqs.get_queue_url(QueueName="tdx-other-course"))

    assert run_cli(target="local", lab=None, assume_yes=True) == 0  # nothing left to do
    assert (
        "Nothing tagged labkit:course=monolith-to-microservices, labkit:owner=learner to delete."
        in capsys.readouterr().out
    )


def test_a_dependency_still_going_away_is_waited_for_until_patience_runs_out(monkeypatch):
    from labkit.inventory import Kind, Resource
    from labkit.teardown import run
    from labkit.teardown.base import Deletion

    def aws_error(code):
        return ClientError({"Error": {"Code": code, "Message": code}}, "DeleteThing")

    answers = []

    def delete(client, resource):
        answer = answers.pop(0)
        if answer:
            raise answer

    kind = Kind("Test thing", "sqs", lister=lambda clients, wanted: [])
    deletion = Deletion(kind, delete, busy_codes=("ResourceInUse",))
    thing = Resource(id="thing", name="thing", arn="", tags={})
    monkeypatch.setattr(run.time, "sleep", lambda seconds: None)

    answers[:] = [aws_error("ResourceInUse"), aws_error("TooManyRequestsException"), None]
    assert run._delete(deletion, None, thing, pacing=AWS_PACING) == ""
    assert answers == []
    answers[:] = [aws_error("ResourceInUse"), None]
    with pytest.raises(ClientError):
        run._delete(deletion, None, thing, pacing=dataclasses.replace(AWS_PACING, patience_s=0))
    answers[:] = [aws_error("AccessDenied"), None]
    with pytest.raises(ClientError):
        run._delete(deletion, None, thing, pacing=AWS_PACING)
    answers[:] = [aws_error("ResourceNotFoundException")]
    assert run._delete(deletion, None, thing, pacing=AWS_PACING) == "already gone"


def test_another_learners_resources_survive_unless_all_owners(aws, cloud):
    """In an instructor's shared account, a learner's teardown removes only their own copy."""
    from botocore.exceptions import ClientError

    aws.sqs.create_queue(QueueName="td06-theirs", tags={**course_tags("06"), "labkit:owner": "someone-else"})
    aws.sqs.create_queue(QueueName="td06-mine", tags=course_tags("06"))

    report = teardown(lab="06")

    assert [(entry.kind, entry.name) for entry in report.deleted] == [("SQS queue", "td06-mine")]
    assert aws.sqs.get_queue_url(QueueName="td06-theirs")["QueueUrl"]
    assert run_cli(target="local", lab="06", assume_yes=True, all_owners=True) == 0
    with pytest.raises(ClientError):
        aws.sqs.get_queue_url(QueueName="td06-theirs")


def test_a_task_definition_is_deleted_not_only_deregistered_and_one_deregistered_before_goes_too(aws, cloud):
    def register(family, tags):
        return aws.ecs.register_task_definition(
            family=family,
            containerDefinitions=[{"name": "app", "image": "app", "memory": 128}],
            **({"tags": [{"key": key, "value": value} for key, value in tags.items()]} if tags else {}),
        )["taskDefinition"]["taskDefinitionArn"]

    first, second = register("td07-task", course_tags("07")), register("td07-task", course_tags("07"))
    aws.ecs.deregister_task_definition(taskDefinition=first)  # the learner's own, or an older teardown's
    untagged = register("td07-untagged", {})

    report = teardown(lab="07")

    assert report.ok
    assert [(entry.kind, entry.name) for entry in report.deleted] == [
        ("ECS task definition", "td07-task:1"),
        ("ECS task definition", "td07-task:2"),
    ]
    assert task_definition_status(aws, first) is None and task_definition_status(aws, second) is None
    assert task_definition_status(aws, untagged) == "ACTIVE"


def test_security_groups_go_after_what_uses_them_but_never_the_vpcs_default_group_or_anyone_elses(aws, cloud):
    vpc = aws.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [subnet["SubnetId"] for subnet in aws.ec2.describe_subnets()["Subnets"]][:2]
    balancer_group, task_group = make_security_groups(aws, "td08", vpc, course_tags("08"))
    aws.elb.create_load_balancer(
        Name="td08-lb",
        Subnets=subnets,
        SecurityGroups=[balancer_group],
        Tags=[{"Key": k, "Value": v} for k, v in course_tags("08").items()],
    )
    theirs = make_security_groups(aws, "td08-theirs", vpc, {**course_tags("08"), "labkit:owner": "someone-else"})
    untagged = make_security_groups(aws, "td08-untagged", vpc, {})
    # Even tagged as the course's, a VPC's default group is not the course's to delete.
    [default] = aws.ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    aws.ec2.create_tags(
        Resources=[default["GroupId"]], Tags=[{"Key": k, "Value": v} for k, v in course_tags("08").items()]
    )

    report = teardown(lab="08")

    assert report.ok
    assert [(entry.kind, entry.name.split(" (")[0]) for entry in report.deleted] == [
        ("ELB load balancer", "td08-lb"),
        ("EC2 security group rule", "td08-tasks: tcp 8080 from td08-alb"),
        ("EC2 security group", "td08-alb"),
        ("EC2 security group", "td08-tasks"),
    ]
    assert security_groups(aws, [balancer_group, task_group]) == []
    assert security_groups(aws, theirs) == [("td08-theirs-alb", []), ("td08-theirs-tasks", [theirs[0]])]
    assert security_groups(aws, untagged) == [("td08-untagged-alb", []), ("td08-untagged-tasks", [untagged[0]])]
    assert security_groups(aws, [default["GroupId"]]) == [("default", [])]


def test_on_aws_a_security_group_a_network_interface_still_has_is_retried_until_it_is_free(monkeypatch):
    from labkit.inventory import Resource
    from labkit.teardown import run

    [deletion] = [deletion for deletion in order.DELETIONS if deletion.kind.label == "EC2 security group"]
    calls = []

    class Ec2:
        def delete_security_group(self, GroupId):
            # What AWS answers while a deleted load balancer's or task's network interface remains.
            calls.append(GroupId)
            if len(calls) < 3:
                raise ClientError(
                    {"Error": {"Code": "DependencyViolation", "Message": f"resource {GroupId} has a dependent object"}},
                    "DeleteSecurityGroup",
                )

    monkeypatch.setattr(run.time, "sleep", lambda seconds: None)
    group = Resource(id="sg-0a1b2c3d", name="alb", arn="", tags={})

    assert run._delete(deletion, Ec2(), group, pacing=AWS_PACING) == ""
    assert calls == ["sg-0a1b2c3d"] * 3
    calls.clear()
    with pytest.raises(ClientError, match="DependencyViolation"):
        run._delete(deletion, Ec2(), group, pacing=dataclasses.replace(AWS_PACING, patience_s=0))
    assert calls == ["sg-0a1b2c3d"]


def test_a_scaling_target_and_its_alarms_go_even_after_its_service_and_cluster_were_deleted(aws, cloud):
    def deploy_scaled_service(prefix, tags):
        lower_pairs = [{"key": key, "value": value} for key, value in tags.items()]
        cluster = aws.ecs.create_cluster(clusterName=f"{prefix}-cluster", **({"tags": lower_pairs} if tags else {}))
        definition = aws.ecs.register_task_definition(
            family=f"{prefix}-task", containerDefinitions=[{"name": "app", "image": "app", "memory": 128}]
        )["taskDefinition"]["taskDefinitionArn"]
        aws.ecs.create_service(
            cluster=f"{prefix}-cluster",
            serviceName=f"{prefix}-svc",
            taskDefinition=definition,
            desiredCount=0,
            **({"tags": lower_pairs} if tags else {}),
        )
        resource_id = f"service/{prefix}-cluster/{prefix}-svc"
        aws.scaling.register_scalable_target(
            ServiceNamespace="ecs",
            ResourceId=resource_id,
            ScalableDimension="ecs:service:DesiredCount",
            MinCapacity=0,
            MaxCapacity=2,
        )
        track_cpu(aws, resource_id)
        return cluster["cluster"]["clusterName"], resource_id

    cluster, mine = deploy_scaled_service("td09", course_tags("09"))
    *_, untagged = deploy_scaled_service("td09-untagged", {})
    # The learner deletes the service and its cluster themselves; AWS leaves the target registered.
    aws.ecs.delete_service(cluster=cluster, service="td09-svc", force=True)

    def cluster_deleted():
        try:
            return aws.ecs.delete_cluster(cluster=cluster)
        except aws.ecs.exceptions.ClusterContainsServicesException:  # until the service has drained
            return None

    wait_for(cluster_deleted, 30, "the emptied cluster to be deleted")

    report = teardown(lab="09")

    assert report.ok
    assert [(entry.kind, entry.name.rsplit("-Alarm", 1)[0]) for entry in report.deleted] == [
        ("Target tracking alarm", f"TargetTracking-{mine}"),
        ("Target tracking alarm", f"TargetTracking-{mine}"),
        ("Auto Scaling target", mine),
    ]
    assert aws.scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[mine])["ScalableTargets"] == []
    assert target_tracking_alarms(aws, mine) == []
    assert (
        len(aws.scaling.describe_scalable_targets(ServiceNamespace="ecs", ResourceIds=[untagged])["ScalableTargets"])
        == 1
    )
    assert target_tracking_alarms(aws, untagged) == ["High", "Low"]


def test_on_aws_a_target_whose_service_ecs_no_longer_describes_is_found_by_its_own_tags():
    # moto neither forgets a deleted service nor keeps a target's tags; AWS does both.
    from labkit.inventory import Selection, autoscaling

    arns = {"mine": "arn:aws:application-autoscaling:us-east-1:1:scalable-target/0a", "untagged": "arn:...:0b"}

    class Answers:
        def can_paginate(self, operation):
            return False

        def describe_scalable_targets(self, ServiceNamespace):
            return {
                "ScalableTargets": [
                    {"ResourceId": f"service/td10-{who}/orders", "ScalableTargetARN": arn, "ScalableDimension": "d"}
                    for who, arn in arns.items()
                ]
            }

        def describe_services(self, cluster, services, include):
            raise ClientError({"Error": {"Code": "ClusterNotFoundException", "Message": "Cluster not found."}}, "x")

        def list_tags_for_resource(self, ResourceARN):
            return {"Tags": course_tags("10") if ResourceARN == arns["mine"] else {}}

    found = autoscaling.SCALABLE_TARGET.resources(lambda service: Answers(), Selection(lab="10").wants)

    assert [(target.id, target.tags) for target in found] == [("service/td10-mine/orders", course_tags("10"))]
