"""Fixed tasks and stats, and an in-memory server double, for the TUI tests that need no
real server (state, sync and the deterministic snapshots)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from crlhf.errors import SampleNotFound, ServerUnreachable
from crlhf.schemas import (
    AnnotatorStats,
    BatchReceipt,
    Label,
    LineConsensus,
    ProblemView,
    Submission,
    SubmissionReceipt,
    Task,
    split_code,
)

SERVED_AT = datetime(2026, 1, 1, tzinfo=UTC)

CODE = '''def running_max(values: list[int]) -> list[int]:
    """Return the maximum of each prefix of values."""
    result = []
    best = 0

    for value in values:
        if value > best:
            best = value
        result.append(best)
    return result


def mean(values: list[float]) -> float:
    total = 0.0
    for value in values:
        total += value
    return total / len(values) - 1
'''


TESTS = """assert running_max([3, 1, 4]) == [3, 3, 4]
assert running_max([-2, -5]) == [-2, -2]
assert mean([1.0, 3.0]) == 2.0
"""


def make_task(sample_id: str = "s-demo-1", code: str = CODE, tests: str = TESTS) -> Task:
    return Task(
        sample_id=sample_id,
        problem=ProblemView(
            id="p-running-max",
            title="Running maximum",
            description=(
                "Write running_max(values) returning, for each position, the largest "
                "value seen so far. Negative numbers are allowed. Also write mean(values)."
            ),
            tests=tests,
        ),
        lines=split_code(code),
        served_at=SERVED_AT,
    )


STATS = AnnotatorStats(
    annotator_id=7,
    name="ada",
    samples_done=42,
    votes=610,
    agreement=0.87,
    reliability=0.81,
    samples_today=5,
    tasks_left=12,
)


class FakeClient:
    """Serves ``tasks`` like the server does (unsubmitted served tasks first, then new
    ones) and records every batch; ``online = False`` makes every call unreachable."""

    def __init__(self, tasks: Sequence[Task], stats: AnnotatorStats = STATS) -> None:
        self.tasks = list(tasks)
        self.stats_value = stats
        self.online = True
        self.served: list[str] = []
        self.submitted: dict[str, Submission] = {}
        self.batches: list[list[UUID]] = []
        self.skipped: list[str] = []
        self.closed = False
        self.requests = 0
        self.others_wrong: set[int] = set()
        """Lines one other annotator flagged, on every sample (the crowd the consensus shows)."""

    def _check(self) -> None:
        self.requests += 1
        if not self.online:
            raise ServerUnreachable("fake server is down")

    async def next_tasks(self, count: int = 1, /) -> list[Task]:
        self._check()
        open_ids = [s for s in self.served if s not in self.submitted and s not in self.skipped]
        fresh = [t.sample_id for t in self.tasks if t.sample_id not in self.served]
        chosen = (open_ids + fresh)[:count]
        self.served.extend(s for s in chosen if s not in self.served)
        return [t for s in chosen for t in self.tasks if t.sample_id == s]

    async def skip(self, sample_id: str, /) -> None:
        self._check()
        if sample_id not in self.skipped:
            self.skipped.append(sample_id)

    async def stats(self) -> AnnotatorStats:
        self._check()
        return self.stats_value

    async def submit_batch(self, submissions: list[Submission], /) -> BatchReceipt:
        self._check()
        self.batches.append([s.submission_id for s in submissions])
        receipts = []
        for s in submissions:
            replayed = s.sample_id in self.submitted
            self.submitted[s.sample_id] = s
            receipts.append(
                SubmissionReceipt(
                    submission_id=s.submission_id,
                    sample_id=s.sample_id,
                    revision=1,
                    replayed=replayed,
                )
            )
        return BatchReceipt(receipts=receipts)

    async def consensus(self, sample_id: str, /) -> list[LineConsensus]:
        """Each line the latest submission's label, outvoted where ``others_wrong`` says."""
        self._check()
        if sample_id not in self.submitted:
            raise SampleNotFound(f"no submission for {sample_id}")
        mine = self.submitted[sample_id]
        lines = []
        for item in mine.labels:
            other = -1 if item.line in self.others_wrong else 1
            votes = [int(item.label), other]
            wrong = item.line in self.others_wrong or item.label is Label.WRONG
            lines.append(
                LineConsensus(
                    sample_id=sample_id,
                    line=item.line,
                    posterior=0.2 if wrong else 0.9,
                    n_votes=2,
                    n_correct=votes.count(1),
                    n_wrong=votes.count(-1),
                )
            )
        return lines

    async def aclose(self) -> None:
        self.closed = True
