"""``crlhf serve``: claim the database, bind the port, migrate, seed on first start, then run
uvicorn (one worker) on the socket already bound.

The order is what a newcomer sees: a second server on the same file is refused (naming the
first's PID and port) before anything is written, and a taken port is reported in one line
before "serving" is ever printed.
"""

from __future__ import annotations

import argparse
import errno
import logging
import socket
import sys
from pathlib import Path

import uvicorn
from crlhf_server import instance_lock
from crlhf_server.app import create_app, engine_config, open_store
from crlhf_server.deps import Context
from crlhf_server.seed import first_start
from crlhf_server.settings import Settings

from crlhf.command_hint import runnable, tui_command
from crlhf.errors import CrlhfError

logger = logging.getLogger(__name__)

KEEP_ALIVE_S = 75
BACKLOG = 2048
"""uvicorn's default listen backlog."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file (default: $CRLHF_DB, else the user data dir)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, help="TCP port (default 8000; 0 picks a free one)"
    )
    parser.add_argument(
        "--no-seed",
        action="store_true",
        help="first start: no bundled starter set, only your own problems and samples",
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or one line saying why not.

    Bound here, not by uvicorn, so a taken port is found before the database is touched
    and before "serving" is printed, and uvicorn serves the very socket that was checked.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise CrlhfError(f"cannot resolve --host {host!r}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise CrlhfError(
                f"port {port} on {host} is already in use (another server?); "
                "pick another with --port N (make run PORT=N)"
            ) from None
        raise CrlhfError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def _announce(url: str, token: str, db: Path, seeded: int) -> None:
    starter = (
        f"Loaded the starter set ({seeded} samples; your own imported samples are served "
        "first).\nTo start clean instead, stop the server, delete the database and run "
        "'crlhf serve --no-seed' (make run ARGS=--no-seed).\n\n"
        if seeded
        else "No starter set: import your own problems and samples (docs/clients.md).\n\n"
    )
    sys.stdout.write(
        f"\nFirst start: created the admin of {db}.\n"
        f"Admin token (shown once, keep it safe):\n\n    {token}\n\n"
        "Create an annotator with:\n\n"
        f"    {runnable('crlhf')} admin create-annotator NAME --server {url} --token {token}\n\n"
        + starter
        + "Admins annotate too; to start at once in a terminal:\n\n"
        f"{tui_command(url, token)}\n"
    )
    sys.stdout.flush()


def run(args: argparse.Namespace) -> int:
    settings = Settings(db=args.db) if args.db is not None else Settings()
    if args.no_seed:
        settings = settings.model_copy(update={"seed": False})
    with instance_lock.acquire(settings.db, host=args.host, port=args.port) as lock:
        sock = bind(args.host, args.port)
        port = int(sock.getsockname()[1])
        lock.record(host=args.host, port=port)
        store = open_store(settings)
        engine = engine_config(settings)
        started = first_start(store, engine, seed=settings.seed, admin_token=settings.admin_token)
        url = f"http://{args.host}:{port}"
        if started is not None:
            seeded = started.samples.created if started.samples is not None else 0
            _announce(url, started.admin_token, settings.db, seeded)
        logger.info("serving %s on %s", settings.db, url)
        app = create_app(settings, Context(settings=settings, store=store, engine=engine))
        # One worker: the single-writer design (server/db.py) holds per process. Keep-alive
        # above the clients' think time between syncs, so an idle connection is rarely
        # closed by the server at the moment a client reuses it.
        config = uvicorn.Config(
            app,
            host=args.host,
            port=port,
            workers=1,
            log_level="warning",
            access_log=False,
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        uvicorn.Server(config).run(sockets=[sock])
    return 0
