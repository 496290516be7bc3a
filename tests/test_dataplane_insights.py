"""CloudWatch Logs Insights on the local cloud: StartQuery / GetQueryResults evaluate the query's commands
over the stored events of the log groups named, with the fields Insights discovers in JSON lines and in
Lambda's REPORT lines (moto 5.2.5 runs only fields, sort and limit, and ignores filter, stats and parse)."""

import json
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError
from support import wait_for

REQUESTS = [  # (seconds ago, level, path, latency in ms)
    (50, "INFO", "/books", 12),
    (40, "ERROR", "/orders", 340),
    (30, "INFO", "/orders", 25),
    (20, "ERROR", "/orders", 510),
    (10, "WARN", "/books", 95),
]


@pytest.fixture(scope="module")
def logs(cloud):
    return boto3.client("logs")


@pytest.fixture(scope="module")
def groups(logs):
    """Two log groups of JSON request lines, one plain line and one Lambda REPORT line."""
    names = [f"/lab08/{name}-{uuid.uuid4().hex[:6]}" for name in ("api", "worker")]
    now = int(time.time() * 1000)
    for name in names:
        logs.create_log_group(logGroupName=name)
        logs.create_log_stream(logGroupName=name, logStreamName="main")
    lines = [
        (now - ago * 1000, json.dumps({"level": level, "request": {"path": path}, "latencyMs": latency}))
        for ago, level, path, latency in REQUESTS
    ]
    lines.append((now - 5000, "user=ada action=checkout items=3"))
    logs.put_log_events(
        logGroupName=names[0],
        logStreamName="main",
        logEvents=[{"timestamp": t, "message": m} for t, m in lines],
    )
    report = "REPORT RequestId: 8f5c\tDuration: 12.50 ms\tBilled Duration: 13 ms\t"
    report += "Memory Size: 128 MB\tMax Memory Used: 41 MB"
    logs.put_log_events(
        logGroupName=names[1],
        logStreamName="main",
        logEvents=[{"timestamp": now - 1000, "message": json.dumps({"level": "ERROR", "latencyMs": 700})}]
        + [{"timestamp": now - 500, "message": report}],
    )
    return names


def results(logs, groups: list[str], query: str) -> list[dict]:
    now = int(time.time())
    query_id = logs.start_query(logGroupNames=groups, startTime=now - 600, endTime=now + 60, queryString=query)[
        "queryId"
    ]

    def complete():
        found = logs.get_query_results(queryId=query_id)
        return found if found["status"] == "Complete" else None

    found = wait_for(complete, 10, "the query to complete")
    return [{cell["field"]: cell["value"] for cell in row} for row in found["results"]]


def test_a_filter_on_json_fields_returns_the_matching_events_sorted_with_their_fields(logs, groups):
    rows = results(
        logs,
        groups[:1],
        'filter level = "ERROR" and request.path like "/ord" | fields @timestamp, latencyMs | sort latencyMs desc',
    )
    assert [row["latencyMs"] for row in rows] == ["510", "340"]
    assert all(set(row) == {"@timestamp", "latencyMs", "@ptr"} for row in rows)
    assert len(rows[0]["@timestamp"]) == len("2026-01-01 12:00:00.000")


def test_stats_count_and_avg_by_a_field_are_what_the_events_say(logs, groups):
    rows = results(
        logs,
        groups[:1],
        "filter ispresent(latencyMs) | stats count(*) as requests, avg(latencyMs) as mean, max(latencyMs) "
        "by request.path | sort requests desc",
    )
    assert rows == [
        {"request.path": "/orders", "requests": "3", "mean": str((340 + 25 + 510) / 3), "max(latencyMs)": "510"},
        {"request.path": "/books", "requests": "2", "mean": "53.5", "max(latencyMs)": "95"},
    ]


def test_a_query_spans_log_groups_and_filters_with_in_comparisons_and_or(logs, groups):
    rows = results(
        logs, groups, 'filter level in ["ERROR", "WARN"] and (latencyMs > 400 or latencyMs < 100) | stats count(*)'
    )
    assert rows == [{"count(*)": "3"}]  # 510 and 700 (ERROR), 95 (WARN)


def test_parse_extracts_fields_with_a_glob_and_with_a_regex(logs, groups):
    [globbed] = results(
        logs,
        groups[:1],
        'parse @message "user=* action=* items=*" as user, action, items'
        " | filter ispresent(user) | display user, action, items",
    )
    assert (globbed["user"], globbed["action"], globbed["items"]) == ("ada", "checkout", "3")
    [matched] = results(logs, groups[:1], r"parse @message /action=(?<act>\w+)/ | filter ispresent(act) | fields act")
    assert matched["act"] == "checkout"


def test_lambda_report_lines_give_the_fields_insights_discovers(logs, groups):
    rows = results(
        logs, groups[1:], 'filter @type = "REPORT" | stats avg(@duration) as duration, max(@maxMemoryUsed) as memory'
    )
    assert rows == [{"duration": "12.5", "memory": str(41 * 1_000_000)}]


def test_stats_by_bin_counts_the_events_of_each_period(logs, groups):
    rows = results(logs, groups[:1], "filter ispresent(level) | stats count(*) as n by bin(1h)")
    assert sum(int(row["n"]) for row in rows) == 5
    assert all(row["bin(1h)"].endswith(":00:00.000") for row in rows)


def test_a_malformed_query_is_refused_when_it_is_started(logs, groups):
    now = int(time.time())
    with pytest.raises(ClientError) as refused:
        logs.start_query(logGroupNames=groups, startTime=now - 600, endTime=now, queryString="filter level = | limit 5")
    assert refused.value.response["Error"]["Code"] == "MalformedQueryException"
