"""The admin page's writes, each a confirmation page (GET or a no-write POST) and a POST.

The POSTs call :mod:`.actions`, which uses the JSON API's own service functions.
"""

from __future__ import annotations

import json
from typing import Any

from crlhf_server.admin_page import actions, pages
from crlhf_server.admin_page.web import Form, Page, PageRoute, checked, page_for
from crlhf_server.deps import Ctx
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from crlhf.errors import InvalidInput
from crlhf.schemas import RoundStatus, TrainingRoundIn

router = APIRouter(route_class=PageRoute, include_in_schema=False)


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
    checked(page, fields)
    body = _round_request(fields)
    return page_for(
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
    checked(page, fields)
    created = actions.request_round(ctx, _round_request(fields))
    return RedirectResponse(f"/admin/rounds/{created.id}?done=requested", status_code=303)


@router.get("/admin/rounds/{round_id}/cancel", response_class=HTMLResponse)
def confirm_cancel(request: Request, round_id: int, ctx: Ctx, page: Page) -> Response:
    found = pages.round_detail(ctx, page[0], round_id)["round"]
    return page_for(
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
    admin = checked(page, fields)
    try:
        seen = RoundStatus(fields.get("seen", ""))
    except ValueError as exc:
        raise InvalidInput("the form did not say which state you saw", field="seen") from exc
    actions.cancel_round(ctx, admin, round_id, seen)
    return RedirectResponse(f"/admin/rounds/{round_id}?done=cancelled", status_code=303)


@router.get("/admin/annotators/{annotator_id}/reinstate", response_class=HTMLResponse)
def confirm_reinstate(request: Request, annotator_id: int, ctx: Ctx, page: Page) -> Response:
    account = pages.annotator_detail(ctx, page[0], annotator_id)["account"]
    return page_for(
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
    admin = checked(page, fields)
    reason = fields.get("reason", "").strip()[:2000] or None
    actions.reinstate(ctx, admin, annotator_id, reason)
    return RedirectResponse(f"/admin/annotators/{annotator_id}?done=reinstated", status_code=303)


@router.get("/admin/quality/evaluate", response_class=HTMLResponse)
def confirm_evaluate(request: Request, page: Page) -> Response:
    return page_for(
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
    checked(page, fields)
    actions.apply_policy(ctx)
    return RedirectResponse("/admin/annotators?done=evaluated", status_code=303)
