"""Browser sessions of the admin page: a random id in an HttpOnly cookie, a hash on the server.

The admin types their token once into the login form; the browser then holds only a session
id (``secrets.token_urlsafe(32)``) in an HttpOnly, SameSite=Strict cookie, never the token, and
never in a URL or local storage. The server keeps the SHA-256 of that id (as for tokens, see
server/auth.py): a memory dump or log of the table cannot be replayed as a cookie. Sessions
live in the process (``crlhf serve`` runs one worker), so a restart logs everyone out, which
is the safe direction. Each session carries its own CSRF token, checked on every write.

Every request re-reads the admin's row: a disabled account or one demoted to annotator loses
its sessions at once, without a logout.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from crlhf_server.auth import Principal, hash_token
from crlhf_server.deps import Context

from crlhf.schemas import Role

COOKIE = "crlhf_admin_session"


@dataclass(frozen=True)
class Session:
    admin_id: int
    csrf: str
    expires_at: float


class LoginRequired(Exception):
    """No valid session; ``reason`` is a fixed key of :data:`LOGIN_MESSAGES`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


LOGIN_MESSAGES = {
    "expired": "Your session expired or the server restarted; log in again.",
    "login": "Log in with an admin token to see the admin page.",
    "revoked": "This account is no longer an active admin; log in with an admin token.",
    "logout": "You are logged out.",
}


class SessionStore:
    """Hashed session ids -> :class:`Session`, thread-safe (page routes run in a pool)."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, admin_id: int) -> str:
        """A new session for ``admin_id``; returns the id for the cookie (kept nowhere else)."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        with self._lock:
            # Drop expired sessions here, the only place the table grows.
            self._sessions = {k: s for k, s in self._sessions.items() if s.expires_at > now}
            self._sessions[hash_token(session_id)] = Session(
                admin_id=admin_id, csrf=secrets.token_urlsafe(32), expires_at=now + self.ttl_s
            )
        return session_id

    def get(self, session_id: str | None) -> Session:
        """The live session of a cookie value; :class:`LoginRequired` if none or expired."""
        if not session_id:
            raise LoginRequired("login")
        key = hash_token(session_id)
        with self._lock:
            session = self._sessions.get(key)
            if session is not None and session.expires_at <= self.clock():
                del self._sessions[key]
                session = None
        if session is None:
            raise LoginRequired("expired")
        return session

    def close(self, session_id: str | None) -> None:
        if session_id:
            with self._lock:
                self._sessions.pop(hash_token(session_id), None)


def csrf_ok(session: Session, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(session.csrf, submitted)


def admin_of(ctx: Context, session: Session) -> Principal:
    """The session's admin as they are now; :class:`LoginRequired` if no longer an admin."""
    row = (
        ctx.store.read()
        .execute("SELECT id, name, role, active FROM annotators WHERE id = ?", (session.admin_id,))
        .fetchone()
    )
    if row is None or not row["active"] or row["role"] != Role.ADMIN.value:
        raise LoginRequired("revoked")
    return Principal(id=int(row["id"]), name=str(row["name"]), role=Role.ADMIN)


def check_token(ctx: Context, token: str) -> tuple[int | None, str | None]:
    """(admin id, None) for an active admin's token, else (None, the reason it is refused)."""
    row = (
        ctx.store.read()
        .execute(
            "SELECT id, role, active FROM annotators WHERE token_hash = ?",
            (hash_token(token.strip()),),
        )
        .fetchone()
    )
    if row is None:
        return None, "That token is not valid. Paste the admin token printed on first start."
    if not row["active"]:
        return None, "This account is disabled."
    if row["role"] != Role.ADMIN.value:
        return None, "This is an annotator's token: the admin page needs an admin token."
    return int(row["id"]), None
