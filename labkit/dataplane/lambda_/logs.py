"""What invocations write to CloudWatch Logs (moto's logs backend, in-process), worded as AWS does.

Each execution environment writes to a log stream of its own in /aws/lambda/NAME; each invocation
adds START, the handler's output, END and REPORT (AWS Lambda Developer Guide, "Using CloudWatch Logs
with Lambda").

An invocation queues its log events rather than writing them before it answers: its caller need not
wait for that (0.1-0.2 ms a call). A writer thread writes them, in the order queued, within
FLUSH_AFTER_S; and every CloudWatch Logs API call first writes what is queued (flush(), called by
the Lambda data plane's middleware), so that it sees the logs of every invocation answered before.
"""

import base64
import collections
import math
import secrets
import threading
import time
import traceback

# Invoke's LogResult: "the last 4 KB of the execution log" (Lambda API reference, Invoke).
TAIL_BYTES = 4096
# How long queued events wait for more to write with them.
FLUSH_AFTER_S = 0.05

_queued: collections.deque = collections.deque()  # (logs backend, group, stream, events)
_writing = threading.Lock()  # one writer at a time, so that events reach moto in the order queued
_due = threading.Event()  # set while events wait for the writer thread
_writer_started = threading.Lock()
_writer: threading.Thread | None = None


def now_ms() -> int:
    return int(time.time() * 1000)


def new_stream_name(version: str) -> str:
    """YYYY/MM/DD/[version]<32 hex digits>, the way AWS names an environment's stream."""
    return f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{version}]{secrets.token_hex(16)}"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def report_line(
    request_id: str,
    duration_ms: float,
    memory_size_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None = None,
    status: str | None = None,
    error_type: str | None = None,
) -> str:
    # Since 2025-08-01 AWS bills the Init phase of on-demand functions too, so Billed Duration
    # includes it on a cold start (AWS Compute Blog, "AWS Lambda standardizes billing for INIT
    # Phase"); both are rounded up to the millisecond.
    billed_ms = math.ceil(duration_ms + (init_duration_ms or 0.0))
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_ms} ms",
        f"Memory Size: {memory_size_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    if status:
        fields.append(f"Status: {status}")
    if error_type:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields)


def init_report_line(init_duration_ms: float, error_type: str) -> str:
    return f"INIT_REPORT Init Duration: {init_duration_ms:.2f} ms\tPhase: init\tStatus: error\tError Type: {error_type}"


def timeout_line(request_id: str, seconds: float) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{now_ms() % 1000:03d}Z"
    return f"{stamp} {request_id} Task timed out after {seconds:.2f} seconds"


def write(logs_backend, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    """Queue events, (epoch ms, message), for the stream: they reach it within FLUSH_AFTER_S, or
    at flush(), creating group and stream as needed."""
    _queued.append((logs_backend, group, stream, events))
    if not _due.is_set():
        _start_writer()
        _due.set()


def flush() -> None:
    """Write every queued event now."""
    with _writing:
        while _queued:
            logs_backend, group, stream, events = _queued.popleft()
            try:
                _put(logs_backend, group, stream, events)
            except Exception:  # nobody waits for these events: say in the cloud's log why
                traceback.print_exc()


def forget_queued() -> None:
    """After a reset, queued events belong to log groups that are gone."""
    with _writing:
        _queued.clear()


def _put(logs_backend, group: str, stream: str, events: list[tuple[int, str]]) -> None:
    logs_backend.ensure_log_group(group)
    logs_backend.ensure_log_stream(group, stream)
    records, latest = [], 0
    for stamp, message in events:
        latest = max(latest, stamp)  # PutLogEvents takes events in chronological order only
        records.append({"timestamp": latest, "message": message})
    logs_backend.put_log_events(group, stream, records)


def _start_writer() -> None:
    global _writer
    with _writer_started:
        if _writer is None:
            _writer = threading.Thread(target=_write_forever, name="lambda-logs", daemon=True)
            _writer.start()


def _write_forever() -> None:
    while True:
        _due.wait()
        time.sleep(FLUSH_AFTER_S)
        _due.clear()  # before flush(): events queued from now on set it again
        flush()


def as_text(events: list[tuple[int, str]]) -> str:
    return "".join(message + "\n" for _, message in events)


def tail_base64(text: str) -> str:
    return base64.b64encode(text.encode()[-TAIL_BYTES:]).decode()
