"""One training round: (x, y, s) triples in, a new adapter version out.

The round checks every triple before loading a model (:mod:`crlhf.training.rollout`),
loads the base model with the previous adapter version (or a fresh adapter), runs PPO
steps over the triples in a seeded order, and saves the new version with a manifest that
records the config, seeds, library versions, the generation settings the samples were
drawn with and the metrics. Triples come from an export file (``crlhf admin export``)
or straight from the server
(:func:`crlhf.training.server_round.policy_data`).

Under ``accelerate launch`` (``parallel``, :mod:`crlhf.training.distributed`) every rank
runs this function on the same triples: each computes its share of every step, and only
rank 0 writes the version, which every rank then returns.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from crlhf.errors import Conflict, TokenMismatch
from crlhf.generation.offsets import reply_decoder
from crlhf.generation.precision import DRIFT_TOLERANCE
from crlhf.schemas import ExportRow
from crlhf.training.adapters import (
    AdapterManifest,
    Metric,
    library_versions,
    load_version,
    read_manifest,
    save_version,
)
from crlhf.training.batch import PPOBatch, build_batch
from crlhf.training.config import PPOConfig
from crlhf.training.distributed import DataParallel, SingleProcess
from crlhf.training.policy import PolicyWithValue, load_base, new_policy, vocab_size
from crlhf.training.ppo import PPOTrainer, own_part
from crlhf.training.rollout import (
    Rollout,
    check_dtype,
    hand_written,
    select_rollouts,
    with_line_credit,
)
from crlhf.training.targets import check_targets

logger = logging.getLogger(__name__)

StepCallback = Callable[[int, int], None]
"""``(steps done, steps in all)`` of a round's PPO steps."""


@dataclass(frozen=True)
class RoundResult:
    version: str
    directory: Path
    manifest: AdapterManifest


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity), at least 1."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, usable or 1)


def data_summary(rows: Sequence[ExportRow], rollouts: Sequence[Rollout]) -> dict[str, Metric]:
    """What the round trained on, for the manifest: counts, digest, generation settings."""
    used = {r.sample_id for r in rollouts}
    metas = [row.meta for row in rows if row.sample_id in used]
    digest = hashlib.sha256("\n".join(sorted(used)).encode()).hexdigest()[:16]

    def distinct(values: Sequence[object]) -> str:
        return ",".join(sorted({str(v) for v in values if v is not None})) or "-"

    lines: dict[str, Metric] = {}
    credits = [r.line_credit for r in rollouts if r.line_credit is not None]
    if credits:  # reward_mode=line
        lines = {
            "line_rewards": sum(len(c.tokens) for c in credits),
            "line_rewards_unplaced": sum(c.unplaced for c in credits),
        }
    return {
        **lines,
        "triples": len(rows),
        "samples": len(rollouts),
        "skipped_no_token_ids": sum(hand_written(row) for row in rows),
        "sample_ids_sha256": digest,
        "response_tokens": sum(len(r.response_ids) for r in rollouts),
        "score_mean": sum(r.score for r in rollouts) / len(rollouts),
        "sampling_temperatures": distinct([r.temperature for r in rollouts]),
        "sampling_models": distinct([m.model for m in metas]),
        "sampling_adapter_versions": distinct([m.adapter_version for m in metas]),
        "sampling_rounds": distinct([m.round for m in metas]),
    }


@torch.no_grad()
def sampling_drift(
    policy: PolicyWithValue, batches: Sequence[PPOBatch], parallel: DataParallel | None = None
) -> float:
    """Mean |stored − recomputed| sampling log-prob per response token, before training.

    Near 0 when the samples were drawn from this policy (same tokens, weights and
    temperature; the stored values are rounded to 1e-6); large when they were not.
    Under a launcher each rank recomputes its share of every batch.
    """
    parallel = parallel or SingleProcess()
    total, count = 0.0, 0.0
    for batch in batches:
        part, _ = own_part(batch, torch.arange(batch.size), parallel)
        if part.size == 0:
            continue
        logprobs, _, _ = policy(part)
        total += float(((logprobs - part.sample_logprobs).abs() * part.response_mask).sum())
        count += float(part.response_mask.sum())
    total, count = parallel.sum_floats([total, count])
    return total / max(count, 1.0)


def _summarise(steps: list[dict[str, float]], seconds: float) -> dict[str, Metric]:
    """Step metrics averaged over the round; throughput over the PPO steps' time only."""
    metrics: dict[str, Metric] = {key: sum(s[key] for s in steps) / len(steps) for key in steps[0]}
    train_seconds = sum(s["seconds"] for s in steps)
    tokens = sum(s["tokens_per_second"] * s["seconds"] for s in steps)
    metrics["approx_kl_first"] = steps[0]["approx_kl_first"]
    metrics["approx_kl_last"] = steps[-1]["approx_kl_last"]
    metrics["steps"] = len(steps)
    metrics["seconds"] = seconds
    metrics["train_seconds"] = train_seconds
    metrics["tokens_per_second"] = tokens / max(train_seconds, 1e-9)
    return metrics


def run_round(
    rows: Sequence[ExportRow],
    *,
    base_model: str | Path,
    out_root: Path,
    version: str,
    config: PPOConfig,
    parent: Path | None = None,
    round_id: int | None = None,
    progress: bool = False,
    on_step: StepCallback | None = None,
    parallel: DataParallel | None = None,
) -> RoundResult:
    """Train one round on ``rows`` and save the result as ``out_root / version``.

    ``on_step(done, total)`` is called before each PPO step and once more before saving
    (``done == total``): a worker reports progress from it, and stops a cancelled round
    by raising, which leaves no version behind (nothing is written before the save).

    ``parallel`` (None: one process) shares the steps among the ranks of a launcher;
    every rank must call this with the same arguments.
    """
    ranks = parallel or SingleProcess()

    def check_new() -> None:
        if (out_root / version).exists():
            raise Conflict(f"adapter version {version!r} already exists in {out_root}")

    ranks.on_main(check_new)
    # Processes on one host share its cores.
    threads = config.threads or max(1, usable_cores() // ranks.local_world_size)
    torch.set_num_threads(threads)
    started = time.perf_counter()

    def load() -> tuple[list[Rollout], AdapterManifest | None, torch.device, Any, Any]:
        device = ranks.device(config.device)
        rollouts = select_rollouts(  # all checks before the (slow) model load
            rows,
            vocab_size=vocab_size(base_model),
            min_votes=config.min_votes,
            default_temperature=config.default_temperature,
        )
        parent_manifest = read_manifest(parent) if parent is not None else None
        if parent_manifest is None:  # a parent brings its own adapter's modules
            check_targets(base_model, config.lora_target_modules)
        base, tokenizer = load_base(base_model, device, config.dtype)
        check_dtype(rows, str(base.dtype))
        if config.reward_mode == "line":
            rollouts = with_line_credit(rows, rollouts, reply_decoder(tokenizer))
        if parent is None or parent_manifest is None:
            policy = new_policy(base, config)
        else:
            if parent_manifest.base_model != str(base_model):
                trained_on = parent_manifest.base_model
                logger.warning(
                    "parent %s was trained on %s, not %s", parent, trained_on, base_model
                )
            policy = load_version(base, parent)
        if config.gradient_checkpointing:
            policy.enable_gradient_checkpointing()
        return rollouts, parent_manifest, device, policy, tokenizer

    # A bad input fails on every rank at once, not on one while the others wait for it.
    rollouts, parent_manifest, device, policy, tokenizer = ranks.agree(load)
    trainer = PPOTrainer(policy, config, ranks)
    order = torch.randperm(len(rollouts), generator=torch.Generator().manual_seed(config.seed))
    chunks = [
        [rollouts[int(i)] for i in order[start : start + config.batch_size]]
        for start in range(0, len(rollouts), config.batch_size)
    ]
    logger.info(
        "round %s: %d samples in %d PPO step(s) on %s in %s with %d thread(s)%s",
        version,
        len(rollouts),
        len(chunks),
        device,
        policy.base_dtype,
        threads,
        f", rank {ranks.rank} of {ranks.world_size}" if ranks.world_size > 1 else "",
    )
    batches = [
        build_batch(chunk, pad_id=tokenizer.pad_token_id, eos_id=tokenizer.eos_token_id).to(device)
        for chunk in chunks
    ]
    drift = sampling_drift(policy, batches, ranks)
    if config.max_logprob_drift is not None and drift > config.max_logprob_drift:
        raise TokenMismatch(
            f"stored sampling log-probs differ from this policy's by {drift:.3f} nats per "
            f"token on average (limit {config.max_logprob_drift}): the samples were not "
            "drawn from this base model, adapter, temperature and dtype "
            f"(this round computes in {policy.base_dtype})"
        )
    usual = DRIFT_TOLERANCE.get(str(policy.base_dtype).removeprefix("torch."))
    if config.max_logprob_drift is None and usual is not None and drift > usual:
        logger.warning(
            "stored sampling log-probs differ from this policy's by %.4f nats per token, "
            "more than the %s for samples drawn by it in %s: were they sampled with "
            "another model, adapter, temperature or dtype?",
            drift,
            usual,
            policy.base_dtype,
        )
    steps = []
    for done, batch in enumerate(
        tqdm(batches, desc=f"PPO {version}", unit="step", disable=not progress or ranks.rank > 0)
    ):
        if on_step is not None:
            on_step(done, len(batches))
        steps.append(trainer.step(batch))
    if on_step is not None:
        on_step(len(batches), len(batches))
    manifest = AdapterManifest(
        version=version,
        base_model=str(base_model),
        parent_version=parent_manifest.version if parent_manifest is not None else None,
        round_id=round_id,
        config=config,
        adapted_modules=policy.adapted_modules(),
        data={
            **data_summary(rows, rollouts),
            "threads": threads,
            "device": str(device),
            "base_dtype": str(policy.base_dtype).removeprefix("torch."),
            "world_size": ranks.world_size,
        },
        metrics={
            **_summarise(steps, time.perf_counter() - started),
            "sampling_logprob_drift": drift,
        },
        versions=library_versions(),
    )
    directory = ranks.on_main(lambda: save_version(policy, out_root, manifest))
    return RoundResult(version=version, directory=directory, manifest=manifest)
