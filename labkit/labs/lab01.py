"""Lab 01 · the monolith: run the Bookshop, use its API from code, export its catalog to S3."""
import json

from labkit.checks import Lab

lab = Lab("01", "The monolith")

EXPORT_KEY = "catalog/books.json"
MODULES = {"catalog", "users", "orders", "payments", "notifications"}


@lab.check("bookshop-runs", "The Bookshop runs and answers on /health", step=1, hints=[
    "localproc.start(name, command) runs a command as a background process and waits for its health URL.",
    'The command is [sys.executable, "-m", "services.monolith", "--port", "{port}"]; '
    'give it its own database with env={"MONOLITH_DB": str(localproc.data_dir("bookshop") / "bookshop.db")}.',
])
def bookshop_runs(ctx):
    health = ctx.get(ctx.service_url("bookshop") + "/health")
    ctx.expect(health.status_code == 200, f"expected 200 from /health, found {health.status_code}")
    modules = set(health.json().get("modules", []))
    ctx.expect(modules == MODULES, f"expected the modules {sorted(MODULES)}, found {sorted(modules)}")


@lab.check("place-order", "place_order() places a real order", step=2, hints=[
    "POST to /orders with the JSON body {\"user_id\": ..., \"items\": [{\"book_id\": ..., \"qty\": ...}]}.",
    "requests.post(url, json=body, timeout=5); call raise_for_status() so a refused order raises; "
    "return response.json().",
])
def place_order_works(ctx):
    url = ctx.service_url("bookshop")
    place_order = ctx.learner_function("place_order")
    user = ctx.post(url + "/users", json={"name": "Check Bot", "email": "check-bot@example.com"})
    ctx.expect(user.status_code in (200, 201), f"the Bookshop refused a new user ({user.status_code})")
    book = next((b for b in ctx.get(url + "/books").json() if b["stock"] >= 2), None)
    if book is None:
        ctx.not_done("every book is sold out: restart the Bookshop with a fresh database (step 1)")
    order = place_order(url, user.json()["id"], book["id"], 2)
    ctx.expect(isinstance(order, dict) and "id" in order,
               f"expected place_order to return the order as a dict with an 'id', found {order!r:.120}")
    stored = ctx.get(f"{url}/orders/{order['id']}")
    ctx.expect(stored.status_code == 200, f"expected the order {order['id']} at GET /orders/{order['id']}, "
                                          f"found {stored.status_code}")
    quantities = {item["book_id"]: item["qty"] for item in stored.json()["items"]}
    ctx.expect(quantities == {book["id"]: 2},
               f"expected the order to hold 2 of book {book['id']}, found {quantities}")
    stock_after = ctx.get(f"{url}/books/{book['id']}").json()["stock"]
    ctx.expect(stock_after == book["stock"] - 2,
               f"expected the stock of book {book['id']} to drop from {book['stock']} to "
               f"{book['stock'] - 2}, found {stock_after}")


@lab.check("export-bucket", "The export bucket exists and carries the course's tags", step=3, hints=[
    "s3.create_bucket(Bucket=env.bucket_name(\"bookshop-exports\")); outside us-east-1 add "
    "CreateBucketConfiguration={\"LocationConstraint\": env.region}.",
    "S3 takes tags in a separate call: s3.put_bucket_tagging(Bucket=..., Tagging={\"TagSet\": env.tag_list()}).",
])
def export_bucket(ctx):
    s3 = ctx.client("s3")
    bucket = ctx.env.bucket_name("bookshop-exports")
    s3.head_bucket(Bucket=bucket)
    try:
        tag_set = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except Exception as error:
        if getattr(error, "response", {}).get("Error", {}).get("Code") != "NoSuchTagSet":
            raise
        tag_set = []
    tags = {tag["Key"]: tag["Value"] for tag in tag_set}
    ctx.expect(tags.get("labkit:course") == ctx.env.tags["labkit:course"],
               f"expected the tag labkit:course on bucket {bucket} (teardown finds resources by it), "
               f"found the tags {tags}")


@lab.check("export-object", "The catalog export matches the Bookshop's catalog", step=3, hints=[
    "GET /books returns the catalog as JSON; put it in the bucket unchanged.",
    f"s3.put_object(Bucket=bucket, Key=\"{EXPORT_KEY}\", Body=json.dumps(books), "
    "ContentType=\"application/json\").",
])
def export_object(ctx):
    bucket = ctx.env.bucket_name("bookshop-exports")
    exported = ctx.client("s3").get_object(Bucket=bucket, Key=EXPORT_KEY)
    ctx.expect(exported["ContentType"] == "application/json",
               f"expected ContentType application/json on {EXPORT_KEY}, found {exported['ContentType']}")
    try:
        books = json.loads(exported["Body"].read())
    except ValueError:
        ctx.expect(False, f"expected JSON in {EXPORT_KEY}, found something else")
    ctx.expect(isinstance(books, list), f"expected a JSON list of books, found a {type(books).__name__}")
    catalog = ctx.get(ctx.service_url("bookshop") + "/books").json()
    expected = sorted((b["id"], b["title"]) for b in catalog)
    found = sorted((b.get("id"), b.get("title")) for b in books if isinstance(b, dict))
    ctx.expect(found == expected, f"expected the {len(expected)} books of GET /books (ids and titles), "
                                  f"found {len(found)} that match only partly")
