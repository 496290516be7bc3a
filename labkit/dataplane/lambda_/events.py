"""Asynchronous invocation (InvocationType=Event): queued, answered 202 at once, run in the
background, and retried twice when it fails, with the same request id, as AWS does."""

import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from labkit.dataplane.lambda_.invoke import CALLER, Caller

# AWS waits about one minute before the first retry and two before the second (Lambda Developer
# Guide, "Error handling and automatic retries"); scaled down so that a lab sees them in seconds.
RETRY_DELAYS_S = (0.5, 1.0)
# Threads running queued events; the worker pool's limits bound the processes behind them.
EVENT_THREADS = 4

_executor = ThreadPoolExecutor(max_workers=EVENT_THREADS, thread_name_prefix="lambda-event")
_generation_lock = threading.Lock()
_generation = 0


def submit(fn, payload: bytes, caller: Caller) -> None:
    """Queue an event for moto's LambdaFunction fn; caller.request_id must be set."""
    _executor.submit(_run_with_retries, fn, payload, caller, _generation)


def forget_queued() -> None:
    """After a reset, queued events and pending retries belong to functions that are gone."""
    global _generation
    with _generation_lock:
        _generation += 1


def _run_with_retries(fn, payload: bytes, caller: Caller, generation: int) -> None:
    delays = (0.0,) + RETRY_DELAYS_S[: _maximum_retries(fn)]
    for delay in delays:
        time.sleep(delay)
        if generation != _generation:
            return
        token = CALLER.set(caller)
        try:
            _, errored, _ = fn._invoke_lambda(payload)  # through the seam, like every trigger
        except Exception:  # nobody waits for this thread: say what broke in the cloud's log
            traceback.print_exc()
            return
        finally:
            CALLER.reset(token)
        if not errored:
            return


def _maximum_retries(fn) -> int:
    """PutFunctionEventInvokeConfig's MaximumRetryAttempts (0-2), else AWS's default of 2."""
    configs = getattr(fn, "event_invoke_config", None) or []
    if configs:
        return int(configs[0].config.get("MaximumRetryAttempts", len(RETRY_DELAYS_S)))
    return len(RETRY_DELAYS_S)
