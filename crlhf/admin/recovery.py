"""``crlhf admin reset-token --db PATH``: recover admin access on the server's machine.

Every other admin command talks to a server over HTTP with an admin token; this one is for
when no admin token works any more, so it cannot. It opens the database file itself, which
is the server's business: the work is done by ``crlhf_server.recovery``, imported only when
the command runs (the admin CLI never imports the server otherwise), and it is refused
while a server holds the file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from crlhf.admin.command import local_command
from crlhf.admin.output import dump
from crlhf.errors import MissingDependency
from crlhf.extras import missing_extra


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, required=True, help="the server's SQLite file")
    parser.add_argument("--name", help="the admin account to reset (default: the oldest admin)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


@local_command(
    "reset-token",
    "give an admin a new token, directly in the database file (server stopped)",
    _arguments,
)
def reset_token(args: argparse.Namespace) -> str:
    try:
        from crlhf_server.recovery import reset_admin_token
    except ImportError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        raise MissingDependency(
            f"needs the '{extra}' extra (missing module {exc.name}); "
            f"install it with: pip install 'crlhf[{extra}]'"
        ) from exc
    reset = reset_admin_token(args.db, args.name)
    if args.json:
        return dump(reset.model_dump(mode="json"))
    a = reset.annotator
    return (
        f"New token for admin {a.name!r} (id {a.id}); the old one no longer works.\n"
        f"Token (shown only now; store it safely):\n\n    {reset.token}\n"
    )
