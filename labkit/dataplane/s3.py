"""S3 on the local cloud: event notifications invoke Lambda functions as S3 does.

moto calls a notified function directly, whatever its resource policy says, and accepts any
notification configuration. On AWS, PutBucketNotificationConfiguration first checks that S3 may
invoke each function for this bucket (the function's resource policy, AddPermission with principal
s3.amazonaws.com and the bucket's ARN as source) and refuses the configuration otherwise; then each
notification is an Event invocation on behalf of s3.amazonaws.com (core.functions.invoke_event),
its object key form-encoded as S3 sends it ("covers/red flower.jpg" as "covers/red+flower.jpg", where
moto also encodes the slashes).
"""

import functools
from urllib.parse import quote_plus, unquote_plus

from labkit.dataplane import lambda_
from labkit.dataplane.core import functions, seams
from labkit.dataplane.core.seams import Seam

S3 = "s3.amazonaws.com"


def install() -> None:
    seams.declare("s3: notifications invoke functions as S3 does", "moto.s3.models", "labkit.dataplane.s3:SEAMS")


def _checked_before_saved(set_notification_configuration):
    @functools.wraps(set_notification_configuration)
    def set_if_s3_may_invoke(self, notification_config):
        from moto.s3.exceptions import S3ClientError

        previous = self.notification_configuration
        set_notification_configuration(self, notification_config)
        functions_notified = self.notification_configuration.cloud_function if self.notification_configuration else []
        source = functions.OnBehalfOf(S3, (f"arn:aws:s3:::{self.name}",))
        if not all(lambda_.permits(notification.arn, source) for notification in functions_notified):
            self.notification_configuration = previous
            raise S3ClientError("InvalidArgument", "Unable to validate the following destination configurations")

    return set_if_s3_may_invoke


def _invoke_on_behalf_of_s3(_original):
    def invoke(account_id, event_body, fn_arn, region_name):
        for record in event_body["Records"]:
            record["s3"]["object"]["key"] = quote_plus(unquote_plus(record["s3"]["object"]["key"]), safe="/")
        bucket_arn = event_body["Records"][0]["s3"]["bucket"]["arn"]
        functions.invoke_event(fn_arn, event_body, on_behalf_of=functions.OnBehalfOf(S3, (bucket_arn,)))

    return invoke


SEAMS = (
    Seam(
        "moto.s3.models.FakeBucket.set_notification_configuration",
        ("self", "notification_config"),
        replace=_checked_before_saved,
    ),
    Seam(
        "moto.s3.notifications._invoke_awslambda",
        ("account_id", "event_body", "fn_arn", "region_name"),
        replace=_invoke_on_behalf_of_s3,
    ),
)
