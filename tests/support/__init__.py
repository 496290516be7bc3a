"""Helpers the tests share. Import from here: `from support import stays, wait_for`."""

from support.waiting import stays, wait_for

__all__ = ["stays", "wait_for"]
