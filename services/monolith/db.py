"""The one SQLite database every module of the Bookshop shares."""

import sqlite3
from contextlib import contextmanager
from pathlib import Path

# How long a writer waits for another writer (in this process or another copy) to release the file.
BUSY_TIMEOUT_S = 5.0


def connect(path: Path) -> sqlite3.Connection:
    # Autocommit mode: a module that needs several writes to be atomic opens a transaction() explicitly.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def create(path: Path, schemas: list[str]) -> None:
    """Create the database file with every module's tables; WAL lets readers run while one writer writes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        for schema in schemas:
            conn.executescript(schema)
    finally:
        conn.close()


@contextmanager
def transaction(conn: sqlite3.Connection):
    # IMMEDIATE takes the file's write lock up front, so two checkouts cannot both read the same stock.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
