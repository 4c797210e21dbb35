"""Domain errors: one family, each carrying the HTTP status the API answers with.

The API translates them to RFC 9457 problem+json in one exception handler; the CLI prints
`title: detail`. `extra` holds machine-readable details such as DSL diagnostics.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFoundError(DomainError):
    status = 404
    title = "Not found"


class ForbiddenError(DomainError):
    status = 403
    title = "Forbidden"


class ConflictError(DomainError):
    status = 409
    title = "Conflict"


class InvalidError(DomainError):
    status = 422
    title = "Unprocessable content"
