"""CloudTrail on the local cloud: LookupEvents answers the management events of the requests the local
cloud served, as CloudTrail's event history does, with who made each call (the account's owner, or a
role session of a function or a task) and the error code of a call that failed.

recorder.py keeps each signed request as it is served (cheaply: the API path is benchmarked); events.py
reads them into CloudTrail events when LookupEvents asks (lookup.py), which moto_patches.py adds to moto.
Its middleware is the outermost, so that it records what IAM refuses as well.
"""

from labkit.dataplane.cloudtrail import events, recorder
from labkit.dataplane.core import seams

middleware = recorder.middleware


def install() -> None:
    name = "cloudtrail: LookupEvents answers the management events served"
    seams.declare(name, "moto.cloudtrail.responses", "labkit.dataplane.cloudtrail.moto_patches:SEAMS")


def reset() -> None:
    recorder.reset()
    events.reset()
