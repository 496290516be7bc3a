"""moto 5.2.5 runs only fields, sort and limit of a Logs Insights query, ignores every other command
(filter, stats, parse...) and gives @timestamp in epoch milliseconds. Its LogQuery runs the query inside
StartQuery through the module's execute_query; here that is the data plane's Insights (insights.py).
Imported only once moto.logs.models is."""

from moto.logs.exceptions import LogsClientError

from labkit.dataplane.core.seams import Seam
from labkit.dataplane.logs import insights
from labkit.dataplane.logs.expressions import MalformedQuery


class MalformedQueryException(LogsClientError):
    def __init__(self, message: str):
        super().__init__("MalformedQueryException", message)


def _insights(_moto_execute_query):
    def execute_query(log_groups, query, start_time, end_time):
        account_id = log_groups[0].account_id if log_groups else ""
        try:
            return insights.run(log_groups, query, start_time, end_time, account_id)
        except MalformedQuery as malformed:
            raise MalformedQueryException(str(malformed)) from malformed

    return execute_query


SEAMS = (
    Seam("moto.logs.models.execute_query", ("log_groups", "query", "start_time", "end_time"), replace=_insights),
    Seam("moto.logs.models.LogQuery.__init__", contains="execute_query("),
)
