"""The FastAPI app factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from crlhf_server import errors, migrations
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

logger = logging.getLogger(__name__)


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
    )
    app.state.context = ctx
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
    return app
