"""Catalog: the books on sale and their stock."""

import sqlite3

from .errors import Conflict, NotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS books (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    author      TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    stock       INTEGER NOT NULL CHECK (stock >= 0)
);
"""

SEED_BOOKS = [
    ("Building Microservices", "Sam Newman", 4999, 12),
    ("Monolith to Microservices", "Sam Newman", 3999, 8),
    ("Designing Data-Intensive Applications", "Martin Kleppmann", 4599, 10),
    ("Domain-Driven Design", "Eric Evans", 5499, 5),
    ("Implementing Domain-Driven Design", "Vaughn Vernon", 4799, 4),
    ("Release It!", "Michael T. Nygard", 3499, 7),
    ("Refactoring", "Martin Fowler", 4499, 9),
    ("Patterns of Enterprise Application Architecture", "Martin Fowler", 5299, 3),
    ("Site Reliability Engineering", "Betsy Beyer", 3999, 6),
    ("Accelerate", "Nicole Forsgren", 2799, 11),
    ("Team Topologies", "Matthew Skelton", 2999, 2),
    ("The Phoenix Project", "Gene Kim", 1999, 1),
]


def seed(conn: sqlite3.Connection) -> None:
    """Put the starting books on the shelf, once: a database that already has books keeps them."""
    if conn.execute("SELECT COUNT(*) FROM books").fetchone()[0]:
        return
    conn.executemany("INSERT INTO books (title, author, price_cents, stock) VALUES (?, ?, ?, ?)", SEED_BOOKS)


def list_books(conn: sqlite3.Connection, author: str | None = None) -> list[dict]:
    if author:
        rows = conn.execute("SELECT * FROM books WHERE author LIKE ? ORDER BY id", (f"%{author}%",))
    else:
        rows = conn.execute("SELECT * FROM books ORDER BY id")
    return [dict(row) for row in rows]


def get_book(conn: sqlite3.Connection, book_id: int) -> dict:
    row = conn.execute("SELECT * FROM books WHERE id = ?", (book_id,)).fetchone()
    if row is None:
        raise NotFound(f"book {book_id} not found")
    return dict(row)


def reserve(conn: sqlite3.Connection, book_id: int, qty: int) -> dict:
    """Take qty copies off the shelf and return the book as it was priced; the caller holds the transaction."""
    book = get_book(conn, book_id)
    if book["stock"] < qty:
        raise Conflict(f"book {book_id} ({book['title']}) is out of stock: {book['stock']} left, {qty} wanted")
    conn.execute("UPDATE books SET stock = stock - ? WHERE id = ?", (qty, book_id))
    return book
