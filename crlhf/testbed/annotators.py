"""Simulated annotators that work through the real API, as a person with the TUI would.

Each :class:`SimulatedAnnotator` has its own account and token on the server, asks for
tasks (``GET /v1/tasks/next``), judges every judged line and submits the labels. It
cannot tell a honeypot from an ordinary sample (the server does not say), and it does not
need to: the testbed knows the true label of any line of any body written for one of its
problems (:meth:`~crlhf.testbed.problems.Instance.line_truth`), and the annotator's vote
on a line is that truth with probability ``reliability`` and its opposite otherwise (the
one-coin model of :mod:`crlhf.testbed.crowd`), drawn from its own seeded generator.

Why through the API and not :func:`crlhf.testbed.crowd.judge`: the demo is meant to
exercise what a deployment runs, routing, honeypot warm-up, the per-sample cap, the
incremental engine and the quality policy included. The server may pause an annotator
whose honeypot accuracy is too low (a spammer); the simulation then stops that annotator
and records the pause, as a real client would show it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from crlhf.client import CrlhfClient
from crlhf.errors import AnnotatorPaused, InvalidInput
from crlhf.schemas import Label, LineLabel, SampleIn, Submission, Task, judged_line_numbers
from crlhf.testbed.crowd import CrowdSpec
from crlhf.testbed.problems import Document, Instance, all_instances

logger = logging.getLogger(__name__)

TASKS_PER_CALL = 10
"""Tasks fetched (and submitted as one batch) per round trip; the server allows 20."""

Truth = Callable[[str, str], list[bool]]
"""(problem id, code) -> the true label of each judged line, in line order."""


def line_truth_lookup(instances: Iterable[Instance] | None = None) -> Truth:
    """Line truth of code written for a testbed problem, looked up by the problem's id."""
    by_id = {i.task_id: i for i in (all_instances() if instances is None else instances)}

    def truth(problem_id: str, code: str) -> list[bool]:
        instance = by_id.get(problem_id)
        if instance is None:
            raise InvalidInput(f"{problem_id!r} is not a testbed problem", field="problem_id")
        return instance.line_truth(code)

    return truth


def honeypot_samples(documents: Sequence[Document], prefix: str = "honeypot") -> list[SampleIn]:
    """Corpus bodies as honeypots: the gold of each judged line is its true label."""
    samples = []
    for number, document in enumerate(documents):
        lines = judged_line_numbers(document.body)
        truth = document.instance.line_truth(document.body)
        samples.append(
            SampleIn(
                id=f"{prefix}:{number}",
                problem_id=document.instance.task_id,
                code=document.body,
                gold={
                    line: Label.CORRECT if right else Label.WRONG
                    for line, right in zip(lines, truth, strict=True)
                },
            )
        )
    return samples


@dataclass
class AnnotatorLog:
    """What one annotator did: every vote it sent, and whether the server paused it."""

    submissions: int = 0
    votes: int = 0
    right_votes: int = 0
    paused: str | None = None
    """The server's reason, once it has paused this annotator."""
    sent: dict[str, dict[int, Label]] = field(default_factory=dict)
    """sample id -> line -> the label submitted (the latest submission wins, as on the server)."""
    truth: dict[str, list[bool]] = field(default_factory=dict)
    """sample id -> the true label of each judged line of the samples it judged."""


class SimulatedAnnotator:
    """One simulated person: an account, a token, a reliability and a seeded coin."""

    def __init__(
        self, name: str, annotator_id: int, token: str, reliability: float, seed: int
    ) -> None:
        if not 0.0 <= reliability <= 1.0:
            raise InvalidInput("must lie in [0, 1]", field="reliability")
        self.name = name
        self.annotator_id = annotator_id
        self.token = token
        self.reliability = reliability
        self.log = AnnotatorLog()
        # Seeded by name as well, so two annotators with one seed vote independently; the
        # generator lives as long as the annotator, so rounds do not replay the same coins.
        self._rng = random.Random(f"{seed}/{name}")

    def judge(self, task: Task, truth: Truth) -> Submission:
        """Labels for every judged line: the truth with probability ``reliability``."""
        lines = task.judged_numbers
        true = truth(task.problem.id, "\n".join(line.text for line in task.lines) + "\n")
        if len(true) != len(lines):
            raise InvalidInput(
                f"sample {task.sample_id}: {len(lines)} judged lines but {len(true)} truths",
                field="sample_id",
            )
        labels = []
        for line, correct in zip(lines, true, strict=True):
            right = self._rng.random() < self.reliability
            says_correct = correct if right else not correct
            labels.append(
                LineLabel(line=line, label=Label.CORRECT if says_correct else Label.WRONG)
            )
        self.log.truth[task.sample_id] = true
        return Submission(
            submission_id=uuid.UUID(int=self._rng.getrandbits(128), version=4),
            sample_id=task.sample_id,
            labels=labels,
        )

    async def work(self, server: str, truth: Truth, *, tasks_per_call: int = TASKS_PER_CALL) -> int:
        """Annotate until the server has no task left for this annotator (or pauses it).

        Returns the number of submissions made in this call.
        """
        if self.log.paused is not None:
            return 0
        done = 0
        async with CrlhfClient(server, self.token) as client:
            while True:
                try:
                    tasks = await client.next_tasks(tasks_per_call)
                    if not tasks:
                        return done
                    submissions = [self.judge(task, truth) for task in tasks]
                    await client.submit_batch(submissions)
                except AnnotatorPaused as exc:
                    self.log.paused = exc.message
                    logger.info("%s was paused by the server: %s", self.name, exc.message)
                    return done
                self._record(submissions)
                done += len(submissions)

    def _record(self, submissions: Sequence[Submission]) -> None:
        for submission in submissions:
            true = self.log.truth[submission.sample_id]
            labels = {item.line: item.label for item in submission.labels}
            self.log.sent[submission.sample_id] = labels
            self.log.submissions += 1
            self.log.votes += len(labels)
            self.log.right_votes += sum(
                (label is Label.CORRECT) == correct
                for label, correct in zip(labels.values(), true, strict=True)
            )


async def create_crowd(
    admin: CrlhfClient, spec: CrowdSpec, *, seed: int = 0, prefix: str = "sim"
) -> list[SimulatedAnnotator]:
    """One server account per reliability of ``spec`` (named by reliability, so spammers
    are easy to spot in ``crlhf admin`` listings)."""
    crowd = []
    for number, reliability in enumerate(spec.reliabilities):
        name = f"{prefix}-{number:02d}-p{round(100 * reliability):02d}"
        created = await admin.create_annotator(name)
        crowd.append(
            SimulatedAnnotator(name, created.annotator.id, created.token, reliability, seed)
        )
    return crowd


async def annotate_all(
    server: str,
    crowd: Sequence[SimulatedAnnotator],
    truth: Truth,
    *,
    tasks_per_call: int = TASKS_PER_CALL,
) -> int:
    """Everyone works concurrently until no one gets a task: every sample has reached the
    server's per-sample cap (``max_annotators_per_sample``) or been seen by everyone still
    active. Returns the submissions made."""
    done = await asyncio.gather(
        *(a.work(server, truth, tasks_per_call=tasks_per_call) for a in crowd)
    )
    return sum(done)
