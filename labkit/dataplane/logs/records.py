"""A log event as Logs Insights sees it: its system fields and the fields it discovers in it.

CloudWatch Logs User Guide, "Supported logs and discovered fields": @message, @timestamp, @ingestionTime,
@logStream, @log (account-id:log-group-name); in a JSON event every key, nested keys joined with dots and
array items by index (a.b, list.0); in a Lambda REPORT line @type, @requestId, @duration,
@billedDuration, @memorySize, @maxMemoryUsed (and @initDuration on a cold start).
"""

import json
import re

_REPORT = re.compile(
    r"REPORT RequestId: (?P<requestId>\S+)\s+Duration: (?P<duration>[\d.]+) ms\s+"
    r"Billed Duration: (?P<billedDuration>\d+) ms\s+Memory Size: (?P<memorySize>\d+) MB\s+"
    r"Max Memory Used: (?P<maxMemoryUsed>\d+) MB(?:\s+Init Duration: (?P<initDuration>[\d.]+) ms)?"
)
_LAMBDA_LINE = re.compile(r"(?P<type>START|END) RequestId: (?P<requestId>\S+)")
# Lambda reports memory in MB; Insights gives @memorySize and @maxMemoryUsed in bytes.
_MEGABYTE = 1_000_000


def record(event, stream_name: str, group_name: str, account_id: str) -> dict:
    found = {
        "@ptr": event.event_id,
        "@timestamp": event.timestamp,
        "@ingestionTime": event.ingestion_time,
        "@message": event.message,
        "@logStream": stream_name,
        "@log": f"{account_id}:{group_name}",
    }
    found.update(discovered(event.message))
    return found


def discovered(message: str) -> dict:
    text = message.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return {}
        return dict(_flattened(document, "")) if isinstance(document, dict) else {}
    if report := _REPORT.match(text):
        fields = {"@type": "REPORT", "@requestId": report["requestId"], "@duration": float(report["duration"])}
        fields["@billedDuration"] = int(report["billedDuration"])
        fields["@memorySize"] = int(report["memorySize"]) * _MEGABYTE
        fields["@maxMemoryUsed"] = int(report["maxMemoryUsed"]) * _MEGABYTE
        if report["initDuration"]:
            fields["@initDuration"] = float(report["initDuration"])
        return fields
    if line := _LAMBDA_LINE.match(text):
        return {"@type": line["type"], "@requestId": line["requestId"]}
    return {}


def _flattened(value, prefix: str):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _flattened(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _flattened(item, f"{prefix}.{index}")
    else:
        yield prefix, value
