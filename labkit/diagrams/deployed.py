"""What is deployed on the target, as a Graph, read with boto3 describe and list calls only.

This module never imports moto or labkit's data plane: the same calls work on a real AWS account.
A live node's id is "kind:name" (the kinds of labkit.diagrams.kinds). Edges point the way requests
and messages flow:

    apigateway, httpapi -> lambda        an integration (labelled with its methods or routes)
    alb, nlb -> target_group             a listener rule;  target_group -> ecs_service
    sns -> sqs, lambda                   a subscription
    sqs, dynamodb -> lambda              an event source mapping;  sqs -> sqs: a dead-letter queue
    lambda -> iam_role                   the function's execution role
    ecs_service -> cloudmap              the service's registry

Each kind is one row of LISTERS; a lab that deploys a new kind adds a row and a small function.
"""

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from labkit import config
from labkit.awsapi import chunks, pages, tag_dict
from labkit.diagrams.graph import Edge, Graph, Group, Node
from labkit.errors import LabkitError

COURSE_TAG_KEY = "labkit:course"
LAB_TAG_KEY = "labkit:lab"
# A lister whose calls the target answers with this code is skipped with a note (moto lacks some).
NOT_IMPLEMENTED = "NotImplemented"
MOST_EDGE_LABELS = 3  # an API with many routes to one function gets "GET /a, GET /b, GET /c +4 more"


@dataclass(frozen=True)
class Resource:
    kind: str
    name: str
    arn: str
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    group: Group | None = None


@dataclass(frozen=True)
class Link:
    """An edge between two resources, by ARN: either end may be an ARN that points into a resource
    (an integration URI, a function version, a table's stream)."""

    source_arn: str
    target_arn: str
    label: str = ""


@dataclass(frozen=True)
class Lister:
    title: str
    kinds: tuple[str, ...]
    """The kinds of the Resources `find` yields."""
    edges: tuple[tuple[str, str], ...]
    """The (source kind, target kind) of the Links `find` yields: the edges a comparison can check."""
    find: Callable[["Clients"], Iterable[Resource | Link]]


def live_id(kind: str, name: str) -> str:
    return f"{kind}:{name}"


def introspect(lab: str | None = None, course_only: bool = True) -> Graph:
    """What is deployed: a lab's resources (tagged labkit:lab=NN), the course's (labkit:course), or,
    with course_only=False and no lab, everything the listers find."""
    everything = collect()
    title = f"Deployed for lab {lab}" if lab else "Deployed by the course" if course_only else "Deployed on the target"
    return select(everything, title, lambda tags: wanted(tags, lab, course_only))


def collect() -> Graph:
    """Every resource the listers can see, untagged ones too; nodes carry their tags."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    clients = Clients()
    found: list[Resource | Link] = []
    notes = []
    try:
        for lister in LISTERS:
            try:
                found.extend(list(lister.find(clients)))  # a lister that fails adds nothing
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != NOT_IMPLEMENTED:
                    raise LabkitError(f"could not list {lister.title}: {error}") from None
                notes.append(f"{lister.title}: the target does not implement {error.operation_name}")
    except EndpointConnectionError as error:
        raise LabkitError(
            f"cannot reach the target ({error}). Is the local cloud running? "
            f"`course.start()` in a notebook or `labkit up` starts it."
        ) from None
    except NoCredentialsError:
        raise LabkitError("no AWS credentials: run `course.start()` first.") from None
    return _graph("Deployed on the target", found, notes)


def wanted(tags: dict[str, str], lab: str | None, course_only: bool) -> bool:
    if lab is not None:
        return tags.get(COURSE_TAG_KEY) == config.COURSE_TAG and tags.get(LAB_TAG_KEY) == lab
    return not course_only or tags.get(COURSE_TAG_KEY) == config.COURSE_TAG


def select(graph: Graph, title: str, keep: Callable[[dict[str, str]], bool]) -> Graph:
    """The part of `graph` whose nodes' tags `keep` accepts, and the edges between them."""
    nodes = tuple(node for node in graph.nodes if keep(node.tags))
    kept = {node.id for node in nodes}
    groups = {node.group for node in nodes}
    return Graph(
        title=title,
        nodes=nodes,
        notes=graph.notes,
        edges=tuple(e for e in graph.edges if e.source in kept and e.target in kept),
        groups=tuple(group for group in graph.groups if group.id in groups),
    )


def _graph(title: str, found: list[Resource | Link], notes: list[str]) -> Graph:
    resources = sorted((item for item in found if isinstance(item, Resource)), key=lambda r: (r.kind, r.name, r.arn))
    nodes: dict[str, Node] = {}
    groups: dict[str, Group] = {}
    node_of_arn: dict[str, str] = {}
    for resource in resources:
        node_id = live_id(resource.kind, resource.name)
        node_of_arn[resource.arn] = node_id
        if node_id in nodes:  # the same name twice (ECS services in two clusters): drawn once
            continue
        nodes[node_id] = Node(
            id=node_id,
            kind=resource.kind,
            label=resource.name,
            name=resource.name,
            tags=resource.tags,
            group=resource.group.id if resource.group else None,
        )
        if resource.group:
            groups[resource.group.id] = resource.group
    labels: dict[tuple[str, str], set[str]] = {}
    for link in (item for item in found if isinstance(item, Link)):
        ends = (node_of_arn.get(resource_arn(link.source_arn)), node_of_arn.get(resource_arn(link.target_arn)))
        # An end outside the listers' view (an e-mail subscriber, a deleted role) has no node.
        if None not in ends and ends[0] != ends[1]:
            labels.setdefault(ends, set()).update([link.label] if link.label else [])
    edges = tuple(Edge(source, target, _joined(labels[(source, target)])) for source, target in sorted(labels))
    return Graph(
        title=title,
        nodes=tuple(nodes[key] for key in sorted(nodes)),
        edges=edges,
        groups=tuple(groups[key] for key in sorted(groups)),
        notes=tuple(notes),
    )


def resource_arn(arn: str) -> str:
    """The ARN of the resource an ARN points into: the function an API Gateway integration URI
    invokes, a function behind a version or alias, the table behind a DynamoDB stream."""
    invoked = re.search(r":lambda:path/[^/]+/functions/(arn:[^/]+)/invocations$", arn)
    if invoked:
        arn = invoked.group(1)
    parts = arn.split(":")
    if len(parts) > 7 and parts[2] == "lambda" and parts[5] == "function":
        return ":".join(parts[:7])
    return re.sub(r"^(arn:[^:]+:dynamodb:.*:table/[^/]+)/stream/.+$", r"\1", arn)


def _joined(labels: set[str]) -> str:
    ordered = sorted(labels)
    shown = ", ".join(ordered[:MOST_EDGE_LABELS])
    hidden = len(ordered) - MOST_EDGE_LABELS
    return shown + (f" +{hidden} more" if hidden > 0 else "")


class Clients:
    """boto3 clients made once per introspection, all from the same session and region."""

    def __init__(self):
        import boto3

        self._session = boto3.session.Session()
        self.region = self._session.region_name
        if not self.region:
            raise LabkitError("no AWS region is set: run `course.start()` first.")
        self._made = {}

    def __call__(self, service: str):
        if service not in self._made:
            self._made[service] = self._session.client(service)
        return self._made[service]


# --- one function per kind of resource -------------------------------------------------------


def _rest_apis(clients: Clients):
    apigateway = clients("apigateway")
    for api in pages(apigateway, "get_rest_apis", "items"):
        arn = f"arn:aws:apigateway:{clients.region}::/restapis/{api['id']}"
        yield Resource("apigateway", api["name"], arn, api.get("tags") or {})
        for resource in pages(apigateway, "get_resources", "items", restApiId=api["id"], embed=["methods"]):
            for verb, method in (resource.get("resourceMethods") or {}).items():
                uri = (method.get("methodIntegration") or {}).get("uri")
                if uri:
                    yield Link(arn, uri, f"{verb} {resource['path']}")


def _http_apis(clients: Clients):
    apigatewayv2 = clients("apigatewayv2")
    for api in pages(apigatewayv2, "get_apis", "Items"):
        if api.get("ProtocolType") != "HTTP":
            continue
        arn = f"arn:aws:apigateway:{clients.region}::/apis/{api['ApiId']}"
        yield Resource("httpapi", api["Name"], arn, api.get("Tags") or {})
        uris = {
            integration["IntegrationId"]: integration.get("IntegrationUri")
            for integration in pages(apigatewayv2, "get_integrations", "Items", ApiId=api["ApiId"])
        }
        for route in pages(apigatewayv2, "get_routes", "Items", ApiId=api["ApiId"]):
            uri = uris.get(route.get("Target", "").removeprefix("integrations/"))
            if uri:
                yield Link(arn, uri, route["RouteKey"])


def _functions(clients: Clients):
    """Functions, and the roles they run as (listing every role of an account would drown them)."""
    from botocore.exceptions import ClientError

    aws_lambda, iam = clients("lambda"), clients("iam")
    roles_seen = set()
    for function in pages(aws_lambda, "list_functions", "Functions"):
        arn, role_arn = function["FunctionArn"], function["Role"]
        yield Resource("lambda", function["FunctionName"], arn, aws_lambda.list_tags(Resource=arn).get("Tags") or {})
        yield Link(arn, role_arn, "runs as")
        if role_arn in roles_seen:
            continue
        roles_seen.add(role_arn)
        role_name = role_arn.rsplit("/", 1)[-1]
        try:
            tags = tag_dict(pages(iam, "list_role_tags", "Tags", RoleName=role_name))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchEntity":
                continue  # the role was deleted under the function: nothing to draw
            raise
        yield Resource("iam_role", role_name, role_arn, tags)


def _event_source_mappings(clients: Clients):
    for mapping in pages(clients("lambda"), "list_event_source_mappings", "EventSourceMappings"):
        if mapping.get("EventSourceArn"):
            yield Link(mapping["EventSourceArn"], mapping["FunctionArn"], "event source mapping")


def _tables(clients: Clients):
    dynamodb = clients("dynamodb")
    for name in pages(dynamodb, "list_tables", "TableNames"):
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
        yield Resource(
            "dynamodb", name, arn, tag_dict(pages(dynamodb, "list_tags_of_resource", "Tags", ResourceArn=arn))
        )


def _queues(clients: Clients):
    sqs = clients("sqs")
    for url in pages(sqs, "list_queues", "QueueUrls"):
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])["Attributes"]
        arn = attributes["QueueArn"]
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
        yield Resource("sqs", url.rsplit("/", 1)[-1], arn, tags)
        if "RedrivePolicy" in attributes:
            dead_letter_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
            yield Link(arn, dead_letter_arn, "dead letters")


def _topics(clients: Clients):
    sns = clients("sns")
    for topic in pages(sns, "list_topics", "Topics"):
        arn = topic["TopicArn"]
        yield Resource(
            "sns", arn.rsplit(":", 1)[-1], arn, tag_dict(sns.list_tags_for_resource(ResourceArn=arn).get("Tags") or [])
        )
    for subscription in pages(sns, "list_subscriptions", "Subscriptions"):
        yield Link(subscription["TopicArn"], subscription["Endpoint"], "subscription")


def _ecs_services(clients: Clients):
    ecs = clients("ecs")
    for cluster_arn in pages(ecs, "list_clusters", "clusterArns"):
        cluster = cluster_arn.rsplit("/", 1)[-1]
        group = Group(id=f"ecs_cluster:{cluster}", label=f"ECS cluster {cluster}")
        service_arns = list(pages(ecs, "list_services", "serviceArns", cluster=cluster_arn))
        for batch in chunks(service_arns, 10):  # describe_services takes at most 10
            for service in ecs.describe_services(cluster=cluster_arn, services=batch, include=["TAGS"])["services"]:
                if service.get("status") == "INACTIVE":
                    continue
                arn = service["serviceArn"]
                yield Resource(
                    "ecs_service",
                    service["serviceName"],
                    arn,
                    tag_dict(service.get("tags") or [], "key", "value"),
                    group,
                )
                for balancer in service.get("loadBalancers") or []:
                    if balancer.get("targetGroupArn"):
                        yield Link(balancer["targetGroupArn"], arn, "targets")
                for registry in service.get("serviceRegistries") or []:
                    yield Link(arn, registry["registryArn"], "registers")


def _load_balancers(clients: Clients):
    elbv2 = clients("elbv2")
    balancers = list(pages(elbv2, "describe_load_balancers", "LoadBalancers"))
    target_groups = list(pages(elbv2, "describe_target_groups", "TargetGroups"))
    arns = [b["LoadBalancerArn"] for b in balancers] + [g["TargetGroupArn"] for g in target_groups]
    tags = {}
    for batch in chunks(arns, 20):  # describe_tags takes at most 20
        for described in elbv2.describe_tags(ResourceArns=batch)["TagDescriptions"]:
            tags[described["ResourceArn"]] = tag_dict(described.get("Tags") or [])
    for balancer in balancers:
        kind = {"application": "alb", "network": "nlb"}.get(balancer["Type"])
        if kind is None:
            continue
        arn = balancer["LoadBalancerArn"]
        yield Resource(kind, balancer["LoadBalancerName"], arn, tags.get(arn, {}))
        for listener in pages(elbv2, "describe_listeners", "Listeners", LoadBalancerArn=arn):
            for rule in pages(elbv2, "describe_rules", "Rules", ListenerArn=listener["ListenerArn"]):
                for action in rule.get("Actions") or []:
                    for target_group_arn, weight in _forwarded_to(action):
                        yield Link(arn, target_group_arn, f":{listener['Port']} {_rule_condition(rule)}{weight}")
    for target_group in target_groups:
        arn = target_group["TargetGroupArn"]
        yield Resource("target_group", target_group["TargetGroupName"], arn, tags.get(arn, {}))


def _rule_condition(rule: dict) -> str:
    if rule.get("IsDefault"):
        return "default"
    return " ".join(
        value for condition in rule.get("Conditions") or [] for value in condition.get("Values") or [condition["Field"]]
    )


def _forwarded_to(action: dict) -> list[tuple[str, str]]:
    """The target groups a rule's action forwards to, each with its weight when it shares traffic."""
    if action.get("Type") != "forward":
        return []
    weighted = (action.get("ForwardConfig") or {}).get("TargetGroups") or []
    if len(weighted) > 1:
        return [(group["TargetGroupArn"], f" weight {group.get('Weight', 1)}") for group in weighted]
    if weighted:
        return [(weighted[0]["TargetGroupArn"], "")]
    return [(action["TargetGroupArn"], "")]


def _user_pools(clients: Clients):
    cognito = clients("cognito-idp")
    for summary in pages(cognito, "list_user_pools", "UserPools", MaxResults=60):
        pool = cognito.describe_user_pool(UserPoolId=summary["Id"])["UserPool"]
        yield Resource("cognito", pool["Name"], pool["Arn"], pool.get("UserPoolTags") or {})


def _keys(clients: Clients):
    """Customer managed keys, named by their first alias (AWS managed keys are not the course's)."""
    kms = clients("kms")
    alias_of = {}
    for alias in sorted(pages(kms, "list_aliases", "Aliases"), key=lambda a: a["AliasName"]):
        if alias.get("TargetKeyId"):
            alias_of.setdefault(alias["TargetKeyId"], alias["AliasName"].removeprefix("alias/"))
    for key in pages(kms, "list_keys", "Keys"):
        metadata = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
        if metadata["KeyManager"] != "CUSTOMER" or metadata["KeyState"] == "PendingDeletion":
            continue
        tags = tag_dict(pages(kms, "list_resource_tags", "Tags", KeyId=key["KeyId"]), "TagKey", "TagValue")
        yield Resource("kms", alias_of.get(key["KeyId"], key["KeyId"]), metadata["Arn"], tags)


def _secrets(clients: Clients):
    for secret in pages(clients("secretsmanager"), "list_secrets", "SecretList"):
        yield Resource("secret", secret["Name"], secret["ARN"], tag_dict(secret.get("Tags") or []))


def _cloudmap_services(clients: Clients):
    """Cloud Map services, named as they resolve: service.namespace."""
    servicediscovery = clients("servicediscovery")
    namespaces = {
        namespace["Id"]: namespace["Name"] for namespace in pages(servicediscovery, "list_namespaces", "Namespaces")
    }
    for summary in pages(servicediscovery, "list_services", "Services"):
        service = servicediscovery.get_service(Id=summary["Id"])["Service"]
        namespace = namespaces.get(service.get("NamespaceId"), service.get("NamespaceId"))
        tags = servicediscovery.list_tags_for_resource(ResourceARN=service["Arn"]).get("Tags") or []
        yield Resource("cloudmap", f"{service['Name']}.{namespace}", service["Arn"], tag_dict(tags))


def _buckets(clients: Clients):
    from botocore.exceptions import ClientError

    s3 = clients("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        try:
            tag_set = s3.get_bucket_tagging(Bucket=bucket["Name"])["TagSet"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchTagSet":
                raise
            tag_set = []
        # env.bucket_name() ends a bucket's name with the account id (names are global): a spec
        # names the bucket without it.
        name = re.sub(r"-\d{12}$", "", bucket["Name"])
        yield Resource("s3", name, f"arn:aws:s3:::{bucket['Name']}", tag_dict(tag_set))


LISTERS: tuple[Lister, ...] = (
    Lister("API Gateway REST APIs", ("apigateway",), (("apigateway", "lambda"),), _rest_apis),
    Lister("API Gateway HTTP APIs", ("httpapi",), (("httpapi", "lambda"),), _http_apis),
    Lister("Lambda functions", ("lambda", "iam_role"), (("lambda", "iam_role"),), _functions),
    Lister("Lambda event source mappings", (), (("sqs", "lambda"), ("dynamodb", "lambda")), _event_source_mappings),
    Lister("DynamoDB tables", ("dynamodb",), (), _tables),
    Lister("SQS queues", ("sqs",), (("sqs", "sqs"),), _queues),
    Lister("SNS topics", ("sns",), (("sns", "sqs"), ("sns", "lambda")), _topics),
    Lister(
        "ECS services", ("ecs_service",), (("target_group", "ecs_service"), ("ecs_service", "cloudmap")), _ecs_services
    ),
    Lister(
        "Elastic Load Balancing",
        ("alb", "nlb", "target_group"),
        (("alb", "target_group"), ("nlb", "target_group")),
        _load_balancers,
    ),
    Lister("Cognito user pools", ("cognito",), (), _user_pools),
    Lister("KMS keys", ("kms",), (), _keys),
    Lister("Secrets Manager secrets", ("secret",), (), _secrets),
    Lister("Cloud Map services", ("cloudmap",), (), _cloudmap_services),
    Lister("S3 buckets", ("s3",), (), _buckets),
)
