"""Generated completions as samples for the annotation server: JSONL or a push."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    """The completion as a sample (only what the model wrote: annotators judge that).

    A chat reply whose code extraction found nothing is kept with the whole reply as its
    code (every reply line is then a judged line, and its spans say so): it is the
    policy's failure and should earn a reward like any other sample. None only for a
    reply with no visible character, which has no line anyone could judge.
    """
    meta = completion.meta
    code = completion.text
    if meta.prompt_style == "chat" and not judged_line_numbers(code) and meta.reply:
        code = meta.reply
        spans, start = [], 0
        for line in code.split("\n"):
            spans.append((start, start + len(line)))
            start += len(line) + 1
        meta = meta.model_copy(update={"code_spans": spans})
    if not judged_line_numbers(code):
        return None
    return SampleIn(
        id=f"{problem.task_id}:{tag}:{index}", problem_id=problem.task_id, code=code, meta=meta
    )


@dataclass
class Collected:
    """What a generation run produced, counted the way a user checks it."""

    problems: list[BenchProblem] = field(default_factory=list)
    samples: list[SampleIn] = field(default_factory=list)
    replies: int = 0
    without_code: int = 0
    """Replies in which extraction found no code (kept as samples when not blank)."""
    blank: int = 0
    """Replies with no visible character: counted, not importable (no judged line)."""

    def describe(self) -> str:
        return (
            f"{self.replies} replies for {len(self.problems)} problems: "
            f"{self.replies - self.without_code} with code, {self.without_code} without "
            f"(kept as samples: {self.without_code - self.blank}, blank: {self.blank})"
        )


def collect(generated: Iterable[tuple[BenchProblem, list[Completion]]], tag: str) -> Collected:
    out = Collected()
    for problem, completions in generated:
        out.problems.append(problem)
        for index, completion in enumerate(completions):
            out.replies += 1
            if not judged_line_numbers(completion.text):
                out.without_code += 1
            sample = to_sample(problem, completion, index, tag)
            if sample is None:
                out.blank += 1
            else:
                out.samples.append(sample)
    if out.blank:
        logger.warning("%d blank replies: nothing to annotate, counted as failures", out.blank)
    return out


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
