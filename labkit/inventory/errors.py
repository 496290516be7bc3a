"""The AWS errors listing meets: a resource deleted between being listed and being read."""

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import ClientError

from labkit.awsapi import pages

T = TypeVar("T")


def error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "") or ""
    return ""


def is_gone(error: Exception) -> bool:
    """Does this error say the resource no longer exists? Each service spells it its own way
    (ResourceNotFoundException, NoSuchEntity, QueueDoesNotExist, NonExistentQueue, NotFound...)."""
    code = error_code(error)
    return any(word in code for word in ("NotFound", "NoSuch", "DoesNotExist", "NonExistent"))


def unless_gone(read: Callable[..., T], **params) -> T | None:
    """`read(**params)` (a resource's tags or description), or None when the resource vanished
    between being listed and being read."""
    try:
        return read(**params)
    except ClientError as error:
        if is_gone(error):
            return None
        raise


def pages_unless_gone(client, operation: str, key: str, **params) -> list[dict] | None:
    """Every item of a paginated read (a resource's tags), or None when the resource vanished
    between being listed and being read."""
    return unless_gone(lambda: list(pages(client, operation, key, **params)))
