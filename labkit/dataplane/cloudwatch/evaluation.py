"""Whether an alarm is OK, in ALARM or without data, from the datapoints of its evaluation range, as
the CloudWatch User Guide describes it ("Using Amazon CloudWatch alarms": "How alarm state is
evaluated when data is missing", whose two tables, for 3 out of 3 and 2 out of 3, these rules
reproduce row by row):

- CloudWatch retrieves more datapoints than Evaluation Periods (N): the evaluation range, 5 for N = 3
  in the Guide's tables, so N + 2 here;
- with at least N real datapoints in the range it evaluates the most recent N of them, and how to
  treat missing data does not matter;
- with fewer, it fills the missing ones with the TreatMissingData setting (breaching, notBreaching),
  using as few as possible and keeping every real one; `missing` and `ignore` count the real ones
  only: ALARM with at least M (Datapoints to Alarm) breaching, OK with a non-breaching one, otherwise
  INSUFFICIENT_DATA (`missing`) or the current state (`ignore`); and under `missing`, when the range's
  oldest datapoint is breaching and none is not, ALARM (the Guide's sixth row, "because the oldest
  evaluated data point is breaching and there aren't any non-breaching data points").
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

OK, ALARM, INSUFFICIENT_DATA = "OK", "ALARM", "INSUFFICIENT_DATA"
EXTRA_DATAPOINTS = 2

Datapoint = tuple[datetime, float | None]  # a period's start and its statistic, None when missing


@dataclass(frozen=True)
class Verdict:
    state: str
    counted: int  # the breaching datapoints (ALARM), the non-breaching ones (OK), the unknown ones
    shown: list[Datapoint]  # the real datapoints counted, most recent first
    evaluated: list[Datapoint]  # the real datapoints evaluated, oldest first


def evaluate(
    datapoints: list[Datapoint], breaches: Callable[[float], bool], n: int, m: int, treat_missing: str
) -> Verdict | None:
    """datapoints: the evaluation range, oldest first. None: the alarm keeps its state."""
    real = [point for point in datapoints if point[1] is not None]
    if len(real) >= n:
        return _counted(real[-n:], breaches, m, fill_breaching=0, fill_not_breaching=0)
    fill = n - len(real)
    if treat_missing == "breaching":
        return _counted(real, breaches, m, fill_breaching=fill, fill_not_breaching=0)
    if treat_missing == "notBreaching":
        return _counted(real, breaches, m, fill_breaching=0, fill_not_breaching=fill)
    breaching = [point for point in real if breaches(point[1])]
    if len(breaching) >= m or (real and len(breaching) < len(real)):
        return _counted(real, breaches, m, fill_breaching=0, fill_not_breaching=0)
    if treat_missing == "ignore":
        return None
    if breaching and datapoints[0][1] is not None:
        return Verdict(ALARM, len(breaching), breaching[::-1], real)
    return Verdict(INSUFFICIENT_DATA, fill, [], real)


def _counted(real: list[Datapoint], breaches, m: int, fill_breaching: int, fill_not_breaching: int) -> Verdict:
    breaching = [point for point in real if breaches(point[1])]
    if len(breaching) + fill_breaching >= m:
        return Verdict(ALARM, len(breaching) + fill_breaching, breaching[::-1], real)
    within = [point for point in real if not breaches(point[1])]
    return Verdict(OK, len(within) + fill_not_breaching, within[::-1], real)
