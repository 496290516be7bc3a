"""Orders: checkout, and the orders placed so far. Checkout calls the other modules in-process."""

import sqlite3

from . import catalog, notifications, payments, users
from .db import transaction
from .errors import BadRequest, NotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    total_cents INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS order_items (
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    book_id     INTEGER NOT NULL,
    qty         INTEGER NOT NULL,
    price_cents INTEGER NOT NULL
);
"""


def checkout(conn: sqlite3.Connection, body: dict, stock=None) -> dict:
    """Reserve stock, charge, record the order (one transaction), then send the confirmation.

    With `stock` (the stock's owner as a service: take(items), give_back(items)) the copies are taken there
    first; the local transaction cannot include that call, so if recording the order fails they are given back."""
    user_id, items = _parse(body)
    user = users.get_user(conn, user_id)
    if stock is None:
        with transaction(conn):
            books = [(catalog.reserve(conn, book_id, qty), qty) for book_id, qty in items]
            order_id, total_cents = _record(conn, user_id, books)
    else:
        books = stock.take(items)
        try:
            with transaction(conn):
                order_id, total_cents = _record(conn, user_id, books)
        except BaseException:
            stock.give_back(items)
            raise
    # After the commit, so no customer is told about an order that rolled back. Still inside this request:
    # if sending is slow or fails, so is the checkout, although the order and the charge are already saved.
    notifications.send_order_confirmation(conn, user, order_id, total_cents)
    return get_order(conn, order_id)


def _record(conn: sqlite3.Connection, user_id: int, books: list[tuple[dict, int]]) -> tuple[int, int]:
    """The order, its items and its payment: (its id, its total); the caller holds the transaction."""
    total_cents = sum(book["price_cents"] * qty for book, qty in books)
    order_id = conn.execute("INSERT INTO orders (user_id, total_cents) VALUES (?, ?)", (user_id, total_cents)).lastrowid
    conn.executemany(
        "INSERT INTO order_items (order_id, book_id, qty, price_cents) VALUES (?, ?, ?, ?)",
        [(order_id, book["id"], qty, book["price_cents"]) for book, qty in books],
    )
    payments.charge(conn, user_id, order_id, total_cents)
    return order_id, total_cents


def get_order(conn: sqlite3.Connection, order_id: int) -> dict:
    row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
    if row is None:
        raise NotFound(f"order {order_id} not found")
    items = conn.execute(
        "SELECT book_id, qty, price_cents FROM order_items WHERE order_id = ? ORDER BY rowid", (order_id,)
    )
    return {
        **dict(row),
        "items": [dict(item) for item in items],
        "payment": payments.for_order(conn, order_id),
        "notifications": notifications.for_order(conn, order_id),
    }


def list_for_user(conn: sqlite3.Connection, user_id: int) -> list[dict]:
    ids = conn.execute("SELECT id FROM orders WHERE user_id = ? ORDER BY id", (user_id,))
    return [get_order(conn, order_id) for (order_id,) in ids.fetchall()]


def _parse(body: dict) -> tuple[int, list[tuple[int, int]]]:
    user_id, items = body.get("user_id"), body.get("items")
    if not _is_id(user_id):
        raise BadRequest("user_id must be a positive integer")
    if not isinstance(items, list) or not items:
        raise BadRequest("items must be a non-empty list of {book_id, qty}")
    parsed = []
    for item in items:
        if not isinstance(item, dict) or not _is_id(item.get("book_id")) or not _is_id(item.get("qty", 1)):
            raise BadRequest("each item needs a positive integer book_id and qty")
        parsed.append((item["book_id"], item.get("qty", 1)))
    return user_id, parsed


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
