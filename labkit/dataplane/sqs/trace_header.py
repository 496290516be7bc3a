"""A traced sender's trace header reaches the consumer: the X-Amzn-Trace-Id header of a SendMessage or
SendMessageBatch request becomes the AWSTraceHeader system attribute of every message in it, unless the
message sets AWSTraceHeader itself, which wins (X-Ray Developer Guide, "Amazon SQS and AWS X-Ray"). Inside
a Lambda function botocore adds that header from _X_AMZN_TRACE_ID. moto 5.2.5 keeps only an
AWSTraceHeader the sender sets. Imported only once moto.sqs.responses is."""

import contextvars
import functools

from labkit.dataplane.core.seams import Seam

_header: contextvars.ContextVar[str | None] = contextvars.ContextVar("sqs_trace_header", default=None)


def _noting_the_header(handler):
    @functools.wraps(handler)
    def with_the_header(self):
        token = _header.set(self.headers.get("X-Amzn-Trace-Id"))
        try:
            return handler(self)
        finally:
            _header.reset(token)

    return with_the_header


def _with_trace_header(send_message):
    @functools.wraps(send_message)
    def send_message_traced(self, queue_name, message_body, *args, system_attributes=None, **kwargs):
        header = _header.get()
        if header and not (system_attributes or {}).get("AWSTraceHeader"):
            trace = {"DataType": "String", "StringValue": header}
            system_attributes = {**(system_attributes or {}), "AWSTraceHeader": trace}
        return send_message(self, queue_name, message_body, *args, system_attributes=system_attributes, **kwargs)

    return send_message_traced


SEAMS = (
    Seam("moto.sqs.responses.SQSResponse.send_message", ("self",), replace=_noting_the_header),
    Seam("moto.sqs.responses.SQSResponse.send_message_batch", ("self",), replace=_noting_the_header),
    Seam(
        "moto.sqs.models.SQSBackend.send_message",
        (
            "self",
            "queue_name",
            "message_body",
            "message_attributes",
            "delay_seconds",
            "deduplication_id",
            "group_id",
            "system_attributes",
            "validate_group_id",
        ),
        replace=_with_trace_header,
    ),
    Seam("moto.sqs.models.SQSBackend.send_message_batch", contains="self.send_message("),
    Seam("moto.sqs.responses.SQSResponse.send_message", contains="system_attributes=system_message_attributes"),
)
