"""One invocation of a function: run in a warm worker, reported as AWS reports it.

The payload the caller gets, whether it is a function error, and the log events for CloudWatch.
Shapes of the errors Lambda itself raises (not the handler):
- timeout: {"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: <id> Error: Task timed out
  after N.NN seconds"} (AWS Lambda Developer Guide, "Troubleshoot invocation issues in Lambda",
  Sandbox.Timedout; the message as the Invoke API returns it), and the log line
  "<timestamp> <id> Task timed out after N.NN seconds";
- a process that dies (memory size exceeded, sys.exit, a crash): {"errorType": "Runtime.ExitError",
  "errorMessage": "RequestId: <id> Error: Runtime exited with error: signal: killed"}; REPORT then
  says "Status: error  Error Type: Runtime.OutOfMemory" when it was the memory size.
Handler errors, init errors (Runtime.ImportModuleError, Runtime.HandlerNotFound) and
Runtime.MarshalError come from awslambdaric itself, unchanged.
"""

import concurrent.futures
import contextvars
import itertools
import json
import re
import time
import uuid
import zipfile
from dataclasses import dataclass

from labkit.dataplane import cloudwatch
from labkit.dataplane.core.functions import ANSWER_BY, TRACE_HEADER, CallerStoppedWaiting
from labkit.dataplane.lambda_ import code_cache, concurrency, environment, logs, tracing
from labkit.dataplane.lambda_.pool import WorkerPool
from labkit.dataplane.lambda_.workers import INIT_TIMEOUT_S, Outcome, Worker, WorkerSpec

PYTHON_RUNTIME = re.compile(r"python3\.\d+")
POOL = WorkerPool()
# Beyond the Init phase and the function's timeout: starting a process, killing one at its timeout.
SLACK_S = 1.0
# Invocations whose caller may stop waiting first; each keeps its thread until the function ends.
_OUTLIVING_CALLERS = concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="lambda-call")


@dataclass(frozen=True)
class Caller:
    """How the function was invoked: what its context object reports."""

    invoked_arn: str  # qualified by the version or alias the caller named
    request_id: str | None = None  # given for Event invocations: their retries repeat it
    client_context: str | None = None  # JSON, from Invoke's ClientContext


# Set around moto's call into the seam by whoever knows the caller (labkit's Invoke handling);
# triggers that call the function directly (SNS, DynamoDB streams, ...) leave it unset.
CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("lambda_caller", default=None)


@dataclass
class Invocation:
    payload: bytes
    errored: bool
    log_events: list[tuple[int, str]]

    @property
    def log_text(self) -> str:
        return logs.as_text(self.log_events)


def run(fn, payload: bytes, caller: Caller) -> Invocation:
    """Invoke moto's LambdaFunction fn with payload (a JSON document) and write its logs; raises
    CallerStoppedWaiting when ANSWER_BY passes first."""
    request_id = caller.request_id or str(uuid.uuid4())
    refusal = _why_it_cannot_run(fn)
    code_dir = None
    if refusal is None:
        try:
            code_dir = str(code_cache.unpacked(fn.code_digest, fn.code_bytes))
        except zipfile.BadZipFile:
            refusal = "the function's code is not a valid .zip file"
    if refusal is not None:
        invocation = _refused(fn, request_id, refusal)
        logs.write(fn.logs_backend, fn.logs_group_name, logs.new_stream_name(str(fn.version)), invocation.log_events)
        return invocation

    spec = _worker_spec(fn, code_dir)
    claimed = concurrency.claim(fn)  # raises Throttled over the function's or the account's limit
    try:
        return _run_claimed(claimed, spec, fn, payload, caller, request_id)
    except CallerStoppedWaiting:
        raise  # the invocation goes on, and releases its claim when it ends
    except BaseException:
        concurrency.release(claimed)
        raise


def _run_claimed(claimed, spec: WorkerSpec, fn, payload: bytes, caller: Caller, request_id: str) -> Invocation:
    answer_by = ANSWER_BY.get()
    # Read here: the invocation may run on another thread, which does not see this one's context.
    trace = tracing.begin(TRACE_HEADER.get()) if tracing.is_active(fn) else None
    if answer_by is None:
        return _run_in(claimed, POOL.acquire(spec), fn, payload, caller, request_id, trace)
    # When the function's own limits end it in time and a worker is free, it runs on this thread;
    # otherwise on one the caller can leave behind.
    if time.monotonic() + INIT_TIMEOUT_S + float(fn.timeout) + SLACK_S < answer_by:
        worker = POOL.acquire(spec, wait=False)
        if worker is not None:
            return _run_in(claimed, worker, fn, payload, caller, request_id, trace)

    def run_outliving_the_caller() -> Invocation:
        try:
            return _run_in(claimed, POOL.acquire(spec), fn, payload, caller, request_id, trace)
        finally:
            concurrency.release(claimed)

    running = _OUTLIVING_CALLERS.submit(run_outliving_the_caller)
    try:
        return running.result(timeout=max(0.0, answer_by - time.monotonic()))
    except concurrent.futures.TimeoutError:
        raise CallerStoppedWaiting(f"{fn.function_name} did not answer in time") from None


def _run_in(claimed, worker: Worker, fn, payload: bytes, caller: Caller, request_id: str, trace) -> Invocation:
    outcome = None
    try:
        outcome = worker.invoke(
            request_id,
            payload,
            caller.invoked_arn,
            float(fn.timeout),
            caller.client_context,
            trace.header if trace else None,
        )
    finally:
        concurrency.release(claimed)
        POOL.release(worker, reusable=outcome is not None and outcome.worker_reusable)
    invocation = _as_aws_reports_it(fn, request_id, outcome)
    if trace is not None:
        tracing.record(fn, trace, request_id, outcome, invocation.errored)
    logs.write(fn.logs_backend, fn.logs_group_name, worker.log_stream, invocation.log_events)
    cloudwatch.lambda_invoked(
        fn,
        caller.invoked_arn,
        invocation.errored,
        outcome.started_ms / 1000,
        outcome.elapsed_s * 1000,
        (line for _, line in outcome.lines),
    )
    return invocation


def _why_it_cannot_run(fn) -> str | None:
    elsewhere = "It runs on a real AWS account (the aws target)."
    if fn.package_type == "Image":
        return (
            "the local cloud runs functions packaged as .zip files; "
            f"{fn.function_name} is a container image. {elsewhere}"
        )
    if not PYTHON_RUNTIME.fullmatch(fn.run_time or ""):
        return (
            f"the local cloud runs Python functions only (python3.x runtimes); "
            f"{fn.function_name} uses {fn.run_time}. {elsewhere}"
        )
    if not getattr(fn, "code_bytes", b""):
        return f"the local cloud has no code for {fn.function_name} (its .zip could not be read)"
    return None


def _worker_spec(fn, code_dir: str) -> WorkerSpec:
    env = environment.variables(fn, code_dir)
    # Exact and cheap (a string caches its hash): computed on every invocation, warm ones included.
    key = "\0".join([fn.handler, code_dir, *itertools.chain.from_iterable(sorted(env.items()))])
    return WorkerSpec(
        key=key,
        family=(fn.account_id, fn.region, fn.function_name, str(fn.version)),
        version=str(fn.version),
        handler=fn.handler,
        code_dir=code_dir,
        env=env,
        memory_mb=int(fn.memory_size),
    )


def _as_aws_reports_it(fn, request_id: str, outcome: Outcome) -> Invocation:
    events = list(outcome.init_lines)
    status = error_type = None
    if outcome.kind == "init_error":
        events.append((logs.now_ms(), logs.init_report_line(outcome.init_duration_ms, outcome.error_type)))
        status, error_type = "error", outcome.error_type
    events.append((outcome.started_ms, logs.start_line(request_id, str(fn.version))))
    events += outcome.lines
    if outcome.kind in ("response", "error", "init_error"):
        payload = outcome.body
    elif outcome.kind == "timeout":
        payload = _error_payload(
            "Sandbox.Timedout", f"RequestId: {request_id} Error: Task timed out after {outcome.elapsed_s:.2f} seconds"
        )
        events.append((logs.now_ms(), logs.timeout_line(request_id, outcome.elapsed_s)))
        status = "timeout"
    else:
        message = f"RequestId: {request_id} Error: Runtime exited with error: {outcome.exit_reason}"
        payload = _error_payload("Runtime.ExitError", message)
        events.append((logs.now_ms(), f"{message}\nRuntime.ExitError"))
        status = "error"
        error_type = "Runtime.OutOfMemory" if outcome.out_of_memory else "Runtime.ExitError"
    events.append((logs.now_ms(), logs.end_line(request_id)))
    events.append(
        (
            logs.now_ms(),
            logs.report_line(
                request_id,
                outcome.elapsed_s * 1000,
                int(fn.memory_size),
                # Between two samples a worker can overshoot; on AWS the limit is hard.
                min(outcome.max_memory_mb, int(fn.memory_size)),
                outcome.init_duration_ms if outcome.kind != "init_error" else None,
                status,
                error_type,
            ),
        )
    )
    return Invocation(payload, outcome.kind != "response", events)


def _refused(fn, request_id: str, reason: str) -> Invocation:
    now = logs.now_ms()
    events = [
        (now, logs.start_line(request_id, str(fn.version))),
        (now, reason),
        (now, logs.end_line(request_id)),
        (
            now,
            logs.report_line(
                request_id, 0.0, int(fn.memory_size), 0, status="error", error_type="LocalCloud.Unsupported"
            ),
        ),
    ]
    return Invocation(_error_payload("LocalCloud.Unsupported", reason), True, events)


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
