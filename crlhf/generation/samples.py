"""Generated completions as samples for the annotation server: JSONL or a push."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.evaluation.bench import Completion
from crlhf.evaluation.problems import BenchProblem
from crlhf.schemas import SampleIn, judged_line_numbers

logger = logging.getLogger(__name__)

PUSH_CHUNK = 200


def to_sample(
    problem: BenchProblem, completion: Completion, index: int, tag: str
) -> SampleIn | None:
    """The completion (only the generated part: annotators judge what the model wrote)
    as a sample; None for a blank completion, which has no line to judge."""
    if not judged_line_numbers(completion.text):
        return None
    return SampleIn(
        id=f"{problem.task_id}:{tag}:{index}",
        problem_id=problem.task_id,
        code=completion.text,
        meta=completion.meta,
    )


def collect(
    generated: Iterable[tuple[BenchProblem, list[Completion]]], tag: str
) -> tuple[list[BenchProblem], list[SampleIn]]:
    problems: list[BenchProblem] = []
    samples: list[SampleIn] = []
    blank = 0
    for problem, completions in generated:
        problems.append(problem)
        for index, completion in enumerate(completions):
            sample = to_sample(problem, completion, index, tag)
            if sample is None:
                blank += 1
            else:
                samples.append(sample)
    if blank:
        logger.warning("skipped %d blank completions (nothing to annotate)", blank)
    return problems, samples


def write_jsonl(samples: Sequence[SampleIn], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for sample in samples:
            handle.write(json.dumps(sample.model_dump(mode="json", exclude_none=True)) + "\n")


async def push(
    config: ClientConfig, problems: Sequence[BenchProblem], samples: Sequence[SampleIn]
) -> tuple[int, int]:
    """Import the problems (tests stay server-side), then the samples, in chunks.

    Both imports are idempotent on the server, so pushing again after a failure is safe.
    Returns (samples created, samples already there).
    """
    created = unchanged = 0
    async with CrlhfClient.from_config(config) as client:
        await client.import_problems([p.to_problem_in() for p in problems])
        for start in range(0, len(samples), PUSH_CHUNK):
            result = await client.import_samples(samples[start : start + PUSH_CHUNK])
            created += result.created
            unchanged += result.unchanged
    return created, unchanged
