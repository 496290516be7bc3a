"""The strangler fig's first cut: catalog reads go to the extracted catalog service over HTTP.

Set CATALOG_SERVICE_URL (the catalog API's base URL, lab 02) and the Bookshop's GET /books and
GET /books/<id> are answered by that service instead of the local table. Stock reservation at checkout
stays in the local database until orders moves out too (lab 03).
"""

import json
import urllib.error
import urllib.parse
import urllib.request

from .errors import BookshopError, NotFound

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

    def _get(self, path: str):
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise NotFound(f"not in the catalog service: {path}") from None
            raise CatalogUnavailable(f"the catalog service answered {error.code} for {path}") from None
        except (OSError, ValueError) as error:
            raise CatalogUnavailable(f"the catalog service did not answer: {error}") from None


def _as_monolith_book(book: dict) -> dict:
    # The service keys books by string ids (DynamoDB); the monolith's callers expect integers.
    return {**book, "id": int(book["id"])} if str(book.get("id", "")).isdigit() else book
