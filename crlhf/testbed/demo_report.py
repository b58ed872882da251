"""What ``crlhf demo`` shows at the end: a table per round and a PNG of pass@1 per round."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crlhf.tables import render_table


@dataclass(frozen=True)
class RoundRecord:
    """One row of the demo's table; round 0 is the base model (no training)."""

    round: int
    round_id: int | None
    adapter_version: str | None
    pass1: float | None
    """Held-out pass@1 of the policy after this round (the worker's sandboxed benchmark)."""
    submissions: int | None = None
    """Judgements the crowd made on the samples this round trained on."""
    true_share: float | None = None
    """True share of correct lines in those samples (what a perfect crowd would reward)."""
    reward_mean: float | None = None
    """Mean crowd reward of the triples the round trained on (the round's ``score_mean``)."""
    kl_ref: float | None = None
    seconds: float | None = None
    """Wall time of the round, annotation included."""


def render_rounds(records: Sequence[RoundRecord]) -> str:
    headers = (
        "round",
        "adapter",
        "held-out pass@1",
        "judgements",
        "true line share",
        "crowd reward",
        "KL(ref)",
        "seconds",
    )
    rows = [
        (
            r.round,
            r.adapter_version or "base",
            "-" if r.pass1 is None else f"{100 * r.pass1:.1f}%",
            r.submissions,
            r.true_share,
            r.reward_mean,
            r.kl_ref,
            None if r.seconds is None else round(r.seconds),
        )
        for r in records
    ]
    return render_table(headers, rows)


def plot_pass1(records: Sequence[RoundRecord], suite: str, path: Path) -> Path:
    """pass@1 against the round with :func:`crlhf.evaluation.plot.plot_rounds`, fed the
    shape of a benchmark run summary (its ``round`` is the demo's round number)."""
    from crlhf.evaluation.plot import plot_rounds

    summaries: list[dict[str, Any]] = [
        {"config": {"suite": suite, "round": r.round}, "pass_at_k": {"1": r.pass1}}
        for r in records
        if r.pass1 is not None
    ]
    return plot_rounds(summaries, path)
