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

from labkit.dataplane.core import functions, seams
from labkit.dataplane.core.arns import Arn
from labkit.dataplane.core.seams import Seam

# The fields of AWS's event; moto's also has ingestion-time, which targets never see.
EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def install() -> None:
    # Once moto's Lambda is loaded (which loads moto's EventBridge on the way): targets are only
    # invoked then.
    seams.declare("eventbridge: Lambda targets", "moto.awslambda.models", "labkit.dataplane.eventbridge:SEAMS")


def _with_lambda_targets(send_to_targets):
    @functools.wraps(send_to_targets)
    def send_to_all_targets(self, original_event, transform_input=True):
        if self.state == "DISABLED":
            return
        lambda_targets = [t for t in self.targets if Arn.parse(t["Arn"]).service == "lambda"]
        if lambda_targets and self.event_pattern.matches_event(original_event):
            event = _as_aws_sends_it(original_event)
            for target in lambda_targets:
                payload = (
                    _target_input(target, original_event, event) if transform_input else json.dumps(event).encode()
                )
                _invoke(target, payload, self.arn)
        others = [t for t in self.targets if t not in lambda_targets]
        if others:
            # moto's delivery walks self.targets: a copy of the rule holds only what it delivers to.
            rule = copy.copy(self)
            rule.targets = others
            send_to_targets(rule, original_event, transform_input)

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


def _invoke(target: dict, payload: bytes, rule_arn: str) -> None:
    functions.invoke_event(
        target["Arn"], payload, on_behalf_of=functions.OnBehalfOf("events.amazonaws.com", (rule_arn,))
    )


SEAMS = (
    Seam(
        "moto.events.models.Rule.send_to_targets",
        ("self", "original_event", "transform_input"),
        replace=_with_lambda_targets,
    ),
    Seam("moto.events.utils.EventTemplateParser.parse", ("input_template", "input_paths_map", "event")),
)
