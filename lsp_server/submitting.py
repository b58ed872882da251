"""Submitting a task on purpose: submit once, revise explicitly, never by accident.

A plain submit on a task already submitted is refused and names the revise command; a
revise of a task never submitted is refused too. A submit with nothing marked would
record every line correct for code nobody may have read, so it needs the editor's
confirmation (``{"approveAll": true}``); the server still sees an all-correct submission,
so its lazy-submitter signal counts it. After a submission the marks become its votes,
and the state (revision, time, votes) is written to the marks store, so a restarted
editor shows "submitted, revision N" instead of inviting a silent second judgement.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from crlhf_lsp.documents import TaskDocument
from crlhf_lsp.features import commands
from crlhf_lsp.language_server import CrlhfLanguageServer
from crlhf_lsp.messages import count, unreachable, user_text
from crlhf_lsp.sync import Outcome, Remote
from lsprotocol import types

from crlhf.errors import Conflict, CrlhfError, InvalidInput, NotFound, NotServed
from crlhf.marks_store import SubmittedState
from crlhf.schemas import Label, OwnSubmission, Submission

logger = logging.getLogger(__name__)


class EmptySubmission(InvalidInput):
    """Submit with no line marked: every line would be recorded correct unread."""

    code = "empty_submission"


class AlreadySubmitted(Conflict):
    """Submit on a submitted task: replacing a judgement takes an explicit revise."""

    code = "already_submitted"


def _check(ls: CrlhfLanguageServer, task: TaskDocument, revise: bool, approve_all: bool) -> None:
    sample_id = task.task.sample_id
    if revise and task.submission is None:
        raise NotServed(
            f"sample {sample_id} was never submitted, so there is nothing to revise; "
            f"{ls.terms.submit_command} submits it"
        )
    if not revise and task.submission is not None:
        raise AlreadySubmitted(
            f"sample {sample_id} is already {task.status_text()}; "
            f"{ls.terms.revise_command} replaces it with your current marks"
        )
    if not task.marks and not approve_all:
        raise EmptySubmission(
            f"no line of sample {sample_id} is marked; mark what you checked, or confirm "
            "that every line is correct"
        )


async def send(ls: CrlhfLanguageServer, args: Sequence[Any], *, revise: bool) -> dict[str, object]:
    """Submit (or revise) a task's marks; say where the submission ended up."""
    task = ls.task_for(commands.uri_arg(args))
    ls.restore(task)
    approve_all = commands.approve_all(args)
    task.check_unchanged()
    _check(ls, task, revise, approve_all)
    remote = await ls.remote()
    sample_id = task.task.sample_id
    votes = task.votes()
    submission = Submission.from_marks(
        uuid4(),
        task.task,
        task.wrong,
        duration_ms=int((time.monotonic() - task.started_at) * 1000),
    )
    previous = task.submission
    result = await remote.submit(submission)
    if result.outcome is Outcome.REJECTED:
        raise CrlhfError(
            f"the server refused the submission of sample {sample_id}: "
            f"{user_text(result.message or 'no reason given')}"
        )
    ls.submitted.add(sample_id)
    n_wrong = sum(1 for label in votes.values() if label is Label.WRONG)
    tally = f"{count(n_wrong, 'line')} wrong, {len(votes) - n_wrong} correct"
    if result.outcome is Outcome.QUEUED:
        ls.online = False
        task.record_submission(SubmittedState(at=datetime.now(UTC), votes=votes))
        ls.show(
            unreachable(remote.config.server, None, ls.terms)
            + f"; sample {sample_id} ({tally}) is saved and will be sent by the next submit, "
            f"next task or {ls.terms.sync_command}",
            types.MessageType.Warning,
        )
    else:
        ls.online = True
        own = await _own_submission(remote, sample_id)
        guess = (previous.revision or 0) + 1 if previous else 1
        task.record_submission(
            SubmittedState(
                at=own.submitted_at if own else datetime.now(UTC),
                votes=votes,
                revision=own.revision if own else guess,
            )
        )
        revision = task.submission.revision if task.submission else guess
        if previous is not None and previous.revision is not None:
            ls.show(
                f"crlhf: revised sample {sample_id}: revision {revision} replaces "
                f"revision {previous.revision} ({tally})"
            )
        else:
            ls.show(f"crlhf: submitted sample {sample_id}, revision {revision} ({tally})")
        await load_consensus(remote, task)
    ls.save(task)
    ls.refresh(task)
    return task.summary()


async def _own_submission(remote: Remote, sample_id: str) -> OwnSubmission | None:
    """The server's record of the caller's current revision (None: none, or unreachable)."""
    try:
        return await remote.client.my_submission(sample_id)
    except NotFound:
        return None
    except CrlhfError as exc:
        logger.info("could not read own submission of %s: %s", sample_id, exc)
        return None


async def refresh_own(ls: CrlhfLanguageServer, task: TaskDocument) -> None:
    """On opening a task: take the server's word on its revision, and show the consensus.

    Quiet by design: offline or unconfigured, the marks store's state stands (the
    start-up check already said what is wrong). A submission still waiting in the queue
    is newer than whatever the server holds, so it stands too.
    """
    try:
        remote = await ls.remote()
    except CrlhfError:
        return
    sample_id = task.task.sample_id
    if task.queued and sample_id in await asyncio.to_thread(remote.queue.pending_sample_ids):
        return
    own = await _own_submission(remote, sample_id)
    if own is None:
        return
    votes = {item.line: item.label for item in own.labels}
    keep_marks = bool(task.marks)
    task.submission = SubmittedState(at=own.submitted_at, votes=votes, revision=own.revision)
    if not keep_marks:
        task.marks = dict(votes)
    ls.submitted.add(sample_id)
    await load_consensus(remote, task)
    ls.save(task)
    ls.refresh(task)


async def load_consensus(remote: Remote, task: TaskDocument) -> None:
    found = await remote.consensus(task.task.sample_id)
    task.consensus = {c.line: c for c in found or []}


async def sync_quietly(ls: CrlhfLanguageServer, remote: Remote) -> str:
    """Push what waits in the queue before asking for more work; offline is not an error.

    Returns ``"sent 2 queued submissions; "`` (or ``""``) for the command's one message.
    """
    result = await remote.sync()
    report_rejected(ls, result.rejected)
    if not result.synced:
        return ""
    await after_sync(ls, remote)
    return f"sent {count(result.synced, 'queued submission')}; "


async def after_sync(ls: CrlhfLanguageServer, remote: Remote) -> None:
    """Open tasks whose queued submission just went out learn their revision."""
    for task in ls.store.documents():
        if task.queued:
            await refresh_own(ls, task)


def report_rejected(ls: CrlhfLanguageServer, rejected: Sequence[Any]) -> None:
    for row in rejected:
        ls.show(
            f"crlhf: the server refused the queued submission of sample "
            f"{row.submission.sample_id}: {user_text(row.error_message or 'no reason given')}",
            types.MessageType.Error,
        )


async def status(ls: CrlhfLanguageServer, args: Sequence[Any]) -> dict[str, object]:
    """One line for ``:Crlhf status`` and the status bar, plus the numbers behind it."""
    parts: list[str] = []
    answer: dict[str, object] = {"online": ls.online}
    task = ls.store.get(args[0]) if args and isinstance(args[0], str) else None
    if task is not None:
        ls.restore(task)
        answer["task"] = task.summary()
        parts.append(f"sample {task.task.sample_id}: {task.status_text()}")
    try:
        remote = await ls.remote()
    except CrlhfError as exc:
        answer["configured"] = False
        parts.append(user_text(exc))
    else:
        pending = await asyncio.to_thread(remote.queue.count)
        answer.update(configured=True, server=remote.config.server, pending=pending)
        connection = {True: "connected", False: "unreachable", None: "not contacted yet"}
        parts.append(f"{remote.config.server} {connection[ls.online]}")
        parts.append(f"{count(pending, 'submission')} queued")
    answer["text"] = "crlhf: " + "; ".join(parts)
    return answer
