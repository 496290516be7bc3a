"""moto 5.2.5's CloudTrail has trails but no LookupEvents (a NotImplemented answer). Here its response
class gets one, over what the local cloud served (lookup.py). Imported only once moto.cloudtrail.responses is."""

import datetime
import json

from moto.core.exceptions import JsonRESTError

from labkit.dataplane.cloudtrail import lookup
from labkit.dataplane.core.seams import Seam


def _lookup_events(_absent):
    def lookup_events(self) -> str:
        try:
            found = lookup.lookup(
                self._get_param("LookupAttributes") or [],
                _epoch(self._get_param("StartTime")),
                _epoch(self._get_param("EndTime")),
                self._get_param("MaxResults"),
                self._get_param("NextToken"),
            )
        except lookup.Refused as refused:
            raise JsonRESTError(refused.code, str(refused)) from refused
        return json.dumps(found)

    return lookup_events


def _epoch(value) -> float | None:
    # botocore sends JSON timestamps as epoch seconds; other clients may send ISO 8601.
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


SEAMS = (Seam("moto.cloudtrail.responses.CloudTrailResponse.lookup_events", replace=_lookup_events),)
