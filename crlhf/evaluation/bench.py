"""The pass@k benchmark: generate n completions per problem, execute them, summarise.

Two resumable phases over one :class:`~crlhf.evaluation.runstore.RunStore`: completions
are generated for the problems that lack n of them, then executed for the problems that
lack results. A killed run started again with the same run id redoes at most the problem
it was in the middle of. pass@k is the unbiased estimator of :mod:`crlhf.passk`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from tqdm import tqdm

from crlhf.errors import InvalidInput
from crlhf.evaluation.problems import BenchProblem
from crlhf.evaluation.runstore import RunStore
from crlhf.passk import mean_pass_at_k
from crlhf.sandbox import Executor, SampleResult
from crlhf.schemas import GenerationMeta

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completion:
    """One generated continuation of a problem's prompt, with where it came from."""

    text: str
    meta: GenerationMeta = field(default_factory=GenerationMeta)


class Completer(Protocol):
    """Produces ``n`` completions for each problem, yielding problem by problem."""

    def __call__(
        self, problems: Sequence[BenchProblem], n: int
    ) -> Iterator[tuple[BenchProblem, list[Completion]]]: ...


def reference_completer(
    problems: Sequence[BenchProblem], n: int
) -> Iterator[tuple[BenchProblem, list[Completion]]]:
    """The known-good solution n times: checks the suite and the executor, not a model."""
    for problem in problems:
        yield problem, [Completion(problem.reference, GenerationMeta(model="reference"))] * n


@dataclass(frozen=True)
class BenchConfig:
    """What a run measures; a run id is bound to one config for its whole life."""

    suite: str
    n: int
    ks: tuple[int, ...]
    model: str | None = None
    adapter: str | None = None
    round: int | None = None
    temperature: float | None = None
    max_new_tokens: int | None = None
    seed: int | None = None
    limit: int | None = None
    """Only the first ``limit`` problems (smoke runs)."""
    prompt_style: str | None = None
    """``completion`` or ``chat`` (the model's prompts; chat completions are extracted code)."""

    def __post_init__(self) -> None:
        if self.n < 1:
            raise InvalidInput("need at least one sample per problem", field="n")
        if not self.ks or min(self.ks) < 1:
            raise InvalidInput("k values must be positive integers", field="k")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ks"] = list(self.ks)
        return data


def _generate(
    problems: Sequence[BenchProblem],
    completer: Completer,
    store: RunStore,
    n: int,
    progress: bool,
) -> None:
    done = store.completions()
    todo = [p for p in problems if len(done.get(p.task_id, {})) < n]
    if not todo:
        return
    logger.info("generating %d completions for %d problems", n * len(todo), len(todo))
    with tqdm(total=len(todo), desc="generate", unit="problem", disable=not progress) as bar:
        for problem, completions in completer(todo, n):
            if len(completions) != n:
                raise InvalidInput(f"completer gave {len(completions)} of {n}", field="n")
            store.append_completions(
                {
                    "task_id": problem.task_id,
                    "index": i,
                    "completion": c.text,
                    "meta": c.meta.model_dump(exclude_none=True),
                }
                for i, c in enumerate(completions)
            )
            bar.update()


def _execute(
    problems: Sequence[BenchProblem], executor: Executor, store: RunStore, n: int, progress: bool
) -> None:
    completions = store.completions()
    done = store.results()
    todo = [p for p in problems if p.not_run is None and len(done.get(p.task_id, {})) < n]
    if not todo:
        return
    programs = [
        [
            p.program(
                completions[p.task_id][i]["completion"],
                standalone=completions[p.task_id][i].get("meta", {}).get("prompt_style") == "chat",
            )
            for i in range(n)
        ]
        for p in todo
    ]
    logger.info("executing %d samples of %d problems", n * len(todo), len(todo))
    with tqdm(total=len(todo) * n, desc="execute", unit="sample", disable=not progress) as bar:

        def save(index: int, results: list[SampleResult]) -> None:
            store.append_results(
                {
                    "task_id": todo[index].task_id,
                    "index": r.index,
                    "outcome": r.outcome.value,
                    "message": r.message,
                    "duration_s": r.duration_s,
                }
                for r in results
            )
            bar.update(len(results))

        executor.run_many(programs, on_done=save)


def summarise(
    problems: Sequence[BenchProblem], store: RunStore, config: BenchConfig
) -> dict[str, Any]:
    """pass@k (mean over the executed problems) and outcome counts from the stored results.

    A problem without tests, or not in Python, is never executed: it is listed under
    ``not_run`` with the reason and left out of pass@k (it neither passes nor fails).
    """
    results = store.results()
    not_run = [{"task_id": p.task_id, "reason": p.not_run} for p in problems if p.not_run]
    problems = [p for p in problems if p.not_run is None]
    rows = [results.get(p.task_id, {}) for p in problems]
    passed = [sum(r["outcome"] == "passed" for r in row.values()) for row in rows]
    counts = Counter(r["outcome"] for row in rows for r in row.values())
    usable = [k for k in config.ks if k <= config.n]
    for k in sorted(set(config.ks) - set(usable)):
        logger.warning("pass@%d needs n >= %d samples per problem; skipped (n=%d)", k, k, config.n)
    pass_at = {str(k): mean_pass_at_k(config.n, passed, k) for k in usable} if problems else {}
    for entry in not_run:
        logger.warning(
            "%s: not executed (%s), left out of pass@k", entry["task_id"], entry["reason"]
        )
    return {
        "run_id": store.run_id,
        "config": config.to_dict(),
        "pass_at_k": pass_at,
        "n_problems": len(problems),
        "not_run": not_run,
        "outcomes": dict(sorted(counts.items())),
        "per_problem": [
            {"task_id": p.task_id, "n": config.n, "passed": c}
            for p, c in zip(problems, passed, strict=True)
        ],
        "finished_at": datetime.now(UTC).isoformat(),
    }


def run_bench(
    problems: Sequence[BenchProblem],
    completer: Completer,
    executor: Executor,
    store: RunStore,
    config: BenchConfig,
    *,
    progress: bool = True,
) -> dict[str, Any]:
    """Generate, execute and summarise; safe to call again on a killed run.

    ``progress`` draws tqdm bars; callers pass it explicitly because tqdm reads
    ``TQDM_DISABLE`` once, at import, which is too early for a command-line flag.
    """
    chosen = list(problems[: config.limit] if config.limit else problems)
    store.open(config.to_dict())
    _generate(chosen, completer, store, config.n, progress)
    _execute(chosen, executor, store, config.n, progress)
    summary = summarise(chosen, store, config)
    if executor.isolation is not None:
        summary["isolation"] = asdict(executor.isolation)
    store.write_summary(summary)
    logger.info("run %s: pass@k %s", store.run_id, summary["pass_at_k"])
    return summary
