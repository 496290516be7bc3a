"""Small helpers for reading AWS list and describe calls, shared by teardown and the live diagrams.
boto3 only: they work the same on the local cloud and on a real account."""
from collections.abc import Iterable, Iterator


def pages(client, operation: str, key: str, **params) -> Iterator[dict]:
    """Every item a list or describe call returns, across all its pages."""
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key) or []
        return
    while True:
        page = getattr(client, operation)(**params)
        yield from page.get(key) or []
        if not page.get("NextToken"):
            return
        params["NextToken"] = page["NextToken"]


def tag_dict(pairs: Iterable[dict] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """Tags as a dict, from the list most APIs return (Key/Value, key/value, TagKey/TagValue)."""
    return {pair[key]: pair.get(value, "") for pair in pairs or []}


def chunks(items: list, size: int) -> Iterator[list]:
    """Items in batches, for the calls that take at most `size` names at once."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
