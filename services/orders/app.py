"""The orders service: the Bookshop's checkout, out of the monolith and into containers (lab 03).

POST /orders                {user_id, items: [{book_id, qty}]} -> 201 the order
GET  /orders/<id>           the order, or 404
POST /orders/<id>/cancel    200 the cancelled order; 409 unless it is PLACED, 404 if unknown
GET  /users/<id>/orders     the user's orders, oldest first
GET  /health                200 while the service can serve
Every answer carries X-Served-By: the ECS task that answered, so a client can see the load balancer
spread its requests.

Orders live in the DynamoDB table $ORDERS_TABLE (partition key `id`, and a global secondary index
`by-user` on user_id and created_at), shared by every task: any task can answer for any order. What
orders does not own yet (users and books) it asks the Bookshop monolith at $BOOKSHOP_URL, over HTTP.
When $ORDER_EVENTS_TOPIC_ARN is set (lab 04), each stored order and each cancellation is also
published to that SNS topic as an event (OrderPlaced, OrderCancelled: a JSON body, and the
event_type as a message attribute that subscriptions filter on); unset, nothing is published.
When $ORDER_REJECTIONS_QUEUE_URL is set (lab 04's saga), the service also consumes that SQS queue:
an OrderRejected event (inventory could not reserve the stock) marks its order REJECTED, the
compensating step; an order no longer PLACED (cancelled meanwhile, or rejected already) is left as
it is, so a repeated event changes nothing.
It listens on $HOST:$PORT (0.0.0.0:8080 in a container) and, on SIGTERM (ECS stopping the task),
finishes the requests it has first.
"""

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

import boto3
from boto3.dynamodb.conditions import Key
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

BOOKSHOP_TIMEOUT_S = 5


class ServiceError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def task_id() -> str:
    # ECS gives every container its task's metadata endpoint (task metadata endpoint v4).
    uri = os.environ.get("ECS_CONTAINER_METADATA_URI_V4")
    if not uri:
        return f"process-{os.getpid()}"
    with urllib.request.urlopen(uri + "/task", timeout=5) as response:
        return json.loads(response.read())["TaskARN"].rsplit("/", 1)[-1]


def create_app(table, bookshop_url: str, served_by: str, events=None, rejections_queue_url: str = "") -> Flask:
    """events: an EventPublisher, or None to publish nothing; rejections_queue_url: the queue that
    RejectionListener consumes, shown on /health."""
    app = Flask("orders")

    @app.after_request
    def say_who_served(response):
        response.headers["X-Served-By"] = served_by
        return response

    @app.get("/health")
    def health():
        answer = {"status": "ok", "task": served_by}
        if events is not None:
            answer["order_events_topic"] = events.topic_arn
        if rejections_queue_url:
            answer["order_rejections_queue"] = rejections_queue_url
        return answer

    @app.post("/orders")
    def place_order():
        user_id, items = parse_order(request.get_json(silent=True))
        user = ask_bookshop(bookshop_url, f"/users/{user_id}", f"user {user_id} not found")
        lines = []
        for book_id, qty in items:
            book = ask_bookshop(bookshop_url, f"/books/{book_id}", f"book {book_id} not found")
            if book["stock"] < qty:
                raise ServiceError(409, f"only {book['stock']} of book {book_id} in stock")
            lines.append({"book_id": book_id, "qty": qty, "price_cents": book["price_cents"]})
        order = {
            "id": f"o-{uuid.uuid4().hex[:12]}",
            "user_id": user_id,
            "items": lines,
            "total_cents": sum(line["qty"] * line["price_cents"] for line in lines),
            "status": "PLACED",
            "created_at": datetime.now(UTC).isoformat(),
        }
        table.put_item(Item=order)
        if events is not None:
            # Stored, then published: if publishing fails the order exists without its event (the
            # dual-write problem; a transactional outbox or DynamoDB Streams would close the gap).
            events.publish(
                "OrderPlaced",
                {
                    "order_id": order["id"],
                    "user_id": user_id,
                    "email": user["email"],
                    "items": lines,
                    "total_cents": order["total_cents"],
                    "placed_at": order["created_at"],
                },
            )
        return order, 201

    @app.post("/orders/<order_id>/cancel")
    def cancel_order(order_id):
        try:
            # Conditional: two cancellations racing (or a cancel after shipping) cannot both win.
            order = table.update_item(
                Key={"id": order_id},
                UpdateExpression="SET #status = :cancelled, cancelled_at = :now",
                ConditionExpression="#status = :placed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":cancelled": "CANCELLED",
                    ":placed": "PLACED",
                    ":now": datetime.now(UTC).isoformat(),
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except table.meta.client.exceptions.ConditionalCheckFailedException:
            current = table.get_item(Key={"id": order_id}).get("Item")
            if current is None:
                raise ServiceError(404, f"order {order_id} not found") from None
            raise ServiceError(
                409, f"order {order_id} is {current['status']}: only a PLACED order can be cancelled"
            ) from None
        order = plain(order)
        if events is not None:
            events.publish(
                "OrderCancelled",
                {
                    "order_id": order_id,
                    "user_id": order["user_id"],
                    "items": order["items"],
                    "cancelled_at": order["cancelled_at"],
                },
            )
        return order

    @app.get("/orders/<order_id>")
    def get_order(order_id):
        order = table.get_item(Key={"id": order_id}).get("Item")
        if order is None:
            raise ServiceError(404, f"order {order_id} not found")
        return plain(order)

    @app.get("/users/<int:user_id>/orders")
    def list_user_orders(user_id):
        found, query = [], {"IndexName": "by-user", "KeyConditionExpression": Key("user_id").eq(user_id)}
        while True:
            page = table.query(**query)
            found += page["Items"]
            if "LastEvaluatedKey" not in page:
                return jsonify([plain(order) for order in found])
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    @app.errorhandler(ServiceError)
    def service_error(error):
        return {"error": str(error)}, error.status

    return app


class EventPublisher:
    """Publishes the service's events to one SNS topic."""

    def __init__(self, topic_arn: str):
        self.topic_arn = topic_arn
        self.sns = boto3.client("sns")

    def publish(self, event_type: str, fields: dict) -> None:
        # The type goes in the body for consumers, and as a message attribute for SNS: a
        # subscription's filter policy reads attributes without parsing the body.
        self.sns.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps({"event_type": event_type, **fields}, default=int),
            MessageAttributes={"event_type": {"DataType": "String", "StringValue": event_type}},
        )


class RejectionListener(threading.Thread):
    """Consumes OrderRejected events from an SQS queue: each marks its order REJECTED, if still PLACED."""

    def __init__(self, table, queue_url: str):
        super().__init__(daemon=True, name="order-rejections")
        self.table, self.queue_url = table, queue_url
        self.sqs = boto3.client("sqs")

    def run(self) -> None:
        while True:
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
                ).get("Messages", [])
            except Exception as error:  # the queue is gone, or the target does not answer: try again later
                print(f"cannot receive from {self.queue_url}: {error}", flush=True)
                time.sleep(5)
                continue
            for message in messages:
                try:
                    self.handle(json.loads(message["Body"]))
                except Exception as error:  # left in the queue: received again after its visibility timeout
                    print(f"cannot handle {message['MessageId']}: {error!r}", flush=True)
                    continue
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def handle(self, event: dict) -> None:
        if event.get("event_type") != "OrderRejected":
            print(f"ignored {event.get('event_type')}", flush=True)
            return
        try:
            self.table.update_item(
                Key={"id": event["order_id"]},
                UpdateExpression="SET #status = :rejected, rejected_because = :reason",
                ConditionExpression="#status = :placed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":rejected": "REJECTED",
                    ":placed": "PLACED",
                    ":reason": event.get("reason", ""),
                },
            )
            print(f"rejected {event['order_id']}: {event.get('reason', '')}", flush=True)
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            print(f"left {event['order_id']} as it is: it is no longer PLACED (or unknown)", flush=True)


def parse_order(body) -> tuple[int, list[tuple[int, int]]]:
    if not isinstance(body, dict):
        raise ServiceError(400, "the request body must be a JSON object")
    user_id, items = body.get("user_id"), body.get("items")
    if not is_id(user_id):
        raise ServiceError(400, "user_id must be a positive integer")
    if not isinstance(items, list) or not items:
        raise ServiceError(400, "items must be a non-empty list of {book_id, qty}")
    parsed = []
    for item in items:
        if not isinstance(item, dict) or not is_id(item.get("book_id")) or not is_id(item.get("qty", 1)):
            raise ServiceError(400, "each item needs a positive integer book_id and qty")
        parsed.append((item["book_id"], item.get("qty", 1)))
    return user_id, parsed


def is_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def ask_bookshop(bookshop_url: str, path: str, not_found: str) -> dict:
    try:
        with urllib.request.urlopen(bookshop_url + path, timeout=BOOKSHOP_TIMEOUT_S) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            raise ServiceError(404, not_found) from None
        raise ServiceError(502, f"the Bookshop answered {error.code} for GET {path}") from None
    except OSError as error:
        raise ServiceError(503, f"the Bookshop did not answer GET {path}: {error}") from None


def plain(order: dict) -> dict:
    # DynamoDB gives numbers back as Decimal, which JSON cannot write.
    return json.loads(json.dumps(order, default=int))


def main() -> None:
    table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
    topic_arn = os.environ.get("ORDER_EVENTS_TOPIC_ARN")
    rejections_queue_url = os.environ.get("ORDER_REJECTIONS_QUEUE_URL", "")
    app = create_app(
        table,
        os.environ["BOOKSHOP_URL"].rstrip("/"),
        task_id(),
        EventPublisher(topic_arn) if topic_arn else None,
        rejections_queue_url,
    )
    if rejections_queue_url:
        RejectionListener(table, rejections_queue_url).start()
    server = make_server(os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080")), app, threaded=True)
    server.daemon_threads = False  # so that a shutdown waits for the requests in progress

    def stop(_signum, _frame):
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"orders listening on port {server.port}", flush=True)
    started = time.monotonic()
    server.serve_forever()
    server.server_close()
    print(f"orders stopped after {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
