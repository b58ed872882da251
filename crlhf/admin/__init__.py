"""``crlhf admin``: run a crlhf server from the command line, over HTTP.

Everything goes through :class:`~crlhf.client.CrlhfClient` with an admin token, so the
CLI works against a remote server exactly as against a local one and never opens the
database behind the server's back. The one exception is recovery (``reset-token``, in
:mod:`crlhf.admin.recovery`), for when no admin token works: it needs the database file and
is refused while a server holds it. Output is an aligned table, or JSON with ``--json``;
failures are one line on stderr (``crlhf.cli`` turns every :class:`CrlhfError` into one).

The server URL and token come from ``--server``/``--token``, else ``$CRLHF_SERVER`` and
``$CRLHF_ADMIN_TOKEN`` (falling back to ``$CRLHF_TOKEN``), else the client config file.

Each module here holds a group of commands, every command's arguments beside its handler
(:mod:`crlhf.admin.command`); importing them registers the commands in help order.
"""

# Import order is help order: the adapter commands come after the rounds.
from crlhf.admin import annotators, catalog, own_data, quality, recovery, rounds  # noqa: I001
from crlhf.admin import adapters
from crlhf.admin.command import configure, run

__all__ = [
    "adapters",
    "annotators",
    "catalog",
    "configure",
    "own_data",
    "quality",
    "recovery",
    "rounds",
    "run",
]
