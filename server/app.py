"""The FastAPI app factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from crlhf_server import errors, migrations
from crlhf_server.admin_page import routes as admin_page
from crlhf_server.admin_page.sessions import SessionStore
from crlhf_server.db import Store
from crlhf_server.deps import Context
from crlhf_server.routers import (
    admin_adapters,
    admin_annotators,
    admin_benchmarks,
    admin_catalog,
    admin_engine,
    admin_provenance,
    admin_quality,
    admin_rounds,
    admin_webhooks,
    health,
    machines,
    me,
    samples,
    skips,
    submissions,
    tasks,
)
from crlhf_server.settings import Settings
from fastapi import FastAPI

from crlhf import __version__
from crlhf.engine.config import EngineConfig
from crlhf.schemas import ErrorBody

logger = logging.getLogger(__name__)

ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (401, "Missing, unknown or disabled token"),
        (403, "The token's role may not call this route, or the annotator is paused"),
        (404, "A named resource does not exist"),
        (409, "Conflicts with the stored state"),
        (413, "Request body over the size limit"),
        (422, "Invalid input: a field, or malformed JSON"),
        (429, "Rate limited; see the Retry-After header"),
    )
}
"""Declared on every operation, with the one error body (server/errors.py), so generated
clients and fuzzers know every status a route can answer with."""


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(estimator=settings.estimator) if settings.estimator else EngineConfig()


def open_store(settings: Settings) -> Store:
    """Open the database and bring its schema up to date."""
    store = Store(settings.db, busy_timeout_ms=settings.busy_timeout_ms)
    applied = migrations.apply(store)
    if applied:
        logger.info("applied migrations %s to %s", ", ".join(applied), settings.db)
    return store


def create_app(settings: Settings, context: Context | None = None) -> FastAPI:
    """Build the app on ``settings`` (or on a prepared ``context``, which tests may seed).

    The store is opened (and migrated) here, not at import, so one process can host
    several apps on different databases.
    """
    ctx = context or Context(
        settings=settings, store=open_store(settings), engine=engine_config(settings)
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx.webhooks.resume()
        yield
        kept = ctx.webhooks.close(grace_s=settings.webhook_shutdown_grace_s)
        if kept:
            logger.info("%d webhook deliveries wait in the outbox for the next start", kept)
        ctx.store.close()

    app = FastAPI(
        title="crlhf annotation server",
        version=__version__,
        description="Line-level crowd judgements of generated code, aggregated into rewards.",
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.state.context = ctx
    app.state.admin_sessions = SessionStore(ttl_s=ctx.settings.admin_session_ttl_s)
    errors.install(app)
    app.add_middleware(errors.BodySizeLimit, max_bytes=settings.max_body_bytes)
    for module in (
        health,
        me,
        tasks,
        skips,
        submissions,
        samples,
        machines,
        admin_annotators,
        admin_catalog,
        admin_engine,
        admin_rounds,
        admin_adapters,
        admin_benchmarks,
        admin_quality,
        admin_webhooks,
        admin_provenance,
    ):
        app.include_router(module.router)
    app.include_router(admin_page.router)  # the HTML admin page and GET / (no /v1 change)
    return app
