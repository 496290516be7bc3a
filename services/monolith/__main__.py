"""Run the Bookshop: python -m services.monolith [--port N] [--host H] [--fresh-db]

Settings from the environment: HOST (default address), MONOLITH_DB (database file), MONOLITH_WORKERS
(worker threads, default 4), MONOLITH_VERSION (overrides the VERSION file), PORT (default port),
CATALOG_SERVICE_URL (read the catalog from the extracted catalog service: the strangler fig of lab 02),
STOCK_SERVICE_URL (checkout takes copies off the shelf of that service, the stock's owner, instead of the local
table: lab 02's cut-over).
"""

import argparse
import os
from pathlib import Path

from .app import create_app
from .server import BoundedPoolServer

VERSION_FILE = Path(__file__).with_name("VERSION")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.monolith", description="The Bookshop monolith.")
    parser.add_argument(
        "--host", default=os.environ.get("HOST", "127.0.0.1"), help="address to listen on (a container needs 0.0.0.0)"
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--fresh-db", action="store_true", help="delete the database and seed it again first")
    args = parser.parse_args()

    db_path = Path(os.environ.get("MONOLITH_DB", "bookshop.db")).resolve()
    workers = int(os.environ.get("MONOLITH_WORKERS", "4"))
    version = os.environ.get("MONOLITH_VERSION") or VERSION_FILE.read_text().strip()
    if args.fresh_db:
        for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
            path.unlink(missing_ok=True)

    server = BoundedPoolServer(
        args.host,
        args.port,
        create_app(
            db_path, version, workers, os.environ.get("CATALOG_SERVICE_URL"), os.environ.get("STOCK_SERVICE_URL")
        ),
        workers,
    )
    print(f"Bookshop {version} on http://{args.host}:{server.port} with {workers} workers, database {db_path}")
    server.serve_forever()


if __name__ == "__main__":
    main()
