"""Everything that crosses a process boundary, defined once.

The server serves these models, the HTTP client parses them, and the TUI and the
language server render them; none of them redefines a field. Models that arrive from
outside forbid unknown fields so a typo in a client is a clear 422, not silently
ignored data.
"""

from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Annotated, Literal
from uuid import UUID

from annotated_types import Interval
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)

SQLITE_INT_MIN = -(2**63)
SQLITE_INT_MAX = 2**63 - 1

DbInt = Annotated[int, Interval(ge=SQLITE_INT_MIN, le=SQLITE_INT_MAX)]
"""The one integer type of the wire and of path/query parameters: SQLite's INTEGER range.

A larger integer cannot be bound to a statement (``OverflowError``), so every integer a
client sends is refused at validation (422) before it reaches the database. Narrow it
with ``Field(ge=...)`` where a smaller range applies."""

WireInt = Annotated[DbInt, Strict()]
"""An integer in a request body: a JSON integer only, never ``true``, ``1.0`` or ``"1"``."""

MAX_COMMENT_CHARS = 500
MAX_CODE_CHARS = 100_000
MAX_BATCH_SUBMISSIONS = 500
MAX_TASKS_PER_REQUEST = 20
"""The server's cap on ``GET /v1/tasks/next?count=N``; clients ask within it."""


class Label(IntEnum):
    """One annotator's judgement of one line: the papers' ε ∈ {+1, -1}."""

    CORRECT = 1
    WRONG = -1


class Role(StrEnum):
    ANNOTATOR = "annotator"
    ADMIN = "admin"


def _strict_label(value: object) -> object:
    """A vote is the JSON integer 1 or -1: ``true``, ``1.0`` and ``"1"`` are refused, not
    coerced (``bool`` is an ``int`` in Python, so a plain ``IntEnum`` field takes ``true``)."""
    if isinstance(value, Label):
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be the integer 1 (correct) or -1 (wrong)")
    return value


WireLabel = Annotated[Label, BeforeValidator(_strict_label)]


class AnnotatorKind(StrEnum):
    """Who casts an annotator's votes: a person, or a checker program (``crlhf machines``).

    A machine's votes enter the engine like a person's, weighted by a learned reliability,
    but are kept out of people's agreement metrics, lazy-submitter detection and the
    per-sample cap on people (docs/quality.md, "Machine annotators").
    """

    HUMAN = "human"
    MACHINE = "machine"


class _Wire(BaseModel):
    """Base for models received from clients: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class _View(BaseModel):
    """Base for models the server sends: tolerant, so older clients survive new fields."""

    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------- lines


class CodeLine(_View):
    """One physical line of a sample, numbered from 1 as editors show it."""

    number: Annotated[int, Field(ge=1)]
    text: str
    judged: bool
    """Whitespace-only lines carry no judgement: not voted on, not counted in k."""


def is_judged(text: str) -> bool:
    """Whether a line is judged: it holds something other than whitespace."""
    return bool(text.strip())


def split_code(code: str) -> list[CodeLine]:
    """Split code into numbered lines, marking whitespace-only lines as not judged.

    ``\\r\\n`` and ``\\r`` count as line breaks like ``\\n`` so a sample keeps its line
    numbers whichever editor touched it; a trailing newline does not add a line.
    """
    texts = code.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if texts and texts[-1] == "":
        texts.pop()
    return [CodeLine(number=i, text=t, judged=is_judged(t)) for i, t in enumerate(texts, 1)]


def judged_line_numbers(code: str) -> list[int]:
    return [line.number for line in split_code(code) if line.judged]


# ------------------------------------------------------------------------ problems

DEFAULT_LANGUAGE = "python"
Language = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9+#-]*$")]
"""A lower-case language name as highlighters know it (``python``, ``javascript``, ``sql``)."""


class ProblemIn(_Wire):
    """A problem x as an admin imports it. Tests and reference stay on the server."""

    id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:/-]+$")]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(min_length=1, max_length=20_000)]
    entry_point: str | None = None
    tests: str | None = None
    """Python test code (asserts) run by the sandboxed executor; shown to annotators with
    the description (the reference solution is not)."""
    reference_solution: str | None = None
    prompt: Annotated[str | None, Field(min_length=1, max_length=20_000)] = None
    """What the model is given to complete (None: the description; see docs/clients.md)."""
    language: Language = DEFAULT_LANGUAGE
    """The language of the code: highlighting in the TUI and editors follows it, and only
    Python problems are executed (others are annotated, never run)."""


class Problem(_View):
    """A problem as admins see it."""

    id: str
    title: str
    description: str
    entry_point: str | None = None
    tests: str | None = None
    reference_solution: str | None = None
    prompt: str | None = None
    language: str = DEFAULT_LANGUAGE
    created_at: datetime | None = None


class ProblemView(_View):
    """What an annotator may see of a problem."""

    id: str
    title: str
    description: str
    tests: str = ""
    """The problem's test code, part of the spec an annotator judges against ("" when the
    problem has none). It is the problem's, the same for a honeypot as for any other sample
    of that problem, so it reveals nothing about gold."""
    language: str = DEFAULT_LANGUAGE
    """For highlighting the code (``python`` unless the problem names another)."""


class MachineProblemView(ProblemView):
    """What a machine annotator sees of a problem: a checker needs the tests, the function
    they call and the prompt the sample continues. Served to machine tokens only."""

    entry_point: str | None = None
    prompt: str | None = None
    """What the model was given to complete (None: the description serves as the prompt)."""


# ------------------------------------------------------------------------- samples


class GenerationMeta(_View):
    """Where a sample came from: enough to reproduce it and to tie it to a round."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    adapter_version: str | None = None
    round: DbInt | None = None
    temperature: float | None = None
    seed: DbInt | None = None
    prompt_token_ids: list[DbInt] | None = None
    response_token_ids: list[DbInt] | None = None
    response_logprobs: list[float] | None = None
    """Token ids and sampling log-probs, stored at generation time for PPO: decoding and
    re-encoding does not reproduce the tokens."""
    dtype: str | None = None
    """The torch dtype the sampling model ran in (``torch.float32``): a round trains in one
    dtype and refuses samples drawn in another, whose log-probs it cannot reproduce."""
    prompt_style: Literal["completion", "chat"] | None = None
    """How the prompt was built: ``chat`` replies hold prose around the code."""
    reply: str | None = None
    """The model's raw reply (chat style): the sample's code was extracted from it."""
    extraction: Literal["whole", "fence", "prefix", "none"] | None = None
    """How the code was found in the reply (``none``: the reply holds no code)."""
    code_spans: list[tuple[int, int]] | None = None
    """(start, end) character offsets into the reply of each line of the code."""
    response_char_ends: list[int] | None = None
    """Per response token, the reply length once it is decoded: token j owns
    reply[ends[j-1]:ends[j]] (crlhf.generation.offsets)."""


class SampleIn(_Wire):
    """A sample y as an admin imports it (or the generator pushes it).

    ``gold`` makes it a honeypot: the true label of every judged line, keyed by line
    number. It is stored server-side and never returned to an annotator.
    """

    id: Annotated[str | None, Field(max_length=200, pattern=r"^[A-Za-z0-9_.:/-]+$")] = None
    problem_id: str
    code: Annotated[str, Field(min_length=1, max_length=MAX_CODE_CHARS)]
    meta: GenerationMeta = Field(default_factory=GenerationMeta)
    gold: dict[Annotated[DbInt, Field(ge=1)], WireLabel] | None = None
    author_id: Annotated[WireInt, Field(ge=1)] | None = None
    """The annotator who wrote this code, if one did: it is never routed to them and
    their submission for it is refused (no one judges their own code)."""

    @model_validator(mode="after")
    def _check(self) -> SampleIn:
        judged = judged_line_numbers(self.code)
        if not judged:
            raise ValueError("code has no judged line (every line is blank)")
        if self.gold is not None and set(self.gold) != set(judged):
            missing = sorted(set(judged) - set(self.gold))
            extra = sorted(set(self.gold) - set(judged))
            raise ValueError(
                f"gold must label exactly the judged lines; missing {missing}, not judged {extra}"
            )
        return self


class Sample(_View):
    """A sample as admins see it, honeypot flag included."""

    id: str
    problem_id: str
    code: str
    lines: list[CodeLine]
    meta: GenerationMeta
    is_honeypot: bool
    created_at: datetime | None = None
    author_id: int | None = None
    archived: bool = False
    """Archived by an admin: never served or exported; its votes stay in the history."""


class Task(_View):
    """A sample served to an annotator: nothing that tells a honeypot apart.

    No honeypot flag, no gold, no other annotator's votes; the shape and the timing
    are the same for every sample.
    """

    sample_id: str
    problem: ProblemView
    lines: list[CodeLine]
    served_at: datetime

    @property
    def judged_numbers(self) -> list[int]:
        return [line.number for line in self.lines if line.judged]


class MachineTask(_View):
    """A sample served to a machine annotator: like :class:`Task`, plus the problem's
    tests and entry point. No honeypot flag, no gold, no other annotator's votes."""

    sample_id: str
    problem: MachineProblemView
    code: str
    lines: list[CodeLine]
    served_at: datetime

    @property
    def judged_numbers(self) -> list[int]:
        return [line.number for line in self.lines if line.judged]


# --------------------------------------------------------------------- submissions


class LineLabel(_Wire):
    line: Annotated[WireInt, Field(ge=1)]
    label: WireLabel
    comment: Annotated[str | None, Field(max_length=MAX_COMMENT_CHARS)] = None


class Submission(_Wire):
    """One annotator's label for every judged line of one sample.

    ``submission_id`` is generated by the client once, when the annotator presses
    submit; retrying with the same id after a network error changes nothing on the
    server. A later submission (new id) for the same sample replaces the earlier one;
    the server keeps the history.
    """

    submission_id: UUID
    sample_id: Annotated[str, Field(min_length=1, max_length=200)]
    labels: Annotated[list[LineLabel], Field(min_length=1)]
    duration_ms: Annotated[WireInt, Field(ge=0)] | None = None
    """Time the annotator spent on the sample; used to spot lazy submitters."""

    @field_validator("labels")
    @classmethod
    def _no_duplicate_lines(cls, labels: list[LineLabel]) -> list[LineLabel]:
        # A field validator (not a model one) so the error names the field: `labels`.
        seen: set[int] = set()
        for item in labels:
            if item.line in seen:
                raise ValueError(f"line {item.line} is labelled twice")
            seen.add(item.line)
        return labels

    @classmethod
    def from_marks(
        cls,
        submission_id: UUID,
        task: Task,
        wrong: set[int] | frozenset[int],
        comments: dict[int, str] | None = None,
        duration_ms: int | None = None,
    ) -> Submission:
        """Build a full submission from the lines an annotator flagged: unmarked = correct."""
        comments = comments or {}
        labels = [
            LineLabel(
                line=n,
                label=Label.WRONG if n in wrong else Label.CORRECT,
                comment=comments.get(n),
            )
            for n in task.judged_numbers
        ]
        return cls(
            submission_id=submission_id,
            sample_id=task.sample_id,
            labels=labels,
            duration_ms=duration_ms,
        )


class MachineSubmission(Submission):
    """A machine annotator's votes on one sample: any subset of its judged lines.

    A line left out is an abstention (no vote, not a +1); an empty ``labels`` records
    that the machine looked at the sample and abstained on all of it, so it is not
    served to that machine again. ``note`` says why in one line (a timeout, a crash).
    """

    labels: Annotated[list[LineLabel], Field(max_length=10_000)]
    note: Annotated[str | None, Field(max_length=500)] = None


class SubmissionBatch(_Wire):
    submissions: Annotated[list[Submission], Field(min_length=1, max_length=MAX_BATCH_SUBMISSIONS)]


class SubmissionReceipt(_View):
    submission_id: UUID
    sample_id: str
    revision: int
    """1 for the first submission of this annotator on this sample, 2 for the next..."""
    replayed: bool
    """True when this id had already been accepted: nothing changed."""


class BatchReceipt(_View):
    receipts: list[SubmissionReceipt]


class OwnSubmission(_View):
    """The caller's current submission of a sample: what an editor shows on reopening it."""

    sample_id: str
    submission_id: UUID
    revision: int
    submitted_at: datetime
    labels: list[LineLabel]


# ----------------------------------------------------------------------- annotators


class AnnotatorIn(_Wire):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role = Role.ANNOTATOR
    kind: AnnotatorKind = AnnotatorKind.HUMAN
    checker: Annotated[str | None, Field(min_length=1, max_length=100)] = None
    """A machine's checker (``tests``, ``static``...); required for machines only."""
    checker_version: Annotated[str | None, Field(min_length=1, max_length=100)] = None

    @model_validator(mode="after")
    def _machine_fields(self) -> AnnotatorIn:
        if self.kind is AnnotatorKind.MACHINE:
            if self.checker is None:
                raise ValueError("a machine annotator needs a checker name")
            if self.role is not Role.ANNOTATOR:
                raise ValueError("a machine annotator cannot be an admin")
        elif self.checker is not None or self.checker_version is not None:
            raise ValueError("only machine annotators have a checker")
        return self


class Annotator(_View):
    id: int
    name: str
    role: Role
    active: bool
    reliability: float
    created_at: datetime | None = None
    kind: AnnotatorKind = AnnotatorKind.HUMAN
    checker: str | None = None
    checker_version: str | None = None


class AnnotatorCreated(_View):
    """Returned once, at creation: the only time the token is ever shown."""

    annotator: Annotator
    token: str


class AnnotatorStats(_View):
    annotator_id: int
    name: str
    samples_done: int
    votes: int
    agreement: float | None
    """Share of this annotator's votes that agree with the current consensus label, on lines
    another annotator also voted on (None until there is such a line: alone, one would
    agree with oneself)."""
    reliability: float
    samples_today: int = 0
    tasks_left: int | None = None
    """Tasks the server could still serve this annotator now, open ones included (an upper
    bound: other annotators may fill a sample's slots first). None from older servers."""


# ------------------------------------------------------------------------ consensus


class LineConsensus(_View):
    sample_id: str
    line: int
    posterior: float
    """P(line correct | votes), eq. 7."""
    n_votes: int
    n_correct: int
    n_wrong: int
    comments: list[str] = Field(default_factory=list)
    """Annotators' comments on this line (current submissions). Filled for admins only
    (``crlhf admin consensus``); an annotator's own view leaves it empty, so comments
    never sway a later vote."""
    n_machine_votes: int = 0
    """How many of ``n_votes`` came from machine annotators (checkers, not people): the
    posterior includes them, and a client showing "the crowd" says so."""

    @property
    def label(self) -> Label:
        return Label.CORRECT if self.posterior >= 0.5 else Label.WRONG


class SampleReward(_View):
    sample_id: str
    problem_id: str
    reward: float | None
    """s = c / k; None when no annotator has judged the sample yet."""
    correct_lines: int
    judged_lines: int
    n_votes: int
    n_annotators: int


# ------------------------------------------------------------------------- errors


class ErrorDetail(_View):
    field: str | None = None
    message: str


class ErrorBody(_View):
    """Every 4xx/5xx answer of the server has this shape."""

    code: str
    """Stable machine-readable name; see :mod:`crlhf.errors`."""
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class Health(_View):
    status: Literal["ok"] = "ok"
    version: str


# -------------------------------------------------------------- admin (server issue)


class ImportResult(_View):
    """What a bulk import of problems or samples did; ``ids`` in the order received."""

    created: int
    unchanged: int
    updated: int = 0
    ids: list[str] = Field(default_factory=list)


class ReliabilitySnapshot(_View):
    """One point of an annotator's reliability history (after a submission or a refit)."""

    annotator_id: int
    reliability: float
    source: str
    """``submission`` (incremental update) or ``refit:<estimator>``."""
    submission_id: UUID | None = None
    created_at: datetime


class RefitRequest(_Wire):
    estimator: str | None = None
    """A name of ``crlhf.engine.estimators``; None = the engine's default."""
    options: dict[str, bool | DbInt | float | str] = Field(default_factory=dict)


class RefitResult(_View):
    """What a full refit fitted, and what it changed in what annotators and exports see."""

    estimator: str
    n_votes: int
    n_lines: int
    n_samples: int
    n_annotators: int
    class_prior_before: float | None = None
    """p0 the incremental path used before the refit (None: the configured prior)."""
    class_prior_after: float | None = None
    """p0 the refit learnt and stored (None: it learns none; the configured prior holds)."""
    rewards_changed: int = 0
    """Samples whose reward or line posteriors the refit changed."""
    max_reward_change: float = 0.0
    """Largest |Δ reward| over those samples (a reward appearing or vanishing counts 1)."""
    reliabilities_changed: int = 0
    """Annotators whose shown reliability changed (each got a reliability-history row)."""
    max_reliability_change: float = 0.0
    """Largest |Δ shown reliability| over those annotators."""


EXPORT_SCHEMA_VERSION = 3
"""Version of :class:`ExportRow`. 1: no ``schema_version`` field (read as 1), no comments.
2: ``schema_version`` and ``comments``. 3: ``line_posteriors``."""

EXPORT_SCHEMA_HEADER = "X-Crlhf-Export-Schema"
"""Response header of ``GET /v1/admin/export``: the rows' schema version."""
REFIT_HEADER = "X-Crlhf-Refit"
"""Response header of ``GET /v1/admin/export``: the refit's RefitResult as JSON (absent
with ``refit=false``)."""


class ExportPosterior(_View):
    """The refit's P(correct) of one judged line of an exported sample."""

    line: int
    posterior: float


class ExportComment(_View):
    """An annotator's comment on one line of an exported sample (who wrote it is left out)."""

    line: int
    text: str


class ExportRow(_View):
    """One (x, y, s) triple of the training set S; honeypots are never exported."""

    sample_id: str
    problem_id: str
    problem_title: str
    prompt: str
    """The problem's natural-language description, x."""
    code: str
    """The sample, y."""
    reward: float
    """s = c / k after a full refit."""
    correct_lines: int
    judged_lines: int
    n_votes: int
    """Line votes behind the reward: one per judged line per annotator."""
    n_annotators: int
    """Annotators whose current submission is behind the reward."""
    meta: GenerationMeta
    comments: list[ExportComment] = Field(default_factory=list)
    """Annotators' comments on the sample's lines, by line (schema 2)."""
    line_posteriors: list[ExportPosterior] | None = None
    """P(line correct) of every judged line after the refit, by line (schema 3; None in
    older rows): what ``reward_mode=line`` rounds place per line. A list like
    ``comments``, so a Hugging Face dataset of the rows has one column type."""
    schema_version: int = 1
    """:data:`EXPORT_SCHEMA_VERSION` of the server that wrote the row (absent: 1)."""


class RoundStatus(StrEnum):
    """requested -> running -> succeeded | failed; cancelled from requested or running."""

    REQUESTED = "requested"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TrainingRoundIn(_Wire):
    params: dict[str, bool | DbInt | float | str | None] = Field(default_factory=dict)
    """Free-form round settings for the worker (algorithm, epochs, min votes...)."""
    note: Annotated[str | None, Field(max_length=2_000)] = None


class RoundTransition(_Wire):
    status: RoundStatus
    message: Annotated[str | None, Field(max_length=10_000)] = None
    adapter_version: Annotated[str | None, Field(max_length=200)] = None
    metrics: dict[str, bool | DbInt | float | str | None] | None = None


class RoundRegistration(_Wire):
    """A round trained outside the server's view (``crlhf train-round --data --register``),
    recorded as succeeded in one step, so no worker can claim it meanwhile."""

    adapter_version: Annotated[str, Field(min_length=1, max_length=200)]
    params: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    metrics: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    note: Annotated[str | None, Field(max_length=2_000)] = None
    message: Annotated[str | None, Field(max_length=10_000)] = None


class BenchmarkResultIn(_Wire):
    """pass@k of one benchmark run, posted by ``crlhf bench --server`` (see docs/server.md).

    ``round`` is the training round whose policy was measured; None is the baseline (the
    model before any round), so admins can read before/after per round. ``run_id`` names
    the run: posting the same run id again replaces its result (a resumed run).
    """

    suite: Annotated[str, Field(min_length=1, max_length=100)]
    model: Annotated[str | None, Field(max_length=500)] = None
    adapter_version: Annotated[str | None, Field(max_length=200)] = None
    round: Annotated[WireInt, Field(ge=1)] | None = None
    run_id: Annotated[str, Field(min_length=1, max_length=200)]
    n: Annotated[WireInt, Field(ge=1)]
    """Samples generated per problem."""
    temperature: Annotated[float | None, Field(ge=0.0)] = None
    pass_at_k: Annotated[
        dict[Annotated[DbInt, Field(ge=1)], Annotated[float, Field(ge=0.0, le=1.0)]],
        Field(min_length=1),
    ]
    """k -> pass@k (mean over problems), for each k <= n."""
    n_problems: Annotated[WireInt, Field(ge=1)]


class BenchmarkResult(_View):
    id: int
    suite: str
    model: str | None = None
    adapter_version: str | None = None
    round: int | None = None
    run_id: str
    n: int
    temperature: float | None = None
    pass_at_k: dict[int, float]
    n_problems: int
    created_at: datetime


class RoundProgress(_Wire):
    """Where a running round is, as its worker last reported it (``crlhf worker``)."""

    stage: Annotated[str, Field(min_length=1, max_length=100)]
    """``loading``, ``training``, ``saving``, ``generating``, ``benchmarking``, ``pushing``."""
    step: Annotated[WireInt, Field(ge=0)] | None = None
    """Units of the stage done (PPO steps, problems)."""
    steps: Annotated[WireInt, Field(ge=0)] | None = None
    """Units the stage has in all (None: not known)."""
    detail: Annotated[str | None, Field(max_length=1_000)] = None


class TrainingRound(_View):
    id: int
    status: RoundStatus
    params: dict[str, float | int | str | bool | None]
    note: str | None = None
    message: str | None = None
    adapter_version: str | None = None
    metrics: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    worker: str | None = None
    """The worker that claimed the round (None: not claimed, or moved by ``train-round``)."""
    lease_s: float | None = None
    """Seconds without a heartbeat after which the server fails the claimed round."""
    heartbeat_at: datetime | None = None
    progress: RoundProgress | None = None
    """The worker's last report (None: nothing reported yet)."""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    """When the round reached a final state (succeeded, failed, cancelled)."""
    benchmarks: list[BenchmarkResult] | None = None
    """The round's benchmark results, in ``GET /v1/admin/rounds/{id}`` only (None in lists)."""


class RoundClaim(_Wire):
    """A worker asks for the oldest requested round (``POST /v1/admin/rounds/claim``)."""

    worker: Annotated[str, Field(min_length=1, max_length=200)]
    lease_s: Annotated[float, Field(ge=1.0, le=3600.0)]
    """The worker promises a heartbeat at least this often; past it the round fails."""


class RoundHeartbeat(_Wire):
    """A worker's sign of life with its progress; the answer tells it about a cancel."""

    worker: Annotated[str, Field(min_length=1, max_length=200)]
    progress: RoundProgress


class CurrentAdapter(_View):
    """The adapter new samples should come from: the latest succeeded round's version.

    ``version`` None is the base model (no round has succeeded yet). A failed, killed or
    cancelled round never changes it, so "the previous adapter stays current".
    """

    version: str | None = None
    round_id: int | None = None
    since: datetime | None = None
    """When that round finished."""
    pinned: bool = False
    """Set by an admin (``crlhf admin adapters set`` or ``rollback``) rather than by the
    latest succeeded round; the next succeeded round becomes current again."""


class AdapterVersion(_View):
    """A version a succeeded round produced (``crlhf admin adapters list``)."""

    version: str
    round_id: int
    finished_at: datetime | None = None
    current: bool = False


class AdapterSelect(_Wire):
    """Make a produced version current (``POST /v1/admin/adapters/current``)."""

    version: Annotated[str | None, Field(max_length=200)]
    """A version some succeeded round produced; None is the base model."""


# ------------------------------------------------------ quality control (issue 8)


class QualityActionKind(StrEnum):
    PAUSE = "pause"
    REINSTATE = "reinstate"


class QualityAction(_View):
    """One entry of the action log: who was paused or reinstated, by whom, and why."""

    id: int
    annotator_id: int
    action: QualityActionKind
    reason: str
    actor: str
    """``policy`` for automatic actions, ``admin:<name>`` for an admin's."""
    created_at: datetime


class AnnotatorQuality(_View):
    """An annotator as the quality policy sees them (admin view)."""

    annotator_id: int
    name: str
    action: Literal["none", "downweight", "pause"]
    """What the policy says now (``pause`` for an annotator already paused)."""
    reason: str
    balanced_accuracy: float
    """(sensitivity + specificity) / 2 on gold lines since the last reinstatement
    (Beta posterior means)."""
    gold_lines: int
    submissions: int
    empty_share: float | None
    """Share of submissions with no line marked wrong."""
    crowd_empty_share: float | None
    fast_share: float | None
    """Share of timed submissions faster than the reading floor."""
    lazy: bool
    paused: bool
    pause_reason: str | None = None
    paused_at: datetime | None = None


class PairwiseAgreement(_View):
    annotator_id: int
    name: str
    agreement: float | None
    """Share of pairs (this annotator's vote, another's vote on the same line) that agree."""


class AgreementReport(_View):
    """Chance-corrected agreement of the current votes in a scope (all, a problem, a round)."""

    problem_id: str | None = None
    round: int | None = None
    n_lines: int
    n_votes: int
    krippendorff_alpha: float | None
    """Nominal α over lines with at least two votes; None when undefined."""
    fleiss_kappa: float | None
    pairwise: list[PairwiseAgreement] = Field(default_factory=list)


class WebhookEvent(StrEnum):
    SUBMISSION_ACCEPTED = "submission.accepted"
    SAMPLE_CONFIDENT = "sample.confident"
    """Every judged line of a sample reached the target confidence (either way)."""
    ANNOTATOR_PAUSED = "annotator.paused"
    ROUND_CHANGED = "round.changed"
    BENCHMARK_FINISHED = "benchmark.finished"


class WebhookIn(_Wire):
    url: Annotated[str, Field(min_length=8, max_length=2_000, pattern=r"^https?://")]
    secret: Annotated[str, Field(min_length=16, max_length=200)]
    """Shared secret of the HMAC-SHA256 signature (see :mod:`crlhf.webhooks`)."""
    events: list[WebhookEvent] = Field(default_factory=list)
    """Events to deliver; empty = all."""


class Webhook(_View):
    """A registered webhook; the secret is never sent back."""

    id: int
    url: str
    events: list[WebhookEvent]
    active: bool
    created_at: datetime


class WebhookDelivery(_View):
    """One delivery attempt (the log keeps every attempt)."""

    id: int
    webhook_id: int
    event: WebhookEvent
    delivery_id: str
    """The same for every attempt of one delivery (receivers deduplicate on it)."""
    attempt: int
    status_code: int | None = None
    error: str | None = None
    delivered: bool
    created_at: datetime


class ProvenanceVote(_View):
    annotator_id: int
    line: int
    label: Label
    submission_id: UUID
    revision: int
    comment: str | None = None
    """The annotator's comment on this line, if any."""
    machine: bool = False
    """Cast by a machine annotator (a checker), not a person."""


class AnnotatorWeight(_View):
    """An annotator's reliability at a point in time and the weight it gave their votes."""

    annotator_id: int
    name: str
    reliability: float
    """The latest reliability snapshot at that time (ν when there was none yet)."""
    weight: float
    """logit(reliability): the weight of a vote in eq. 7."""
    votes: int
    kind: AnnotatorKind = AnnotatorKind.HUMAN
    """A machine annotator's votes are a checker's, not a person's."""


class SampleProvenance(_View):
    """Where a sample's reward came from, as it stood at ``as_of``."""

    sample_id: str
    as_of: datetime
    reward: float | None
    correct_lines: int
    judged_lines: int
    posteriors: dict[int, float]
    source: str | None
    """What computed the reward: ``submission``, ``refit:<estimator>`` or ``import``."""
    votes: list[ProvenanceVote]
    annotators: list[AnnotatorWeight]


class ProvenanceSample(_View):
    sample_id: str
    reward: float
    n_votes: int
    n_annotators: int


class RoundProvenance(_View):
    """The training data a round saw: rewarded non-honeypot samples, their votes and the
    annotators behind them with their weights, as of when the round was requested."""

    round_id: int
    as_of: datetime
    n_votes: int
    samples: list[ProvenanceSample]
    annotators: list[AnnotatorWeight]
