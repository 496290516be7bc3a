"""Lab 01 · the monolith: run the Bookshop, use its API from code, export its catalog to S3."""

import json

from labkit import config
from labkit.checks import Lab, aws_error_code

lab = Lab("01", "The monolith")

EXPORT_KEY = "catalog/books.json"
LEARNER_EMAIL = "learner@bookshop.example"
MODULES = {"catalog", "users", "orders", "payments", "notifications"}


@lab.check(
    "bookshop-runs",
    "The Bookshop runs and answers on /health",
    step=1,
    hints=[
        "localproc.start(name, command) runs a command as a background process and waits for its health URL.",
        'The command is [sys.executable, "-m", "services.monolith", "--port", "{port}"]; '
        'give it its own database with env={"MONOLITH_DB": str(localproc.data_dir("bookshop") / "bookshop.db")}.',
    ],
)
def bookshop_runs(ctx):
    health = ctx.get(ctx.service_url("bookshop") + "/health")
    ctx.expect(health.status_code == 200, f"expected 200 from /health, found {health.status_code}")
    modules = set(health.json().get("modules", []))
    ctx.expect(modules == MODULES, f"expected the modules {sorted(MODULES)}, found {sorted(modules)}")


@lab.check(
    "first-order",
    "Your place_order() bought 2 copies of book 3 for the lab's learner",
    step=2,
    hints=[
        'POST to /orders with the JSON body {"user_id": ..., "items": [{"book_id": ..., "qty": ...}]}.',
        "requests.post(url, json=body, timeout=5); call raise_for_status() so a refused order raises; "
        'return response.json(). Then: order = place_order(bookshop.url, learner["id"], 3, 2).',
    ],
)
def first_order(ctx):
    url = ctx.service_url("bookshop")
    found = ctx.get(url + "/users", params={"email": LEARNER_EMAIL}).json()
    if not found:
        ctx.not_done(f"there is no user {LEARNER_EMAIL} yet: run the step's first lines, which register them")
    orders = ctx.get(f"{url}/users/{found[0]['id']}/orders").json()
    if not orders:
        ctx.not_done(f"{LEARNER_EMAIL} has no order yet: call place_order(bookshop.url, learner['id'], 3, 2)")
    bought = [{item["book_id"]: item["qty"] for item in order["items"]} for order in orders]
    ctx.expect(
        {3: 2} in bought, f"expected an order of 2 copies of book 3, found the orders {bought} (book id: copies)"
    )


@lab.check(
    "export-bucket",
    "The export bucket exists and carries the course's tags",
    step=3,
    hints=[
        's3.create_bucket(Bucket=env.bucket_name("bookshop-exports")); outside us-east-1 add '
        'CreateBucketConfiguration={"LocationConstraint": env.region}.',
        'S3 takes tags in a separate call: s3.put_bucket_tagging(Bucket=..., Tagging={"TagSet": env.tag_list()}).',
    ],
)
def export_bucket(ctx):
    s3 = ctx.client("s3")
    bucket = ctx.env.bucket_name("bookshop-exports")
    with ctx.not_done_if_missing(f"S3 bucket {bucket!r}", "create it in step 3"):
        s3.head_bucket(Bucket=bucket)
    try:
        tag_set = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    except Exception as error:
        if aws_error_code(error) != "NoSuchTagSet":
            raise
        tag_set = []
    tags = {tag["Key"]: tag["Value"] for tag in tag_set}
    ctx.expect(
        tags.get(config.COURSE_TAG_KEY) == ctx.env.tags[config.COURSE_TAG_KEY],
        f"expected the tag {config.COURSE_TAG_KEY} on bucket {bucket} (teardown finds resources by it), "
        f"found the tags {tags}",
    )


@lab.check(
    "export-object",
    "The catalog export matches the Bookshop's catalog",
    step=3,
    hints=[
        "GET /books returns the catalog as JSON; put it in the bucket unchanged.",
        f's3.put_object(Bucket=bucket, Key="{EXPORT_KEY}", Body=json.dumps(books), ContentType="application/json").',
    ],
)
def export_object(ctx):
    bucket = ctx.env.bucket_name("bookshop-exports")
    with ctx.not_done_if_missing(f"object {EXPORT_KEY!r} in the bucket {bucket}", "put the export there in step 3"):
        exported = ctx.client("s3").get_object(Bucket=bucket, Key=EXPORT_KEY)
    ctx.expect(
        exported["ContentType"] == "application/json",
        f"expected ContentType application/json on {EXPORT_KEY}, found {exported['ContentType']}",
    )
    try:
        books = json.loads(exported["Body"].read())
    except ValueError:
        ctx.fail(f"expected JSON in {EXPORT_KEY}, found something else")
    ctx.expect(isinstance(books, list), f"expected a JSON list of books, found a {type(books).__name__}")
    catalog = ctx.get(ctx.service_url("bookshop") + "/books").json()
    expected = sorted((b["id"], b["title"]) for b in catalog)
    found = sorted((b.get("id"), b.get("title")) for b in books if isinstance(b, dict))
    ctx.expect(
        found == expected,
        f"expected the {len(expected)} books of GET /books (ids and titles), found {len(found)} that match only partly",
    )
