"""Lab 04 · order events: SNS fan-out to SQS, Lambda consumers, dead-letter queues, and a saga for an
order that inventory cannot fill."""

import json
import uuid

from labkit.awsapi import as_set, policy_statements
from labkit.checks import Lab

lab = Lab("04", "Order events: SNS, SQS, Lambda consumers")

TOPIC, ORDERS_TABLE = "order-events", "orders"
CONSUMERS = {"notifications": ["OrderPlaced"], "inventory": ["OrderPlaced", "OrderCancelled"]}
# The orders service's own queue (step 5): it reacts to the rejections inventory publishes.
REJECTIONS = {"orders": ["OrderRejected"]}
MAX_RECEIVE_COUNT = 3
# What the checks write on the learner's tables, and remove again.
CHECK_ORDER, CHECK_BOOK = "o-labkit-check", 999_001
REJECTED_ORDER = "o-labkit-check-too-many"


@lab.check(
    "topic",
    "The orders service publishes to the order-events topic",
    step=1,
    hints=[
        'topic_arn = sns.create_topic(Name=env.name("order-events"), Tags=env.tag_list())["TopicArn"]',
        "orders = start_orders_service(ORDER_EVENTS_TOPIC_ARN=topic_arn): the service reads the variable when it "
        "starts, so it must be restarted, and the restarted one listens on a new port: keep it in `orders`.",
    ],
)
def topic_is_published_to(ctx):
    arn = _topic_arn(ctx)
    running = ctx.service_url("orders")
    health = ctx.get(running + "/health").json()
    found = health.get("order_events_topic")
    ctx.expect(
        found == arn,
        f"expected the orders service to publish to {arn}, found "
        f"{found or 'no topic (restart it with ORDER_EVENTS_TOPIC_ARN set)'}",
    )
    _kept_the_running_service(ctx, running)


def _kept_the_running_service(ctx, running: str) -> None:
    """The notebook's `orders` (when the panel is given it) is the service running now: a restart
    listens on a new port, and place_order() sends to `orders.url`."""
    kept = getattr(ctx.learner_value("orders"), "url", None)
    ctx.expect(
        kept == running,
        f"expected `orders` to be the orders service running now ({running}), found `orders` at {kept}, "
        "a service that was stopped by the restart: keep what start_orders_service returns, "
        "orders = start_orders_service(...)",
    )


@lab.check(
    "queues",
    "Each consumer has its queue, with a dead-letter queue after 3 receives",
    step=2,
    hints=[
        'sqs.create_queue(QueueName=env.name("notifications-dlq"), ...), then the queue with '
        'Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}), ...}',
        "The same for inventory, with its own DLQ: a DLQ per queue says which consumer failed.",
    ],
)
def queues_have_dead_letter_queues(ctx):
    _have_dead_letter_queues(ctx, CONSUMERS, "step 2")


def _have_dead_letter_queues(ctx, names, step: str) -> None:
    for name in names:
        attributes = _queue_attributes(ctx, name, step)
        if "RedrivePolicy" not in attributes:
            ctx.fail(f"expected the queue {ctx.env.name(name)} to have a RedrivePolicy, found none")
        policy = json.loads(attributes["RedrivePolicy"])
        dlq_arn = _queue_attributes(ctx, f"{name}-dlq", step)["QueueArn"]
        target = policy.get("deadLetterTargetArn")
        ctx.expect(
            target == dlq_arn, f"expected the dead-letter queue of {ctx.env.name(name)} to be {dlq_arn}, found {target}"
        )
        count = int(policy.get("maxReceiveCount", 0))
        ctx.expect(
            count == MAX_RECEIVE_COUNT,
            f"expected maxReceiveCount {MAX_RECEIVE_COUNT} on {ctx.env.name(name)}, found {count}",
        )


@lab.check(
    "subscriptions",
    "The topic delivers raw, filtered events to both queues",
    step=2,
    hints=[
        'filter_policies["inventory"] lists both event types it acts on: {"event_type": ["OrderPlaced", '
        '"OrderCancelled"]}; notifications only ["OrderPlaced"].',
        'queue_policy(queue_arn) returns {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
        '{"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": queue_arn, "Condition": '
        '{"ArnEquals": {"aws:SourceArn": topic_arn}}}]}; then run the cell again: it updates what exists.',
    ],
)
def subscriptions_filter(ctx):
    _subscribed(ctx, CONSUMERS, "step 2")


def _subscribed(ctx, consumers: dict, step: str) -> None:
    """Each queue is subscribed to the topic, raw, with a filter on its event types, and its policy lets
    the topic in."""
    sns = ctx.client("sns")
    topic_arn = _topic_arn(ctx)
    subscriptions = {
        s["Endpoint"]: s
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=topic_arn)
        for s in page["Subscriptions"]
        if s["Protocol"] == "sqs"
    }
    for name, event_types in consumers.items():
        attributes = _queue_attributes(ctx, name, step)
        arn = attributes["QueueArn"]
        if arn not in subscriptions:
            ctx.not_done(f"the queue {ctx.env.name(name)} is not subscribed to the topic yet: subscribe it in {step}")
        found = sns.get_subscription_attributes(SubscriptionArn=subscriptions[arn]["SubscriptionArn"])["Attributes"]
        ctx.expect(
            found.get("RawMessageDelivery") == "true",
            f'expected RawMessageDelivery "true" on the subscription of {ctx.env.name(name)}, found '
            f"{found.get('RawMessageDelivery', 'none')!r}",
        )
        scope = found.get("FilterPolicyScope", "MessageAttributes")
        policy = json.loads(found["FilterPolicy"]) if found.get("FilterPolicy") else None
        wanted = {"event_type": event_types}
        ctx.expect(
            scope == "MessageAttributes" and _same_policy(policy, wanted),
            f"expected the filter policy {json.dumps(wanted)} on message attributes for "
            f"{ctx.env.name(name)}, found {json.dumps(policy)}"
            + (f" on the {scope}" if scope != "MessageAttributes" else ""),
        )
        ctx.expect(
            _allows_topic(attributes.get("Policy"), arn, topic_arn),
            f"expected the policy of {ctx.env.name(name)} to allow sns.amazonaws.com sqs:SendMessage on "
            f"condition aws:SourceArn = {topic_arn}, found "
            f"{attributes.get('Policy') or 'no policy (on AWS the topic could not deliver)'}",
        )


def _same_policy(policy, wanted) -> bool:
    return (
        isinstance(policy, dict)
        and set(policy) == set(wanted)
        and all(sorted(map(str, policy[k])) == sorted(wanted[k]) for k in wanted)
    )


def _allows_topic(document, queue_arn: str, topic_arn: str) -> bool:
    for statement in policy_statements(document):
        principal = statement.get("Principal", {})
        services = as_set(principal.get("Service") if isinstance(principal, dict) else principal)
        conditions = statement.get("Condition", {})
        sources = {
            arn for test in ("ArnEquals", "ArnLike") for arn in as_set(conditions.get(test, {}).get("aws:SourceArn"))
        }
        if (
            statement.get("Effect") == "Allow"
            and "sns.amazonaws.com" in services
            and {"sqs:SendMessage", "sqs:*"} & as_set(statement.get("Action"))
            and {queue_arn, "*"} & as_set(statement.get("Resource"))
            and topic_arn in sources
        ):
            return True
    return False


@lab.check(
    "notifications-consumer",
    "Notifications confirms each order once, and reports the records it cannot handle",
    step=3,
    hints=[
        'mapping_settings = {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 1, "FunctionResponseTypes": '
        '["ReportBatchItemFailures"]}; connect() brings an existing mapping to them: run its cell again.',
        "The handler wraps each record in its own try/except and returns "
        '{"batchItemFailures": [{"itemIdentifier": record["messageId"]}, ...]} for the records that raised; '
        'send_once puts with ConditionExpression="attribute_not_exists(order_id)" (the order id is the '
        "idempotency key) and catches ConditionalCheckFailedException.",
    ],
)
def notifications_consumer(ctx):
    _mapping(ctx, "notifications")
    table = ctx.table(ctx.env.name("notifications"))
    good = _record(_placed_event(CHECK_ORDER, {"email": "check@bookshop.example"}))
    bad = _record("this is not JSON")
    try:
        failed = _invoke(ctx, "notifications", [good, bad])
        ctx.expect(
            failed == [bad["messageId"]],
            f"expected batchItemFailures to list only the record whose body is not JSON "
            f"({bad['messageId']}), found {failed}",
        )
        item = table.get_item(Key={"order_id": CHECK_ORDER}).get("Item")
        ctx.expect(
            item is not None and item.get("to") == "check@bookshop.example",
            f"expected a confirmation of {CHECK_ORDER} to check@bookshop.example in the table, found {item}",
        )
        table.put_item(Item={**item, "to": "first@bookshop.example"})
        _invoke(ctx, "notifications", [_record(_placed_event(CHECK_ORDER, {"email": "check@bookshop.example"}))])
        again = table.get_item(Key={"order_id": CHECK_ORDER}).get("Item") or {}
        ctx.expect(
            again.get("to") == "first@bookshop.example",
            f"expected a second delivery of the same order to change nothing (a conditional put), found the "
            f"confirmation written again (to {again.get('to')})",
        )
    finally:
        table.delete_item(Key={"order_id": CHECK_ORDER})


@lab.check(
    "inventory-consumer",
    "Inventory reserves and releases stock once per event, never below zero, and reports the records it cannot handle",
    step=4,
    hints=[
        'handler: one try/except per record, as in step 3, returning {"batchItemFailures": [...]}. apply: '
        "one update_item per book, its condition the rule: NOT contains(applied_events, :key), and for an "
        "OrderPlaced also available >= :qty, for an OrderCancelled contains(applied_events, :placed).",
        "When the condition fails, read the book: its applied_events holding the key means a duplicate (print, go "
        "on); an OrderPlaced whose key is not there was short of stock: reject(order_event, item, available).",
    ],
)
def inventory_consumer(ctx):
    _mapping(ctx, "inventory")
    table = ctx.table(ctx.env.name("inventory"))
    items = [{"book_id": CHECK_BOOK, "qty": 2, "price_cents": 100}]
    placed = _placed_event(CHECK_ORDER, {"email": "check@bookshop.example", "items": items})
    cancelled = {
        "event_type": "OrderCancelled",
        "order_id": CHECK_ORDER,
        "user_id": 1,
        "items": items,
        "cancelled_at": "2026-01-01T00:00:00+00:00",
    }
    too_many = _placed_event(
        REJECTED_ORDER,
        {"email": "check@bookshop.example", "items": [{"book_id": CHECK_BOOK, "qty": 11, "price_cents": 100}]},
    )
    table.put_item(Item={"book_id": CHECK_BOOK, "available": 10})
    try:
        failed = _invoke(ctx, "inventory", [_record(placed), _record(placed)])
        ctx.expect(failed == [], f"expected no batchItemFailures for two OrderPlaced events, found {failed}")
        available = _available(table)
        ctx.expect(
            available == 8,
            f"expected 10 - 2 = 8 available after the same OrderPlaced (2 copies) delivered twice, found {available}",
        )
        bad = _record("this is not JSON")
        failed = _invoke(ctx, "inventory", [bad, _record(cancelled)])
        ctx.expect(
            failed == [bad["messageId"]],
            f"expected batchItemFailures to list only the record whose body is not JSON ({bad['messageId']}), "
            f"found {failed}: without it Lambda counts the batch as done and deletes the bad record, or retries "
            "the good one with it",
        )
        available = _available(table)
        ctx.expect(available == 10, f"expected 10 available again after its OrderCancelled, found {available}")
        failed = _invoke(ctx, "inventory", [_record(too_many)])
        available = _available(table)
        ctx.expect(
            failed == [] and available == 10,
            "expected an OrderPlaced of 11 copies with 10 available to be rejected (stock left at 10, the record "
            "not reported failed: retrying cannot make stock appear), found "
            + (f"it reported failed ({failed})" if failed else f"{available} available"),
        )
        events = _applied_events(table)
        ctx.expect(
            f"OrderRejected:{REJECTED_ORDER}" in events,
            f"expected that order to be rejected with reject(order_event, item, available), which records "
            f"OrderRejected:{REJECTED_ORDER} on the book and publishes the event, found the book's events "
            f"{sorted(events)}",
        )
        _invoke(ctx, "inventory", [_record({**cancelled, "order_id": REJECTED_ORDER, "items": too_many["items"]})])
        available = _available(table)
        ctx.expect(
            available == 10,
            f"expected the OrderCancelled of an order that was rejected to release nothing (it reserved nothing), "
            f"found {available} available instead of 10",
        )
        failed = _invoke(ctx, "inventory", [_record({"event_type": "BookReviewed", "order_id": CHECK_ORDER})])
        ctx.expect(
            failed == [],
            f"expected an event type inventory does not know to be ignored, found it reported failed ({failed})",
        )
    finally:
        table.delete_item(Key={"book_id": CHECK_BOOK})


def _applied_events(table) -> set:
    item = table.get_item(Key={"book_id": CHECK_BOOK}).get("Item") or {}
    return set(item.get("applied_events") or ())


def _available(table):
    item = table.get_item(Key={"book_id": CHECK_BOOK}).get("Item") or {}
    return int(item["available"]) if "available" in item else None


@lab.check(
    "saga",
    "The orders service rejects the orders inventory could not fill",
    step=5,
    hints=[
        'filter_policies["orders"] = {"event_type": ["OrderRejected"]}; make its queue and subscription with '
        'consumer_queue("orders") as in step 2.',
        "orders = start_orders_service(ORDER_EVENTS_TOPIC_ARN=topic_arn, "
        'ORDER_REJECTIONS_QUEUE_URL=queue_urls["orders"]): both variables, and keep what it returns.',
    ],
)
def orders_are_rejected(ctx):
    _have_dead_letter_queues(ctx, REJECTIONS, "step 5")
    _subscribed(ctx, REJECTIONS, "step 5")
    queue_url = ctx.client("sqs").get_queue_url(QueueName=ctx.env.name("orders"))["QueueUrl"]
    running = ctx.service_url("orders")
    health = ctx.get(running + "/health").json()
    ctx.expect(
        health.get("order_rejections_queue") == queue_url and health.get("order_events_topic") == _topic_arn(ctx),
        f"expected the orders service to publish to the topic and consume {queue_url}, found it "
        + (
            f"consuming {health['order_rejections_queue']}"
            if health.get("order_rejections_queue")
            else "consuming no queue (restart it with ORDER_REJECTIONS_QUEUE_URL set)"
        )
        + ("" if health.get("order_events_topic") else " and publishing nowhere (ORDER_EVENTS_TOPIC_ARN unset)"),
    )
    _kept_the_running_service(ctx, running)
    rejected_by_inventory = {
        event.split(":", 1)[1]
        for item in _every_item(ctx.table(ctx.env.name("inventory")), "applied_events")
        for event in item.get("applied_events") or ()
        if event.startswith("OrderRejected:")
    }
    orders = ctx.table(ctx.env.name(ORDERS_TABLE))
    statuses = {
        order_id: (orders.get_item(Key={"id": order_id}).get("Item") or {}).get("status")
        for order_id in sorted(rejected_by_inventory)
    }
    statuses = {order_id: status for order_id, status in statuses.items() if status is not None}
    if not statuses:
        ctx.not_done(
            "inventory has rejected no order of the orders table yet: place the orders of step 5 (more copies "
            "of a book than inventory has)"
        )
    still = [order_id for order_id, status in statuses.items() if status == "PLACED"]
    ctx.expect(
        not still,
        f"expected every order inventory rejected to be REJECTED, found {', '.join(still)} still PLACED: the "
        "orders service did not receive its OrderRejected (is its queue subscribed with the filter "
        '{"event_type": ["OrderRejected"]}, and did you restart it with ORDER_REJECTIONS_QUEUE_URL?). Once '
        'fixed, publish the rejection again: republish(order_id, "OrderRejected")',
    )


@lab.check(
    "redrive",
    "Notifications reads schema 1 and schema 2 events, and its dead-letter queue is empty again",
    step=6,
    hints=[
        'In confirmation.py: recipient = event["email"] if event.get("schema", 1) == 1 else '
        'event["customer"]["email"]; then deploy the function again.',
        "redrive: start a message move task from the dead-letter queue, "
        'return sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"], then run redrive_all("notifications").',
    ],
)
def schema_2_and_redrive(ctx):
    _mapping(ctx, "notifications")
    table = ctx.table(ctx.env.name("notifications"))
    version_2 = _placed_event(CHECK_ORDER, {"schema": 2, "customer": {"id": 1, "email": "check@bookshop.example"}})
    del version_2["user_id"]
    version_1 = _placed_event(CHECK_ORDER, {"email": "check@bookshop.example"})
    for schema, event in ((2, version_2), (1, version_1)):
        try:
            failed = _invoke(ctx, "notifications", [_record(event)])
            item = table.get_item(Key={"order_id": CHECK_ORDER}).get("Item")
            ctx.expect(
                failed == [] and item is not None and item.get("to") == "check@bookshop.example",
                f"expected a schema {schema} event to be confirmed to its customer's email"
                + (
                    " (schema 1 events, without a schema field, still come from the orders service)"
                    if schema == 1
                    else ""
                )
                + ", found "
                + (f"it reported failed ({failed})" if failed else f"the confirmation {item}"),
            )
        finally:
            table.delete_item(Key={"order_id": CHECK_ORDER})
    waiting = _depth(ctx, "notifications-dlq")
    ctx.expect(
        waiting == 0, f"expected the notifications DLQ to be empty after the redrive, found {waiting} message(s)"
    )


@lab.check(
    "isolation",
    "Every order placed is confirmed, and nothing is left behind",
    step=7,
    hints=[
        'Fixing is deploying notifications_code again; then redrive_all("notifications"), which starts your move '
        "task and follows it.",
        "A disabled mapping polls nothing: lambda_.update_event_source_mapping(UUID=..., Enabled=True).",
    ],
)
def every_order_confirmed(ctx):
    mapping = _mapping(ctx, "notifications")
    for queue in ("notifications", "notifications-dlq"):
        waiting = _depth(ctx, queue)
        ctx.expect(waiting == 0, f"expected the {ctx.env.name(queue)} queue to be empty, found {waiting} message(s)")
    order_ids = _every(ctx.table(ctx.env.name(ORDERS_TABLE)), "id")
    if not order_ids:
        ctx.not_done("there is no order in the orders table yet: place the orders of step 6")
    confirmed = _every(ctx.table(ctx.env.name("notifications")), "order_id")
    missing = sorted(order_ids - confirmed)
    if missing:
        ctx.fail(
            f"expected a confirmation for each of the {len(order_ids)} orders, found "
            f"{len(order_ids) - len(missing)} (not confirmed: {', '.join(missing[:5])}"
            f"{', ...' if len(missing) > 5 else ''}). The queues are empty, so their OrderPlaced never reached "
            "the notifications queue: an order placed while the subscription was missing, or its filter policy "
            "did not match, was dropped by SNS, which keeps nothing. Publish it again once the subscription is "
            f'right: republish("{missing[0]}")'
        )
    ctx.expect(
        mapping["State"] == "Enabled",
        f"expected the notifications event source mapping to be Enabled, found {mapping['State']}",
    )


def _every(table, attribute: str) -> set:
    """The attribute's value in every item of the table, from every page of the scan."""
    return {item[attribute] for item in _every_item(table, attribute) if attribute in item}


def _every_item(table, attribute: str) -> list[dict]:
    """Every item of the table with only `attribute`, from every page of the scan."""
    page = table.scan(ProjectionExpression=attribute)
    items = list(page["Items"])
    while "LastEvaluatedKey" in page:
        page = table.scan(ProjectionExpression=attribute, ExclusiveStartKey=page["LastEvaluatedKey"])
        items += page["Items"]
    return items


def _topic_arn(ctx) -> str:
    sns = ctx.client("sns")
    wanted = ctx.env.name(TOPIC)
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page["Topics"]:
            if topic["TopicArn"].rsplit(":", 1)[-1] == wanted:
                return topic["TopicArn"]
    ctx.missing(f"SNS topic {wanted!r}", "create it in step 1")


def _queue_attributes(ctx, name: str, step: str = "step 2") -> dict:
    sqs = ctx.client("sqs")
    with ctx.not_done_if_missing(f"SQS queue {ctx.env.name(name)!r}", f"create it in {step}"):
        url = sqs.get_queue_url(QueueName=ctx.env.name(name))["QueueUrl"]
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def _depth(ctx, name: str) -> int:
    attributes = _queue_attributes(ctx, name)
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _mapping(ctx, name: str) -> dict:
    """The event source mapping from the queue `name` to the function `name`, checked as AWS would run it."""
    attributes = _queue_attributes(ctx, name)
    client = ctx.client("lambda")
    with ctx.not_done_if_missing(f"Lambda function {ctx.env.name(name)!r}"):
        function = client.get_function_configuration(FunctionName=ctx.env.name(name))
    mappings = client.list_event_source_mappings(
        EventSourceArn=attributes["QueueArn"], FunctionName=ctx.env.name(name)
    )["EventSourceMappings"]
    if not mappings:
        ctx.missing(f"event source mapping from the queue {ctx.env.name(name)} to the function {ctx.env.name(name)}")
    mapping = mappings[0]
    types = mapping.get("FunctionResponseTypes") or []
    ctx.expect(
        "ReportBatchItemFailures" in types,
        f'expected FunctionResponseTypes ["ReportBatchItemFailures"] on the mapping of '
        f"{ctx.env.name(name)}, found {types} (Lambda then ignores batchItemFailures): put it in mapping_settings "
        "and run the connect cell again, which updates the mapping",
    )
    visibility = int(attributes["VisibilityTimeout"])
    ctx.expect(
        visibility >= function["Timeout"],
        f"expected the queue's visibility timeout to be at least the function's timeout "
        f"({function['Timeout']} s; AWS advises 6 times it), found {visibility} s",
    )
    return mapping


def _placed_event(order_id: str, fields: dict) -> dict:
    return {
        "event_type": "OrderPlaced",
        "order_id": order_id,
        "user_id": 1,
        "items": [{"book_id": 1, "qty": 1, "price_cents": 3999}],
        "total_cents": 3999,
        "placed_at": "2026-01-01T00:00:00+00:00",
        **fields,
    }


def _record(body) -> dict:
    """An SQS record as Lambda's poller delivers it (Lambda Developer Guide, "Using Lambda with Amazon SQS")."""
    text = body if isinstance(body, str) else json.dumps(body)
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "labkit-check",
        "body": text,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1767225600000",
            "SenderId": "labkit-check",
            "ApproximateFirstReceiveTimestamp": "1767225600000",
        },
        "messageAttributes": {
            "event_type": {
                "stringValue": "OrderPlaced",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
        },
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:labkit-check",
        "awsRegion": "us-east-1",
    }


def _invoke(ctx, name: str, records: list) -> list:
    """Invoke the function with an SQS batch; returns the itemIdentifiers it reported failed."""
    payload = ctx.invoke(
        ctx.env.name(name),
        {"Records": records},
        raised=lambda error: (
            f"expected the {name} handler to report failed records in batchItemFailures, found it raised {error}; "
            "Lambda then retries the whole batch"
        ),
    )
    # As Lambda reads it: nothing, or a dict whose batchItemFailures (if any) is a list; anything else
    # fails the whole batch.
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    ctx.expect(
        not payload or (isinstance(payload, dict) and (failures is None or isinstance(failures, list))),
        f'expected the {name} handler to return {{"batchItemFailures": [...]}}, found {str(payload)[:120]} '
        f"(Lambda then counts the whole batch as failed)",
    )
    return [failure.get("itemIdentifier") for failure in failures or []]
