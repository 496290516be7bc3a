"""Asynchronous invocation (InvocationType=Event): queued, answered 202 at once, run in the
background, and retried twice when it fails, with the same request id, as AWS does. A throttled event
(over its concurrency limit) goes back to the queue and is tried again with a growing delay, up to the
event's maximum age, without using up its retries (Lambda Developer Guide, "How Lambda handles errors
and retries with asynchronous invocation")."""

import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from labkit.dataplane.core import clock
from labkit.dataplane.lambda_ import concurrency
from labkit.dataplane.lambda_.invoke import CALLER, Caller

# AWS waits about one minute before the first retry and two before the second (Lambda Developer
# Guide, "Error handling and automatic retries"); scaled down so that a lab sees them in seconds.
RETRY_DELAYS_S = (0.5, 1.0)
# After a throttle AWS waits 1 s, doubling up to 5 minutes, for up to the maximum event age (6 hours by
# default), in AWS seconds: on the local clock.
THROTTLE_FIRST_DELAY_AWS_S, THROTTLE_LAST_DELAY_AWS_S = 1.0, 300.0
DEFAULT_MAXIMUM_EVENT_AGE_AWS_S = 21600
# Threads running queued events; the worker pool's limits bound the processes behind them.
EVENT_THREADS = 4

_executor = ThreadPoolExecutor(max_workers=EVENT_THREADS, thread_name_prefix="lambda-event")
_generation_lock = threading.Lock()
_generation = 0


def submit(fn, payload: bytes, caller: Caller) -> None:
    """Queue an event for moto's LambdaFunction fn; caller.request_id must be set."""
    _executor.submit(_run_with_retries, fn, payload, caller, _generation, time.monotonic(), 0)


def forget_queued() -> None:
    """After a reset, queued events and pending retries belong to functions that are gone."""
    global _generation
    with _generation_lock:
        _generation += 1


def _run_with_retries(fn, payload: bytes, caller: Caller, generation: int, queued_at: float, throttles: int) -> None:
    delays = (0.0,) + RETRY_DELAYS_S[: _maximum_retries(fn)]
    for delay in delays:
        time.sleep(delay)
        if generation != _generation:
            return
        token = CALLER.set(caller)
        try:
            _, errored, _ = fn._invoke_lambda(payload)  # through the seam, like every trigger
        except concurrency.Throttled:
            _again_after_a_throttle(fn, payload, caller, generation, queued_at, throttles + 1)
            return
        except Exception:  # nobody waits for this thread: say what broke in the cloud's log
            traceback.print_exc()
            return
        finally:
            CALLER.reset(token)
        if not errored:
            return


def _again_after_a_throttle(fn, payload: bytes, caller: Caller, generation: int, queued_at: float, throttles: int):
    """Queue the event again after a delay, on a timer: a throttled event holds none of the threads."""
    if time.monotonic() - queued_at > clock.local_seconds(_maximum_event_age(fn)):
        print(f"labkit: an event for {fn.function_name} was throttled until its maximum age and is dropped", flush=True)
        return
    delay_aws_s = min(THROTTLE_LAST_DELAY_AWS_S, THROTTLE_FIRST_DELAY_AWS_S * 2 ** (throttles - 1))
    timer = threading.Timer(
        clock.local_seconds(delay_aws_s),
        _executor.submit,
        (_run_with_retries, fn, payload, caller, generation, queued_at, throttles),
    )
    timer.daemon = True
    timer.start()


def _maximum_event_age(fn) -> int:
    configs = getattr(fn, "event_invoke_config", None) or []
    if configs:
        return int(configs[0].config.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_AWS_S))
    return DEFAULT_MAXIMUM_EVENT_AGE_AWS_S


def _maximum_retries(fn) -> int:
    """PutFunctionEventInvokeConfig's MaximumRetryAttempts (0-2), else AWS's default of 2."""
    configs = getattr(fn, "event_invoke_config", None) or []
    if configs:
        return int(configs[0].config.get("MaximumRetryAttempts", len(RETRY_DELAYS_S)))
    return len(RETRY_DELAYS_S)
