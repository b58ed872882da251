"""What every admin page route shares: templates, security headers, sessions, forms, errors.

Every page answer carries a Content-Security-Policy that allows only this server's own script
and stylesheet (no inline script or style), forbids framing and sends forms only here. A route
without a live session leads to the login page; a failure of a service function (a round that
moved, an unknown sample) becomes a page with its message and status, not the JSON error body.
A POST must come from this origin (when the browser says where it comes from) and, past the
login, carry the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl

from crlhf_server.admin_page import formats, sessions
from crlhf_server.admin_page.sessions import LoginRequired, Session, SessionStore
from crlhf_server.auth import Principal
from crlhf_server.deps import Ctx
from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from crlhf import __version__
from crlhf.errors import CrlhfError, PermissionDenied

HERE = Path(__file__).parent
STATIC = {"page.css": "text/css", "live.js": "text/javascript"}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
DONE_MESSAGES = {
    "requested": "Round requested: a worker will claim it.",
    "cancelled": "Round cancelled.",
    "reinstated": "Annotator reinstated.",
    "evaluated": "Pause policy applied.",
}
CSRF_FAILED = (
    "This form is out of date or did not come from this page (CSRF check failed); nothing "
    "was changed. Reload the page and try again."
)

CROSS_SITE = "This form was sent from another site; nothing was changed."

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined
)
templates.filters.update(pct=formats.pct, num=formats.num, dt=formats.when)


def secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on the
    # page's own form posts, which would blind the same-origin check below.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def render(name: str, status: int = 200, **variables: Any) -> HTMLResponse:
    variables.setdefault("version", __version__)
    variables.setdefault("admin", None)
    variables.setdefault("csrf", "")
    variables.setdefault("notice", None)
    return HTMLResponse(templates.get_template(name).render(**variables), status_code=status)


def to_login(reason: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/login?m={reason}", status_code=303)


def same_origin(request: Request) -> None:
    """Refuse a POST that the browser says comes from another site (defence in depth beside
    the SameSite cookie and the CSRF token; it also covers the login form, which has no
    session yet)."""
    origin = request.headers.get("origin")
    # "null" is what a browser sends when it will not say (privacy settings, sandboxes): no
    # evidence either way, so the CSRF token alone decides, as for a missing header.
    if origin not in (None, "null") and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise PermissionDenied(CROSS_SITE, field="origin")


class PageRoute(APIRoute):
    """Security headers on every answer; no session -> the login page; a service error -> a
    page with its message (the JSON API keeps its own error bodies)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                if request.method == "POST":
                    same_origin(request)
                response = await handler(request)
            except LoginRequired as exc:
                response = to_login(exc.reason)
                if exc.reason in {"expired", "revoked"}:
                    response.delete_cookie(sessions.COOKIE, path="/")
            except CrlhfError as exc:
                write = request.method == "POST"
                response = render(
                    "error.html",
                    exc.status_code,
                    message=exc.message,
                    nothing_changed=write and "nothing was changed" not in exc.message,
                )
            return secure(response)

        return guarded


def session_store(request: Request) -> SessionStore:
    """The app's admin-page sessions (made in ``create_app``, with the app's lifetime)."""
    store: SessionStore = request.app.state.admin_sessions
    return store


Store = Annotated[SessionStore, Depends(session_store)]


def current(request: Request, ctx: Ctx, store: Store) -> tuple[Principal, Session]:
    session = store.get(request.cookies.get(sessions.COOKIE))
    return sessions.admin_of(ctx, session), session


Page = Annotated[tuple[Principal, Session], Depends(current)]


async def form(request: Request) -> dict[str, str]:
    """A urlencoded form body (the page sends nothing else; no multipart parser needed)."""
    if request.method != "POST":
        return {}
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


Form = Annotated[dict[str, str], Depends(form)]


def checked(page: tuple[Principal, Session], fields: dict[str, str]) -> Principal:
    admin, session = page
    if not sessions.csrf_ok(session, fields.get("csrf")):
        raise PermissionDenied(CSRF_FAILED, field="csrf")
    return admin


def page_for(
    name: str, page: tuple[Principal, Session], request: Request, **v: Any
) -> HTMLResponse:
    done = request.query_params.get("done")
    return render(name, admin=page[0], csrf=page[1].csrf, notice=DONE_MESSAGES.get(done or ""), **v)
