"""HTTP routes of the admin page (``/admin/...``) and the root page (``GET /``).

Every page answer carries a Content-Security-Policy that allows only this server's own script
and stylesheet (no inline script or style), forbids framing and sends forms only here. Writes
are POSTs with the session's CSRF token, each behind a confirmation page; a refused write shows
one message and changes nothing. Failures of the service functions (a round that moved, an
unknown sample) become a page with their message and status, not the JSON error body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from crlhf_server.admin_page import actions, formats, pages, sessions
from crlhf_server.admin_page.sessions import LOGIN_MESSAGES, LoginRequired, Session, SessionStore
from crlhf_server.auth import Principal
from crlhf_server.deps import Context, Ctx
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError

from crlhf import __version__
from crlhf.errors import CrlhfError, InvalidInput, PermissionDenied
from crlhf.schemas import RoundStatus, TrainingRoundIn

logger = logging.getLogger(__name__)

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

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"), autoescape=True, undefined=StrictUndefined
)
templates.filters.update(pct=formats.pct, num=formats.num, dt=formats.when)


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def render(name: str, status: int = 200, **variables: Any) -> HTMLResponse:
    variables.setdefault("version", __version__)
    variables.setdefault("admin", None)
    variables.setdefault("csrf", "")
    variables.setdefault("notice", None)
    return HTMLResponse(templates.get_template(name).render(**variables), status_code=status)


def _to_login(reason: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/login?m={reason}", status_code=303)


class PageRoute(APIRoute):
    """Security headers on every answer; no session -> the login page; a service error -> a
    page with its message (the JSON API keeps its own error bodies)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                response = _to_login(exc.reason)
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
            return _secure(response)

        return guarded


router = APIRouter(route_class=PageRoute, include_in_schema=False)


def session_store(request: Request) -> SessionStore:
    """The app's sessions, made on first use with the server's session lifetime."""
    store: SessionStore | None = getattr(request.app.state, "admin_sessions", None)
    if store is None:
        ctx: Context = request.app.state.context
        store = SessionStore(ttl_s=ctx.settings.admin_session_ttl_s)
        request.app.state.admin_sessions = store
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


def _checked(page: tuple[Principal, Session], fields: dict[str, str]) -> Principal:
    admin, session = page
    if not sessions.csrf_ok(session, fields.get("csrf")):
        raise PermissionDenied(CSRF_FAILED, field="csrf")
    return admin


def _page(name: str, page: tuple[Principal, Session], request: Request, **v: Any) -> HTMLResponse:
    done = request.query_params.get("done")
    return render(name, admin=page[0], csrf=page[1].csrf, notice=DONE_MESSAGES.get(done or ""), **v)


# ------------------------------------------------------------------ root, login, logout


@router.get("/", response_class=HTMLResponse)
def root(request: Request, ctx: Ctx, store: Store) -> Response:
    """An admin's browser goes to the page; anyone else gets pointers to the API."""
    try:
        current(request, ctx, store)
    except LoginRequired:
        return render("landing.html")
    return RedirectResponse("/admin", status_code=303)


@router.get("/admin/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    reason = request.query_params.get("m", "")
    return render("login.html", message=LOGIN_MESSAGES.get(reason))


@router.post("/admin/login", response_class=HTMLResponse)
def login(request: Request, ctx: Ctx, store: Store, fields: Form) -> Response:
    admin_id, refusal = sessions.check_token(ctx, fields.get("token", ""))
    if admin_id is None:
        annotator = refusal is not None and "annotator" in refusal
        return render("login.html", 403 if annotator else 401, error=refusal)
    response = RedirectResponse("/admin", status_code=303)
    response.set_cookie(
        sessions.COOKIE,
        store.open(admin_id),
        path="/",  # no Max-Age: the server ends it, so an expired session can say so
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/admin/logout")
def logout(request: Request, page: Page, store: Store, fields: Form) -> Response:
    _checked(page, fields)
    store.close(request.cookies.get(sessions.COOKIE))
    response = _to_login("logout")
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.get("/admin/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        return Response("not found", status_code=404, media_type="text/plain")
    response = FileResponse(HERE / "static" / name, media_type=STATIC[name])
    response.headers["Cache-Control"] = "no-cache"
    return response


# ------------------------------------------------------------------ views


@router.get("/admin", response_class=HTMLResponse)
def overview(request: Request, ctx: Ctx, page: Page) -> Response:
    return _page("overview.html", page, request, **pages.overview(ctx, page[0]))


@router.get("/admin/rounds", response_class=HTMLResponse)
def rounds_list(request: Request, ctx: Ctx, page: Page) -> Response:
    return _page("rounds.html", page, request, **pages.rounds_list(ctx, page[0]))


@router.get("/admin/rounds/{round_id}", response_class=HTMLResponse)
def round_detail(request: Request, round_id: int, ctx: Ctx, page: Page) -> Response:
    return _page("round.html", page, request, **pages.round_detail(ctx, page[0], round_id))


@router.get("/admin/annotators", response_class=HTMLResponse)
def annotators_list(request: Request, ctx: Ctx, page: Page) -> Response:
    return _page("annotators.html", page, request, **pages.annotators_list(ctx, page[0]))


@router.get("/admin/annotators/{annotator_id}", response_class=HTMLResponse)
def annotator_detail(request: Request, annotator_id: int, ctx: Ctx, page: Page) -> Response:
    data = pages.annotator_detail(ctx, page[0], annotator_id)
    return _page("annotator.html", page, request, **data)


@router.get("/admin/samples", response_class=HTMLResponse)
def open_sample(request: Request, page: Page) -> Response:
    """The overview's "open a sample" box."""
    sample_id = request.query_params.get("id", "").strip()
    if not sample_id:
        raise InvalidInput("type a sample id to open it", field="id")
    return RedirectResponse(f"/admin/samples/{quote(sample_id)}", status_code=303)


@router.get("/admin/samples/{sample_id:path}", response_class=HTMLResponse)
def sample_detail(request: Request, sample_id: str, ctx: Ctx, page: Page) -> Response:
    return _page("sample.html", page, request, **pages.sample_detail(ctx, page[0], sample_id))


@router.get("/admin/live")
def live(ctx: Ctx, page: Page) -> Response:
    """What live.js refreshes: each round's state and progress (session cookie, no token)."""
    data = pages.live_rounds(ctx)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------ writes


def _round_request(fields: dict[str, str]) -> TrainingRoundIn:
    """The request form as the API's body: a note and ``key = value`` lines of params."""
    params: dict[str, Any] = {}
    for number, line in enumerate(fields.get("params", "").splitlines(), 1):
        if not line.strip():
            continue
        key, sep, raw = line.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"params line {number}: write it as key = value", field="params")
        try:
            value = json.loads(raw.strip())
        except ValueError:
            value = raw.strip()
        params[key.strip()] = value
    try:
        return TrainingRoundIn(params=params, note=fields.get("note", "").strip() or None)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise InvalidInput(f"{where}: {problem['msg']}", field=where) from exc


@router.post("/admin/rounds/confirm", response_class=HTMLResponse)
def confirm_request(request: Request, page: Page, fields: Form) -> Response:
    _checked(page, fields)
    body = _round_request(fields)
    return _page(
        "confirm.html",
        page,
        request,
        title="Request a training round?",
        action="/admin/rounds",
        question="A worker (crlhf worker) will claim it and train on the current rewards.",
        facts={"note": body.note or "", **{f"param {k}": str(v) for k, v in body.params.items()}},
        hidden={"note": fields.get("note", ""), "params": fields.get("params", "")},
        button="Request the round",
        cancel_href="/admin/rounds",
    )


@router.post("/admin/rounds")
def request_round(ctx: Ctx, page: Page, fields: Form) -> Response:
    _checked(page, fields)
    created = actions.request_round(ctx, _round_request(fields))
    return RedirectResponse(f"/admin/rounds/{created.id}?done=requested", status_code=303)


@router.get("/admin/rounds/{round_id}/cancel", response_class=HTMLResponse)
def confirm_cancel(request: Request, round_id: int, ctx: Ctx, page: Page) -> Response:
    found = pages.round_detail(ctx, page[0], round_id)["round"]
    return _page(
        "confirm.html",
        page,
        request,
        title=f"Cancel round {found.id}?",
        action=f"/admin/rounds/{found.id}/cancel",
        question=(
            f"Round {found.id} is {found.status.value}. A running round's worker stops at its "
            "next step and keeps no new adapter; the current adapter stays."
        ),
        facts={"note": found.note or "", "worker": found.worker or ""},
        hidden={"seen": found.status.value},
        button=f"Cancel round {found.id}",
        cancel_href=f"/admin/rounds/{found.id}",
    )


@router.post("/admin/rounds/{round_id}/cancel")
def cancel_round(round_id: int, ctx: Ctx, page: Page, fields: Form) -> Response:
    admin = _checked(page, fields)
    try:
        seen = RoundStatus(fields.get("seen", ""))
    except ValueError as exc:
        raise InvalidInput("the form did not say which state you saw", field="seen") from exc
    actions.cancel_round(ctx, admin, round_id, seen)
    return RedirectResponse(f"/admin/rounds/{round_id}?done=cancelled", status_code=303)


@router.get("/admin/annotators/{annotator_id}/reinstate", response_class=HTMLResponse)
def confirm_reinstate(request: Request, annotator_id: int, ctx: Ctx, page: Page) -> Response:
    account = pages.annotator_detail(ctx, page[0], annotator_id)["account"]
    return _page(
        "confirm.html",
        page,
        request,
        title=f"Reinstate {account.name}?",
        action=f"/admin/annotators/{annotator_id}/reinstate",
        question="Their token works again; evidence from before now no longer counts.",
        facts={},
        hidden={},
        reason_field=True,
        button="Reinstate",
        cancel_href=f"/admin/annotators/{annotator_id}",
    )


@router.post("/admin/annotators/{annotator_id}/reinstate")
def reinstate(annotator_id: int, ctx: Ctx, page: Page, fields: Form) -> Response:
    admin = _checked(page, fields)
    reason = fields.get("reason", "").strip()[:2000] or None
    actions.reinstate(ctx, admin, annotator_id, reason)
    return RedirectResponse(f"/admin/annotators/{annotator_id}?done=reinstated", status_code=303)


@router.get("/admin/quality/evaluate", response_class=HTMLResponse)
def confirm_evaluate(request: Request, page: Page) -> Response:
    return _page(
        "confirm.html",
        page,
        request,
        title="Apply the pause policy now?",
        action="/admin/quality/evaluate",
        question="Every annotator the policy would pause is paused now (logged, reversible).",
        facts={},
        hidden={},
        button="Apply the policy",
        cancel_href="/admin/annotators",
    )


@router.post("/admin/quality/evaluate")
def evaluate(ctx: Ctx, page: Page, fields: Form) -> Response:
    _checked(page, fields)
    actions.apply_policy(ctx)
    return RedirectResponse("/admin/annotators?done=evaluated", status_code=303)
