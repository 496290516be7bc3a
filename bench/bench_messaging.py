"""SNS → SQS → Lambda on the local cloud: from Publish to the start of the handler, in one run.

    .venv/bin/python bench/bench_messaging.py      about a minute; loopback only; stops by itself

Starts a private local cloud (temporary state folder, free port) and deploys three pipelines, each
an SNS topic whose SQS subscriptions use raw message delivery, every queue polled by event source
mappings (BatchSize 10, no batching window) that invoke a Python handler:
- 1 consumer: the topic, one queue, one mapping, one function;
- 4 consumers: SNS fan-out, the topic with 4 subscribed queues, each with its own mapping and
  function: every message reaches every consumer;
- 4 mappings on one queue: the topic, one queue, 4 mappings of 4 functions, which compete for its
  messages: every message reaches one of them.
The handler's first statement reads the clock; it prints it with each record's body (which carries
the publisher's clock at Publish) as one JSON line, read from CloudWatch Logs after the run. Then:
- cold: the first message published to each new pipeline (each function starts its worker);
- warm-up: every function invoked once directly (competing mappings decide which function gets a
  message, so a warm-up through the queue could leave one cold) and some messages published;
- latency: messages published one at a time, paced, so that each finds the pipeline idle;
- throughput: a burst published with PublishBatch, 10 messages a call, from one client;
- a backlog: messages published while the mappings are disabled, then delivered once they are
  enabled: how fast the pollers and functions go without a publisher to wait for.
Every delivery is checked: each message once per consumer (once in all for competing mappings).
Writes bench/results/messaging.md and prints it.
"""

import collections
import io
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

CONSUMERS = 4
COLD_MESSAGES = 1  # per pipeline, before anything else
WARMUP_MESSAGES = 20  # per pipeline, paced, after the direct invocations
PACED_MESSAGES = 300  # per pipeline
PACE_S = 0.02  # between paced publishes: longer than a delivery to 4 consumers takes on 2 cores
BURST_MESSAGES = 500  # per pipeline
# Per pipeline. Small, because moto's SendMessage, and ReceiveMessage for every message it returns,
# builds the queue's attributes, which counts every message in the queue: filling and emptying a
# queue take time quadratic in its depth.
BACKLOG_MESSAGES = 200
# Lambda may assume the functions' role (CreateFunction checks the trust policy, as AWS does).
LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
BATCH_SIZE = 10  # the mappings' BatchSize, and PublishBatch's most entries per call
DRAIN_TIMEOUT_S = 30.0
# The handler reads the clock first and prints one line per batch: a write to the pipe its worker
# already reads, whose log events reach CloudWatch Logs after the invocation answers. Writing to
# DynamoDB instead would make every batch an HTTP round trip into the local cloud, the process
# that also publishes, polls and invokes, and would slow the very pipeline being measured.
HANDLER = """\
import json
import time


def handler(event, context):
    started = time.time()
    print(json.dumps({"started": started,
                      "records": [[record["body"], int(record["attributes"]["SentTimestamp"])]
                                  for record in event["Records"]]}))
"""


@dataclass
class Pipeline:
    label: str
    topic_arn: str
    queue_urls: list[str]
    functions: list[str]
    mappings: list[str]  # their UUIDs
    fan_out: bool  # each function has a queue of its own; otherwise they share one queue


@dataclass
class Delivery:
    """One record handed to a handler."""

    function: str
    phase: str
    number: int
    published: float  # the publisher's time.time() just before its Publish call
    queued_ms: int  # the record's SentTimestamp: when SNS put it in the queue
    started: float  # the handler's time.time() at its first statement
    batch: int  # the invocation it came in, numbered per function


@dataclass
class Burst:
    first_publish: float = 0.0
    publishing_s: float = 0.0
    enabled: float = 0.0  # for a backlog: when its mappings were enabled again


def publish_paced(sns, pipeline: Pipeline, phase: str, count: int) -> list[float]:
    """Publish count messages PACE_S apart; returns the Publish round trips (s)."""
    round_trips = []
    start = time.monotonic()
    for number in range(count):
        time.sleep(max(0.0, start + number * PACE_S - time.monotonic()))
        before = time.perf_counter()
        sns.publish(TopicArn=pipeline.topic_arn, Message=body(phase, number))
        round_trips.append(time.perf_counter() - before)
    return round_trips


def publish_burst(sns, pipeline: Pipeline, phase: str, count: int) -> Burst:
    burst = Burst(first_publish=time.time())
    started = time.perf_counter()
    for first in range(0, count, BATCH_SIZE):
        entries = [
            {"Id": str(number), "Message": body(phase, number)}
            for number in range(first, min(count, first + BATCH_SIZE))
        ]
        answer = sns.publish_batch(TopicArn=pipeline.topic_arn, PublishBatchRequestEntries=entries)
        assert not answer.get("Failed"), answer["Failed"]
    burst.publishing_s = time.perf_counter() - started
    return burst


def body(phase: str, number: int) -> str:
    return json.dumps({"phase": phase, "number": number, "published": time.time()})


def code_zip() -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", HANDLER)
    return archive.getvalue()


def deploy(label: str, queues: int, functions: int, role: str) -> Pipeline:
    """A topic, `queues` queues subscribed with raw delivery, and `functions` functions whose
    mappings go round the queues."""
    import boto3

    from labkit import awsapi

    sns, sqs, lambda_ = boto3.client("sns"), boto3.client("sqs"), boto3.client("lambda")
    key = uuid.uuid4().hex[:8]
    topic_arn = sns.create_topic(Name=f"bench-{key}")["TopicArn"]
    queue_urls, queue_arns = [], []
    for index in range(queues):
        url = sqs.create_queue(QueueName=f"bench-{key}-{index}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        allow_topic = {
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
        }
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Statement": [allow_topic]})})
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        queue_urls.append(url)
        queue_arns.append(arn)
    names, mappings = [], []
    for index in range(functions):
        name = f"bench-{key}-{index}"
        awsapi.once_the_role_is_usable(
            lambda name=name: lambda_.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="app.handler",
                Code={"ZipFile": code_zip()},
                Timeout=10,
            )
        )
        mapping = lambda_.create_event_source_mapping(
            EventSourceArn=queue_arns[index % queues],
            FunctionName=name,
            BatchSize=BATCH_SIZE,
            MaximumBatchingWindowInSeconds=0,
        )
        names.append(name)
        mappings.append(mapping["UUID"])
    return Pipeline(label, topic_arn, queue_urls, names, mappings, fan_out=queues == functions)


def publish_backlog(sns, lambda_, pipeline: Pipeline) -> Burst:
    """BACKLOG_MESSAGES published while the pipeline's mappings are disabled, then enabled."""
    for mapping in pipeline.mappings:
        lambda_.update_event_source_mapping(UUID=mapping, Enabled=False)
    burst = publish_burst(sns, pipeline, "backlog", BACKLOG_MESSAGES)
    burst.enabled = time.time()
    for mapping in pipeline.mappings:
        lambda_.update_event_source_mapping(UUID=mapping, Enabled=True)
    return burst


def drain(sqs, pipeline: Pipeline) -> None:
    """Wait until every queue of the pipeline is empty: a message leaves its queue only once its
    handler has answered. Polled slowly, to weigh little on what is measured."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while True:
        left = 0
        for url in pipeline.queue_urls:
            counts = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )
            left += sum(int(value) for value in counts["Attributes"].values())
        if not left:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{pipeline.label}: {left} messages still queued or in flight after {DRAIN_TIMEOUT_S:.0f} s"
            )
        time.sleep(0.1)


def deliveries(logs, function: str) -> list[Delivery]:
    """Every record the function's handler was given, from the lines it printed."""
    found = []
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{function}")
    lines = [event["message"] for page in pages for event in page["events"]]
    printed_lines = [line for line in lines if line.startswith('{"started"')]  # not START, END...
    for batch, line in enumerate(printed_lines):
        printed = json.loads(line)
        for record_body, queued_ms in printed["records"]:
            sent = json.loads(record_body)
            found.append(
                Delivery(
                    function, sent["phase"], sent["number"], sent["published"], queued_ms, printed["started"], batch
                )
            )
    return found


def delivery_errors(pipeline: Pipeline, got: list[Delivery], sent: dict[str, int]) -> list[str]:
    """Messages missing or delivered more than once: each once per consumer, or once in all when
    the functions compete for one queue."""
    errors = []
    consumers = pipeline.functions if pipeline.fan_out else [None]
    for consumer in consumers:
        counts = collections.Counter((d.phase, d.number) for d in got if consumer is None or d.function == consumer)
        for phase, count in sent.items():
            missing = sum(1 for number in range(count) if counts[(phase, number)] == 0)
            repeated = sum(counts[(phase, number)] - 1 for number in range(count) if counts[(phase, number)] > 1)
            who = consumer or "all functions"
            if missing:
                errors.append(f"{pipeline.label}, {phase}: {missing} of {count} never reached {who}")
            if repeated:
                errors.append(f"{pipeline.label}, {phase}: {repeated} extra deliveries to {who}")
    return errors


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    load_before = os.getloadavg()[0]  # other work on the machine skews every number below
    run_started = time.perf_counter()
    state = tempfile.mkdtemp(prefix="labkit-bench-")
    os.environ["LABKIT_STATE_DIR"] = state
    from labkit import course
    from labkit.localcloud import control
    from labkit.proc import free_port

    os.environ["LABKIT_PORT"] = str(free_port())
    try:
        course.start(quiet=True)
        import boto3

        sns, sqs, lambda_ = boto3.client("sns"), boto3.client("sqs"), boto3.client("lambda")
        role = boto3.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
        reads_queues = {
            "Effect": "Allow",
            "Resource": "*",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        }
        boto3.client("iam").put_role_policy(
            RoleName="bench",
            PolicyName="reads-queues",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [reads_queues]}),
        )
        pipelines = [
            deploy("1 consumer", 1, 1, role),
            deploy(f"{CONSUMERS} consumers (fan-out)", CONSUMERS, CONSUMERS, role),
            deploy(f"{CONSUMERS} mappings on one queue", 1, CONSUMERS, role),
        ]
        for pipeline in pipelines:
            publish_paced(sns, pipeline, "cold", COLD_MESSAGES)
            drain(sqs, pipeline)
        for pipeline in pipelines:
            for function in pipeline.functions:
                lambda_.invoke(FunctionName=function, Payload=json.dumps({"Records": []}))
            publish_paced(sns, pipeline, "warm-up", WARMUP_MESSAGES)
            drain(sqs, pipeline)
        publish_s, bursts, backlogs = {}, {}, {}
        for pipeline in pipelines:
            publish_s[pipeline.label] = publish_paced(sns, pipeline, "paced", PACED_MESSAGES)
            drain(sqs, pipeline)
            bursts[pipeline.label] = publish_burst(sns, pipeline, "burst", BURST_MESSAGES)
            drain(sqs, pipeline)
            backlogs[pipeline.label] = publish_backlog(sns, lambda_, pipeline)
            drain(sqs, pipeline)
        logs = boto3.client("logs")
        got = {
            pipeline.label: [delivery for function in pipeline.functions for delivery in deliveries(logs, function)]
            for pipeline in pipelines
        }
    finally:
        control.down()
        shutil.rmtree(state, ignore_errors=True)
    sent = {
        "cold": COLD_MESSAGES,
        "warm-up": WARMUP_MESSAGES,
        "paced": PACED_MESSAGES,
        "burst": BURST_MESSAGES,
        "backlog": BACKLOG_MESSAGES,
    }
    errors = [error for pipeline in pipelines for error in delivery_errors(pipeline, got[pipeline.label], sent)]
    report = render(
        pipelines,
        got,
        publish_s,
        bursts,
        backlogs,
        errors,
        (load_before, os.getloadavg()[0]),
        time.perf_counter() - run_started,
    )
    (Path(__file__).parent / "results" / "messaging.md").write_text(report)
    print(report, end="")


def render(pipelines, got, publish_s, bursts, backlogs, errors, loads: tuple[float, float], wall_s: float) -> str:
    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.1f}"

    def per_invocation(records: list[Delivery]) -> str:
        return f"{len(records) / len({(d.function, d.batch) for d in records}):.1f}"

    latency_rows, throughput_rows, backlog_rows, cold_rows = [], [], [], []
    for pipeline in pipelines:
        label = pipeline.label
        paced = [d for d in got[label] if d.phase == "paced"]
        waits = [d.started - d.published for d in paced]
        # SentTimestamp has whole milliseconds: queue → handler reads up to 1 ms long.
        in_queue = [d.started - d.queued_ms / 1000 for d in paced]
        latency_rows.append(
            f"| {label} | {len(paced)} | {ms(statistics.median(waits))} | "
            f"{ms(percentile(waits, 0.99))} | {ms(max(waits))} | "
            f"{ms(statistics.median(in_queue))} | {ms(statistics.median(publish_s[label]))} |"
        )
        burst = [d for d in got[label] if d.phase == "burst"]
        spent_s = max(d.started for d in burst) - bursts[label].first_publish
        burst_waits = [d.started - d.published for d in burst]
        throughput_rows.append(
            f"| {label} | {len(burst)} | {bursts[label].publishing_s:.2f} | {spent_s:.2f} | "
            f"{len(burst) / spent_s:.0f} | {per_invocation(burst)} | "
            f"{ms(statistics.median(burst_waits))} | {ms(max(burst_waits))} |"
        )
        queued = [d for d in got[label] if d.phase == "backlog"]
        first_start, last_start = min(d.started for d in queued), max(d.started for d in queued)
        backlog_rows.append(
            f"| {label} | {len(queued)} | {ms(first_start - backlogs[label].enabled)} | "
            f"{last_start - first_start:.2f} | {len(queued) / (last_start - first_start):.0f} | "
            f"{per_invocation(queued)} |"
        )
        cold = sorted(d.started - d.published for d in got[label] if d.phase == "cold")
        cold_rows.append(f"| {label} | {', '.join(ms(wait) for wait in cold)} |")
    checks = (
        [f"**{error}**" for error in errors]
        if errors
        else ["every message reached every consumer exactly once (once in all for competing mappings), in every phase"]
    )
    return (
        "\n".join(
            [
                f"SNS → SQS → Lambda on the local cloud, one run of bench/bench_messaging.py "
                f"({wall_s:.0f} s): {os.cpu_count()} cores, load average {loads[0]:.1f} before and "
                f"{loads[1]:.1f} after, {time.strftime('%Y-%m-%d')}.",
                "",
                "Each pipeline is an SNS topic whose SQS subscriptions use raw message delivery, each "
                f"queue polled by event source mappings (BatchSize {BATCH_SIZE}, no batching window) of "
                f"Python functions. **{CONSUMERS} consumers** means {CONSUMERS} queue + function pairs "
                "subscribed to the same topic: SNS fan-out, every message reaches every consumer, and "
                f"each delivery counts. **{CONSUMERS} mappings on one queue**: {CONSUMERS} functions "
                "compete for one queue's messages, each message reaches one of them. A delivery's latency "
                "is from just before the publisher's Publish call to the first statement of the handler "
                "(time.time() on both sides, same machine), read from what the handler printed to "
                "CloudWatch Logs.",
                "",
                f"Warm latency: {PACED_MESSAGES} messages per pipeline, published one at a time "
                f"{PACE_S * 1000:.0f} ms apart, after a warm-up (each function invoked once directly, "
                f"then {WARMUP_MESSAGES} messages); cold starts are excluded here and shown below.",
                "",
                "| pipeline | deliveries | p50 (ms) | p99 (ms) | max (ms) | queue → handler p50 (ms) | "
                "Publish call p50 (ms) |",
                "|---|---|---|---|---|---|---|",
                *latency_rows,
                "",
                "Queue → handler: from the record's SentTimestamp (whole ms) to the handler's start. "
                "Publish call: the publisher's round trip, which includes SNS putting the message in "
                "every subscribed queue.",
                "",
                f"Throughput: a burst of {BURST_MESSAGES} messages per pipeline, PublishBatch with "
                f"{BATCH_SIZE} entries a call from one client, timed from the first Publish to the start "
                "of the last handler.",
                "",
                "| pipeline | deliveries | publishing (s) | first Publish → last handler start (s) | "
                "deliveries/s | records per invocation | latency p50 (ms) | latency max (ms) |",
                "|---|---|---|---|---|---|---|---|",
                *throughput_rows,
                "",
                f"Backlog: {BACKLOG_MESSAGES} messages per pipeline published (PublishBatch) while its "
                "mappings were disabled, then the mappings enabled (UpdateEventSourceMapping); timed "
                "from the first handler start to the last: the pollers and functions alone, without a "
                "publisher.",
                "",
                "| pipeline | deliveries | enabled → first handler start (ms) | "
                "first → last handler start (s) | deliveries/s | records per invocation |",
                "|---|---|---|---|---|---|",
                *backlog_rows,
                "",
                "Cold: the first message published to each new pipeline, the latency of each delivery "
                "(ms); it includes starting the function's worker process.",
                "",
                "| pipeline | first delivery per consumer (ms) |",
                "|---|---|",
                *cold_rows,
                "",
                "Deliveries: " + "; ".join(checks) + ".",
                "",
                "Targets: bench/README.md sets none for messaging; these numbers are for reference.",
            ]
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
