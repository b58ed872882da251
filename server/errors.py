"""The one exception-handler layer: every failure becomes an ``ErrorBody``.

``CrlhfError`` subclasses carry their own status and wire code; FastAPI's validation
errors become 422 ``invalid_input`` with one detail per field, named the way a client
writes it (``submissions[2].labels[0].label``); malformed JSON is a 422 that says so; an
oversized body is 413 (see :class:`BodySizeLimit`); a body that is not JSON at all
(invalid UTF-8, nesting too deep to parse) is the same 422 ``invalid_input`` as malformed
JSON; a database constraint a route did not check first is 409 ``conflict`` naming it.
Bad input never reaches a 500.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crlhf.errors import Conflict, CrlhfError, PayloadTooLarge, RateLimited
from crlhf.schemas import ErrorBody, ErrorDetail

logger = logging.getLogger(__name__)

_LOCATION_ROOTS = {"body", "query", "path", "header", "cookie"}


def field_name(loc: Sequence[int | str]) -> str:
    """A pydantic location as a client writes it.

    ``('body', 'submissions', 2, 'labels', 0, 'label')`` -> ``submissions[2].labels[0].label``.
    """
    parts = list(loc)
    root = str(parts[0]) if parts else ""
    if parts and root in _LOCATION_ROOTS:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or (root or "body")


def _detail(error: dict[str, Any]) -> ErrorDetail:
    loc = tuple(error.get("loc", ()))
    if error.get("type") == "json_invalid":
        reason = error.get("ctx", {}).get("error", "invalid JSON")
        return ErrorDetail(field="body", message=f"malformed JSON: {reason}")
    message = str(error.get("msg", "invalid value"))
    if error.get("type") == "extra_forbidden":
        message = "unknown field"
    elif error.get("type") == "missing":
        message = "field required"
    return ErrorDetail(field=field_name(loc), message=message.removeprefix("Value error, "))


def error_response(status: int, body: ErrorBody) -> JSONResponse:
    return JSONResponse(status_code=status, content=body.model_dump(mode="json"))


def crlhf_error_body(exc: CrlhfError) -> ErrorBody:
    details = [ErrorDetail(field=exc.field, message=exc.message)] if exc.field else []
    return ErrorBody(code=exc.code, message=str(exc), details=details)


async def _on_crlhf_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CrlhfError)
    response = error_response(exc.status_code, crlhf_error_body(exc))
    if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
        # Whole seconds, rounded up (RFC 9110): retrying earlier would be refused again.
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    return response


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [_detail(dict(error)) for error in exc.errors()]
    if any(d.message.startswith("malformed JSON") for d in details):
        message = details[0].message
    else:
        named = "; ".join(f"{d.field}: {d.message}" for d in details[:5])
        more = f" (and {len(details) - 5} more)" if len(details) > 5 else ""
        message = f"invalid request: {named}{more}"
    return error_response(422, ErrorBody(code="invalid_input", message=message, details=details))


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.__cause__ is not None:
        # FastAPI raises a bare 400 for a body it could not even decode (invalid UTF-8,
        # nesting past the parser's recursion limit): for the client, that is malformed JSON.
        reason = type(exc.__cause__).__name__
        message = f"malformed JSON: the body could not be decoded ({reason})"
        detail = ErrorDetail(field="body", message=message)
        return error_response(
            422, ErrorBody(code="invalid_input", message=message, details=[detail])
        )
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, ErrorBody(code=code, message=str(exc.detail)))


async def _on_integrity_error(request: Request, exc: Exception) -> JSONResponse:
    """A constraint the route did not check first (routes name the field where they can,
    e.g. an unknown ``author_id``): a conflict with what is stored, never a 500."""
    assert isinstance(exc, sqlite3.IntegrityError)
    conflict = Conflict(f"the request conflicts with stored data ({exc})")
    return error_response(conflict.status_code, crlhf_error_body(conflict))


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(
        500, ErrorBody(code="internal_error", message="internal server error (logged)")
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(CrlhfError, _on_crlhf_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(sqlite3.IntegrityError, _on_integrity_error)
    app.add_exception_handler(Exception, _on_unexpected)


class BodySizeLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` with 413.

    A declared ``Content-Length`` over the limit is refused before anything is read; a
    chunked body is buffered up to the limit and refused once it passes it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = PayloadTooLarge(f"request body exceeds the limit of {self.max_bytes} bytes")
        refusal = error_response(too_large.status_code, crlhf_error_body(too_large))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            # The HTTP server already holds the body to its declared length.
            if declared.isdigit() and int(declared) > self.max_bytes:
                await refusal(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read up to the limit before the app sees anything,
        # since FastAPI turns any error raised while it reads the body into a plain 400.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await refusal(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
