"""Local recovery when no admin can log in: a new token for an admin, written directly.

The server creates an admin only on an empty database, so a lost admin token (or every
admin disabled, which the API refuses but an old database may hold) would lock everyone
out. ``crlhf admin reset-token --db PATH`` opens the database file itself, which is why it
lives with the server, is refused while a server holds the file
(:mod:`crlhf_server.instance_lock`), and needs access to the file rather than a token.
"""

from __future__ import annotations

from pathlib import Path

from crlhf_server import annotators, instance_lock
from crlhf_server.app import open_store
from crlhf_server.auth import hash_token, new_token
from crlhf_server.settings import Settings

from crlhf.errors import AnnotatorNotFound, InvalidFile
from crlhf.schemas import Annotator, AnnotatorCreated


def reset_admin_token(db: Path, name: str | None = None) -> AnnotatorCreated:
    """Give the admin ``name`` (default: the oldest admin) a new token and re-enable them.

    An account that is paused is reinstated too: the point is that someone can log in.
    The old token stops working at once. Returns the account and the new token (its only
    copy).
    """
    if not db.is_file():
        raise InvalidFile(f"{db} does not exist (pass the server's --db file)", field="db")
    with instance_lock.acquire(db, purpose="reset a token"):
        store = open_store(Settings(db=db, seed=False))
        try:
            with store.write() as conn:
                if name is None:
                    row = conn.execute(
                        "SELECT id FROM annotators WHERE role = 'admin' ORDER BY id LIMIT 1"
                    ).fetchone()
                    if row is None:
                        raise AnnotatorNotFound(f"{db} has no admin account", field="name")
                else:
                    row = conn.execute(
                        "SELECT id FROM annotators WHERE name = ? AND role = 'admin'", (name,)
                    ).fetchone()
                    if row is None:
                        raise AnnotatorNotFound(f"no admin named {name!r} in {db}", field="name")
                token = new_token()
                conn.execute(
                    "UPDATE annotators SET token_hash = ?, active = 1, paused_at = NULL, "
                    "pause_reason = NULL WHERE id = ?",
                    (hash_token(token), int(row["id"])),
                )
                admin: Annotator = annotators.get(conn, int(row["id"]))
        finally:
            store.close()
    return AnnotatorCreated(annotator=admin, token=token)
