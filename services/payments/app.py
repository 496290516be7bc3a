"""The payments service: the Bookshop charges its customers again (lab 06).

POST /payments              {order_id, card_number, amount_cents} -> 201 {order_id, charge_id}: the card is
                            stored encrypted (cards.encrypt_card, envelope encryption under a KMS key) in the
                            DynamoDB table $PAYMENTS_TABLE, and charged at the payment provider ($PROVIDER_URL)
GET  /payments/<order_id>   200 {order_id, card_ends_with}: the stored card, decrypted (cards.decrypt_card)
GET  /health                200 {status, task, key_from}

The provider's API key comes one of two ways:
- v1: $PROVIDER_API_KEY, which ECS puts in the environment from the task definition's `secrets` when the
  task starts, and never again;
- v2: $PROVIDER_SECRET_ID, the secret to read at run time with provider_key.ProviderKey (cached for
  $PROVIDER_KEY_TTL_S seconds, read again when the provider refuses the key).
A refused key answers 502 {"message": "the payment provider refused our API key"}; a call to AWS that fails
(a disabled key, a missing permission) answers 503 with AWS's error code, and its message goes to the log.
It listens on $HOST:$PORT (0.0.0.0:8080 in a container) and finishes its requests on SIGTERM.
"""

import json
import os
import signal
import threading
import traceback
import urllib.error
import urllib.request
import uuid

import boto3
import cards
from botocore.exceptions import ClientError
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

PROVIDER_TIMEOUT_S = 10
SERVED_BY = f"payments-{uuid.uuid4().hex[:8]}"


class FixedKey:
    """v1: the key ECS read when the task started."""

    def __init__(self, key: str):
        self.key = key

    def call(self, request_with):
        return request_with(self.key)


def key_source(secretsmanager):
    if os.environ.get("PROVIDER_API_KEY"):
        return FixedKey(os.environ["PROVIDER_API_KEY"]), "environment (task definition secrets)"
    import provider_key  # written in step 7; the v1 image may not have it

    ttl_s = float(os.environ.get("PROVIDER_KEY_TTL_S", "60"))
    return provider_key.ProviderKey(secretsmanager, os.environ["PROVIDER_SECRET_ID"], ttl_s), "Secrets Manager"


def provider_call(url: str, body: dict):
    """A function of the key: POST the body to the provider with it; returns (status, JSON answer)."""

    def with_key(key: str) -> tuple[int, dict]:
        call = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(call, timeout=PROVIDER_TIMEOUT_S) as answer:
                return answer.status, json.loads(answer.read() or b"{}")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"{}")

    return with_key


def create_app(table, kms, key_id: str, provider_url: str, key, key_from: str) -> Flask:
    app = Flask(__name__)

    @app.after_request
    def served_by(response):
        response.headers["X-Served-By"] = SERVED_BY
        return response

    @app.errorhandler(ClientError)
    def aws_refused(error: ClientError):
        # The cause goes to the log (CloudWatch Logs on ECS): the answer says only which error it was.
        print(f"{type(error).__name__}: {error}", flush=True)
        return jsonify(message=error.response["Error"]["Code"]), 503

    @app.get("/health")
    def health():
        return jsonify(status="ok", task=SERVED_BY, key_from=key_from)

    @app.post("/payments")
    def pay():
        body = request.get_json(silent=True) or {}
        order_id, card, amount = body.get("order_id"), body.get("card_number"), body.get("amount_cents")
        if not (isinstance(order_id, str) and isinstance(card, str) and isinstance(amount, int)):
            return jsonify(message="expected order_id, card_number (strings) and amount_cents (an integer)"), 400
        item = cards.encrypt_card(kms, key_id, order_id, card)
        table.put_item(Item={**item, "order_id": order_id, "amount_cents": amount})
        status, answer = key.call(
            provider_call(f"{provider_url}/charges", {"amount_cents": amount, "order_id": order_id})
        )
        if status == 401:
            print(f"the payment provider refused our API key for order {order_id}", flush=True)
            return jsonify(message="the payment provider refused our API key"), 502
        if status != 201:
            return jsonify(message=f"the payment provider answered {status}: {answer}"), 502
        return jsonify(order_id=order_id, charge_id=answer["id"]), 201

    @app.get("/payments/<order_id>")
    def card_of(order_id: str):
        item = table.get_item(Key={"order_id": order_id}).get("Item")
        if item is None:
            return jsonify(message=f"no payment for order {order_id}"), 404
        return jsonify(order_id=order_id, card_ends_with=cards.decrypt_card(kms, item)[-4:])

    @app.errorhandler(Exception)
    def failed(error: Exception):
        traceback.print_exc()
        return jsonify(message=f"{type(error).__name__}: {error}"), 500

    return app


def main() -> None:
    secretsmanager = boto3.client("secretsmanager")
    key, key_from = key_source(secretsmanager)
    table = boto3.resource("dynamodb").Table(os.environ["PAYMENTS_TABLE"])
    app = create_app(
        table, boto3.client("kms"), os.environ["CARD_KEY_ID"], os.environ["PROVIDER_URL"].rstrip("/"), key, key_from
    )
    server = make_server(os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "8080")), app, threaded=True)
    server.daemon_threads = False  # so that a shutdown waits for the requests in progress
    signal.signal(signal.SIGTERM, lambda _signum, _frame: threading.Thread(target=server.shutdown).start())
    print(f"payments listening on port {server.port}, the provider's key from the {key_from}", flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
