"""Every error the API returns is RFC 9457 `application/problem+json`, mapped here once.

Domain errors carry their HTTP status (polar's pattern) and their `extra` (DSL diagnostics,
for one) becomes extension members; request validation is a 422 listing what was wrong;
Starlette's HTTP errors keep their status and headers (`WWW-Authenticate` on a 401); a value
the database refuses is a 422; anything else is a logged 500 that reveals nothing internal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException

from api.schemas import Problem
from services.errors import DomainError

log = logging.getLogger(__name__)
MEDIA_TYPE = "application/problem+json"
_SCHEMA = {"schema": {"$ref": "#/components/schemas/Problem"}}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting problem+json bodies for `codes`."""
    return {
        code: {
            "model": Problem,
            "description": HTTPStatus(code).phrase,
            "content": {MEDIA_TYPE: _SCHEMA},
        }
        for code in codes
    }


# The statuses any route may answer (authentication, authorisation, body cap, validation).
RESPONSES = responses(401, 403, 413, 422)


def problem(
    status: int,
    detail: str | None,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem+json response; `extra` become extension members."""
    body = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **jsonable_encoder(extra),
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def _slug(name: str) -> str:
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).strip("-")


async def _domain(_: Request, exc: DomainError) -> JSONResponse:
    kind = _slug(type(exc).__name__.removesuffix("Error")) or "domain"
    return problem(
        exc.status, exc.detail, title=exc.title, type_=f"urn:rulebank:problem:{kind}", **exc.extra
    )


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    # Only location, message and kind: echoing `input` back could repeat a secret or a huge body.
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else None
    detail = (
        f"{'.'.join(map(str, first['loc']))}: {first['msg']}"
        if first
        else "the request is not valid"
    )
    return problem(422, detail, type_="urn:rulebank:problem:validation", errors=errors)


async def _http(_: Request, exc: HTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem(exc.status_code, detail, headers=exc.headers)


async def _data(request: Request, exc: DataError) -> JSONResponse:
    # Input that passed validation but that the database cannot hold (out-of-range number,
    # unstorable character): the client's fault, but logged, as validation should catch it.
    log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
    return problem(
        422, "a value in the request cannot be stored", type_="urn:rulebank:problem:validation"
    )


async def _conflict(request: Request, exc: IntegrityError) -> JSONResponse:
    # A uniqueness rule caught a concurrent change (two first drafts of a new ruleset, say)
    # that the service's row locks could not serialise: the client may simply retry.
    log.warning("integrity conflict on %s %s: %s", request.method, request.url.path, exc.orig)
    return problem(
        409,
        "a concurrent change conflicted with this one; retry",
        type_="urn:rulebank:problem:conflict",
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500, "an internal error occurred; it has been logged", type_="urn:rulebank:problem:internal"
    )


def _openapi_without_json_problems(app: FastAPI) -> Callable[[], dict[str, Any]]:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            # FastAPI documents every `model` as application/json too; errors are only ever
            # problem+json, and a schema that says otherwise misleads clients and fuzzers.
            for operation in (op for path in schema["paths"].values() for op in path.values()):
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(code) >= 400 and MEDIA_TYPE in content:
                        content.pop("application/json", None)
        return app.openapi_schema  # type: ignore[return-value]

    return openapi


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on `app` and document them as such."""
    app.openapi = _openapi_without_json_problems(app)  # type: ignore[method-assign]
    app.add_exception_handler(DomainError, _domain)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(DataError, _data)  # type: ignore[arg-type]
    app.add_exception_handler(IntegrityError, _conflict)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)
