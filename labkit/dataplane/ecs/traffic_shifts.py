"""ECS's own blue/green, canary and linear deployments (deploymentConfiguration.strategy), as the
Amazon ECS Developer Guide describes them: the new service revision (green) starts in the alternate
target group of each load balancer's advancedConfiguration while the old one (blue) keeps serving;
the production listener rule's weights move to green on the strategy's schedule (canary: canaryPercent,
then the rest after canaryBakeTimeInMinutes; linear: stepPercent every stepBakeTimeInMinutes;
blue/green: all at once); blue keeps running through bakeTimeInMinutes and is stopped at CLEAN_UP.
Lambda lifecycle hooks run at the stages they name, and their hookStatus is honoured. An alarm of
deploymentConfiguration.alarms going to ALARM, a hook that fails, or the circuit breaker rolls the
deployment back: production traffic returns to blue at once, then green's tasks stop.

Each deployment is driven by a thread of its own, so that a slow hook never holds up the scheduler;
the scheduler launches green's tasks once `may_scale_up`, and keeps blue's while `holding_blue`.
Times are on the local clock (one AWS minute is one local second).
"""

import json
import threading
import time

from labkit.dataplane.core import clock, functions
from labkit.dataplane.core.arns import Arn
from labkit.dataplane.ecs import registry

STRATEGIES = ("BLUE_GREEN", "CANARY", "LINEAR")
POLL_S = 0.05  # how often alarms are read: a rollback lands within this of the alarm
HOOK_CALLBACK_DELAY_S = 30  # AWS seconds before an IN_PROGRESS hook is invoked again
HOOK_SESSION = "ECSLifecycleHook"
# Only the stages with their own hooks; SCALE_UP, BAKE_TIME and CLEAN_UP take none.
HOOKED_STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)


_BEFORE_TEST_TRAFFIC = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP")


class _RollBack(Exception):
    pass


def applies(configuration: dict, load_balancers: list[dict]) -> bool:
    """Does this deployment shift traffic (rather than replace tasks)?"""
    return configuration.get("strategy") in STRATEGIES and any(
        (lb.get("advancedConfiguration") or {}).get("productionListenerRule") for lb in load_balancers
    )


def green_target_groups(load_balancers: list[dict], blue_groups: dict[str, str]) -> dict[str, str]:
    """For each load balancer, the group blue does not use: its alternate, or back to its own."""
    found = {}
    for lb in load_balancers:
        own = lb.get("targetGroupArn", "")
        alternate = (lb.get("advancedConfiguration") or {}).get("alternateTargetGroupArn")
        in_use = blue_groups.get(own, own)
        found[own] = (alternate if in_use == own else own) if alternate else in_use
    return found


def firing_alarms(service_arn: str, alarms: dict) -> list[str]:
    """The alarms of deploymentConfiguration.alarms in ALARM now (none unless enabled)."""
    from labkit.dataplane import cloudwatch

    if not alarms.get("enable"):
        return []
    arn = Arn.parse(service_arn)
    return [n for n in alarms.get("alarmNames") or [] if cloudwatch.alarm_state(arn.account, arn.region, n) == "ALARM"]


def schedule(configuration: dict) -> list[tuple[float, float]]:
    """(percent of production traffic on green, AWS minutes to wait after) for each shift."""
    strategy = configuration.get("strategy")
    if strategy == "CANARY":
        canary = configuration.get("canaryConfiguration") or {}
        return [(float(canary.get("canaryPercent", 5.0)), float(canary.get("canaryBakeTimeInMinutes", 10))), (100, 0)]
    if strategy == "LINEAR":
        linear = configuration.get("linearConfiguration") or {}
        step, bake = float(linear.get("stepPercent", 10.0)), float(linear.get("stepBakeTimeInMinutes", 6))
        steps, percent = [], step
        while percent < 100:
            steps.append((percent, bake))
            percent += step
        return [*steps, (100, 0)]
    return [(100, 0)]


class TrafficShift:
    def __init__(self, runtime, green, blue, record, configuration: dict):
        self.runtime, self.green, self.blue, self.record = runtime, green, blue, record
        self.configuration = configuration
        self.may_scale_up = False
        self.holding_blue = True
        self.failure: tuple[str, bool] | None = None  # the circuit breaker's reason, and whether it rolls back
        self.shifted = False
        self._stopped = threading.Event()

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True, name=f"ecs deployment {self.green.id}").start()

    def fail(self, reason: str, roll_back: bool) -> None:
        """The circuit breaker tripped (called by the scheduler)."""
        self.failure = (reason, roll_back)

    def stop(self) -> None:
        """The service was deleted or superseded: the thread ends at its next wait."""
        self._stopped.set()

    # --- the stages -------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            for stage in ("RECONCILE_SERVICE", "PRE_SCALE_UP"):
                self._enter(stage)
            self._enter("SCALE_UP")
            self.may_scale_up = True
            self.runtime.wake()
            self._wait_until(self._green_serves)
            self._enter("POST_SCALE_UP")
            self._enter("TEST_TRAFFIC_SHIFT")
            self._shift_test_traffic(to_green=True)
            self._enter("POST_TEST_TRAFFIC_SHIFT")
            self._enter("PRODUCTION_TRAFFIC_SHIFT")
            self.shifted = True
            for percent, minutes in schedule(self.configuration):
                self._shift_to(percent)
                self._wait(clock.local_seconds(minutes * 60))
            self._enter("POST_PRODUCTION_TRAFFIC_SHIFT")
            self._enter("BAKE_TIME")
            self._wait(clock.local_seconds(float(self.configuration.get("bakeTimeInMinutes") or 0) * 60))
            self._enter("CLEAN_UP")
            with registry.LOCK:
                self.holding_blue = False
            self.runtime.wake()
        except _RollBack as rollback:
            self._roll_back(str(rollback))
        except _Stopped:
            pass

    def _enter(self, stage: str) -> None:
        self._check()
        with registry.LOCK:
            self.record.enter(stage)
        if stage in HOOKED_STAGES:
            for hook in self.configuration.get("lifecycleHooks") or []:
                if stage in (hook.get("lifecycleStages") or []):
                    self._run_hook(hook, stage)

    def _green_serves(self) -> bool:
        desired = int(self.runtime.service.desired_count or 0)
        live = [t for t in self.runtime.tasks if t.live and t.deployment is self.green]
        return len(live) >= desired and all(t.serves() for t in live)

    def _shift_test_traffic(self, to_green: bool) -> None:
        """The test listener rule, where there is one, sends everything to green (or back to blue)."""
        from labkit.dataplane import elb

        for rule_arn, blue_group, green_group in self._rules("testListenerRule"):
            green = 100 if to_green else 0
            elb.set_forward_weights(rule_arn, {blue_group: 100 - green, green_group: green})

    def _shift_to(self, percent: float) -> None:
        from labkit.dataplane import elb

        green_percent = max(0, min(100, round(percent)))
        for rule_arn, blue_group, green_group in self._rules():
            elb.set_forward_weights(rule_arn, {blue_group: 100 - green_percent, green_group: green_percent})
        with registry.LOCK:
            self.green.production_weight, self.blue.production_weight = green_percent, 100 - green_percent
            self.runtime.add_event(
                f"(service {self.runtime.name}) shifted {green_percent} percent of production traffic "
                f"to (service revision {self.green.revision_arn})."
            )

    def _rules(self, which: str = "productionListenerRule") -> list[tuple[str, str, str]]:
        """(rule ARN, blue's group, green's group) for each load balancer's production (or test) rule."""
        found = []
        for lb in self.runtime.load_balancers():
            rule = (lb.get("advancedConfiguration") or {}).get(which)
            own = lb.get("targetGroupArn", "")
            if rule:
                found.append((rule, self.blue.target_groups.get(own, own), self.green.target_groups.get(own, own)))
        return found

    # --- waiting, alarms and hooks ----------------------------------------------------------------

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        self._wait_until(lambda: time.monotonic() >= deadline)

    def _wait_until(self, done) -> None:
        while True:
            self._check()
            with registry.LOCK:
                if done():
                    return
            time.sleep(POLL_S)

    def _check(self) -> None:
        if self._stopped.is_set():
            raise _Stopped
        if self.failure is not None:
            reason, roll_back = self.failure
            if roll_back:
                raise _RollBack(reason)
            with registry.LOCK:
                self.record.finish("STOPPED", reason)
            raise _Stopped
        alarms = self.configuration.get("alarms") or {}
        firing = firing_alarms(self.runtime.service.arn, alarms)
        if not firing:
            return
        with registry.LOCK:
            self.record.triggered_alarms = firing
        reason = f"Service deployment rolled back because the alarm(s) {', '.join(firing)} went into ALARM state."
        if alarms.get("rollback"):
            raise _RollBack(reason)
        with registry.LOCK:
            self.record.finish("STOPPED", reason)
        raise _Stopped

    def _run_hook(self, hook: dict, stage: str) -> None:
        from labkit.dataplane import iam

        target, details = hook.get("hookTargetArn", ""), hook.get("hookDetails")
        while True:
            denied = iam.denial(hook.get("roleArn", ""), HOOK_SESSION, "lambda:InvokeFunction", target)
            if denied is not None:
                raise _RollBack(f"Lifecycle hook {target} could not be invoked at {stage}: {denied}")
            payload = {
                "serviceArn": self.runtime.service.arn,
                "targetServiceRevisionArn": self.green.revision_arn,
                "testTrafficWeights": (
                    {self.green.revision_arn: 100}
                    if self._rules("testListenerRule") and self.record.lifecycle_stage not in _BEFORE_TEST_TRAFFIC
                    else {}
                ),
                "productionTrafficWeights": {
                    self.blue.revision_arn: self.blue.production_weight,
                    self.green.revision_arn: self.green.production_weight,
                },
            }
            if details is not None:
                payload["hookDetails"] = details
            try:
                result = functions.invoke(target, payload)
            except functions.FunctionUnavailable as error:
                raise _RollBack(f"Lifecycle hook {target} failed at {stage}: {error.message}") from None
            answer = _json_object(result.payload) if result.function_error is None else {}
            status = answer.get("hookStatus")
            if status == "SUCCEEDED":
                return
            if status != "IN_PROGRESS":
                raise _RollBack(f"Lifecycle hook {target} returned hookStatus {status or 'none'} at {stage}.")
            details = answer.get("hookDetails", details)
            self._wait(clock.local_seconds(float(answer.get("callBackDelay") or HOOK_CALLBACK_DELAY_S)))

    # --- rolling back -------------------------------------------------------------------------------

    def _roll_back(self, reason: str) -> None:
        from labkit.dataplane import elb

        # Traffic first: the rollback a learner sees is production traffic back on blue.
        for rule_arn, blue_group, green_group in self._rules():
            elb.set_forward_weights(rule_arn, {blue_group: 100, green_group: 0})
        self._shift_test_traffic(to_green=False)
        with registry.LOCK:
            self.green.production_weight, self.blue.production_weight = 0, 100
            self.record.roll_back(reason, self.blue.revision_arn)
            self.runtime.restore(self.blue, self.green, reason)
        try:
            self._wait_for_green_to_stop()
        except _Stopped:
            return
        with registry.LOCK:
            self.record.finish("ROLLBACK_SUCCESSFUL")

    def _wait_for_green_to_stop(self) -> None:
        while not self._stopped.is_set():
            with registry.LOCK:
                if not any(t.deployment is self.green for t in self.runtime.tasks):
                    return
            time.sleep(POLL_S)
        raise _Stopped


class _Stopped(Exception):
    pass


def _json_object(payload: bytes) -> dict:
    try:
        found = json.loads(payload or b"null")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
