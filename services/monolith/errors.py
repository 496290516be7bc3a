"""Errors a module raises when a request cannot be served; the HTTP layer maps each to its status code."""


class BookshopError(Exception):
    status = 400


class BadRequest(BookshopError):
    status = 400


class NotFound(BookshopError):
    status = 404


class Conflict(BookshopError):
    status = 409
