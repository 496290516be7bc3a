"""Lab 10's checks against wrong answers: each failure says what was expected and what was found.

The solution notebook runs once for the module (its cells but the cleanup), which deploys the catalog with its
cache, the order consumer and their bulkheads; each test then makes one mistake (cache-aside without a TTL,
without invalidation, without the lock; reserved concurrency on the wrong function; no maximum concurrency; the
Redis OSS engine; a cost without the function's memory), runs the check, and puts the right answer back."""

import contextlib
import json
import re

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from solution_runs import solution_kernel
from support.checks import checks_of

from labkit import labs

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "10_scale_and_cache.ipynb"
result, assert_fails_saying_exactly = checks_of("10")
kernel = solution_kernel(SOLUTION, "10")
CATALOG, CONSUMER = "catalog", "fulfilment"  # names on the local target have no prefix
REDEPLOY = (
    'catalog_arn = deploy_function("catalog", [handler_file, cache_file], catalog_role, {**CATALOG_VARIABLES, '
    '"CACHE_HOST": cache_endpoint["Address"], "CACHE_PORT": str(cache_endpoint["Port"])})'
)


@contextlib.contextmanager
def catalog_changed(kernel, right: str, wrong: str, file: str = "cache_file"):
    """The catalog redeployed with one change to one of its files (the learner's cache_aside.py unless
    `file` names another of the notebook's paths), then put back."""
    kernel(
        f"source = {file}.read_text()\nassert {right!r} in source\n"
        f"{file}.write_text(source.replace({right!r}, {wrong!r}))\n{REDEPLOY}"
    )
    try:
        yield
    finally:
        kernel(f"{file}.write_text(source)\n{REDEPLOY}")


def test_the_solution_passes_every_check_the_terminal_can_run(kernel):
    found = [(r.id, r.status) for r in labs.require("10").run() if r.status != "passed"]
    assert found == [("costs", "not done yet")]  # monthly_costs lives in the notebook


def test_a_cache_whose_security_group_does_not_admit_the_catalog_fails_naming_the_rule_to_add(kernel):
    ec2, lambda_ = boto3.client("ec2"), boto3.client("lambda")

    def group(name: str) -> str:
        return ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"][0][
            "GroupId"
        ]

    cache_group, functions_group = group("cache"), group("functions")
    rule = [{"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": functions_group}]}]
    variables = lambda_.get_function_configuration(FunctionName=CATALOG)["Environment"]["Variables"]
    ec2.revoke_security_group_ingress(GroupId=cache_group, IpPermissions=rule)
    # New environments: those already connected keep their connections, as AWS's connection tracking does.
    lambda_.update_function_configuration(FunctionName=CATALOG, Environment={"Variables": {**variables, "NEW": "1"}})
    lambda_.get_waiter("function_updated_v2").wait(FunctionName=CATALOG)
    try:
        page = lambda_.invoke(
            FunctionName=CATALOG, Payload=json.dumps({"routeKey": "GET /books/{id}", "pathParameters": {"id": "5"}})
        )
        assert page.get("FunctionError") == "Unhandled", page["Payload"].read()  # its cache calls time out
        assert_fails_saying_exactly(
            "cache-hit",
            "the catalog's calls to its cache time out: the cache's security group "
            f"{cache_group} (cache) admits nothing from the catalog's security group {functions_group} on port "
            "6379, so inside the VPC its connections are dropped. Add the ingress rule: "
            'ec2.authorize_security_group_ingress(GroupId=cache_group, IpPermissions=[{"IpProtocol": "tcp", '
            '"FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": functions_group}]}])',
        )
    finally:
        ec2.authorize_security_group_ingress(GroupId=cache_group, IpPermissions=rule)
        lambda_.update_function_configuration(FunctionName=CATALOG, Environment={"Variables": variables})
        lambda_.get_waiter("function_updated_v2").wait(FunctionName=CATALOG)


def test_an_index_holding_only_keys_fails_saying_to_delete_it_and_run_step_1_again(kernel):
    dynamodb = boto3.client("dynamodb")

    def replace_the_index(projection: str) -> None:
        dynamodb.update_table(TableName="books", GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-author"}}])
        dynamodb.update_table(
            TableName="books",
            AttributeDefinitions=[{"AttributeName": "author", "AttributeType": "S"}],
            GlobalSecondaryIndexUpdates=[
                {
                    "Create": {
                        "IndexName": "by-author",
                        "KeySchema": [{"AttributeName": "author", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": projection},
                    }
                }
            ],
        )

    replace_the_index("KEYS_ONLY")
    try:
        assert_fails_saying_exactly(
            "index",
            "expected the index to hold whole books (ProjectionType ALL), found KEYS_ONLY: a query on it would "
            "answer books without their titles and prices; delete it (dynamodb.update_table(TableName=table_name, "
            'GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-author"}}])), correct author_index and run '
            "step 1 again",
        )
    finally:
        replace_the_index("ALL")


def test_an_author_search_querying_the_table_without_the_index_fails_saying_to_name_the_index(kernel):
    with catalog_changed(kernel, '{"IndexName": "by-author", ', "{", file="handler_file"):
        found = result("author-search")
    assert found.status == "failed"
    assert re.fullmatch(
        r"the author search raised ClientError: .*Query condition missed key schema element: id.* \(handler\.py, "
        r'line \d+\): the table is keyed by id; query the index instead, with IndexName="by-author"',
        found.message,
    ), found.message


def test_a_ttl_in_milliseconds_fails_saying_ex_counts_seconds(kernel):
    with catalog_changed(kernel, "ex=CACHE_TTL_S)", "ex=CACHE_TTL_S * 1000)"):
        assert_fails_saying_exactly(
            "cache-ttl",
            "expected the cached book 5 to expire in 1 s to 3600 s, found 60000 s: ex= counts seconds (px= "
            "milliseconds); set it with ex=CACHE_TTL_S",
        )


def test_a_cache_without_a_ttl_fails_saying_the_book_never_expires(kernel):
    with catalog_changed(
        kernel, "cache.set(key, json.dumps(book), ex=CACHE_TTL_S)", "cache.set(key, json.dumps(book))"
    ):
        assert_fails_saying_exactly(
            "cache-ttl",
            "expected the cached book 5 to expire (a TTL of 1 s to 3600 s), found no expiry: a value nobody "
            "invalidates would stay wrong forever; set it with ex=CACHE_TTL_S",
        )


def test_a_price_change_without_invalidation_fails_saying_the_old_price_was_served(kernel):
    price = kernel("import requests\nprint(requests.get(catalog_url + '/books/5', timeout=30).json()['price_cents'])")
    price = int(price)
    with catalog_changed(kernel, "    cache.delete(cache_key(book_id))\n", ""):
        assert_fails_saying_exactly(
            "invalidation",
            f"after POST /books/5/price with {price + 100}, GET /books/5 answered {price} (X-Cache HIT): "
            "change_price must delete the book's key after writing the table",
        )


def test_a_key_deleted_before_the_write_fails_saying_a_read_in_between_cached_the_old_price(kernel):
    price = int(kernel("print(requests.get(catalog_url + '/books/5', timeout=30).json()['price_cents'])"))
    write_then_delete = "    write_price(book_id, price_cents)\n    cache.delete(cache_key(book_id))\n"
    delete_then_write = "    cache.delete(cache_key(book_id))\n    write_price(book_id, price_cents)\n"
    with catalog_changed(kernel, write_then_delete, delete_then_write):
        assert_fails_saying_exactly(
            "invalidation",
            f"GET /books/5 during POST /books/5/price with {price} put the old price {price + 100} back in the "
            f"cache: the next GET answered {price + 100} (X-Cache HIT). change_price deletes the key before "
            "writing the table, so a read in between caches the old price: write first, then delete",
        )
    assert int(kernel("print(requests.get(catalog_url + '/books/5', timeout=30).json()['price_cents'])")) == price


def test_a_cache_miss_without_the_lock_fails_saying_how_many_times_the_table_was_read(kernel):
    with catalog_changed(kernel, 'cache.set(lock, "1", nx=True, px=LOCK_TTL_MS)', "True"):
        found = result("stampede")
    assert found.status == "failed"
    reads = re.fullmatch(
        r"8 requests at once for book 9, just invalidated, read the table (\d+) times: expected 1, the lock's "
        r"holder; the others wait for the cache",
        found.message,
    )
    assert reads and int(reads[1]) > 1, found.message


def test_reserved_concurrency_on_the_consumer_instead_of_the_catalog_fails_saying_where_it_went(kernel):
    lambda_ = boto3.client("lambda")
    lambda_.delete_function_concurrency(FunctionName=CATALOG)
    lambda_.put_function_concurrency(FunctionName=CONSUMER, ReservedConcurrentExecutions=20)
    try:
        assert_fails_saying_exactly(
            "reserved",
            f"expected reserved concurrency on {CATALOG}, found none, and 20 on {CONSUMER}: that caps the consumer "
            "(its mapping's maximum concurrency already does, without throttling) and guarantees the catalog nothing",
        )
    finally:
        lambda_.delete_function_concurrency(FunctionName=CONSUMER)
        lambda_.put_function_concurrency(FunctionName=CATALOG, ReservedConcurrentExecutions=20)


def test_too_little_reserved_concurrency_fails_saying_the_catalog_would_throttle_itself(kernel):
    lambda_ = boto3.client("lambda")
    lambda_.put_function_concurrency(FunctionName=CATALOG, ReservedConcurrentExecutions=2)
    try:
        assert_fails_saying_exactly(
            "reserved",
            f"expected at least 5 reserved for {CATALOG} (the measured load runs 4 pages at once), found 2: below "
            "that the catalog throttles itself",
        )
    finally:
        lambda_.put_function_concurrency(FunctionName=CATALOG, ReservedConcurrentExecutions=20)


def test_a_mapping_without_a_maximum_concurrency_fails_saying_so(kernel):
    lambda_ = boto3.client("lambda")
    mapping = lambda_.list_event_source_mappings(FunctionName=CONSUMER)["EventSourceMappings"][0]["UUID"]
    lambda_.update_event_source_mapping(UUID=mapping, ScalingConfig={})
    try:
        assert_fails_saying_exactly(
            "maximum-concurrency",
            "expected the mapping from order-events to run at most 2 batches at once (ScalingConfig "
            "MaximumConcurrency), found no maximum",
        )
    finally:
        lambda_.update_event_source_mapping(UUID=mapping, ScalingConfig={"MaximumConcurrency": 2})


def test_a_maximum_concurrency_below_2_is_refused_as_aws_refuses_it_by_boto3_and_by_the_local_cloud(kernel):
    lambda_ = boto3.client("lambda")
    unchecked = boto3.client("lambda", config=Config(parameter_validation=False))  # as a raw HTTP caller
    mapping = lambda_.list_event_source_mappings(FunctionName=CONSUMER)["EventSourceMappings"][0]
    with pytest.raises(ParamValidationError) as by_boto3:
        lambda_.update_event_source_mapping(UUID=mapping["UUID"], ScalingConfig={"MaximumConcurrency": 1})
    assert "Invalid value for parameter ScalingConfig.MaximumConcurrency, value: 1, valid min value: 2" in str(
        by_boto3.value
    )
    with pytest.raises(ClientError) as updated:
        unchecked.update_event_source_mapping(UUID=mapping["UUID"], ScalingConfig={"MaximumConcurrency": 1})
    with pytest.raises(ClientError) as created:
        unchecked.create_event_source_mapping(
            FunctionName=CONSUMER, EventSourceArn=mapping["EventSourceArn"], ScalingConfig={"MaximumConcurrency": 0}
        )
    assert [(e.value.response["Error"]["Code"], e.value.response["Error"]["Message"]) for e in (updated, created)] == [
        (
            "ValidationException",
            f"1 validation error detected: Value '{value}' at 'scalingConfig.maximumConcurrency' failed to satisfy "
            "constraint: Member must have value greater than or equal to 2",
        )
        for value in (1, 0)
    ]
    assert result("maximum-concurrency").status == "passed"


def test_a_redis_oss_cache_fails_saying_valkey_is_recommended(kernel):
    elasticache = boto3.client("elasticache")
    elasticache.modify_replication_group(ReplicationGroupId="catalog-cache", Engine="redis")
    try:
        assert_fails_saying_exactly(
            "cache",
            "expected the engine valkey (AWS's recommendation: the same protocol, a lower price), found redis; "
            "delete it (elasticache.delete_replication_group(ReplicationGroupId=cache_id)), wait until "
            "describe_replication_groups no longer finds it, and run step 2 again",
        )
    finally:
        elasticache.modify_replication_group(ReplicationGroupId="catalog-cache", Engine="valkey")


def test_a_cost_without_the_functions_memory_fails_saying_which_part_is_wrong(kernel):
    def monthly_costs(requests, reads_per_request, duration_ms, cache_nodes):
        return {
            "lambda": requests * (0.20 / 1e6 + duration_ms / 1000 * 0.0000166667),
            "api": requests * 1.00 / 1e6,
            "dynamodb": requests * reads_per_request * 0.5 * 0.125 / 1e6,
            "cache": cache_nodes * 730 * 0.0128,
        }

    assert_fails_saying_exactly(
        "costs",
        "for monthly_costs(requests=1000000, reads_per_request=0.25, duration_ms=40.0, cache_nodes=1), expected "
        "lambda $0.3667, found $0.8667",
        monthly_costs=monthly_costs,
    )
