"""The catalog service: the Bookshop's catalog as a Lambda function behind API Gateway (REST API,
Lambda proxy integration, payload format 1.0), its books in a DynamoDB table.

Routes: GET /books, GET /books?author=..., GET /books/{id}, POST /books.
The table's name comes from the BOOKS_TABLE environment variable; its key is the string `id`.
"""

import json
import os
from decimal import Decimal

import boto3
from boto3.dynamodb.conditions import Attr

REQUIRED_FIELDS = {"title": str, "author": str, "price_cents": int, "stock": int}

_table = None


def table():
    # Created once per execution environment, then reused by warm invocations.
    global _table
    if _table is None:
        _table = boto3.resource("dynamodb").Table(os.environ["BOOKS_TABLE"])
    return _table


def handler(event, context):
    method, resource = event["httpMethod"], event["resource"]
    if method == "GET" and resource == "/books":
        author = (event.get("queryStringParameters") or {}).get("author")
        return respond(200, list_books(author))
    if method == "GET" and resource == "/books/{id}":
        book = table().get_item(Key={"id": event["pathParameters"]["id"]}).get("Item")
        if book is None:
            return respond(404, {"message": f"book {event['pathParameters']['id']} not found"})
        return respond(200, book)
    if method == "POST" and resource == "/books":
        return add_book(event.get("body"))
    return respond(405, {"message": f"{method} {resource} is not supported"})


def list_books(author: str | None) -> list:
    scan = {"FilterExpression": Attr("author").contains(author)} if author else {}
    books, page = [], table().scan(**scan)
    books += page["Items"]
    while "LastEvaluatedKey" in page:
        page = table().scan(ExclusiveStartKey=page["LastEvaluatedKey"], **scan)
        books += page["Items"]
    return sorted(books, key=lambda book: int(book["id"]))


def add_book(body: str | None):
    try:
        book = json.loads(body or "")
    except ValueError:
        return respond(400, {"message": "the body must be JSON"})
    if not isinstance(book, dict):
        return respond(400, {"message": "the body must be a JSON object"})
    wrong = [name for name, kind in REQUIRED_FIELDS.items() if not isinstance(book.get(name), kind)]
    if wrong or not str(book.get("id", "")).strip():
        return respond(
            400,
            {
                "message": f"a book needs id (string) and {', '.join(REQUIRED_FIELDS)}; "
                f"missing or wrong: {', '.join(wrong) or 'id'}"
            },
        )
    book["id"] = str(book["id"])
    try:
        table().put_item(Item=book, ConditionExpression="attribute_not_exists(id)")
    except table().meta.client.exceptions.ConditionalCheckFailedException:
        return respond(409, {"message": f"book {book['id']} already exists"})
    return respond(201, book)


def respond(status: int, body) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, default=_plain_number),
    }


def _plain_number(value):
    # DynamoDB returns numbers as Decimal, which json cannot write.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
