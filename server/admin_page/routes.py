"""The admin page's reads and its login (``/admin/...``) and the root page (``GET /``).

The writes live in :mod:`.write_routes`; what every route shares, in :mod:`.web`.
"""

from __future__ import annotations

from urllib.parse import quote

from crlhf_server.admin_page import pages, sessions, write_routes
from crlhf_server.admin_page.sessions import LOGIN_MESSAGES, LoginRequired
from crlhf_server.admin_page.web import (
    HERE,
    STATIC,
    Form,
    Page,
    PageRoute,
    Store,
    checked,
    current,
    page_for,
    render,
    to_login,
)
from crlhf_server.deps import Ctx
from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse

from crlhf.errors import InvalidInput

router = APIRouter(route_class=PageRoute, include_in_schema=False)


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
def loginpage_for(request: Request) -> Response:
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
    checked(page, fields)
    store.close(request.cookies.get(sessions.COOKIE))
    response = to_login("logout")
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
    return page_for("overview.html", page, request, **pages.overview(ctx, page[0]))


@router.get("/admin/rounds", response_class=HTMLResponse)
def rounds_list(request: Request, ctx: Ctx, page: Page) -> Response:
    return page_for("rounds.html", page, request, **pages.rounds_list(ctx, page[0]))


@router.get("/admin/rounds/{round_id}", response_class=HTMLResponse)
def round_detail(request: Request, round_id: int, ctx: Ctx, page: Page) -> Response:
    return page_for("round.html", page, request, **pages.round_detail(ctx, page[0], round_id))


@router.get("/admin/annotators", response_class=HTMLResponse)
def annotators_list(request: Request, ctx: Ctx, page: Page) -> Response:
    return page_for("annotators.html", page, request, **pages.annotators_list(ctx, page[0]))


@router.get("/admin/annotators/{annotator_id}", response_class=HTMLResponse)
def annotator_detail(request: Request, annotator_id: int, ctx: Ctx, page: Page) -> Response:
    data = pages.annotator_detail(ctx, page[0], annotator_id)
    return page_for("annotator.html", page, request, **data)


@router.get("/admin/samples", response_class=HTMLResponse)
def open_sample(request: Request, page: Page) -> Response:
    """The overview's "open a sample" box."""
    sample_id = request.query_params.get("id", "").strip()
    if not sample_id:
        raise InvalidInput("type a sample id to open it", field="id")
    return RedirectResponse(f"/admin/samples/{quote(sample_id)}", status_code=303)


@router.get("/admin/samples/{sample_id:path}", response_class=HTMLResponse)
def sample_detail(request: Request, sample_id: str, ctx: Ctx, page: Page) -> Response:
    return page_for("sample.html", page, request, **pages.sample_detail(ctx, page[0], sample_id))


@router.get("/admin/live")
def live(ctx: Ctx, page: Page) -> Response:
    """What live.js refreshes: each round's state and progress (session cookie, no token)."""
    data = pages.live_rounds(ctx)
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


router.include_router(write_routes.router)
