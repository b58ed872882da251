"""JSON answers serialised by pydantic-core directly, for the hot annotator routes.

FastAPI re-validates a route's return value against its response model and then encodes
it with the standard library's ``json``; for the task and submission routes that was a
measurable share of each request. These routes declare ``response_model`` (so OpenAPI is
unchanged) and return a :class:`fastapi.Response` built here instead.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import TypeAdapter


class JsonAnswer:
    """Serialise values of one type to a JSON response with pydantic-core."""

    def __init__(self, kind: Any) -> None:
        self._adapter: TypeAdapter[Any] = TypeAdapter(kind)

    def __call__(self, value: Any, status_code: int = 200) -> Response:
        return Response(
            content=self._adapter.dump_json(value),
            status_code=status_code,
            media_type="application/json",
        )
