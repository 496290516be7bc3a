"""CloudWatch Logs on the local cloud: Logs Insights queries run as Insights runs them.

StartQuery / GetQueryResults evaluate fields, display, filter, parse (glob and regex), stats (count,
count_distinct, sum, avg, min, max, pct; by fields and bin()), sort, limit and dedup over the events of
the log groups named, with the fields Insights discovers (records.py). Everything is in insights.py and
the modules it uses; moto_patches.py puts it where moto ran its own subset.
"""

from labkit.dataplane.core import seams


def install() -> None:
    name = "logs: Logs Insights queries run as Insights does"
    seams.declare(name, "moto.logs.models", "labkit.dataplane.logs.moto_patches:SEAMS")
