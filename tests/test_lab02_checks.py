"""Lab 02's checks against wrong answers: each failure says what was expected and what was found.

The handler is the solution notebook's own (its %%writefile cell) and passes; variants of it with one
mistake each fail. So do a role, an API and a Bookshop restart with one mistake each, and the given cells of
the notebook say in one line what is wrong instead of a traceback."""

import json
import os
import sys

import boto3
import nbformat
import pytest
import requests
from solution_files import line_of, written_file

from labkit import config, labbuild, labs, localproc, packaging, urls
from labkit.errors import LabkitError
from labkit.labs.lab02 import CUSTOMER_EMAIL

REFERENCE_HANDLER = written_file("02_the_catalog_service.ipynb", "handler_file")
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
NEEDED = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan", "dynamodb:UpdateItem"]
LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/catalog"
DELETE_THE_TABLE = (
    "a table's key cannot change: delete it (dynamodb.delete_table(TableName=table_name)) and run step 1 again"
)


def result(check_id):
    return next(r for r in labs.require("02").run() if r.id == check_id)


def make_table(key="id", key_type="S"):
    boto3.client("dynamodb").create_table(
        TableName="books",
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": key_type}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def books_table(cloud):
    make_table()
    table = boto3.resource("dynamodb").Table("books")
    authors = ["Sam Newman", "Martin Fowler", "Eric Evans"]
    for number in range(1, 13):
        table.put_item(
            Item={
                "id": str(number),
                "title": f"Book {number}",
                "author": authors[number % 3],
                "price_cents": 1000 + number,
                "stock": 5,
            }
        )
    yield books_table_arn()
    boto3.client("dynamodb").delete_table(TableName="books")


@pytest.fixture
def role(cloud):
    iam = boto3.client("iam")
    arn = iam.create_role(RoleName="catalog-role", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    yield arn
    for name in iam.list_role_policies(RoleName="catalog-role")["PolicyNames"]:
        iam.delete_role_policy(RoleName="catalog-role", PolicyName=name)
    iam.delete_role(RoleName="catalog-role")


@pytest.fixture
def deploy(books_table, role, tmp_path):
    client = boto3.client("lambda")

    def deploy(source: str):
        (tmp_path / "handler.py").write_text(source)
        # What the solution grants (IAM is enforced for the function); a test may replace it with allow().
        allow(NEEDED, books_table_arn())
        client.create_function(
            FunctionName="catalog",
            Runtime="python3.12",
            Handler="handler.handler",
            Role=role,
            Code={"ZipFile": packaging.zip_bytes(tmp_path / "handler.py")},
            Timeout=10,
            Environment={"Variables": {"BOOKS_TABLE": "books"}},
        )
        return client.get_function(FunctionName="catalog")["Configuration"]["FunctionArn"]

    yield deploy
    client.delete_function(FunctionName="catalog")
    # Its log group, made untagged by Lambda's first invocation: teardown would never remove it.
    logs = boto3.client("logs")
    try:
        logs.delete_log_group(logGroupName="/aws/lambda/catalog")
    except logs.exceptions.ResourceNotFoundException:
        pass


@pytest.fixture
def rest_api(cloud):
    """Makes the catalog REST API (as step 4 does) for a function ARN; returns its id. Deleted afterwards."""
    apigateway, made = boto3.client("apigateway"), []

    def make(function_arn, permission=True, integration_method="POST"):
        api_id = apigateway.create_rest_api(name="catalog")["id"]
        made.append(api_id)
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        books = apigateway.create_resource(restApiId=api_id, parentId=root, pathPart="books")["id"]
        book = apigateway.create_resource(restApiId=api_id, parentId=books, pathPart="{id}")["id"]
        stock = apigateway.create_resource(restApiId=api_id, parentId=book, pathPart="stock")["id"]
        uri = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function_arn}/invocations"
        for resource, method in ((books, "GET"), (books, "POST"), (book, "GET"), (stock, "POST")):
            apigateway.put_method(restApiId=api_id, resourceId=resource, httpMethod=method, authorizationType="NONE")
            apigateway.put_integration(
                restApiId=api_id,
                resourceId=resource,
                httpMethod=method,
                type="AWS_PROXY",
                integrationHttpMethod=integration_method if method == "GET" else "POST",
                uri=uri,
            )
        if permission:
            permit(api_id)
        apigateway.create_deployment(restApiId=api_id, stageName="prod")
        return api_id

    yield make
    for api_id in made:
        apigateway.delete_rest_api(restApiId=api_id)


def permit(api_id, source=None):
    boto3.client("lambda").add_permission(
        FunctionName="catalog",
        StatementId=f"apigateway-{api_id}",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=source or f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/*/*",
    )


def books_table_arn() -> str:
    return boto3.client("dynamodb").describe_table(TableName="books")["Table"]["TableArn"]


def allow(actions, resource, *more):
    """The role's one inline policy: Allow actions on resource, and each (actions, resource) of more."""
    statements = [{"Effect": "Allow", "Action": a, "Resource": r} for a, r in ((actions, resource), *more)]
    boto3.client("iam").put_role_policy(
        RoleName="catalog-role",
        PolicyName="catalog-access",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )


# Step 1: the table


def test_a_table_with_the_wrong_key_says_it_must_be_deleted(cloud):
    make_table(key="title")
    try:
        found = result("table")
        assert (found.status, found.message) == (
            "failed",
            f"expected the key schema [('id', 'HASH')], found [('title', 'HASH')]: {DELETE_THE_TABLE}",
        )
    finally:
        boto3.client("dynamodb").delete_table(TableName="books")


def test_a_table_keyed_by_a_number_says_it_must_be_deleted(cloud):
    make_table(key_type="N")
    try:
        found = result("table")
        assert (found.status, found.message) == (
            "failed",
            f"expected id to be a string (S), found N: {DELETE_THE_TABLE}",
        )
    finally:
        boto3.client("dynamodb").delete_table(TableName="books")


def step_1_cell(key: str, key_type: str) -> str:
    """Step 1's cell as the solution has it, with the learner's key replaced by key (of key_type)."""
    cell = next(c.source for c in solution().cells if c.cell_type == "code" and "def key_of(" in c.source)
    begin, end = cell.index(labbuild.BEGIN), cell.index(labbuild.END) + len(labbuild.END)
    answer = (
        f'key_schema = [{{"AttributeName": "{key}", "KeyType": "HASH"}}]\n'
        f'attribute_definitions = [{{"AttributeName": "{key}", "AttributeType": "{key_type}"}}]\n'
        'def as_item(book):\n    return {**book, "id": str(book["id"])}\n'
    )
    return cell[:begin] + answer + cell[end:]


def solution():
    return nbformat.read(labbuild.solutions_dir() / "02_the_catalog_service.ipynb", as_version=4)


def run_cell(source, **names):
    import boto3 as boto3_module
    from botocore.exceptions import ClientError

    namespace = {"boto3": boto3_module, "ClientError": ClientError, "LabkitError": LabkitError, **names}
    exec(compile(source, "step 1's cell", "exec"), namespace)
    return namespace


def test_step_1s_cell_run_again_says_the_table_has_the_wrong_key_and_how_to_delete_it(cloud):
    books = [{"id": 1, "title": "Book 1", "author": "A", "price_cents": 1000, "stock": 5}]
    try:
        run_cell(step_1_cell("title", "S"), env=cloud, monolith_books=books)  # the wrong key: the table is made
        with pytest.raises(LabkitError) as raised:
            run_cell(step_1_cell("id", "S"), env=cloud, monolith_books=books)  # corrected: the table stays
        assert str(raised.value) == (
            "the table books exists with the key [('title', 'HASH', 'S')], not the one this cell asks for, "
            "[('id', 'HASH', 'S')]: a key cannot change. Delete the table, "
            "dynamodb.delete_table(TableName=table_name), then run this cell again."
        )
    finally:
        boto3.client("dynamodb").delete_table(TableName="books")


def test_step_1s_cell_says_in_one_line_when_dynamodb_refuses_the_books(cloud):
    books = [{"id": 1, "title": "Book 1", "author": "A", "price_cents": 1000, "stock": 5}]
    try:
        with pytest.raises(LabkitError) as raised:
            run_cell(step_1_cell("book_id", "S"), env=cloud, monolith_books=books)
        assert str(raised.value).startswith("DynamoDB refused a book: ")
        assert str(raised.value).endswith(
            "Does as_item() give each book the key [('book_id', 'HASH', 'S')], of that type?"
        )
    finally:
        boto3.client("dynamodb").delete_table(TableName="books")


def test_step_1s_cell_says_in_one_line_when_dynamodb_refuses_the_table(cloud):
    cell = step_1_cell("id", "S").replace(
        '[{"AttributeName": "id", "KeyType": "HASH"}]', '[{"AttributeName": "Id", "KeyType": "HASH"}]'
    )
    with pytest.raises(LabkitError) as raised:
        run_cell(cell, env=cloud, monolith_books=[])
    assert str(raised.value) == (
        "DynamoDB refused the table: One or more parameter values were invalid: Some index key attributes are not "
        "defined in AttributeDefinitions. Keys: [Id], AttributeDefinitions: [id]. Do key_schema and "
        "attribute_definitions name the same attribute, spelt the same way?"
    )


# Step 2: the role


def test_a_role_allowed_every_dynamodb_action_is_not_least_privilege(books_table, role):
    allow(["dynamodb:*"], "*", (["logs:CreateLogStream", "logs:PutLogEvents"], f"{LOG_GROUP_ARN}:*"))
    found = result("role")
    assert (found.status, found.message) == (
        "failed",
        f"expected exactly the DynamoDB actions {NEEDED}, found ['dynamodb:*']",
    )


def test_a_role_on_every_table_is_not_least_privilege(books_table, role):
    allow(NEEDED, "*", (["logs:CreateLogStream", "logs:PutLogEvents"], f"{LOG_GROUP_ARN}:*"))
    found = result("role")
    assert (found.status, found.message) == (
        "failed",
        f"expected the DynamoDB actions on {books_table} only, found ['*']",
    )


def test_a_role_allowed_every_logs_action_on_everything_is_not_least_privilege(books_table, role):
    allow(NEEDED, books_table, (["logs:*"], "*"))
    found = result("role")
    assert (found.status, found.message) == (
        "failed",
        "expected the logs: actions ['logs:CreateLogStream', 'logs:PutLogEvents'] (so the function's output "
        "reaches CloudWatch Logs), found ['logs:*']",
    )


def test_a_role_writing_every_log_group_is_not_least_privilege(books_table, role):
    allow(NEEDED, books_table, (["logs:CreateLogStream", "logs:PutLogEvents"], "*"))
    found = result("role")
    assert (found.status, found.message) == (
        "failed",
        f"expected the logs: actions on the function's own log group, {LOG_GROUP_ARN}:*, only, found ['*']",
    )


def test_a_trust_policy_kept_from_an_earlier_run_says_how_to_replace_it(books_table, role):
    allow(NEEDED, books_table, (["logs:CreateLogStream", "logs:PutLogEvents"], f"{LOG_GROUP_ARN}:*"))
    mistyped = json.loads(json.dumps(TRUST).replace("lambda.amazonaws.com", "lambda.amazon.com"))
    boto3.client("iam").update_assume_role_policy(RoleName="catalog-role", PolicyDocument=json.dumps(mistyped))
    found = result("role")
    assert (found.status, found.message) == (
        "failed",
        "expected lambda.amazonaws.com to be trusted to assume the role, found ['lambda.amazon.com']: an existing "
        "role keeps its trust policy when create_role is refused, so replace it with "
        "iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(trust_policy))",
    )


def test_action_names_in_another_case_pass_as_iam_matches_them_ignoring_case(books_table, role):
    allow(
        [action.lower() for action in NEEDED],
        books_table,
        (["Logs:createLogStream", "logs:putlogevents"], f"{LOG_GROUP_ARN}:*"),
    )
    assert result("role").status == "passed"


def test_the_solutions_role_passes(books_table, role):
    allow(NEEDED, books_table, (["logs:CreateLogStream", "logs:PutLogEvents"], f"{LOG_GROUP_ARN}:*"))
    assert result("role").status == "passed"


# Step 3: the function


def test_the_reference_handler_passes(deploy):
    deploy(REFERENCE_HANDLER)
    assert result("function").status == "passed"


def test_a_handler_setting_kept_from_an_earlier_deploy_says_the_configuration_must_be_updated(deploy):
    deploy(REFERENCE_HANDLER)
    client = boto3.client("lambda")
    client.update_function_configuration(FunctionName="catalog", Handler="handler.main")
    client.get_waiter("function_updated_v2").wait(FunctionName="catalog")
    found = result("function")
    assert (found.status, found.message) == (
        "failed",
        "expected the handler handler.handler (file handler.py, function handler), found handler.main: a function "
        "that exists keeps its configuration when only its code is updated: call "
        "lambda_.update_function_configuration(FunctionName=function_name, ...) with it, then run the cell again",
    )


def test_a_misnamed_table_variable_says_the_configuration_must_be_updated(deploy):
    deploy(REFERENCE_HANDLER)
    client = boto3.client("lambda")
    client.update_function_configuration(FunctionName="catalog", Environment={"Variables": {"TABLE_NAME": "books"}})
    client.get_waiter("function_updated_v2").wait(FunctionName="catalog")
    found = result("function")
    assert (found.status, found.message) == (
        "failed",
        "expected the environment variable BOOKS_TABLE=books, found {'TABLE_NAME': 'books'}: a function that exists "
        "keeps its configuration when only its code is updated: call "
        "lambda_.update_function_configuration(FunctionName=function_name, ...) with it, then run the cell again",
    )


def test_a_handler_answering_200_for_a_missing_book_is_explained(deploy):
    deploy(REFERENCE_HANDLER.replace("return respond(404,", "return respond(200,"))
    found = result("function")
    assert (found.status, found.message) == ("failed", "expected 404 for GET /books/no-such-book, found 200")


def test_a_body_that_is_not_a_string_is_explained(deploy):
    deploy(REFERENCE_HANDLER.replace('"body": json.dumps(body, default=_plain_number)', '"body": body'))
    found = result("function")
    assert found.status == "failed"
    assert found.message.startswith(
        "expected GET /books to return a dict with an int statusCode and a string "
        "body (API Gateway answers 502 otherwise), found {'statusCode': 200"
    )


def test_a_handler_that_raises_is_summarised_with_its_error_and_line(deploy):
    raising = REFERENCE_HANDLER.replace('event["httpMethod"]', 'event["method"]')
    deploy(raising)
    line = line_of(raising, 'event["method"]')
    found = result("function")
    assert (found.status, found.message) == (
        "failed",
        f"for GET /books, your handler raised KeyError: 'method' (handler.py, line {line})",
    )


def test_a_stock_change_without_its_condition_is_explained(deploy):
    unconditional = REFERENCE_HANDLER.replace("attribute_exists(id) AND stock >= :needed", "attribute_exists(id)")
    deploy(unconditional.replace(', ":needed": max(0, -change)', ""))
    found = result("function")
    assert (found.status, found.message) == (
        "failed",
        'expected 409 for POST /books/3/stock with {"change": -1005}, more copies than book 3 has (5), found 200',
    )


# Step 4: the API


def test_an_api_the_function_does_not_let_invoke_it_is_explained(deploy, rest_api):
    api_id = rest_api(deploy(REFERENCE_HANDLER), permission=False)
    found = result("api")
    assert (found.status, found.message) == (
        "failed",
        "expected the function's resource policy to let apigateway.amazonaws.com invoke it for the API "
        f"{api_id} (SourceArn arn:aws:execute-api:us-east-1:123456789012:{api_id}/*/*/*), found no statement for "
        "apigateway.amazonaws.com: add it with lambda_.add_permission (API Gateway answers 500 without it)",
    )


def test_a_permission_left_from_an_earlier_api_is_explained(deploy, rest_api):
    api_id = rest_api(deploy(REFERENCE_HANDLER), permission=False)
    permit("earlier", "arn:aws:execute-api:us-east-1:123456789012:earlier/*/*/*")
    found = result("api")
    assert found.status == "failed"
    assert found.message.endswith(
        "found statements for the sources ['arn:aws:execute-api:us-east-1:123456789012:earlier/*/*/*']: add it with "
        "lambda_.add_permission (API Gateway answers 500 without it)"
    )
    permit(api_id)
    assert result("api").status == "passed"


def test_an_integration_calling_lambda_with_get_is_explained(deploy, rest_api):
    rest_api(deploy(REFERENCE_HANDLER), integration_method="GET")
    found = result("api")
    assert (found.status, found.message) == (
        "failed",
        "expected GET /books's integration to call Lambda with integrationHttpMethod=\"POST\" (Lambda's Invoke is a "
        "POST, whatever the client's method), found GET",
    )


def test_an_api_without_get_on_a_book_says_the_method_is_missing(deploy, rest_api):
    api_id = rest_api(deploy(REFERENCE_HANDLER))
    apigateway = boto3.client("apigateway")
    book = next(r for r in apigateway.get_resources(restApiId=api_id)["items"] if r["path"] == "/books/{id}")
    apigateway.delete_method(restApiId=api_id, resourceId=book["id"], httpMethod="GET")
    apigateway.create_deployment(restApiId=api_id, stageName="prod")
    found = result("api")
    assert (found.status, found.message) == (
        "failed",
        'expected GET /books/1 to return that book, found 403: {"message":"Missing Authentication Token"} '
        "(403: the deployed API has no GET method on /books/{id})",
    )


# Steps 5 and 6: the Bookshop restarted


@pytest.fixture
def catalog_url(deploy, rest_api):
    return urls.url_for(rest_api(deploy(REFERENCE_HANDLER)), "prod")


def start_bookshop(tmp_path, *flags, **env):
    """The Bookshop, run from tmp_path (so that a database without MONOLITH_DB lands there, not in the course)."""
    return localproc.start(
        "bookshop",
        [sys.executable, "-m", "services.monolith", "--port", "{port}", *flags],
        cwd=tmp_path,
        env={"PYTHONPATH": str(config.COURSE_ROOT), **env},
    )


@pytest.fixture
def bookshop_before_step_1(tmp_path):
    """The Bookshop as the notebook starts it, with its customer and their first order."""
    shop = start_bookshop(tmp_path, "--fresh-db", MONOLITH_DB=str(tmp_path / "bookshop.db"))
    customer = requests.post(shop.url + "/users", json={"name": "L", "email": CUSTOMER_EMAIL}, timeout=5).json()
    requests.post(
        shop.url + "/orders", json={"user_id": customer["id"], "items": [{"book_id": 1, "qty": 2}]}, timeout=10
    )
    yield shop
    localproc.stop("bookshop")


def test_a_restart_with_fresh_db_is_explained(tmp_path, catalog_url, bookshop_before_step_1):
    start_bookshop(tmp_path, "--fresh-db", MONOLITH_DB=str(tmp_path / "bookshop.db"), CATALOG_SERVICE_URL=catalog_url)
    found = result("strangler")
    assert (found.status, found.message) == (
        "failed",
        f"expected the Bookshop to still know the customer {CUSTOMER_EMAIL}, found no such customer: it was "
        "restarted with --fresh-db, which deletes its database; run the cell that starts the Bookshop (before "
        "step 1) again, then step 5 without --fresh-db",
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="a process's environment is read from /proc")
def test_a_restart_without_its_database_is_explained(tmp_path, catalog_url, bookshop_before_step_1):
    start_bookshop(tmp_path, CATALOG_SERVICE_URL=catalog_url)
    found = result("strangler")
    assert (found.status, found.message) == (
        "failed",
        "expected the Bookshop to be restarted with its database, MONOLITH_DB=bookshop_db, found no MONOLITH_DB: "
        "it opened a new bookshop.db in the course folder (delete that file); run the cell that starts the "
        "Bookshop (before step 1) again, then step 5",
    )


def test_a_restart_that_keeps_the_database_passes_step_5_and_step_6_needs_the_stock_owner(
    tmp_path, catalog_url, bookshop_before_step_1
):
    database = str(tmp_path / "bookshop.db")
    start_bookshop(tmp_path, MONOLITH_DB=database, CATALOG_SERVICE_URL=catalog_url)
    assert result("strangler").status == "passed"
    found = result("stock")
    assert (found.status, found.message) == (
        "not done yet",
        "the Bookshop's checkout still takes copies from its own table: restart it with STOCK_SERVICE_URL set to "
        "the API's URL",
    )
    shop = start_bookshop(
        tmp_path, MONOLITH_DB=database, CATALOG_SERVICE_URL=catalog_url, STOCK_SERVICE_URL=catalog_url
    )
    assert result("stock").status == "passed"
    # Checkout now takes the copies at the owner, all or nothing.
    customer = requests.get(shop.url + "/users", params={"email": CUSTOMER_EMAIL}, timeout=5).json()[0]
    order = requests.post(
        shop.url + "/orders",
        json={"user_id": customer["id"], "items": [{"book_id": 2, "qty": 2}, {"book_id": 3, "qty": 9}]},
        timeout=10,
    )
    assert (order.status_code, order.json()) == (
        409,
        {"error": "book 3 (Book 3) is out of stock: 5 left, 9 wanted"},
    )
    assert [requests.get(f"{catalog_url}/books/{n}", timeout=10).json()["stock"] for n in (2, 3)] == [5, 5]
    order = requests.post(
        shop.url + "/orders", json={"user_id": customer["id"], "items": [{"book_id": 2, "qty": 2}]}, timeout=10
    )
    assert order.status_code == 201 and order.json()["total_cents"] == 2 * 1002
    assert requests.get(f"{catalog_url}/books/2", timeout=10).json()["stock"] == 3


# The given cells, after a wrong answer or out of order: one line saying what is wrong, no traceback


def given_cell(containing: str) -> str:
    return next(c.source for c in solution().cells if c.cell_type == "code" and containing in c.source)


def run_given(containing, **names):
    namespace = {"json": json, "base64": __import__("base64"), "requests": requests, "LabkitError": LabkitError}
    exec(compile(given_cell(containing), "a given cell", "exec"), {**namespace, **names})


def test_the_invoke_cell_before_the_function_is_deployed_says_so(cloud):
    with pytest.raises(LabkitError) as raised:
        run_given("def invoke(event):", lambda_=boto3.client("lambda"), function_name="catalog")
    assert str(raised.value) == "there is no function catalog yet: run the cell above that deploys it"


def test_the_invoke_cell_says_when_the_body_is_not_a_string(deploy):
    deploy(REFERENCE_HANDLER.replace('"body": json.dumps(body, default=_plain_number)', '"body": body'))
    with pytest.raises(LabkitError) as raised:
        run_given("def invoke(event):", lambda_=boto3.client("lambda"), function_name="catalog")
    assert str(raised.value).startswith(
        "expected a dict whose body is a string (json.dumps(...): API Gateway answers 502 otherwise), found "
        "{'statusCode': 200"
    )


def test_the_api_calls_cell_without_a_deployed_api_says_so(cloud):
    with pytest.raises(LabkitError) as raised:
        run_given("def call(method, path, expected", catalog_url=None)
    assert str(raised.value) == "the API has no URL yet: run the cell above to its end"


def test_the_api_calls_cell_explains_a_500_from_a_missing_permission(deploy, rest_api):
    api_id = rest_api(deploy(REFERENCE_HANDLER), permission=False)
    with pytest.raises(LabkitError) as raised:
        run_given("def call(method, path, expected", catalog_url=urls.url_for(api_id, "prod"))
    assert str(raised.value) == (
        "expected GET /books to answer 200, found 500: {'message': 'Internal server error'} (500: API Gateway "
        "could not invoke the function: does its resource policy allow it?)"
    )
