"""Helpers the tests share. Import from here: `from support import stays, wait_for`."""

from support.apis import mock_rest_api
from support.iam import QUEUE_READER, grant
from support.waiting import stays, wait_for

__all__ = ["QUEUE_READER", "grant", "mock_rest_api", "stays", "wait_for"]
