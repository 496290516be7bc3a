"""A payment provider, as the Bookshop sees one from outside: an HTTP API that charges cards for whoever holds
a valid API key. The course ships it so that lab 06 has a third party whose keys are worth protecting, and
that refuses a key once it is revoked, as Stripe or Adyen do.

POST   /charges        {amount_cents, order_id} -> 201 the charge
GET    /whoami         200 who the key belongs to
POST   /keys           {"api_key": NEW} -> 201: registers a key the caller generated, so a key can be rolled
                       without anyone at the provider (authorised by a key that is valid now)
DELETE /keys/current   revokes the key that authorises the request (the old one, once the new one works)

Every route needs `Authorization: Bearer <key>`; an unknown or revoked key gets 401 {"message": "invalid API
key"}. The valid keys are items of the DynamoDB table $KEYS_TABLE, keyed by `api_key`, with a `status` of
`active` or `revoked`. It runs as a Lambda function behind an HTTP API (payload format 2.0)."""

import json
import os
import time
import uuid

import boto3

keys = boto3.resource("dynamodb").Table(os.environ["KEYS_TABLE"])
MIN_KEY_LENGTH = 32  # a key anyone could guess is no key


def respond(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def key_of(event: dict) -> str | None:
    """The request's key if it is active, else None."""
    header = (event.get("headers") or {}).get("authorization", "")
    presented = header.removeprefix("Bearer ").strip()
    if not presented or presented == header:
        return None
    item = keys.get_item(Key={"api_key": presented}).get("Item")
    return presented if item and item.get("status") == "active" else None


def handler(event, context):
    key = key_of(event)
    if key is None:
        return respond(401, {"message": "invalid API key"})
    route = event["routeKey"]
    body = json.loads(event.get("body") or "{}")
    if route == "GET /whoami":
        return respond(200, {"account": "bookshop", "key_ends_with": key[-4:]})
    if route == "POST /charges":
        amount = body.get("amount_cents")
        if not isinstance(amount, int) or amount <= 0:
            return respond(400, {"message": "amount_cents must be a positive integer"})
        charge = {
            "id": f"ch_{uuid.uuid4().hex[:16]}",
            "amount_cents": amount,
            "order_id": body.get("order_id"),
            "status": "succeeded",
        }
        return respond(201, charge)
    if route == "POST /keys":
        new = body.get("api_key")
        if not isinstance(new, str) or len(new) < MIN_KEY_LENGTH:
            return respond(400, {"message": f"api_key must be a string of at least {MIN_KEY_LENGTH} characters"})
        keys.put_item(Item={"api_key": new, "status": "active", "created_at": int(time.time())})
        return respond(201, {"registered": new[-4:]})
    if route == "DELETE /keys/current":
        keys.update_item(
            Key={"api_key": key},
            UpdateExpression="SET #s = :revoked",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":revoked": "revoked"},
        )
        return respond(200, {"revoked": key[-4:]})
    return respond(404, {"message": "no such route"})
