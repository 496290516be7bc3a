"""Cache-aside on the local cloud: a catalog function's book reads with and without an ElastiCache cache, in one run.

    .venv/bin/python bench/bench_cache.py      about half a minute; loopback only; stops by itself

Starts a private local cloud (temporary state folder, free port), loads 300 books into a DynamoDB table, creates
an ElastiCache replication group (Valkey; a redis-server process locally) and deploys one handler twice: without a
cache (every read a GetItem) and with cache-aside (GET, on a miss GetItem then SET with a 60 s TTL). Both get the
same load, as lab 10 measures it: 400 reads, 4 at a time, four in five for the ten most popular books, after a
warm-up that starts every execution environment and caches the popular books. The handler returns how many table
reads it made. Both functions run in the default VPC, in a security group the cache's group admits on 6379, as
they must on AWS (the local cloud drops any other connection to a cache, this process's too). Also measured from
this process, as a floor: a GetItem through the local cloud. Writes bench/results/cache.md and cache.png, and
prints the table.
"""

import io
import json
import os
import shutil
import statistics
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REQUESTS, PARALLEL, POPULAR = 400, 4, 10
# What a function in a VPC needs from its role (AWSLambdaVPCAccessExecutionRole's actions).
IN_A_VPC = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
HANDLER = """\
import json
import os

import boto3

_table = boto3.resource("dynamodb").Table(os.environ["BOOKS_TABLE"])
_cache = None
if os.environ.get("CACHE_HOST"):
    import redis

    _cache = redis.Redis(host=os.environ["CACHE_HOST"], port=int(os.environ["CACHE_PORT"]), decode_responses=True)


def handler(event, context):
    key = "book:" + event["id"]
    if _cache is not None:
        cached = _cache.get(key)
        if cached is not None:
            return {"reads": 0, "book": json.loads(cached)}
    item = _table.get_item(Key={"id": event["id"]})["Item"]
    book = {k: str(v) for k, v in item.items()}
    if _cache is not None:
        _cache.set(key, json.dumps(book), ex=60)
    return {"reads": 1, "book": book}
"""


def percentile(values: list[float], percent: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def code_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", HANDLER)
    return archive.getvalue()


def book_for(n: int) -> str:
    return str(1 + n % POPULAR) if n % 5 else str(POPULAR + 1 + n % 290)


def measure(lambda_, name: str) -> tuple[list[float], int]:
    def one(n: int):
        started = time.perf_counter()
        answer = lambda_.invoke(FunctionName=name, Payload=json.dumps({"id": book_for(n)}))
        elapsed = time.perf_counter() - started
        return elapsed, json.loads(answer["Payload"].read())["reads"]

    with ThreadPoolExecutor(PARALLEL) as pool:
        list(pool.map(one, range(-4 * PARALLEL, 0)))  # every environment started, the popular books cached
        list(pool.map(lambda n: one(n * 5 + 1), range(POPULAR)))
        results = list(pool.map(one, range(REQUESTS)))
    return [seconds for seconds, _ in results], sum(reads for _, reads in results)


def main() -> None:
    load_before = os.getloadavg()[0]
    state = tempfile.mkdtemp(prefix="labkit-bench-")
    os.environ["LABKIT_STATE_DIR"] = state
    from labkit import awsapi, course
    from labkit.localcloud import control
    from labkit.proc import free_port

    os.environ["LABKIT_PORT"] = str(free_port())
    try:
        course.start(quiet=True)
        import boto3

        dynamodb, lambda_, elasticache = (boto3.client(n) for n in ("dynamodb", "lambda", "elasticache"))
        subnets, functions_group, cache_group = in_the_default_vpc(boto3.client("ec2"))
        dynamodb.create_table(
            TableName="books",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
        with boto3.resource("dynamodb").Table("books").batch_writer() as batch:
            for n in range(1, 301):
                batch.put_item(Item={"id": str(n), "title": f"Volume {n}", "price_cents": 900 + n})
        elasticache.create_replication_group(
            ReplicationGroupId="catalog-cache",
            ReplicationGroupDescription="bench",
            Engine="valkey",
            CacheNodeType="cache.t4g.micro",
            NumCacheClusters=1,
            SecurityGroupIds=[cache_group],
        )
        while True:
            group = elasticache.describe_replication_groups(ReplicationGroupId="catalog-cache")["ReplicationGroups"][0]
            if group["Status"] == "available":
                break
            time.sleep(0.2)
        endpoint = group["NodeGroups"][0]["PrimaryEndpoint"]
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
        allowed = {"Effect": "Allow", "Action": ["dynamodb:GetItem", *IN_A_VPC], "Resource": "*"}
        iam.put_role_policy(
            RoleName="bench",
            PolicyName="read",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [allowed]}),
        )
        variables = {"BOOKS_TABLE": "books"}
        cached_variables = {**variables, "CACHE_HOST": endpoint["Address"], "CACHE_PORT": str(endpoint["Port"])}
        for name, environment in (("direct", variables), ("cached", cached_variables)):
            awsapi.once_the_role_is_usable(
                lambda name=name, environment=environment: lambda_.create_function(
                    FunctionName=name,
                    Runtime="python3.12",
                    Role=role,
                    Handler="app.handler",
                    Code={"ZipFile": code_zip()},
                    Environment={"Variables": environment},
                    Timeout=10,
                    VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [functions_group]},
                )
            )
        results = {name: measure(lambda_, name) for name in ("direct", "cached")}
        floors = {
            "GetItem from this process": [
                _timed(lambda: dynamodb.get_item(TableName="books", Key={"id": {"S": "1"}})) for _ in range(200)
            ],
        }
    finally:
        control.down()
        shutil.rmtree(state, ignore_errors=True)
    report = render(results, floors, load_before, os.getloadavg()[0])
    results_dir = Path(__file__).parent / "results"
    (results_dir / "cache.md").write_text(report)
    plot(results, results_dir / "cache.png")
    print(report, end="")


def in_the_default_vpc(ec2) -> tuple[list[str], str, str]:
    """The default VPC's subnets, a group for the functions and one for the cache that admits them on 6379."""
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    functions = ec2.create_security_group(GroupName="functions", Description="bench", VpcId=vpc)["GroupId"]
    cache = ec2.create_security_group(GroupName="cache", Description="bench", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=cache,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": functions}]}
        ],
    )
    return subnets, functions, cache


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def render(results, floors, load_before: float, load_after: float) -> str:
    rows = []
    for name, label in (("direct", "no cache (GetItem each time)"), ("cached", "cache-aside (Valkey, 60 s TTL)")):
        latencies, reads = results[name]
        rows.append(
            f"| {label} | {len(latencies)} | {1000 * percentile(latencies, 50):.1f} | "
            f"{1000 * percentile(latencies, 99):.1f} | {reads} |"
        )
    floor_rows = [
        f"| {name} | {1000 * statistics.median(values):.2f} | {1000 * percentile(values, 99):.2f} |"
        for name, values in floors.items()
    ]
    direct, cached = (statistics.median(results[name][0]) for name in ("direct", "cached"))
    return "\n".join(
        [
            f"Cache-aside on the local cloud, one run of bench/bench_cache.py: {os.cpu_count()} cores, load average "
            f"{load_before:.1f} before and {load_after:.1f} after, {time.strftime('%Y-%m-%d')}.",
            "",
            f"A catalog function's book reads through Lambda Invoke (boto3), {REQUESTS} reads {PARALLEL} at a time, "
            f"four in five for the {POPULAR} most popular books, after a warm-up that starts every environment and "
            "caches the popular books. Table reads: the GetItem calls the function made. No simulated latency: "
            "moto's DynamoDB and a local redis-server, both on loopback.",
            "",
            "| catalog | reads | p50 (ms) | p99 (ms) | table reads |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"p50 with the cache: {cached / direct:.2f} of the p50 without.",
            "",
            "Floor, from the bench's own process (200 calls; it cannot reach the cache, which is in the VPC):",
            "",
            "| call | p50 (ms) | p99 (ms) |",
            "|---|---|---|",
            *floor_rows,
            "",
            "The figure: cache.png (latency distribution of both, and their table reads).",
            "",
        ]
    )


def plot(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3))
    for name, label in (("direct", "no cache"), ("cached", "cache-aside")):
        ordered = sorted(results[name][0])
        left.plot([1000 * x for x in ordered], [100 * (i + 1) / len(ordered) for i in range(len(ordered))], label=label)
    left.set_xlabel("read latency through Invoke (ms)")
    left.set_ylabel("% of reads at most")
    left.legend()
    right.bar(["no cache", "cache-aside"], [results["direct"][1], results["cached"][1]])
    right.set_ylabel(f"table reads for {REQUESTS} reads")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
