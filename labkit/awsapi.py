"""Small helpers for reading AWS list and describe calls and policy documents, shared by teardown,
the live diagrams and the labs' checks. boto3 only: they work the same on the local cloud and on a
real account."""

import json
import threading
import time
from collections.abc import Iterable, Iterator

from labkit.errors import LabkitError


class Clients:
    """One boto3 client per service, made on first use from one session: the target, region and
    credentials that course.start() set. `clients("sqs")` is the SQS client. Clients are safe to
    share between threads; the session that makes them is not, hence the lock."""

    def __init__(self):
        import boto3

        self._session = boto3.session.Session()
        # Service models read once per process, not once per Clients: half of an empty teardown survey.
        self._session._session.register_component("data_loader", _shared_loader(self._session))
        self.region = self._session.region_name
        if not self.region:
            raise LabkitError("no AWS region is set: run `course.start()` first.")
        self._made = {}
        self._lock = threading.Lock()

    def __call__(self, service: str):
        with self._lock:
            if service not in self._made:
                self._made[service] = self._session.client(service)
            return self._made[service]


_loader = None
_loader_lock = threading.Lock()


def _shared_loader(session):
    """The first session's botocore loader, which caches the service models it has read."""
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = session._session.get_component("data_loader")
        return _loader


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
        yield items[start : start + size]


def policy_statements(document) -> list[dict]:
    """The statements of an IAM or resource policy, given as JSON text or already parsed: AWS
    accepts one statement or a list of them."""
    if not document:
        return []
    parsed = json.loads(document) if isinstance(document, str) else document
    statements = parsed.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def as_set(value) -> set:
    """A policy element AWS accepts as one string or a list of them (Action, Resource, a condition
    value...), as a set."""
    return {value} if isinstance(value, str) else set(value or [])


ROLE_NOT_YET_USABLE = "The role defined for the function cannot be assumed by Lambda."


def once_the_role_is_usable(create, timeout_s: float = 60.0, interval_s: float = 1.0):
    """Call `create` (a create_function, or an update_function_configuration with a new role) until
    Lambda can assume the role, and return what it returns. IAM is eventually consistent: a role
    created seconds before is refused with ROLE_NOT_YET_USABLE for a while, on AWS and locally. A
    role whose trust policy does not let Lambda assume it is refused the same way, for good: after
    timeout_s the error is raised as it is."""
    from botocore.exceptions import ClientError

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return create()
        except ClientError as error:
            if error.response.get("Error", {}).get("Message") != ROLE_NOT_YET_USABLE or time.monotonic() > deadline:
                raise
        time.sleep(interval_s)
