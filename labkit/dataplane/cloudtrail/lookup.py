"""LookupEvents over the event history (CloudTrail API Reference, "LookupEvents"): one lookup attribute
at most, a time range, newest first, MaxResults from 1 to 50 (50 by default) and a NextToken."""

from labkit.dataplane.cloudtrail import events, recorder

ATTRIBUTE_FIELDS = {
    "EventId": "EventId",
    "EventName": "EventName",
    "ReadOnly": "ReadOnly",
    "Username": "Username",
    "EventSource": "EventSource",
    "AccessKeyId": "AccessKeyId",
}


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def lookup(attributes: list[dict], start: float | None, end: float | None, max_results, token) -> dict:
    if len(attributes) > 1:
        raise Refused("InvalidLookupAttributesException", "You cannot specify more than one lookup attribute.")
    if start is not None and end is not None and start > end:
        raise Refused("InvalidTimeRangeException", "Start time must be before end time.")
    size = 50 if max_results is None else int(max_results)
    if not 1 <= size <= 50:
        raise Refused("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
    events.add(recorder.take())
    found = [event for event in events.newest_first() if _in_range(event, start, end)]
    if attributes:
        found = [event for event in found if _matches(event, attributes[0])]
    offset = _offset(token)
    page = found[offset : offset + size]
    answer = {"Events": page}
    if offset + size < len(found):
        answer["NextToken"] = f"{offset + size}"
    return answer


def _in_range(event: dict, start: float | None, end: float | None) -> bool:
    return (start is None or event["EventTime"] >= start) and (end is None or event["EventTime"] <= end)


def _matches(event: dict, attribute: dict) -> bool:
    key, value = attribute.get("AttributeKey"), attribute.get("AttributeValue")
    if key == "ResourceName":
        return any(
            resource["ResourceName"] == value or resource["ResourceName"].endswith(f":{value}")
            for resource in event["Resources"]
        )
    if key == "ResourceType":
        return any(resource["ResourceType"] == value for resource in event["Resources"])
    if key not in ATTRIBUTE_FIELDS:
        raise Refused("InvalidLookupAttributesException", f"Invalid attribute key: {key}")
    return event[ATTRIBUTE_FIELDS[key]] == value


def _offset(token) -> int:
    if token is None:
        return 0
    if not str(token).isdigit():
        raise Refused("InvalidNextTokenException", "Invalid NextToken.")
    return int(token)
