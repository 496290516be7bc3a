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
from solution_runs import deployed_by_solution

from labkit import labs

pytestmark = pytest.mark.long  # started early by tests/conftest.py

SOLUTION = "10_scale_and_cache.ipynb"
CATALOG, CONSUMER = "catalog", "fulfilment"  # names on the local target have no prefix
REDEPLOY = (
    'catalog_arn = deploy_function("catalog", [handler_file, cache_file], catalog_role, {**CATALOG_VARIABLES, '
    '"CACHE_HOST": cache_endpoint["Address"], "CACHE_PORT": str(cache_endpoint["Port"])})'
)


@pytest.fixture(scope="module")
def kernel(cloud):
    """The lab as its solution leaves it before the cleanup: run(code) runs more code in its kernel."""
    with deployed_by_solution(SOLUTION, "10") as run:
        yield run


def result(check_id, **learner):
    return next(r for r in labs.require("10").run(**learner) if r.id == check_id)


def assert_fails_saying_exactly(check_id, says, **learner):
    found = result(check_id, **learner)
    assert (found.status, found.message) == ("failed", says), found.message


@contextlib.contextmanager
def cache_aside_changed(kernel, right: str, wrong: str):
    """The catalog redeployed with one change to the learner's cache_aside.py, then put back."""
    kernel(
        f"source = cache_file.read_text()\nassert {right!r} in source\n"
        f"cache_file.write_text(source.replace({right!r}, {wrong!r}))\n{REDEPLOY}"
    )
    try:
        yield
    finally:
        kernel(f"cache_file.write_text(source)\n{REDEPLOY}")


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


def test_a_cache_without_a_ttl_fails_saying_the_book_never_expires(kernel):
    with cache_aside_changed(
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
    with cache_aside_changed(kernel, "    cache.delete(cache_key(book_id))\n", ""):
        assert_fails_saying_exactly(
            "invalidation",
            f"after POST /books/5/price with {price + 100}, GET /books/5 answered {price} (X-Cache HIT): "
            "change_price must delete the book's key after writing the table",
        )


def test_a_cache_miss_without_the_lock_fails_saying_how_many_times_the_table_was_read(kernel):
    with cache_aside_changed(kernel, 'cache.set(lock, "1", nx=True, px=LOCK_TTL_MS)', "True"):
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


def test_a_redis_oss_cache_fails_saying_valkey_is_recommended(kernel):
    elasticache = boto3.client("elasticache")
    elasticache.modify_replication_group(ReplicationGroupId="catalog-cache", Engine="redis")
    try:
        assert_fails_saying_exactly(
            "cache",
            "expected the engine valkey (AWS's recommendation: the same protocol, a lower price), found redis",
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
