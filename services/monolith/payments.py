"""Payments: charge the customer. The card network is faked; the charge is a row in the shared database."""

import sqlite3

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    id           INTEGER PRIMARY KEY,
    order_id     INTEGER NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL,
    amount_cents INTEGER NOT NULL,
    status       TEXT NOT NULL
);
"""


def charge(conn: sqlite3.Connection, user_id: int, order_id: int, amount_cents: int) -> dict:
    cursor = conn.execute(
        "INSERT INTO payments (order_id, user_id, amount_cents, status) VALUES (?, ?, ?, 'charged')",
        (order_id, user_id, amount_cents),
    )
    return {"id": cursor.lastrowid, "amount_cents": amount_cents, "status": "charged"}


def for_order(conn: sqlite3.Connection, order_id: int) -> dict | None:
    row = conn.execute("SELECT id, amount_cents, status FROM payments WHERE order_id = ?", (order_id,)).fetchone()
    return dict(row) if row else None
