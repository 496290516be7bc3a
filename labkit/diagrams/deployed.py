"""What is deployed on the target, as a Graph: nodes from the inventory (labkit.inventory), edges
from describe and list calls.

This module never imports moto or labkit's data plane: the same calls work on a real AWS account.
A live node's id is "kind:name" (the kinds of labkit.diagrams.kinds). Edges point the way requests
and messages flow:

    apigateway, httpapi -> lambda        an integration (labelled with its methods or routes)
    alb, nlb -> target_group             a listener rule;  target_group -> ecs_service
    sns -> sqs, lambda                   a subscription
    sqs, dynamodb -> lambda              an event source mapping;  sqs -> sqs: a dead-letter queue
    lambda -> iam_role                   the function's execution role
    ecs_service -> cloudmap              the service's registry

Each drawn kind is one row of LISTERS; a lab that deploys a new kind lists it in the inventory, then
adds a row and a small function here.
"""

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from labkit.awsapi import Clients, pages
from labkit.diagrams.graph import Edge, Graph, Group, Node
from labkit.errors import LabkitError
from labkit.inventory import (
    Resource,
    Selection,
    Tags,
    apigateway,
    cloudmap,
    cognito,
    dynamodb,
    ec2,
    ecs,
    elasticache,
    elb,
    iam,
    kms,
    lambda_,
    s3,
    secretsmanager,
    sqs_sns,
)

# A lister whose calls the target answers with this code is skipped with a note (moto lacks some).
NOT_IMPLEMENTED = "NotImplemented"
MOST_EDGE_LABELS = 3  # an API with many routes to one function gets "GET /a, GET /b, GET /c +4 more"
# The load balancers a diagram draws, by their Type (a gateway load balancer is not one of them).
BALANCER_KINDS = {"application": "alb", "network": "nlb"}


@dataclass(frozen=True)
class Drawn:
    """An inventory resource drawn as a node of `kind`, named `name` (as a spec names it)."""

    kind: str
    name: str
    resource: Resource
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
    """The kinds of the nodes `find` draws."""
    edges: tuple[tuple[str, str], ...]
    """The (source kind, target kind) of the Links `find` yields: the edges a comparison can check."""
    find: Callable[[Clients], Iterable[Drawn | Link]]


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
    found: list[Drawn | Link] = []
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


def wanted(tags: Tags, lab: str | None, course_only: bool) -> bool:
    """A lab's resources (any learner's), the course's, or everything."""
    return Selection(lab=lab).wants(tags) if lab is not None or course_only else True


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


def _graph(title: str, found: list[Drawn | Link], notes: list[str]) -> Graph:
    to_draw = sorted((item for item in found if isinstance(item, Drawn)), key=_drawing_order)
    nodes: dict[str, Node] = {}
    groups: dict[str, Group] = {}
    node_of_arn: dict[str, str] = {}
    for drawn in to_draw:
        node_id = live_id(drawn.kind, drawn.name)
        node_of_arn[drawn.resource.arn] = node_id
        if node_id in nodes:  # the same name twice (ECS services in two clusters): drawn once
            continue
        nodes[node_id] = Node(
            id=node_id,
            kind=drawn.kind,
            label=drawn.name,
            name=drawn.name,
            tags=drawn.resource.tags,
            group=drawn.group.id if drawn.group else None,
        )
        if drawn.group:
            groups[drawn.group.id] = drawn.group
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


def _drawing_order(drawn: Drawn) -> tuple[str, str, str]:
    return drawn.kind, drawn.name, drawn.resource.arn


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


# --- one function per drawn kind -------------------------------------------------------------


def _rest_apis(clients: Clients):
    for api in apigateway.REST_API.resources(clients):
        yield Drawn("apigateway", api.name, api)
        for resource in pages(clients("apigateway"), "get_resources", "items", restApiId=api.id, embed=["methods"]):
            for verb, method in (resource.get("resourceMethods") or {}).items():
                uri = (method.get("methodIntegration") or {}).get("uri")
                if uri:
                    yield Link(api.arn, uri, f"{verb} {resource['path']}")


def _http_apis(clients: Clients):
    apigatewayv2 = clients("apigatewayv2")
    for api in apigateway.HTTP_API.resources(clients):
        if api.details.get("ProtocolType") != "HTTP":
            continue
        yield Drawn("httpapi", api.name, api)
        uris = {
            integration["IntegrationId"]: integration.get("IntegrationUri")
            for integration in pages(apigatewayv2, "get_integrations", "Items", ApiId=api.id)
        }
        for route in pages(apigatewayv2, "get_routes", "Items", ApiId=api.id):
            uri = uris.get(route.get("Target", "").removeprefix("integrations/"))
            if uri:
                yield Link(api.arn, uri, route["RouteKey"])


def _functions(clients: Clients):
    """Functions, and the roles they run as (listing every role of an account would drown them)."""
    roles_seen = set()
    for function in lambda_.FUNCTION.resources(clients):
        role_arn = function.details["Role"]
        yield Drawn("lambda", function.name, function)
        yield Link(function.arn, role_arn, "runs as")
        if role_arn in roles_seen:
            continue
        roles_seen.add(role_arn)
        role = iam.role_named(clients, role_arn.rsplit("/", 1)[-1])
        if role is not None:  # None: the role was deleted under the function, nothing to draw
            yield Drawn("iam_role", role.name, role)


def _event_source_mappings(clients: Clients):
    for mapping in lambda_.EVENT_SOURCE_MAPPING.resources(clients):
        if mapping.details.get("EventSourceArn"):
            yield Link(mapping.details["EventSourceArn"], mapping.details["FunctionArn"], "event source mapping")


def _tables(clients: Clients):
    for table in dynamodb.TABLE.resources(clients):
        yield Drawn("dynamodb", table.name, table)


def _caches(clients: Clients):
    """ElastiCache caches, node-based and serverless, drawn alike: a cache, by its id or name."""
    for kind in (elasticache.REPLICATION_GROUP, elasticache.CACHE_CLUSTER, elasticache.SERVERLESS_CACHE):
        for cache in kind.resources(clients):
            yield Drawn("elasticache", cache.name, cache)


def _vpc_endpoints(clients: Clients):
    """VPC endpoints, named by their service as a spec names them: com.amazonaws.REGION.dynamodb is dynamodb."""
    for endpoint in ec2.VPC_ENDPOINT.resources(clients):
        yield Drawn("vpc_endpoint", endpoint.details["ServiceName"].rsplit(".", 1)[-1], endpoint)


def _queues(clients: Clients):
    for queue in sqs_sns.QUEUE.resources(clients):
        yield Drawn("sqs", queue.name, queue)
        if "RedrivePolicy" in queue.details:
            dead_letter_arn = json.loads(queue.details["RedrivePolicy"])["deadLetterTargetArn"]
            yield Link(queue.arn, dead_letter_arn, "dead letters")


def _topics(clients: Clients):
    for topic in sqs_sns.TOPIC.resources(clients):
        yield Drawn("sns", topic.name, topic)
    for subscription in sqs_sns.SUBSCRIPTION.resources(clients):
        yield Link(subscription.details["TopicArn"], subscription.details["Endpoint"], "subscription")


def _ecs_services(clients: Clients):
    for service in ecs.SERVICE.resources(clients):
        cluster = service.details["clusterArn"].rsplit("/", 1)[-1]
        group = Group(id=f"ecs_cluster:{cluster}", label=f"ECS cluster {cluster}")
        yield Drawn("ecs_service", service.name, service, group)
        for balancer in service.details.get("loadBalancers") or []:
            if balancer.get("targetGroupArn"):
                yield Link(balancer["targetGroupArn"], service.arn, "targets")
        for registry in service.details.get("serviceRegistries") or []:
            yield Link(service.arn, registry["registryArn"], "registers")


def _load_balancers(clients: Clients):
    drawn_arns = set()
    for balancer in elb.LOAD_BALANCER.resources(clients):
        kind = BALANCER_KINDS.get(balancer.details["Type"])
        if kind is not None:
            drawn_arns.add(balancer.arn)
            yield Drawn(kind, balancer.name, balancer)
    for listener in elb.LISTENER.resources(clients):
        balancer_arn = listener.details["LoadBalancerArn"]
        if balancer_arn not in drawn_arns:
            continue
        for rule in pages(clients("elbv2"), "describe_rules", "Rules", ListenerArn=listener.id):
            for action in rule.get("Actions") or []:
                for target_group_arn, weight in _forwarded_to(action):
                    label = f":{listener.details['Port']} {_rule_condition(rule)}{weight}"
                    yield Link(balancer_arn, target_group_arn, label)
    for target_group in elb.TARGET_GROUP.resources(clients):
        yield Drawn("target_group", target_group.name, target_group)


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
    for pool in cognito.USER_POOL.resources(clients):
        yield Drawn("cognito", pool.name, pool)


def _keys(clients: Clients):
    for key in kms.KEY.resources(clients):
        yield Drawn("kms", key.name, key)


def _secrets(clients: Clients):
    for secret in secretsmanager.SECRET.resources(clients):
        yield Drawn("secret", secret.name, secret)


def _cloudmap_services(clients: Clients):
    """Cloud Map services, named as they resolve: service.namespace."""
    namespaces = {namespace.id: namespace.name for namespace in cloudmap.NAMESPACE.resources(clients)}
    for service in cloudmap.SERVICE.resources(clients):
        namespace_id = service.details.get("NamespaceId")
        yield Drawn("cloudmap", f"{service.name}.{namespaces.get(namespace_id, namespace_id)}", service)


def _buckets(clients: Clients):
    for bucket in s3.BUCKET.resources(clients):
        # env.bucket_name() ends a bucket's name with the account id (names are global): a spec
        # names the bucket without it.
        yield Drawn("s3", re.sub(r"-\d{12}$", "", bucket.name), bucket)


LISTERS: tuple[Lister, ...] = (
    Lister("API Gateway REST APIs", ("apigateway",), (("apigateway", "lambda"),), _rest_apis),
    Lister("API Gateway HTTP APIs", ("httpapi",), (("httpapi", "lambda"),), _http_apis),
    Lister("Lambda functions", ("lambda", "iam_role"), (("lambda", "iam_role"),), _functions),
    Lister("Lambda event source mappings", (), (("sqs", "lambda"), ("dynamodb", "lambda")), _event_source_mappings),
    Lister("DynamoDB tables", ("dynamodb",), (), _tables),
    Lister("ElastiCache caches", ("elasticache",), (), _caches),
    Lister("VPC endpoints", ("vpc_endpoint",), (), _vpc_endpoints),
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
