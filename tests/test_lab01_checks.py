"""Lab 01's checks against wrong answers: each failure says what was expected and what was found."""

import json
import sys

import boto3
import pytest
import requests

from labkit import labs, localproc
from labkit.labs.lab01 import EXPORT_KEY, LEARNER_EMAIL


@pytest.fixture
def bookshop(cloud):
    process = localproc.start(
        "bookshop",
        [sys.executable, "-m", "services.monolith", "--port", "{port}", "--fresh-db"],
        env={"MONOLITH_DB": str(localproc.data_dir("bookshop") / "wrong.db")},
    )
    yield process
    localproc.stop("bookshop")


def result(check_id):
    lab = labs.require("01")
    return next(r for r in lab.run() if r.id == check_id)


def test_an_order_of_the_wrong_quantity_is_explained(bookshop):
    user = requests.post(bookshop.url + "/users", json={"name": "L", "email": LEARNER_EMAIL}).json()
    requests.post(bookshop.url + "/orders", json={"user_id": user["id"], "items": [{"book_id": 3, "qty": 1}]})
    found = result("first-order")
    assert found.status == "failed"
    assert found.message == ("expected an order of 2 copies of book 3, found the orders [{3: 1}] (book id: copies)")


def test_no_order_yet_is_not_done_yet(bookshop):
    found = result("first-order")
    assert found.status == "not done yet" and LEARNER_EMAIL in found.message


def test_an_export_with_the_wrong_content_type_is_explained(bookshop):
    s3 = boto3.client("s3")
    bucket = "bookshop-exports-123456789012"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "project", "Value": "bookshop"}]})
    try:
        books = requests.get(bookshop.url + "/books").json()
        s3.put_object(Bucket=bucket, Key=EXPORT_KEY, Body=json.dumps(books), ContentType="text/plain")
        found = result("export-object")
        assert found.status == "failed"
        assert found.message == f"expected ContentType application/json on {EXPORT_KEY}, found text/plain"
        wrongly_tagged = result("export-bucket")
        assert wrongly_tagged.status == "failed"
        assert wrongly_tagged.message.startswith(f"expected the tag labkit:course on bucket {bucket}")
        assert wrongly_tagged.message.endswith("found the tags {'project': 'bookshop'}")
    finally:
        s3.delete_object(Bucket=bucket, Key=EXPORT_KEY)
        s3.delete_bucket(Bucket=bucket)


def test_a_stopped_bookshop_is_not_done_yet(cloud):
    found = result("bookshop-runs")
    assert (found.status, found.message) == (
        "not done yet",
        "the bookshop process is not running: run the step that starts it",
    )
