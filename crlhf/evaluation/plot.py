"""pass@k per training round, as a PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path
from typing import Any

from crlhf.errors import InvalidInput

logger = logging.getLogger(__name__)


def load_summaries(out_dir: Path) -> list[dict[str, Any]]:
    """Every finished run's ``results.json`` under ``out_dir``."""
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(out_dir.glob("*/results.json"))
    ]


def series(summaries: list[dict[str, Any]]) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(suite, k) -> [(round, pass@k)], sorted by round; a run without a round is round 0
    (the base model). When a round was measured twice, the later run wins."""
    points: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for summary in sorted(summaries, key=lambda s: str(s.get("finished_at", ""))):
        config = summary["config"]
        round_number = int(config.get("round") or 0)
        for k, value in summary["pass_at_k"].items():
            points[(config["suite"], k)][round_number] = float(value)
    return {key: sorted(by_round.items()) for key, by_round in sorted(points.items())}


def plot_rounds(summaries: list[dict[str, Any]], path: Path) -> Path:
    """Draw pass@k against the round, one line per suite and k, and save it to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = series(summaries)
    if not lines:
        raise InvalidInput("no finished benchmark runs to plot", field="out")
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for (suite, k), points in lines.items():
        rounds = [r for r, _ in points]
        values = [100 * v for _, v in points]
        axes.plot(rounds, values, marker="o", label=f"{suite} pass@{k}")
    axes.set_xlabel("training round (0 = base model)")
    axes.set_ylabel("pass@k (%)")
    axes.set_title("pass@k per cRLHF round")
    axes.grid(alpha=0.3)
    axes.legend()
    all_rounds = sorted({r for points in lines.values() for r, _ in points})
    axes.set_xticks(all_rounds)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    logger.info("wrote %s", path)
    return path
