"""Users: who can buy."""

import sqlite3

from .errors import BadRequest, Conflict, NotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE
);
"""


def register(conn: sqlite3.Connection, name: object, email: object) -> dict:
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("name is required")
    if not isinstance(email, str) or "@" not in email:
        raise BadRequest("a valid email is required")
    try:
        cursor = conn.execute("INSERT INTO users (name, email) VALUES (?, ?)", (name.strip(), email.lower()))
    except sqlite3.IntegrityError:
        raise Conflict(f"a user with email {email} already exists") from None
    return get_user(conn, cursor.lastrowid)


def get_user(conn: sqlite3.Connection, user_id: int) -> dict:
    row = conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return dict(row)


def find(conn: sqlite3.Connection, email: str | None = None) -> list[dict]:
    if email is None:
        rows = conn.execute("SELECT * FROM users ORDER BY id")
    else:
        rows = conn.execute("SELECT * FROM users WHERE email = ? ORDER BY id", (email.lower(),))
    return [dict(row) for row in rows]
