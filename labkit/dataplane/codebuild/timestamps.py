"""Times in a build's record, in the form moto keeps them (ISO 8601 with milliseconds)."""

from moto.core.utils import iso_8601_datetime_with_milliseconds


def now() -> str:
    return iso_8601_datetime_with_milliseconds()
