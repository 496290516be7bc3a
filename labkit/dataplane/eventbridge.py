"""EventBridge on the local cloud: rules deliver to Lambda functions, as AWS does.

moto 5.2.5's Rule.send_to_targets, which PutEvents calls for every rule of the bus, delivers to
log groups, archives, SQS queues and other buses, and raises NotImplementedError for a Lambda
function, so PutEvents fails (500) for every event once such a rule exists. It also delivers for
DISABLED rules. Here a disabled rule delivers nothing, each Lambda target of a matching rule gets
an Event invocation (lambda_/events.py: two retries on error), and moto delivers to the other
targets. The function receives the event as AWS sends it (version, id, detail-type, source,
account, time, region, resources, detail), or what the target's Input, InputPath or
InputTransformer makes of it.
"""

import copy
import datetime
import functools
import json

from labkit.dataplane import moto_seams

THIS_FILE = "labkit/dataplane/eventbridge.py"
SEAM_SIGNATURES = {
    "moto.events.models.Rule.send_to_targets": ["self", "original_event", "transform_input"],
    "moto.events.utils.EventTemplateParser.parse": ["input_template", "input_paths_map", "event"],
}
# The fields of AWS's event; moto's also has ingestion-time, which targets never see.
EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def install() -> None:
    # Once moto's Lambda is loaded, which loads moto's EventBridge on the way: targets are only
    # invoked then, and the seams are verified with Lambda's moto_patches, loaded by then.
    moto_seams.when_imported("moto.awslambda.models", _patch)


def verify_seams() -> None:
    from labkit.dataplane.lambda_ import moto_patches

    moto_patches.verify_seams(SEAM_SIGNATURES, {}, patches_in=THIS_FILE)


def _patch(_lambda_models) -> None:
    from moto.events.models import Rule

    if getattr(Rule.send_to_targets, "_labkit", False):
        return
    verify_seams()
    Rule.send_to_targets = _with_lambda_targets(Rule.send_to_targets)


def _with_lambda_targets(send_to_targets):
    @functools.wraps(send_to_targets)
    def send_to_all_targets(self, original_event, transform_input=True):
        if self.state == "DISABLED":
            return
        functions = [t for t in self.targets if t["Arn"].split(":")[2] == "lambda"]
        if functions and self.event_pattern.matches_event(original_event):
            event = _as_aws_sends_it(original_event)
            for target in functions:
                payload = (
                    _target_input(target, original_event, event) if transform_input else json.dumps(event).encode()
                )
                _invoke(target, payload)
        others = [t for t in self.targets if t not in functions]
        if others:
            # moto's delivery walks self.targets: a copy of the rule holds only what it delivers to.
            rule = copy.copy(self)
            rule.targets = others
            send_to_targets(rule, original_event, transform_input)

    send_to_all_targets._labkit = True
    return send_to_all_targets


def _as_aws_sends_it(moto_event: dict) -> dict:
    """moto keeps time as epoch seconds; AWS sends it as ISO 8601 in UTC, to the second."""
    event = {field: copy.deepcopy(moto_event[field]) for field in EVENT_FIELDS}
    moment = datetime.datetime.fromtimestamp(float(event["time"]), tz=datetime.UTC)
    event["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def _target_input(target: dict, moto_event: dict, event: dict) -> bytes:
    """What the target passes on: Input verbatim, the part at InputPath, InputTransformer's
    template filled in, else the whole event (EventBridge User Guide, "Transforming target
    input")."""
    if "Input" in target:
        return target["Input"].encode()
    if "InputPath" in target:
        from jsonpath_ng.ext import parse

        found = parse(target["InputPath"]).find(event)
        return json.dumps(found[0].value if found else None).encode()
    if "InputTransformer" in target:
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        # moto's parser also fills in <aws.events.event.ingestion-time>, from moto's event.
        filled = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=dict(moto_event, time=event["time"]),
        )
        return json.dumps(filled).encode()
    return json.dumps(event).encode()


def _invoke(target: dict, payload: bytes) -> None:
    from moto.awslambda.utils import get_backend

    from labkit.dataplane.lambda_ import event_sources

    function_arn = target["Arn"]
    _, _, _, region, account = function_arn.split(":")[:5]
    event_sources.invoke_asynchronously(
        get_backend(account, region), function_arn, payload, f"EventBridge target {target['Id']}"
    )
