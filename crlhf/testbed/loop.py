"""Algorithm 1 in one process: sample → crowd votes → rewards → PPO round → repeat.

The testbed's loop without the server (the end-to-end demo drives the same steps through
the API). Each round samples the current policy on training problems, lets the simulated
crowd (:mod:`crlhf.testbed.crowd`) judge the samples' lines from their true labels, trains
one PPO round on the resulting (x, y, s) triples, and measures held-out pass@1 before the
next round. ``control=True`` shuffles the rewards across samples: the same numbers, no
information, so a control run must not improve. Each row carries its lines' posteriors, so
``config.ppo.reward_mode = "line"`` trains on dense per-line rewards like a server round.

pass@1 here is *exact*: a completion passes when each of its lines is a correct form of
its slot and none is missing or extra. By construction such a body passes the unit tests
(``tests/crlhf/testbed/test_problems.py``) and a body with a kept bug fails them; a model
could in principle write an unseen equivalent line, which exact pass@1 would count as a
failure, so it is a lower bound of the sandbox's pass@1.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from crlhf.engine.reward import SampleRewards
from crlhf.errors import InvalidInput
from crlhf.schemas import ExportPosterior, ExportRow, judged_line_numbers
from crlhf.testbed.crowd import CrowdSpec, judge, judge_machines_only, oracle, shuffled
from crlhf.testbed.machine_votes import checker_votes
from crlhf.testbed.problems import Instance
from crlhf.training.config import PPOConfig
from crlhf.training.round import run_round

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopConfig:
    rounds: int = 5
    train_samples_per_problem: int = 2
    eval_samples_per_problem: int = 4
    max_new_tokens: int = 64
    temperature: float = 0.8
    crowd: CrowdSpec | None = field(default_factory=CrowdSpec.competent)
    """None: the oracle (rewards = the true share of correct lines, no crowd noise), or
    with ``machines`` the checkers alone."""
    machines: bool = False
    """The built-in checkers (``tests``, ``static``) vote on every sample too, weighed as
    the server weighs machine annotators."""
    control: bool = False
    ppo: PPOConfig = field(default_factory=PPOConfig)
    seed: int = 0


def exact_pass(instance: Instance, completion: str) -> bool:
    truth = instance.line_truth(completion)
    return len(truth) == len(instance.template.slots) and all(truth)


def _sample(
    base: Path,
    adapter: Path | None,
    problems: Sequence[Instance],
    *,
    n: int,
    seed: int,
    config: LoopConfig,
) -> list[tuple[Instance, Any]]:
    from crlhf.generation.generate import GenerationSettings, Generator, load_model

    model, tokenizer = load_model(str(base), str(adapter) if adapter else None, torch.device("cpu"))
    settings = GenerationSettings(
        temperature=config.temperature,
        max_new_tokens=config.max_new_tokens,
        batch_size=64,
        seed=seed,
    )
    generator = Generator(model, tokenizer, settings, progress=False)
    by_id = {p.task_id: p for p in problems}
    return [
        (by_id[problem.task_id], completion)
        for problem, completions in generator([p.to_bench() for p in problems], n)
        for completion in completions
    ]


def _line_posteriors(
    samples: Sequence[tuple[Instance, Any]], crowd: SampleRewards
) -> list[list[ExportPosterior] | None]:
    """Per sample, its judged lines' posteriors by line number (as the server exports)."""
    if crowd.line_posterior is None:
        return [None] * len(samples)
    out: list[list[ExportPosterior] | None] = []
    start = 0
    for _, completion in samples:
        numbers = judged_line_numbers(completion.text)
        values = crowd.line_posterior[start : start + len(numbers)]
        out.append(
            [
                ExportPosterior(line=n, posterior=float(q))
                for n, q in zip(numbers, values, strict=True)
            ]
        )
        start += len(numbers)
    return out


def _rows(
    samples: Sequence[tuple[Instance, Any]],
    rewards: Sequence[float],
    crowd: SampleRewards,
    tag: str,
) -> list[ExportRow]:
    posteriors = _line_posteriors(samples, crowd)
    return [
        ExportRow(
            sample_id=f"{tag}-{i}",
            problem_id=instance.task_id,
            problem_title=instance.template.key,
            prompt=instance.prompt,
            code=completion.text,
            reward=rewards[i],
            correct_lines=int(crowd.correct_lines[i]),
            judged_lines=int(crowd.judged_lines[i]),
            n_votes=int(crowd.n_votes[i]),
            n_annotators=int(crowd.n_annotators[i]),
            meta=completion.meta,
            line_posteriors=posteriors[i],
        )
        for i, (instance, completion) in enumerate(samples)
    ]


def run_loop(
    base: Path,
    out_dir: Path,
    *,
    train: Sequence[Instance],
    heldout: Sequence[Instance],
    honeypots: Sequence[Sequence[bool]],
    config: LoopConfig,
) -> list[dict[str, float]]:
    """Run ``config.rounds`` rounds; one record per round (pass@1 measured before it) and
    a last record after the final round."""
    if config.control and config.ppo.reward_mode == "line":
        raise InvalidInput(
            "the shuffled control moves sample rewards, not line posteriors: run it in "
            "reward_mode=sample",
            field="reward_mode",
        )
    adapter_dir: Path | None = None
    parent: Path | None = None
    records: list[dict[str, float]] = []
    for number in range(config.rounds + 1):
        started = time.perf_counter()
        round_seed = config.seed * 1000 + number
        held = _sample(
            base,
            adapter_dir,
            heldout,
            n=config.eval_samples_per_problem,
            seed=10_000 + round_seed,
            config=config,
        )
        record = {
            "round": float(number),
            "heldout_pass1": sum(exact_pass(i, c.text) for i, c in held) / len(held),
        }
        if number == config.rounds:
            records.append(record)
            break
        samples = _sample(
            base,
            adapter_dir,
            train,
            n=config.train_samples_per_problem,
            seed=round_seed,
            config=config,
        )
        # A sample without a judged line (an empty body) cannot be voted on: no reward.
        judged = [(i, c) for i, c in samples if i.line_truth(c.text) and c.meta.response_token_ids]
        truths = [i.line_truth(c.text) for i, c in judged]
        machine_votes = checker_votes(judged) if config.machines else []
        if config.crowd is not None:
            crowd = judge(
                truths, honeypots, replace(config.crowd, seed=round_seed), machines=machine_votes
            )
        elif config.machines:
            crowd = judge_machines_only(truths, machine_votes)
        else:
            crowd = oracle(truths)
        human_votes = config.crowd.overlap * sum(map(len, truths)) if config.crowd else 0
        rewards = [float(r) for r in crowd.reward]
        if config.control:
            rewards = shuffled(rewards, seed=round_seed)
        rows = _rows(judged, rewards, crowd, f"r{number}")
        result = run_round(
            rows,
            base_model=base,
            out_root=out_dir,
            version=f"v{number + 1:04d}",
            config=config.ppo.model_copy(update={"seed": round_seed}),
            parent=parent,
            round_id=number,
        )
        parent, adapter_dir = result.directory, result.directory / "adapter"
        metrics = result.manifest.metrics
        record.update(
            train_pass1=sum(exact_pass(i, c.text) for i, c in samples) / len(samples),
            reward_mean=sum(rewards) / len(rewards),
            true_line_share=sum(sum(t) / len(t) for t in truths) / len(truths),
            human_votes=float(human_votes),
            kl_ref=float(metrics["kl_ref"] or 0.0),
            seconds=time.perf_counter() - started,
        )
        logger.info("round %d: %s", number, record)
        records.append(record)
    return records
