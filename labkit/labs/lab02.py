"""Lab 02 · the catalog service: API Gateway + Lambda + DynamoDB, the strangler fig, and one owner for the stock."""

import fnmatch
import json
from pathlib import Path

from labkit.awsapi import as_set, policy_statements
from labkit.checks import Lab

lab = Lab("02", "Catalog: API Gateway + Lambda + DynamoDB")

TABLE, ROLE, FUNCTION, API, STAGE = "books", "catalog-role", "catalog", "catalog", "prod"
# What the catalog's handler does with its table, and nothing more: least privilege.
NEEDED_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:UpdateItem"}
NEEDED_LOG_ACTIONS = {"logs:CreateLogStream", "logs:PutLogEvents"}
LOG_ACTIONS = NEEDED_LOG_ACTIONS | {"logs:CreateLogGroup"}
# The customer the notebook registers before step 1, with an order: the monolith's own data, kept by every restart.
CUSTOMER_EMAIL = "learner02@bookshop.example"
DELETE_THE_TABLE = (
    "a table's key cannot change: delete it (dynamodb.delete_table(TableName=table_name)) and run step 1 again"
)


@lab.check(
    "table",
    "The books table exists, keyed by the string id",
    step=1,
    hints=[
        "A book is fetched by the id in its path, /books/3, which is text: one partition key (HASH), the "
        'attribute id, of type S. as_item() then gives each book its id as a string, str(book["id"]).',
        'key_schema = [{"AttributeName": "id", "KeyType": "HASH"}], attribute_definitions = '
        '[{"AttributeName": "id", "AttributeType": "S"}]. A table made with another key keeps it: delete it, '
        "dynamodb.delete_table(TableName=table_name), then run the cell again.",
    ],
)
def table_exists(ctx):
    table = _books(ctx)
    keys = [(k["AttributeName"], k["KeyType"]) for k in table.key_schema]
    ctx.expect(keys == [("id", "HASH")], f"expected the key schema [('id', 'HASH')], found {keys}: {DELETE_THE_TABLE}")
    types = {a["AttributeName"]: a["AttributeType"] for a in table.attribute_definitions}
    ctx.expect(types.get("id") == "S", f"expected id to be a string (S), found {types.get('id')}: {DELETE_THE_TABLE}")
    count = table.scan(Select="COUNT")["Count"]
    ctx.expect(count >= 12, f"expected the 12 books of the Bookshop's catalog in the table, found {count}")


def _books(ctx):
    return ctx.table(ctx.env.name(TABLE), fix="create it in step 1")


@lab.check(
    "role",
    "The function's role may do what the handler needs, and no more",
    step=2,
    hints=[
        "The trust policy lets lambda.amazonaws.com assume the role (sts:AssumeRole). For the policy, list the "
        "calls of the handler's routes: a Scan, a GetItem, a conditional PutItem, a conditional UpdateItem.",
        f"One inline policy: {sorted(NEEDED_ACTIONS)} on table_arn only, and the two logs: actions "
        f"{sorted(NEEDED_LOG_ACTIONS)} on "
        'f"arn:aws:logs:{env.region}:{env.account_id}:log-group:{log_group}:*".',
    ],
)
def role_is_least_privilege(ctx):
    iam = ctx.client("iam")
    with ctx.not_done_if_missing(f"IAM role {ctx.env.name(ROLE)!r}", "create it in step 2"):
        role = iam.get_role(RoleName=ctx.env.name(ROLE))["Role"]
    principals = [s.get("Principal", {}).get("Service") for s in policy_statements(role["AssumeRolePolicyDocument"])]
    ctx.expect(
        "lambda.amazonaws.com" in principals,
        f"expected lambda.amazonaws.com to be trusted to assume the role, found {principals}: an existing role "
        "keeps its trust policy when create_role is refused, so replace it with "
        "iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(trust_policy))",
    )
    table_arn = _books(ctx).table_arn
    granted = _granted(iam, role["RoleName"])
    dynamodb = {(a, r) for a, r in granted if a.lower().startswith("dynamodb:") or a == "*"}
    actions = {_ACTION_SPELLING.get(a.lower(), a) for a, _ in dynamodb}
    ctx.expect(
        actions == NEEDED_ACTIONS,
        f"expected exactly the DynamoDB actions {sorted(NEEDED_ACTIONS)}, found {sorted(actions)}",
    )
    resources = {r for _, r in dynamodb}
    ctx.expect(
        resources == {table_arn}, f"expected the DynamoDB actions on {table_arn} only, found {sorted(resources)}"
    )
    logs = {(a, r) for a, r in granted if a.lower().startswith("logs:") or a == "*"}
    log_actions = {_ACTION_SPELLING.get(a.lower(), a) for a, _ in logs}
    ctx.expect(
        NEEDED_LOG_ACTIONS <= log_actions <= LOG_ACTIONS,
        f"expected the logs: actions {sorted(NEEDED_LOG_ACTIONS)} (so the function's output reaches CloudWatch "
        f"Logs), found {sorted(log_actions) or 'none'}",
    )
    group = f"arn:aws:logs:{ctx.env.region}:{ctx.env.account_id}:log-group:/aws/lambda/{ctx.env.name(FUNCTION)}"
    log_resources = {r for _, r in logs}
    ctx.expect(
        log_resources <= {group, f"{group}:*", f"{group}:log-stream:*"},
        f"expected the logs: actions on the function's own log group, {group}:*, only, found {sorted(log_resources)}",
    )


# IAM matches action names ignoring case: dynamodb:scan grants what dynamodb:Scan does.
_ACTION_SPELLING = {action.lower(): action for action in NEEDED_ACTIONS | LOG_ACTIONS}


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
        "awsapi.once_the_role_is_usable(lambda: lambda_.create_function(FunctionName=function_name, "
        'Runtime="python3.12", Handler="handler.handler", Role=role_arn, Code={"ZipFile": '
        'packaging.zip_bytes(handler_file)}, Environment={"Variables": {"BOOKS_TABLE": table_name}}, Tags=env.tags))',
        'Route on (event["httpMethod"], event["resource"]): "/books", "/books/{id}", "/books/{id}/stock"; return '
        '{"statusCode": ..., "headers": {...}, "body": json.dumps(...)}: the body is a string. The stock: '
        'update_item(UpdateExpression="SET stock = stock + :change", ConditionExpression="attribute_exists(id) '
        'AND stock >= :needed", ...), and ConditionalCheckFailedException is a 404 or a 409.',
    ],
)
def function_answers(ctx):
    _configured_as_asked(ctx)
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
    _stock_route_answers(ctx, invoke, book)


def _configured_as_asked(ctx):
    """The handler and the table's name as step 3 sets them: an update of the code alone keeps a wrong one."""
    lambda_ = ctx.client("lambda")
    with ctx.not_done_if_missing(f"Lambda function {ctx.env.name(FUNCTION)!r}", "create it in step 3"):
        config = lambda_.get_function_configuration(FunctionName=ctx.env.name(FUNCTION))
    keeps = (
        "a function that exists keeps its configuration when only its code is updated: call "
        "lambda_.update_function_configuration(FunctionName=function_name, ...) with it, then run the cell again"
    )
    ctx.expect(
        config.get("Handler") == "handler.handler",
        f"expected the handler handler.handler (file handler.py, function handler), found {config.get('Handler')}: "
        + keeps,
    )
    variables = config.get("Environment", {}).get("Variables", {})
    table = ctx.env.name(TABLE)
    ctx.expect(
        variables.get("BOOKS_TABLE") == table,
        f"expected the environment variable BOOKS_TABLE={table}, found {variables or 'none'}: " + keeps,
    )


def _stock_route_answers(ctx, invoke, book):
    """POST /books/{id}/stock refuses what it must, and changes nothing then."""
    stock = book.get("stock")
    status, _ = invoke("POST", "/books/{id}/stock", path_id="3", body=json.dumps({"change": 0}))
    ctx.expect(status == 400, f'expected 400 for POST /books/3/stock with {{"change": 0}}, found {status}')
    status, _ = invoke("POST", "/books/{id}/stock", path_id="no-such-book", body=json.dumps({"change": -1}))
    ctx.expect(status == 404, f"expected 404 for POST /books/no-such-book/stock, found {status}")
    too_many = (stock if isinstance(stock, int) else 0) + 1000
    status, _ = invoke("POST", "/books/{id}/stock", path_id="3", body=json.dumps({"change": -too_many}))
    ctx.expect(
        status == 409,
        f'expected 409 for POST /books/3/stock with {{"change": -{too_many}}}, more copies than book 3 has '
        f"({stock}), found {status}",
    )
    after = _books(ctx).get_item(Key={"id": "3"}).get("Item", {}).get("stock")
    ctx.expect(after == stock, f"expected the refused changes to leave book 3's stock at {stock}, found {after}")


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
        "Resources /books, /books/{id} and /books/{id}/stock; methods GET and POST on /books, GET on /books/{id}, "
        "POST on /books/{id}/stock, each with an AWS_PROXY integration to the function (integrationHttpMethod "
        'POST), then create_deployment(restApiId=api_id, stageName="prod").',
        "API Gateway needs permission to invoke the function: lambda_.add_permission(FunctionName=function_name, "
        'StatementId=f"apigateway-{api_id}", Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com", '
        'SourceArn=f"arn:aws:execute-api:{env.region}:{env.account_id}:{api_id}/*/*/*").',
    ],
)
def api_answers(ctx):
    url = ctx.api_url(ctx.env.name(API), STAGE, fix="create it in step 4")
    _integrations_call_lambda_with_post(ctx, _api_id(ctx))
    _api_gateway_may_invoke(ctx, _api_id(ctx))
    listed = ctx.get(url + "/books")
    ctx.expect(
        listed.status_code == 200, f"expected 200 from GET /books, found {listed.status_code}: {listed.text[:120]}"
    )
    books = listed.json()
    one = ctx.get(f"{url}/books/{books[0]['id']}")
    ctx.expect(
        one.status_code == 200 and one.json().get("id") == books[0]["id"],
        f"expected GET /books/{books[0]['id']} to return that book, found {one.status_code}: {one.text[:120]}"
        + (" (403: the deployed API has no GET method on /books/{id})" if one.status_code == 403 else ""),
    )
    missing = ctx.get(url + "/books/no-such-book")
    ctx.expect(missing.status_code == 404, f"expected 404 for an unknown book, found {missing.status_code}")
    for path, body in (("/books", {"id": "no-title"}), ("/books/no-such-book/stock", {"change": 0})):
        refused = ctx.post(url + path, json=body)
        ctx.expect(
            refused.status_code == 400,
            f"expected POST {path} with {body} to reach the function and get 400, found {refused.status_code}"
            + (f" (403: the deployed API has no POST method on {path})" if refused.status_code == 403 else ""),
        )


def _integrations_call_lambda_with_post(ctx, api_id):
    """Every method's integration is a Lambda proxy that calls Lambda's Invoke, which only POST reaches."""
    apigateway = ctx.client("apigateway")
    for resource in apigateway.get_resources(restApiId=api_id, limit=500)["items"]:
        for method in resource.get("resourceMethods", {}):
            with ctx.not_done_if_missing(f"integration of {method} {resource['path']}", "add it in step 4"):
                integration = apigateway.get_integration(restApiId=api_id, resourceId=resource["id"], httpMethod=method)
            where = f"{method} {resource['path']}"
            ctx.expect(
                integration.get("type") == "AWS_PROXY",
                f"expected {where} to have an AWS_PROXY integration, found {integration.get('type')}",
            )
            ctx.expect(
                integration.get("httpMethod") == "POST",
                f"expected {where}'s integration to call Lambda with integrationHttpMethod=\"POST\" (Lambda's "
                f"Invoke is a POST, whatever the client's method), found {integration.get('httpMethod')}",
            )


def _api_id(ctx) -> str | None:
    pages = ctx.client("apigateway").get_paginator("get_rest_apis").paginate()
    return next((api["id"] for page in pages for api in page["items"] if api["name"] == ctx.env.name(API)), None)


def _api_gateway_may_invoke(ctx, api_id):
    """The function's resource policy lets API Gateway invoke it for this API (add_permission)."""
    function = ctx.env.name(FUNCTION)
    lambda_ = ctx.client("lambda")
    try:
        statements = policy_statements(lambda_.get_policy(FunctionName=function)["Policy"])
    except lambda_.exceptions.ResourceNotFoundException:  # no policy yet (or no function: step 3 says so)
        statements = []
    prefix = f"arn:aws:execute-api:{ctx.env.region}:{ctx.env.account_id}:{api_id}"
    request = f"{prefix}/{STAGE}/GET/books"  # what API Gateway names as the source when it invokes for GET /books
    sources = []
    for statement in statements:
        principal = statement.get("Principal", {})
        service = principal.get("Service") if isinstance(principal, dict) else principal
        if statement.get("Effect") != "Allow" or "apigateway.amazonaws.com" not in as_set(service):
            continue
        if not as_set(statement.get("Action")) & {"lambda:InvokeFunction", "lambda:*", "*"}:
            continue
        arns = {arn for test in statement.get("Condition", {}).values() for arn in as_set(test.get("AWS:SourceArn"))}
        if any(fnmatch.fnmatchcase(request, arn) for arn in arns):
            return
        sources += sorted(arns)
    found = f"statements for the sources {sources}" if sources else "no statement for apigateway.amazonaws.com"
    ctx.fail(
        f"expected the function's resource policy to let apigateway.amazonaws.com invoke it for the API {api_id} "
        f"(SourceArn {prefix}/*/*/*), found {found}: add it with lambda_.add_permission (API Gateway answers 500 "
        "without it)"
    )


@lab.check(
    "strangler",
    "The Bookshop serves its catalog from the new service",
    step=5,
    hints=[
        "Restart the Bookshop with the same command as before step 1 but without --fresh-db, with "
        "MONOLITH_DB=bookshop_db and CATALOG_SERVICE_URL set to catalog_url (localproc.start(..., env={...})).",
        "A book added with POST /books on the API must show in the Bookshop's GET /books, and the customer "
        f"{CUSTOMER_EMAIL} registered before step 1 must still be known.",
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
    _kept_its_database(ctx, shop, "step 5")
    api_books = {str(b["id"]) for b in ctx.get(api_url + "/books").json()}
    shop_books = {str(b["id"]) for b in ctx.get(shop + "/books").json()}
    ctx.expect(
        shop_books == api_books,
        f"expected the Bookshop to list the service's {len(api_books)} books, found {len(shop_books)}",
    )


def _kept_its_database(ctx, shop, step):
    """The restarted Bookshop has the database it had before (MONOLITH_DB, no --fresh-db): its customer is known."""
    from labkit import localproc

    again = f"run the cell that starts the Bookshop (before step 1) again, then {step}"
    args, env = _command_and_env(localproc.find("bookshop"))
    if env is not None and "MONOLITH_DB" not in env:
        ctx.fail(
            "expected the Bookshop to be restarted with its database, MONOLITH_DB=bookshop_db, found no MONOLITH_DB: "
            f"it opened a new bookshop.db in the course folder (delete that file); {again}"
        )
    customers = ctx.get(shop + "/users", params={"email": CUSTOMER_EMAIL}).json()
    if customers:
        return
    if "--fresh-db" in args:
        ctx.fail(
            f"expected the Bookshop to still know the customer {CUSTOMER_EMAIL}, found no such customer: it was "
            f"restarted with --fresh-db, which deletes its database; {again} without --fresh-db"
        )
    ctx.fail(
        f"expected the Bookshop to still know the customer {CUSTOMER_EMAIL}, found no such customer: restart it with "
        f"the same database (MONOLITH_DB=bookshop_db) and without --fresh-db; {again}"
    )


def _command_and_env(process) -> tuple[list[str], dict | None]:
    """The local process's command line and environment, as Linux shows them (no environment elsewhere)."""
    if process is None:
        return [], None
    try:
        args = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")
        pairs = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return [], None
    env = dict(pair.decode(errors="replace").split("=", 1) for pair in pairs if b"=" in pair)
    return [arg.decode(errors="replace") for arg in args], env


@lab.check(
    "stock",
    "Checkout takes its copies from the stock's owner, the catalog service",
    step=6,
    hints=[
        "First the table's stock as the monolith has it: sqlite3.connect(bookshop_db), SELECT id, stock FROM books, "
        'and update_item(Key={"id": str(id)}, UpdateExpression="SET stock = :stock", ...) for each.',
        "Then restart the Bookshop as in step 5, with STOCK_SERVICE_URL=catalog_url in its env as well.",
    ],
)
def checkout_asks_the_owner(ctx):
    api_url = ctx.api_url(ctx.env.name(API), STAGE, fix="create it in step 4")
    shop = ctx.service_url("bookshop")
    health = ctx.get(shop + "/health").json()
    source = health.get("stock_source", "local database")
    if not source.startswith("http"):
        ctx.not_done(
            "the Bookshop's checkout still takes copies from its own table: restart it with STOCK_SERVICE_URL set "
            "to the API's URL"
        )
    ctx.expect(source.rstrip("/") == api_url, f"expected the Bookshop to take stock from {api_url}, found {source}")
    catalog = health.get("catalog_source", "local database")
    ctx.expect(
        catalog.rstrip("/") == api_url,
        f"expected the Bookshop to read its catalog from {api_url} too (CATALOG_SERVICE_URL, step 5), found {catalog}",
    )
    _kept_its_database(ctx, shop, "step 5 and step 6")
