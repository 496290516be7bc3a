"""PutDashboard refuses a body CloudWatch's schema refuses, as CloudWatch answers: InvalidParameterInput,
"The dashboard body is invalid, there are N validation errors:" and the errors as JSON, each with its dataPath.
moto checks only that the body is JSON. Only the rules whose errors AWS's answers are known for are applied:
a metric widget with neither metrics nor annotations, an alarm widget with no alarm."""

import json

from moto.cloudwatch.exceptions import DashboardInvalidInputError

from labkit.dataplane.core.seams import Seam

NO_DATA_SOURCE = "The metric widget should have specified a region and a data source or an alarm annotation"


def validation_errors(body) -> list[dict]:
    """CloudWatch's validation errors of a dashboard body (parsed JSON), for the rules applied here."""
    errors = []
    widgets = body.get("widgets") if isinstance(body, dict) else None
    for index, widget in enumerate(widgets if isinstance(widgets, list) else []):
        properties = widget.get("properties") if isinstance(widget, dict) else None
        if not isinstance(properties, dict):
            continue
        path = f"/widgets/{index}/properties"
        if widget.get("type") == "metric" and "metrics" not in properties and "annotations" not in properties:
            errors += [
                {"dataPath": path, "message": "Should have required property 'metrics'"},
                {"dataPath": path, "message": NO_DATA_SOURCE},
                {"dataPath": path, "message": "Should have required property 'annotations'"},
            ]
        if widget.get("type") == "alarm" and properties.get("alarms") == []:
            errors.append({"dataPath": f"{path}/alarms", "message": "Should NOT have less than 1 items"})
    return errors


def _validated(put_dashboard):
    def put(self, name, body):
        try:
            errors = validation_errors(json.loads(body))
        except ValueError:  # moto's response refuses a body that is not JSON before it comes here
            errors = []
        if errors:
            raise DashboardInvalidInputError(
                f"The dashboard body is invalid, there are {len(errors)} validation errors:\n"
                + json.dumps(errors, indent=2)
            )
        return put_dashboard(self, name, body)

    return put


SEAMS = (
    Seam("moto.cloudwatch.exceptions.DashboardInvalidInputError", contains='code = "InvalidParameterInput"'),
    Seam("moto.cloudwatch.models.CloudWatchBackend.put_dashboard", ("self", "name", "body"), replace=_validated),
)
