"""The typed async HTTP client of the crlhf server.

The TUI, the language server and the admin CLI talk to the server only through
:class:`CrlhfClient`. Answers are parsed into the models of :mod:`crlhf.schemas`, and
error bodies are turned back into the classes of :mod:`crlhf.errors`, so a caller
catches ``SampleNotFound`` whether the failure happened here or on the server. Anything
that means "the server could not be reached" (connect errors, timeouts, a proxy's
502/503/504) becomes :class:`~crlhf.errors.ServerUnreachable`, which is what the offline
queue retries on.

Example::

    async with CrlhfClient("http://127.0.0.1:8000", token) as client:
        tasks = await client.next_tasks(3)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from crlhf import __version__
from crlhf.client_config import ClientConfig, normalize_server_url
from crlhf.errors import CrlhfError, RateLimited, ServerUnreachable, error_class_for
from crlhf.schemas import (
    REFIT_HEADER,
    AdapterSelect,
    AdapterVersion,
    AgreementReport,
    Annotator,
    AnnotatorCreated,
    AnnotatorIn,
    AnnotatorKind,
    AnnotatorQuality,
    AnnotatorStats,
    BatchReceipt,
    BenchmarkResult,
    BenchmarkResultIn,
    CurrentAdapter,
    ErrorBody,
    ExportRow,
    Health,
    ImportResult,
    LineConsensus,
    MachineSubmission,
    MachineTask,
    OwnSubmission,
    Problem,
    ProblemIn,
    QualityAction,
    RefitRequest,
    RefitResult,
    ReliabilitySnapshot,
    Role,
    RoundClaim,
    RoundHeartbeat,
    RoundProgress,
    RoundProvenance,
    RoundRegistration,
    RoundStatus,
    RoundTransition,
    Sample,
    SampleIn,
    SampleProvenance,
    SampleReward,
    Submission,
    SubmissionBatch,
    SubmissionReceipt,
    Task,
    TrainingRound,
    TrainingRoundIn,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportData:
    """An export's rows and what the refit before it changed (None: no refit was run)."""

    rows: list[ExportRow]
    refit: RefitResult | None


T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""Generous reads (a refit or an export can take a while), quick connects (offline fast)."""

UNREACHABLE_STATUSES = frozenset({502, 503, 504})
"""Statuses a proxy or a restarting server answers with: the request may be retried."""

Params = Mapping[str, str | int | float | bool | None]


def _error_from_response(response: httpx.Response) -> CrlhfError:
    """Turn a non-2xx answer into the exception the server raised."""
    try:
        body = ErrorBody.model_validate_json(response.content)
    except ValidationError:
        snippet = response.text[:200].strip() or "(empty body)"
        return CrlhfError(
            f"server answered {response.status_code} {response.reason_phrase} "
            f"to {response.request.method} {response.request.url.path}: {snippet}"
        )
    # The server sends str(exc) ("field: message") and the field again in details[0]
    # (or, for request validation, every offending field in the message); rebuild the
    # exception so that str() reads like the server's message, without the field twice.
    field = body.details[0].field if body.details else None
    message = body.message
    if field and message.startswith(f"{field}: "):
        message = message[len(field) + 2 :]
    error = error_class_for(body.code)(message, field=field)
    if isinstance(error, RateLimited):
        retry_after = response.headers.get("Retry-After", "")
        error.retry_after_s = float(retry_after) if retry_after.isdigit() else None
    return error


class CrlhfClient:
    """One connection pool to one server, authenticated with one token.

    ``transport`` replaces the network (tests pass an :class:`httpx.MockTransport` or an
    ASGI transport). Use it as an async context manager, or call :meth:`aclose`.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = normalize_server_url(base_url)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "User-Agent": f"crlhf-client/{__version__}",
            },
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_config(
        cls,
        config: ClientConfig,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> CrlhfClient:
        return cls(config.server, config.token, timeout=timeout, transport=transport)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ plumbing

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
    ) -> httpx.Response:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._http.request(method, path, json=json, params=query)
        except httpx.TimeoutException as exc:
            raise ServerUnreachable(
                f"crlhf server at {self.base_url} did not answer in time ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            reason = str(exc) or type(exc).__name__
            raise ServerUnreachable(
                f"cannot reach the crlhf server at {self.base_url}: {reason}"
            ) from exc
        if response.status_code in UNREACHABLE_STATUSES:
            raise ServerUnreachable(
                f"crlhf server at {self.base_url} is unavailable "
                f"({response.status_code} {response.reason_phrase})"
            )
        if response.is_error:
            error = _error_from_response(response)
            logger.debug("%s %s -> %s %r", method, path, response.status_code, error)
            raise error
        return response

    async def _get(self, path: str, kind: type[T], params: Params | None = None) -> T:
        return self._parse(await self._request("GET", path, params=params), kind)

    async def _send(self, method: str, path: str, kind: type[T], body: Any = None) -> T:
        return self._parse(await self._request(method, path, json=body), kind)

    @staticmethod
    def _parse(response: httpx.Response, kind: type[T]) -> T:
        try:
            adapter: TypeAdapter[T] = _adapter(kind)
            return adapter.validate_json(response.content)
        except ValidationError as exc:
            raise CrlhfError(
                f"unexpected answer to {response.request.method} {response.request.url.path}: "
                f"{exc.error_count()} field(s) do not match {getattr(kind, '__name__', kind)}"
            ) from exc

    # --------------------------------------------------------- annotator routes

    async def health(self) -> Health:
        return await self._get("/v1/health", Health)

    async def me(self) -> Annotator:
        """The caller's own record: the way to check that a token works."""
        return await self._get("/v1/me", Annotator)

    async def stats(self) -> AnnotatorStats:
        return await self._get("/v1/me/stats", AnnotatorStats)

    async def next_tasks(self, count: int = 1) -> list[Task]:
        """Up to ``count`` tasks; an empty list means there is nothing for this annotator now.

        Tasks served earlier but not yet submitted come back first.
        """
        return await self._get("/v1/tasks/next", list[Task], {"count": count})

    async def skip(self, sample_id: str) -> None:
        """Pass on a served, unsubmitted task: it is not served to the caller again.

        Idempotent. Raises :class:`~crlhf.errors.NotServed` when the sample is not an open
        task of the caller (never served, or already submitted).
        """
        await self._request("POST", f"/v1/tasks/{_seg(sample_id)}/skip")

    async def submit(self, submission: Submission) -> SubmissionReceipt:
        body = submission.model_dump(mode="json", exclude_none=True)
        return await self._send("POST", "/v1/submissions", SubmissionReceipt, body)

    async def submit_batch(self, submissions: Sequence[Submission]) -> BatchReceipt:
        """Send many submissions atomically: all land, or none and the error names which."""
        batch = SubmissionBatch(submissions=list(submissions))
        body = batch.model_dump(mode="json", exclude_none=True)
        return await self._send("POST", "/v1/submissions/batch", BatchReceipt, body)

    async def consensus(self, sample_id: str) -> list[LineConsensus]:
        """The crowd's per-line posterior, once the caller has submitted for the sample."""
        return await self._get(f"/v1/samples/{_seg(sample_id)}/consensus", list[LineConsensus])

    async def my_submission(self, sample_id: str) -> OwnSubmission:
        """The caller's current submission of a sample (``NotFound`` if there is none)."""
        return await self._get(f"/v1/samples/{_seg(sample_id)}/mine", OwnSubmission)

    # ----------------------------------------------------- machine annotator routes

    async def machine_tasks(self, count: int = 1) -> list[MachineTask]:
        """Samples this machine annotator has not judged yet, with the problem's tests."""
        return await self._get("/v1/machines/tasks/next", list[MachineTask], {"count": count})

    async def machine_submit(self, submission: MachineSubmission) -> SubmissionReceipt:
        body = submission.model_dump(mode="json", exclude_none=True)
        return await self._send("POST", "/v1/machines/submissions", SubmissionReceipt, body)

    # ------------------------------------------------------------- admin routes

    async def create_annotator(
        self,
        name: str,
        role: Role = Role.ANNOTATOR,
        *,
        checker: str | None = None,
        checker_version: str | None = None,
    ) -> AnnotatorCreated:
        """A person's account, or with ``checker`` a machine annotator running that checker."""
        body = AnnotatorIn(
            name=name,
            role=role,
            kind=AnnotatorKind.MACHINE if checker else AnnotatorKind.HUMAN,
            checker=checker,
            checker_version=checker_version,
        ).model_dump(mode="json", exclude_defaults=True)
        body["role"] = role.value  # a person's body stays what older servers accept
        return await self._send("POST", "/v1/admin/annotators", AnnotatorCreated, body)

    async def list_annotators(self) -> list[Annotator]:
        return await self._get("/v1/admin/annotators", list[Annotator])

    async def get_annotator(self, annotator_id: int) -> Annotator:
        return await self._get(f"/v1/admin/annotators/{annotator_id}", Annotator)

    async def annotator_stats(self, annotator_id: int) -> AnnotatorStats:
        return await self._get(f"/v1/admin/annotators/{annotator_id}/stats", AnnotatorStats)

    async def set_annotator_active(self, annotator_id: int, active: bool) -> Annotator:
        """Enable or disable an annotator; a disabled token gets 401 from then on."""
        action = "enable" if active else "disable"
        return await self._send("POST", f"/v1/admin/annotators/{annotator_id}/{action}", Annotator)

    async def reliability_history(self, annotator_id: int) -> list[ReliabilitySnapshot]:
        return await self._get(
            f"/v1/admin/annotators/{annotator_id}/reliability", list[ReliabilitySnapshot]
        )

    async def import_problems(self, problems: Sequence[ProblemIn]) -> ImportResult:
        body = [p.model_dump(mode="json", exclude_none=True) for p in problems]
        return await self._send("POST", "/v1/admin/problems", ImportResult, body)

    async def list_problems(
        self, *, limit: int | None = None, offset: int | None = None
    ) -> list[Problem]:
        params = {"limit": limit, "offset": offset}
        return await self._get("/v1/admin/problems", list[Problem], params)

    async def get_problem(self, problem_id: str) -> Problem:
        return await self._get(f"/v1/admin/problems/{_seg(problem_id)}", Problem)

    async def import_samples(self, samples: Sequence[SampleIn]) -> ImportResult:
        body = [s.model_dump(mode="json", exclude_none=True) for s in samples]
        return await self._send("POST", "/v1/admin/samples", ImportResult, body)

    async def list_samples(
        self,
        *,
        problem_id: str | None = None,
        honeypot: bool | None = None,
        round: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[Sample]:
        params = {
            "problem_id": problem_id,
            "honeypot": honeypot,
            "round": round,
            "limit": limit,
            "offset": offset,
        }
        return await self._get("/v1/admin/samples", list[Sample], params)

    async def get_sample(self, sample_id: str) -> Sample:
        return await self._get(f"/v1/admin/samples/{_seg(sample_id)}", Sample)

    async def archive_sample(self, sample_id: str) -> Sample:
        """Never serve or export the sample again (its votes stay in history)."""
        return await self._send("POST", f"/v1/admin/samples/{_seg(sample_id)}/archive", Sample)

    async def sample_consensus(self, sample_id: str) -> list[LineConsensus]:
        """Per-line consensus of any sample (admins need not have voted on it)."""
        return await self._get(
            f"/v1/admin/samples/{_seg(sample_id)}/consensus", list[LineConsensus]
        )

    async def rewards(
        self,
        *,
        problem_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[SampleReward]:
        params = {"problem_id": problem_id, "limit": limit, "offset": offset}
        return await self._get("/v1/admin/rewards", list[SampleReward], params)

    async def refit(
        self,
        estimator: str | None = None,
        options: Mapping[str, float | int | str | bool] | None = None,
    ) -> RefitResult:
        """Refit every posterior, reward and reliability with ``estimator`` (None: default)."""
        request = RefitRequest(estimator=estimator, options=dict(options or {}))
        body = request.model_dump(mode="json")
        return await self._send("POST", "/v1/admin/refit", RefitResult, body)

    async def export(
        self, *, min_votes: int | None = None, estimator: str | None = None
    ) -> list[ExportRow]:
        """The (x, y, s) training set after a full refit; honeypots are never in it."""
        return (await self.export_data(min_votes=min_votes, estimator=estimator)).rows

    async def export_data(
        self,
        *,
        min_votes: int | None = None,
        min_annotators: int | None = None,
        estimator: str | None = None,
        refit: bool = True,
    ) -> ExportData:
        """The training set with what the refit before it changed (``refit=False``: the
        stored rewards, no refit)."""
        params = {
            "min_votes": min_votes,
            "min_annotators": min_annotators,
            "estimator": estimator,
            "refit": None if refit else "false",
        }
        response = await self._request("GET", "/v1/admin/export", params=params)
        rows: list[ExportRow] = []
        for number, line in enumerate(response.text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(ExportRow.model_validate_json(line))
            except ValidationError as exc:
                raise CrlhfError(f"export line {number} is not an ExportRow: {exc}") from exc
        header = response.headers.get(REFIT_HEADER)
        try:
            result = None if header is None else RefitResult.model_validate_json(header)
        except ValidationError as exc:
            raise CrlhfError(f"the {REFIT_HEADER} header is not a RefitResult: {exc}") from exc
        return ExportData(rows=rows, refit=result)

    async def create_round(self, request: TrainingRoundIn) -> TrainingRound:
        body = request.model_dump(mode="json", exclude_none=True)
        return await self._send("POST", "/v1/admin/rounds", TrainingRound, body)

    async def list_rounds(self, *, status: RoundStatus | None = None) -> list[TrainingRound]:
        """Training rounds, newest first."""
        params = {"status": status.value if status else None}
        return await self._get("/v1/admin/rounds", list[TrainingRound], params)

    async def get_round(self, round_id: int) -> TrainingRound:
        return await self._get(f"/v1/admin/rounds/{round_id}", TrainingRound)

    async def post_benchmark(self, result: BenchmarkResultIn) -> BenchmarkResult:
        """Store one benchmark run's pass@k (the same ``run_id`` again replaces it)."""
        body = result.model_dump(mode="json")
        return await self._send("POST", "/v1/admin/benchmarks", BenchmarkResult, body)

    async def list_benchmarks(
        self, *, round: int | None = None, suite: str | None = None
    ) -> list[BenchmarkResult]:
        """Benchmark results, the baseline (``round`` None) first, then round by round."""
        params = {"round": round, "suite": suite}
        return await self._get("/v1/admin/benchmarks", list[BenchmarkResult], params)

    async def transition_round(self, round_id: int, transition: RoundTransition) -> TrainingRound:
        body = transition.model_dump(mode="json", exclude_none=True)
        return await self._send(
            "POST", f"/v1/admin/rounds/{round_id}/transition", TrainingRound, body
        )

    async def cancel_round(self, round_id: int, message: str | None = None) -> TrainingRound:
        """Cancel a requested or running round (a running one's worker stops at its next
        step and keeps no new version)."""
        transition = RoundTransition(status=RoundStatus.CANCELLED, message=message)
        return await self.transition_round(round_id, transition)

    async def claim_round(self, worker: str, lease_s: float) -> TrainingRound | None:
        """The oldest requested round, now running for ``worker``; None when none waits."""
        body = RoundClaim(worker=worker, lease_s=lease_s).model_dump(mode="json")
        response = await self._request("POST", "/v1/admin/rounds/claim", json=body)
        if response.status_code == 204:
            return None
        return self._parse(response, TrainingRound)

    async def heartbeat_round(
        self, round_id: int, worker: str, progress: RoundProgress
    ) -> TrainingRound:
        """Report progress; the answer's status is ``cancelled`` when the worker must stop."""
        body = RoundHeartbeat(worker=worker, progress=progress).model_dump(mode="json")
        return await self._send(
            "POST", f"/v1/admin/rounds/{round_id}/heartbeat", TrainingRound, body
        )

    async def register_round(self, registration: RoundRegistration) -> TrainingRound:
        """Record a round trained offline as succeeded (``train-round --register``)."""
        body = registration.model_dump(mode="json")
        return await self._send("POST", "/v1/admin/rounds/register", TrainingRound, body)

    async def retry_round(self, round_id: int) -> TrainingRound:
        """A new requested round with the params of failed or cancelled round ``round_id``."""
        return await self._send("POST", f"/v1/admin/rounds/{round_id}/retry", TrainingRound)

    async def current_adapter(self) -> CurrentAdapter:
        """The current adapter version (version None: the base model)."""
        return await self._get("/v1/admin/adapters/current", CurrentAdapter)

    async def list_adapters(self) -> list[AdapterVersion]:
        """The versions succeeded rounds produced, newest first."""
        return await self._get("/v1/admin/adapters", list[AdapterVersion])

    async def set_adapter(self, version: str | None) -> CurrentAdapter:
        """Make a produced version (None: the base model) current."""
        body = AdapterSelect(version=version).model_dump(mode="json")
        return await self._send("POST", "/v1/admin/adapters/current", CurrentAdapter, body)

    async def rollback_adapter(self) -> CurrentAdapter:
        """Make the version produced before the current one current."""
        return await self._send("POST", "/v1/admin/adapters/rollback", CurrentAdapter)

    # ------------------------------------------------------- quality control

    async def quality_annotators(self, *, flagged: bool = False) -> list[AnnotatorQuality]:
        """Every annotator with the quality policy's verdict (``flagged``: only those
        down-weighted, lazy or paused)."""
        params = {"flagged": flagged}
        return await self._get("/v1/admin/quality/annotators", list[AnnotatorQuality], params)

    async def reinstate(self, annotator_id: int, reason: str | None = None) -> QualityAction:
        path = f"/v1/admin/quality/annotators/{annotator_id}/reinstate"
        return await self._send("POST", path, QualityAction, {"reason": reason})

    async def quality_actions(self, annotator_id: int | None = None) -> list[QualityAction]:
        params = {"annotator_id": annotator_id}
        return await self._get("/v1/admin/quality/actions", list[QualityAction], params)

    async def agreement(
        self, *, problem_id: str | None = None, round: int | None = None
    ) -> AgreementReport:
        params = {"problem_id": problem_id, "round": round}
        return await self._get("/v1/admin/quality/agreement", AgreementReport, params)

    async def sample_provenance(self, sample_id: str) -> SampleProvenance:
        """The votes and reliabilities behind a sample's current reward."""
        return await self._get(f"/v1/admin/provenance/samples/{_seg(sample_id)}", SampleProvenance)

    async def round_provenance(self, round_id: int) -> RoundProvenance:
        """The samples, votes and annotator weights a training round was given."""
        return await self._get(f"/v1/admin/provenance/rounds/{round_id}", RoundProvenance)


_ADAPTERS: dict[object, TypeAdapter[Any]] = {}


def _adapter(kind: type[T]) -> TypeAdapter[T]:
    """Build each answer type's validator once (building one costs far more than using it)."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def _seg(value: str) -> str:
    """Quote one path segment: ids may contain characters that mean something in a URL."""
    return quote(value, safe="")
