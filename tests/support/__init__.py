"""Helpers the tests share. Import from here: `from support import stays, wait_for`."""

from support.alarms import first_error_alarm
from support.apis import mock_rest_api
from support.iam import QUEUE_READER, grant
from support.network import on_premises, open_to_the_internet
from support.pki import CertificateAuthority, certificate_request
from support.processes import exited
from support.waiting import stays, wait_for

__all__ = [
    "CertificateAuthority",
    "QUEUE_READER",
    "certificate_request",
    "exited",
    "first_error_alarm",
    "grant",
    "mock_rest_api",
    "on_premises",
    "open_to_the_internet",
    "stays",
    "wait_for",
]
