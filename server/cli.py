"""``crlhf serve``: migrate, seed on first start, then run uvicorn (one worker)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvicorn
from crlhf_server.app import create_app, engine_config, open_store
from crlhf_server.deps import Context
from crlhf_server.instance_lock import InstanceLock
from crlhf_server.seed import first_start
from crlhf_server.settings import Settings

logger = logging.getLogger(__name__)

KEEP_ALIVE_S = 75


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file (default: $CRLHF_DB, else the user data dir)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")


def _announce(url: str, token: str, db: Path) -> None:
    sys.stdout.write(
        f"\nFirst start: created the admin of {db}.\n"
        f"Admin token (shown once, keep it safe):\n\n    {token}\n\n"
        "Create an annotator with:\n\n"
        f"    crlhf admin create-annotator NAME --server {url} --token {token}\n\n"
    )
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    settings = Settings(db=args.db) if args.db is not None else Settings()
    # Held until the process ends: local tools (crlhf admin reset-token) see a running server.
    lock = InstanceLock(settings.db).acquire(purpose="start another server on it")
    store = open_store(settings)
    engine = engine_config(settings)
    started = first_start(store, engine, seed=settings.seed, admin_token=settings.admin_token)
    url = f"http://{args.host}:{args.port}"
    if started is not None:
        _announce(url, started.admin_token, settings.db)
    logger.info("serving %s on %s", settings.db, url)
    app = create_app(settings, Context(settings=settings, store=store, engine=engine))
    # One worker: the single-writer design (server/db.py) holds per process. Keep-alive
    # above the clients' think time between syncs, so an idle connection is rarely closed
    # by the server at the moment a client reuses it.
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        workers=1,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    lock.release()
    return 0
