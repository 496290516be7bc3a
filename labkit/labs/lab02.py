"""Lab 02 · the catalog service: API Gateway + Lambda + DynamoDB, and the strangler fig."""

import json

from labkit.awsapi import as_set, policy_statements
from labkit.checks import Lab

lab = Lab("02", "Catalog: API Gateway + Lambda + DynamoDB")

TABLE, ROLE, FUNCTION, API, STAGE = "books", "catalog-role", "catalog", "catalog", "prod"
# What the catalog's handler does with its table, and nothing more: least privilege.
NEEDED_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}
LOG_ACTIONS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}


@lab.check(
    "table",
    "The books table exists, keyed by the string id",
    step=1,
    hints=[
        'dynamodb.create_table(TableName=env.name("books"), KeySchema=[...], AttributeDefinitions=[...], '
        'BillingMode="PAY_PER_REQUEST", Tags=env.tag_list())',
        'KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], '
        'AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}]',
    ],
)
def table_exists(ctx):
    table = _books(ctx)
    keys = [(k["AttributeName"], k["KeyType"]) for k in table.key_schema]
    ctx.expect(keys == [("id", "HASH")], f"expected the key schema [('id', 'HASH')], found {keys}")
    types = {a["AttributeName"]: a["AttributeType"] for a in table.attribute_definitions}
    ctx.expect(types.get("id") == "S", f"expected id to be a string (S), found {types.get('id')}")
    count = table.scan(Select="COUNT")["Count"]
    ctx.expect(count >= 12, f"expected the 12 books of the catalog export in the table, found {count}")


def _books(ctx):
    return ctx.table(ctx.env.name(TABLE), fix="create it in step 1")


@lab.check(
    "role",
    "The function's role may do what the handler needs, and no more",
    step=2,
    hints=[
        "The trust policy lets lambda.amazonaws.com assume the role (sts:AssumeRole).",
        f"One inline policy: {sorted(NEEDED_ACTIONS)} on the table's ARN only, and the three logs: actions.",
    ],
)
def role_is_least_privilege(ctx):
    iam = ctx.client("iam")
    with ctx.not_done_if_missing(f"IAM role {ctx.env.name(ROLE)!r}", "create it in step 2"):
        role = iam.get_role(RoleName=ctx.env.name(ROLE))["Role"]
    principals = [s.get("Principal", {}).get("Service") for s in policy_statements(role["AssumeRolePolicyDocument"])]
    ctx.expect(
        "lambda.amazonaws.com" in principals,
        f"expected lambda.amazonaws.com to be trusted to assume the role, found {principals}",
    )
    table_arn = _books(ctx).table_arn
    granted = _granted(iam, role["RoleName"])
    dynamodb = {(a, r) for a, r in granted if a.startswith("dynamodb:") or a == "*"}
    actions = {a for a, _ in dynamodb}
    ctx.expect(
        actions == NEEDED_ACTIONS,
        f"expected exactly the DynamoDB actions {sorted(NEEDED_ACTIONS)}, found {sorted(actions)}",
    )
    resources = {r for _, r in dynamodb}
    ctx.expect(
        resources == {table_arn}, f"expected the DynamoDB actions on {table_arn} only, found {sorted(resources)}"
    )
    logged = {a for a, _ in granted if a in LOG_ACTIONS or a in ("logs:*", "*")}
    ctx.expect(
        {"logs:CreateLogStream", "logs:PutLogEvents"} <= logged or "logs:*" in logged,
        f"expected logs:CreateLogStream and logs:PutLogEvents (so the function's output reaches "
        f"CloudWatch Logs), found {sorted(logged) or 'no logs: actions'}",
    )


def _granted(iam, role_name) -> set[tuple[str, str]]:
    """Every (action, resource) an Allow statement of the role's policies names."""
    documents = [
        iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    ]
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
        documents.append(
            iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
        )
    granted = set()
    for document in documents:
        for statement in policy_statements(document):
            if statement.get("Effect") == "Allow":
                granted |= {
                    (action, resource)
                    for action in as_set(statement.get("Action"))
                    for resource in as_set(statement.get("Resource"))
                }
    return granted


@lab.check(
    "function",
    "The catalog function answers API Gateway's events",
    step=3,
    hints=[
        'awsapi.once_the_role_is_usable(lambda: lambda_.create_function(FunctionName=env.name("catalog"), '
        'Runtime="python3.12", Handler="handler.handler", Role=role_arn, Code={"ZipFile": '
        'packaging.zip_bytes(handler_file)}, Environment={"Variables": {"BOOKS_TABLE": table_name}}, Tags=env.tags))',
        'The handler routes on event["httpMethod"] and event["resource"] ("/books" or "/books/{id}") and '
        'returns {"statusCode": ..., "headers": {...}, "body": json.dumps(...)}: the body is a string.',
    ],
)
def function_answers(ctx):
    invoke = _invoker(ctx)
    status, books = invoke("GET", "/books")
    ctx.expect(
        status == 200 and isinstance(books, list) and len(books) >= 12,
        f"expected GET /books to answer 200 with a list of at least 12 books, found {status}: {str(books)[:120]}",
    )
    ids = [str(book.get("id")) for book in books]
    ctx.expect(
        ids == sorted(ids, key=lambda i: int(i) if i.isdigit() else 0),
        f"expected the books sorted by id as a number, found the ids in the order {ids[:14]}",
    )
    status, book = invoke("GET", "/books/{id}", path_id="3")
    ctx.expect(
        status == 200 and isinstance(book, dict) and str(book.get("id")) == "3",
        f"expected GET /books/3 to answer 200 with book 3, found {status}: {str(book)[:120]}",
    )
    status, _ = invoke("GET", "/books/{id}", path_id="no-such-book")
    ctx.expect(status == 404, f"expected 404 for GET /books/no-such-book, found {status}")
    status, found = invoke("GET", "/books", query={"author": "Fowler"})
    authors = sorted({str(b.get("author")) for b in found}) if isinstance(found, list) else found
    ctx.expect(
        status == 200 and isinstance(found, list) and found and all("Fowler" in author for author in authors),
        f"expected GET /books?author=Fowler to list only Martin Fowler's books, found {status}: {str(authors)[:120]}",
    )
    status, _ = invoke("POST", "/books", body=json.dumps({"id": "3"}))
    ctx.expect(status == 400, f"expected 400 for POST /books with a book lacking its title, found {status}")
    existing = {**book, "id": "3"}
    status, _ = invoke("POST", "/books", body=json.dumps(existing))
    ctx.expect(status == 409, f"expected 409 for POST /books with the id of an existing book, found {status}")


def _invoker(ctx):
    """Invoke the function with an API Gateway proxy event; returns (statusCode, parsed body)."""

    def invoke(method, resource, path_id=None, query=None, body=None):
        path = resource.replace("{id}", path_id or "")
        event = {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": {"Content-Type": "application/json"},
            "queryStringParameters": query,
            "pathParameters": {"id": path_id} if path_id else None,
            "body": body,
            "isBase64Encoded": False,
            "requestContext": {"stage": STAGE, "httpMethod": method},
        }
        payload = ctx.invoke(
            ctx.env.name(FUNCTION),
            event,
            fix="create it in step 3",
            raised=lambda error: f"for {method} {path}, your handler raised {error}",
        )
        ctx.expect(
            isinstance(payload, dict)
            and isinstance(payload.get("statusCode"), int)
            and isinstance(payload.get("body"), str),
            f"expected {method} {path} to return a dict with an int statusCode and a string body "
            f"(API Gateway answers 502 otherwise), found {str(payload)[:160]}",
        )
        try:
            return payload["statusCode"], json.loads(payload["body"])
        except ValueError:
            return payload["statusCode"], payload["body"]

    return invoke


@lab.check(
    "api",
    "The catalog API answers on its prod stage",
    step=4,
    hints=[
        "Resources /books and /books/{id}, methods GET (and POST on /books), each with an AWS_PROXY "
        'integration to the function (integrationHttpMethod POST), then create_deployment(stageName="prod").',
        "API Gateway needs permission to invoke the function: lambda.add_permission(..., "
        'Principal="apigateway.amazonaws.com", SourceArn=f"arn:aws:execute-api:{region}:{account}:{api_id}/*").',
    ],
)
def api_answers(ctx):
    url = ctx.api_url(ctx.env.name(API), STAGE, fix="create it in step 4")
    listed = ctx.get(url + "/books")
    ctx.expect(
        listed.status_code == 200, f"expected 200 from GET /books, found {listed.status_code}: {listed.text[:120]}"
    )
    books = listed.json()
    one = ctx.get(f"{url}/books/{books[0]['id']}")
    ctx.expect(
        one.status_code == 200 and one.json().get("id") == books[0]["id"],
        f"expected GET /books/{books[0]['id']} to return that book, found {one.status_code}: {one.text[:120]}",
    )
    missing = ctx.get(url + "/books/no-such-book")
    ctx.expect(missing.status_code == 404, f"expected 404 for an unknown book, found {missing.status_code}")
    refused = ctx.post(url + "/books", json={"id": "no-title"})
    ctx.expect(
        refused.status_code == 400,
        f"expected POST /books with a book lacking its title to reach the function and get 400, "
        f"found {refused.status_code}"
        + (" (403: the API has no POST method on /books)" if refused.status_code == 403 else ""),
    )


@lab.check(
    "strangler",
    "The Bookshop serves its catalog from the new service",
    step=5,
    hints=[
        "Restart the Bookshop with CATALOG_SERVICE_URL set to the API's URL (localproc.start(..., env={...})).",
        "A book added with POST /books on the API must show in the Bookshop's GET /books.",
    ],
)
def bookshop_uses_the_catalog_service(ctx):
    api_url = ctx.api_url(ctx.env.name(API), STAGE, fix="create it in step 4")
    shop = ctx.service_url("bookshop")
    source = ctx.get(shop + "/health").json().get("catalog_source", "local database")
    if not source.startswith("http"):
        ctx.not_done(
            "the Bookshop still reads its own catalog table: restart it with CATALOG_SERVICE_URL set to the API's URL"
        )
    ctx.expect(
        source.rstrip("/") == api_url, f"expected the Bookshop to read its catalog from {api_url}, found {source}"
    )
    api_books = {str(b["id"]) for b in ctx.get(api_url + "/books").json()}
    shop_books = {str(b["id"]) for b in ctx.get(shop + "/books").json()}
    ctx.expect(
        shop_books == api_books,
        f"expected the Bookshop to list the service's {len(api_books)} books, found {len(shop_books)}",
    )
