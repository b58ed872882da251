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

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_COMMENT_CHARS = 500
MAX_CODE_CHARS = 100_000
MAX_BATCH_SUBMISSIONS = 500


class Label(IntEnum):
    """One annotator's judgement of one line: the papers' ε ∈ {+1, -1}."""

    CORRECT = 1
    WRONG = -1


class Role(StrEnum):
    ANNOTATOR = "annotator"
    ADMIN = "admin"


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


class ProblemIn(_Wire):
    """A problem x as an admin imports it. Tests and reference stay on the server."""

    id: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:/-]+$")]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    description: Annotated[str, Field(min_length=1, max_length=20_000)]
    entry_point: str | None = None
    tests: str | None = None
    """Python test code (asserts) run by the sandboxed executor; never shown to annotators."""
    reference_solution: str | None = None


class Problem(_View):
    """A problem as admins see it."""

    id: str
    title: str
    description: str
    entry_point: str | None = None
    tests: str | None = None
    reference_solution: str | None = None
    created_at: datetime | None = None


class ProblemView(_View):
    """What an annotator may see of a problem."""

    id: str
    title: str
    description: str


# ------------------------------------------------------------------------- samples


class GenerationMeta(_View):
    """Where a sample came from: enough to reproduce it and to tie it to a round."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    adapter_version: str | None = None
    round: int | None = None
    temperature: float | None = None
    seed: int | None = None
    prompt_token_ids: list[int] | None = None
    response_token_ids: list[int] | None = None
    response_logprobs: list[float] | None = None
    """Token ids and sampling log-probs, stored at generation time for PPO: decoding and
    re-encoding does not reproduce the tokens."""


class SampleIn(_Wire):
    """A sample y as an admin imports it (or the generator pushes it).

    ``gold`` makes it a honeypot: the true label of every judged line, keyed by line
    number. It is stored server-side and never returned to an annotator.
    """

    id: Annotated[str | None, Field(max_length=200, pattern=r"^[A-Za-z0-9_.:/-]+$")] = None
    problem_id: str
    code: Annotated[str, Field(min_length=1, max_length=MAX_CODE_CHARS)]
    meta: GenerationMeta = Field(default_factory=GenerationMeta)
    gold: dict[int, Label] | None = None

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


# --------------------------------------------------------------------- submissions


class LineLabel(_Wire):
    line: Annotated[int, Field(ge=1)]
    label: Label
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
    duration_ms: Annotated[int | None, Field(ge=0)] = None
    """Time the annotator spent on the sample; used to spot lazy submitters."""

    @model_validator(mode="after")
    def _no_duplicate_lines(self) -> Submission:
        seen: set[int] = set()
        for item in self.labels:
            if item.line in seen:
                raise ValueError(f"line {item.line} is labelled twice")
            seen.add(item.line)
        return self

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


# ----------------------------------------------------------------------- annotators


class AnnotatorIn(_Wire):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    role: Role = Role.ANNOTATOR


class Annotator(_View):
    id: int
    name: str
    role: Role
    active: bool
    reliability: float
    created_at: datetime | None = None


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
    """Share of this annotator's votes that agree with the current consensus label."""
    reliability: float
    samples_today: int = 0


class Vote(_View):
    annotator_id: int
    sample_id: str
    line: int
    label: Label


# ------------------------------------------------------------------------ consensus


class LineConsensus(_View):
    sample_id: str
    line: int
    posterior: float
    """P(line correct | votes), eq. 7."""
    n_votes: int
    n_correct: int
    n_wrong: int

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
