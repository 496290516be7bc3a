"""StateReason and StateReasonData worded as CloudWatch words them. The sentences are AWS's own, as its
alarms send them (the alarm notification in aws/aws-lambda-go's events/testdata/
cloudwatch-alarm-sns-payload-single-metric.json; the "CloudWatch Alarm State Change" events in the
CloudWatch User Guide, "How partial data is handled"):

  Threshold Crossed: 3 out of the last 3 datapoints [20000.0 (08/11/22 11:25:00), 20000.0 (08/11/22
  11:24:00), 20000.0 (08/11/22 11:23:00)] were greater than the threshold (0.0) (minimum 1 datapoint
  for OK -> ALARM transition).
  Insufficient Data: 5 datapoints were unknown.
  Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as
  [NonBreaching].

(the last as alarms answer DescribeAlarms on AWS: quoted in public issue threads and runbooks) and
StateReasonData {"version": "1.0", "queryDate", "startDate", "unit", "statistic", "period",
"recentDatapoints", "threshold", "evaluatedDatapoints": [{"timestamp", "sampleCount", "value"}]}, without
startDate and evaluatedDatapoints when no datapoint was received.
Datapoints are listed most recent first, as day/month/year; numbers as Java prints a double (5.0).
"""

import json
from datetime import UTC, datetime

from labkit.dataplane.cloudwatch.evaluation import ALARM, OK, Verdict

COMPARISONS = {
    "GreaterThanThreshold": ("greater than", float.__gt__),
    "GreaterThanOrEqualToThreshold": ("greater than or equal to", float.__ge__),
    "LessThanThreshold": ("less than", float.__lt__),
    "LessThanOrEqualToThreshold": ("less than or equal to", float.__le__),
}


def reason(verdict: Verdict, n: int, m: int, comparison: str, threshold: float) -> str:
    if verdict.state not in (ALARM, OK):
        return f"Insufficient Data: {_datapoints(verdict.counted)} {'was' if verdict.counted == 1 else 'were'} unknown."
    if not verdict.evaluated:  # every datapoint was missing, and treated as breaching or not
        kind = "Breaching" if verdict.state == ALARM else "NonBreaching"
        verb = "was" if n == 1 else "were"
        return (
            f"Threshold Crossed: no datapoints were received for {n} period{'' if n == 1 else 's'} and "
            f"{_datapoints(n).replace('datapoint', 'missing datapoint')} {verb} treated as [{kind}]."
        )
    listed = ", ".join(f"{_number(value)} ({start:%d/%m/%y %H:%M:%S})" for start, value in verdict.shown)
    verb = "was" if verdict.counted == 1 else "were"
    phrase = COMPARISONS[comparison][0]
    if verdict.state == ALARM:
        return (
            f"Threshold Crossed: {verdict.counted} out of the last {n} datapoints [{listed}] {verb} {phrase} "
            f"the threshold ({_number(threshold)}) (minimum {_datapoints(m)} for OK -> ALARM transition)."
        )
    return (
        f"Threshold Crossed: {verdict.counted} out of the last {n} datapoints [{listed}] {verb} not {phrase} "
        f"the threshold ({_number(threshold)}) (minimum {_datapoints(n - m + 1)} for ALARM -> OK transition)."
    )


def reason_data(
    verdict: Verdict,
    statistic: str | None,
    unit: str | None,
    period: int,
    threshold: float,
    range_start: datetime,
    counts: dict,
) -> str:
    """statistic: None for an alarm on metric math, whose datapoints have no sample count either."""
    data = {"version": "1.0", "queryDate": timestamp(now())}
    if verdict.evaluated:
        data["startDate"] = timestamp(range_start)
    if unit:
        data["unit"] = unit
    if statistic:
        data["statistic"] = statistic
    data.update(
        period=period,
        recentDatapoints=[value for _, value in verdict.evaluated],
        threshold=threshold,
    )
    if verdict.evaluated:
        data["evaluatedDatapoints"] = [
            {
                "timestamp": timestamp(start),
                **({"sampleCount": counts[start]} if start in counts else {}),
                "value": value,
            }
            for start, value in verdict.evaluated[::-1]
        ]
    return json.dumps(data, separators=(",", ":"))


def now() -> datetime:
    """UTC, naive, as moto keeps its timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(moment: datetime) -> datetime:
    """A timestamp as moto keeps them: UTC, without a time zone."""
    return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)


def timestamp(moment: datetime) -> str:
    """2022-11-08T11:26:05.399+0000, CloudWatch's timestamps in reasons and notifications."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _datapoints(count: int) -> str:
    return f"{count} datapoint" if count == 1 else f"{count} datapoints"


def _number(value: float) -> str:
    return repr(float(value))
