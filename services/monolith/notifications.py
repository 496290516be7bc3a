"""Notifications: tell the customer about their order. Sending is faked; a sent message is a row."""

import sqlite3
import time

from . import faults

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    id       INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    message  TEXT NOT NULL
);
"""

ORDER_CONFIRMATION = "Thanks {name}! Your Bookshop order #{order_id} for ${total:.2f} is confirmed."


class NotificationError(Exception):
    """The mail provider did not take the message."""


def send_order_confirmation(conn: sqlite3.Connection, user: dict, order_id: int, total_cents: int) -> dict:
    fault = faults.for_module("notifications")
    # The injected delay stands for a slow mail provider: the calling request's worker waits it out.
    time.sleep(fault["delay_ms"] / 1000)
    if fault["fail"]:
        raise NotificationError("mail provider unavailable (injected fault)")
    message = ORDER_CONFIRMATION.format(name=user["name"], order_id=order_id, total=total_cents / 100)
    cursor = conn.execute(
        "INSERT INTO notifications (order_id, user_id, message) VALUES (?, ?, ?)", (order_id, user["id"], message)
    )
    return {"id": cursor.lastrowid, "message": message}


def for_order(conn: sqlite3.Connection, order_id: int) -> list[dict]:
    rows = conn.execute("SELECT id, message FROM notifications WHERE order_id = ? ORDER BY id", (order_id,))
    return [dict(row) for row in rows]
