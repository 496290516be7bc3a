"""The Bookshop's HTTP API: every module's routes in one Flask app, one process, one database."""

import sqlite3
from contextlib import closing
from pathlib import Path

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from . import catalog, db, faults, notifications, orders, payments, users
from .catalog_client import CatalogClient
from .errors import BadRequest, BookshopError

MODULES = (catalog, users, orders, payments, notifications)


def create_app(
    db_path: Path, version: str, workers: int, catalog_url: str | None = None, stock_url: str | None = None
) -> Flask:
    db.create(db_path, [module.SCHEMA for module in MODULES])
    with closing(db.connect(db_path)) as conn:
        catalog.seed(conn)

    app = Flask("bookshop")
    remote_catalog = CatalogClient(catalog_url) if catalog_url else None
    # The stock's owner, when it is no longer this process: checkout asks it for the copies (lab 02).
    remote_stock = CatalogClient(stock_url) if stock_url else None

    def conn() -> sqlite3.Connection:
        if "conn" not in g:
            g.conn = db.connect(db_path)
        return g.conn

    @app.teardown_appcontext
    def close_conn(_error):
        if "conn" in g:
            g.pop("conn").close()

    @app.get("/health")
    def health():
        modules = [module.__name__.rsplit(".", 1)[-1] for module in MODULES]
        return {
            "status": "ok",
            "version": version,
            "modules": modules,
            "workers": workers,
            "catalog_source": catalog_url or "local database",
            "stock_source": stock_url or "local database",
        }

    @app.get("/books")
    def list_books():
        author = request.args.get("author")
        if remote_catalog:
            return jsonify(remote_catalog.list_books(author))
        return jsonify(catalog.list_books(conn(), author=author))

    @app.get("/books/<int:book_id>")
    def get_book(book_id):
        if remote_catalog:
            return remote_catalog.get_book(book_id)
        return catalog.get_book(conn(), book_id)

    @app.post("/users")
    def register_user():
        body = _json_body()
        return users.register(conn(), body.get("name"), body.get("email")), 201

    @app.get("/users")
    def find_users():
        return jsonify(users.find(conn(), email=request.args.get("email")))

    @app.get("/users/<int:user_id>")
    def get_user(user_id):
        return users.get_user(conn(), user_id)

    @app.post("/orders")
    def checkout():
        return orders.checkout(conn(), _json_body(), stock=remote_stock), 201

    @app.get("/orders/<int:order_id>")
    def get_order(order_id):
        return orders.get_order(conn(), order_id)

    @app.get("/users/<int:user_id>/orders")
    def list_user_orders(user_id):
        users.get_user(conn(), user_id)
        return jsonify(orders.list_for_user(conn(), user_id))

    @app.get("/admin/faults")
    def get_faults():
        return faults.current()

    @app.post("/admin/faults")
    def set_faults():
        return faults.set_faults(_json_body())

    @app.delete("/admin/faults")
    def clear_faults():
        return faults.clear()

    @app.errorhandler(BookshopError)
    def bookshop_error(error):
        return {"error": str(error)}, error.status

    @app.errorhandler(HTTPException)
    def http_error(error):
        return {"error": error.description}, error.code

    @app.errorhandler(Exception)
    def unexpected_error(error):
        # Flask has no handler for it: log the traceback, answer like a production server would.
        app.logger.exception("unhandled error in %s %s", request.method, request.path)
        return {"error": "internal server error"}, 500

    return app


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body
