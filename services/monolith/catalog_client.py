"""The strangler fig's cuts: the catalog, then its stock, go to the extracted catalog service over HTTP.

Set CATALOG_SERVICE_URL (the catalog API's base URL, lab 02) and the Bookshop's GET /books and
GET /books/<id> are answered by that service instead of the local table. Set STOCK_SERVICE_URL too (the
same URL: the catalog service owns its books' stock) and checkout takes the copies there
(POST /books/<id>/stock {"change": -qty}) instead of in the local table, which is no longer used.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from .errors import BookshopError, Conflict, NotFound

TIMEOUT_S = 5


class CatalogUnavailable(BookshopError):
    status = 502


class CatalogClient:
    def __init__(self, base_url: str):
        self.base_url = base_url.rstrip("/")

    def list_books(self, author: str | None = None) -> list[dict]:
        query = f"?{urllib.parse.urlencode({'author': author})}" if author else ""
        return [_as_monolith_book(book) for book in self._get(f"/books{query}")]

    def get_book(self, book_id: int) -> dict:
        return _as_monolith_book(self._get(f"/books/{book_id}"))

    def take(self, items: list[tuple[int, int]]) -> list[tuple[dict, int]]:
        """Take each (book_id, qty) off the service's shelf; returns (the book as priced, qty) each. All or
        nothing: when one cannot be taken, those taken before it are given back and the error is raised."""
        taken = []
        try:
            for book_id, qty in items:
                taken.append((self._change_stock(book_id, -qty), qty))
        except BookshopError:
            self.give_back([(book["id"], qty) for book, qty in taken])
            raise
        return taken

    def give_back(self, items: list[tuple[int, int]]) -> None:
        """Put copies back on the shelf (an order that could not be recorded: a compensating action)."""
        for book_id, qty in items:
            try:
                self._change_stock(book_id, qty)
            except BookshopError as error:  # nothing more to do here than say so: the copies are lost
                print(f"could not give back {qty} of book {book_id}: {error}", file=sys.stderr)

    def _change_stock(self, book_id: int, change: int) -> dict:
        return _as_monolith_book(self._call(f"/books/{book_id}/stock", {"change": change}))

    def _get(self, path: str):
        return self._call(path)

    def _call(self, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise NotFound(f"not in the catalog service: {path}") from None
            if error.code == 409:
                raise Conflict(_message(error) or f"the catalog service refused {path}") from None
            raise CatalogUnavailable(f"the catalog service answered {error.code} for {path}") from None
        except (OSError, ValueError) as error:
            raise CatalogUnavailable(f"the catalog service did not answer: {error}") from None


def _message(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read()).get("message", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def _as_monolith_book(book: dict) -> dict:
    # The service keys books by string ids (DynamoDB); the monolith's callers expect integers.
    return {**book, "id": int(book["id"])} if str(book.get("id", "")).isdigit() else book
