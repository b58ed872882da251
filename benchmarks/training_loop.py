"""Does the loop learn? Algorithm 1 on the testbed, against a shuffled-reward control.

    .venv/bin/python benchmarks/training_loop.py                # full run (~20-40 min)
    .venv/bin/python benchmarks/training_loop.py --quick        # smoke run (about a minute)
    .venv/bin/python benchmarks/training_loop.py --base DIR     # reuse a pretrained base

Pretrains the testbed's base model once (a 4-layer GPT-2 and BPE tokenizer trained from
scratch on correct and subtly buggy bodies, :mod:`crlhf.testbed.pretrain`), then runs
:func:`crlhf.testbed.loop.run_loop` for every variant and seed: each round samples the
current policy on the 192 training problems, the engine's simulated crowd votes on every
line of every sample (from the true line labels, with annotator noise and honeypots),
rewards s = c/k come out of the chosen estimator, one PPO round trains the next adapter,
and held-out exact pass@1 (48 unseen problem instances x 4 samples) is measured before each
round and after the last.

Variants: ``competent`` (10 annotators right 90% of the time, reliability-weighted
``em-two-coin``), ``control`` (the same crowd's rewards shuffled across samples: the same
numbers, no information), ``mixed`` (5 competent + 5 spammers at p = 1/2, weighted),
``mixed-majority`` (the same crowd, unweighted majority vote per line),
``competent-majority``, ``oracle`` (the true share of correct lines, no crowd),
``machines-only`` (rewards from the ``tests`` and ``static`` checkers alone, no people)
and ``mixed+machines`` (the mixed crowd plus both checkers, weighed as the server weighs
machine annotators), ``competent-line`` and ``mixed-line`` (the ``competent`` and ``mixed``
crowds with ``reward_mode=line``: each judged line's reward at its last token). The
summary's last column is the gain in pass@1 points per 1,000
people's votes on training samples (what people add over the checkers).

Prints one table per variant (pass@1 per round, per seed and mean), a summary table
(gain from round 0 to the last round and to the best round, with the spread over seeds)
and a votes table (per round: people's votes spent so far, pass@1, points per 1,000 votes),
writes ``records.json`` and ``training_loop.png`` (mean held-out pass@1 per round, one
line per variant, seeds as thin lines) under ``--out``. A run whose ``records.json`` is
already under ``--out`` is read back instead of repeated, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _aggregation import print_table

from crlhf.testbed.crowd import CrowdSpec
from crlhf.testbed.loop import LoopConfig, run_loop
from crlhf.testbed.pretrain import PretrainConfig, pretrain
from crlhf.testbed.problems import make_corpus, split_instances
from crlhf.training.config import PPOConfig

VARIANTS: dict[str, tuple[CrowdSpec | None, bool]] = {
    "competent": (CrowdSpec.competent(10, 0.9), False),
    "control": (CrowdSpec.competent(10, 0.9), True),
    "mixed": (CrowdSpec.with_spammers(5, 5, 0.9), False),
    "mixed-majority": (CrowdSpec.with_spammers(5, 5, 0.9, estimator="majority"), False),
    "competent-majority": (CrowdSpec.competent(10, 0.9, estimator="majority"), False),
    "oracle": (None, False),
    "machines-only": (None, False),
    "mixed+machines": (CrowdSpec.with_spammers(5, 5, 0.9), False),
    "competent-line": (CrowdSpec.competent(10, 0.9), False),
    "mixed-line": (CrowdSpec.with_spammers(5, 5, 0.9), False),
    "competent-line-b85": (CrowdSpec.competent(10, 0.9), False),
    "competent-b85": (CrowdSpec.competent(10, 0.9), False),
}
"""name -> (crowd, control); None is the oracle (no crowd noise), or with machines the
checkers alone."""

MACHINES = {"machines-only", "mixed+machines"}
"""Variants where the built-in checkers (tests, static) vote too (docs/quality.md)."""

SETTINGS: dict[str, dict[str, object]] = {
    "competent-line": {"reward_mode": "line"},
    "mixed-line": {"reward_mode": "line"},
    "competent-line-b85": {"reward_mode": "line", "score_baseline": 0.85},
    "competent-b85": {"score_baseline": 0.85},
}
"""PPO settings of variants beyond :data:`PPO`. ``*-line``: ``reward_mode=line``, the same
crowds and votes as ``competent`` and ``mixed``, each judged line's reward at its last
token (docs/training.md). ``*-b85``: ``score_baseline`` 0.85 (about the mean reward), in
line mode b/k per line so that the return-to-go has no trend along the response;
``competent-b85`` is its sample-mode twin, to tell the baseline's effect from the lines'."""

FULL_PRETRAIN = PretrainConfig(n_layer=4, n_embd=128, n_head=4, epochs=8)
QUICK_PRETRAIN = PretrainConfig(n_layer=2, n_embd=64, n_head=4, epochs=2)
PPO = PPOConfig(learning_rate=1e-4, kl_coef=0.2, batch_size=64, mini_batch_size=16, ppo_epochs=4)


def build_base(directory: Path, *, quick: bool) -> None:
    """Pretrain on 16 bodies per training instance, each slot buggy with probability 0.2."""
    train, _ = split_instances()
    corpus = make_corpus(
        train[:24] if quick else train, copies=4 if quick else 16, bug_rate=0.0, slot_bug_rate=0.2
    )
    stats = pretrain(corpus, directory, QUICK_PRETRAIN if quick else FULL_PRETRAIN)
    logging.info("base model: %d documents, %s", len(corpus), stats)


def run_variant(
    base: Path, out: Path, name: str, seed: int, *, rounds: int, quick: bool, threads: int
) -> list[dict[str, float]]:
    crowd, control = VARIANTS[name]
    train, heldout = split_instances()
    if quick:
        train, heldout = train[:24], heldout[:8]
    honeypot_corpus = make_corpus(train, copies=1, bug_rate=0.0, slot_bug_rate=0.2, seed=123)
    honeypots = [d.instance.line_truth(d.body) for d in honeypot_corpus[:60]]
    config = LoopConfig(
        rounds=rounds,
        eval_samples_per_problem=2 if quick else 4,
        max_new_tokens=48 if quick else 64,
        crowd=replace(crowd, seed=seed) if crowd is not None else None,
        control=control,
        machines=name in MACHINES,
        ppo=PPO.model_copy(update={"threads": threads, **SETTINGS.get(name, {})}),
        seed=seed,
    )
    run_dir = out / f"{name}-s{seed}"
    finished = run_dir / "records.json"
    if finished.exists():  # resume: a finished run is read back, not repeated
        records: list[dict[str, float]] = json.loads(finished.read_text(encoding="utf-8"))
        return records
    started = time.perf_counter()
    records = run_loop(
        base, run_dir / "adapters", train=train, heldout=heldout, honeypots=honeypots, config=config
    )
    finished.write_text(json.dumps(records, indent=1), encoding="utf-8")
    logging.info("%s seed %d: %.0f s", name, seed, time.perf_counter() - started)
    return records


def pct(value: float) -> str:
    return f"{100 * value:.1f}"


def curves(results: dict[str, dict[int, list[dict[str, float]]]]) -> dict[str, list[list[float]]]:
    """variant -> per seed, held-out pass@1 per round."""
    return {
        name: [[r["heldout_pass1"] for r in records] for records in by_seed.values()]
        for name, by_seed in results.items()
    }


def print_tables(results: dict[str, dict[int, list[dict[str, float]]]], rounds: int) -> None:
    per_seed = curves(results)
    headers = ["variant", "seed", *[f"r{i}" for i in range(rounds + 1)]]
    rows: list[list[str]] = []
    for name, by_seed in results.items():
        for seed, records in by_seed.items():
            rows.append([name, str(seed), *[pct(r["heldout_pass1"]) for r in records]])
        means = [statistics.mean(col) for col in zip(*per_seed[name], strict=True)]
        rows.append([name, "mean", *[pct(m) for m in means]])
    print_table("Held-out exact pass@1 (%) before each round (r0 = base model)", headers, rows)
    summary: list[list[str]] = []
    for name, seeds in per_seed.items():
        final = [c[-1] - c[0] for c in seeds]
        best = [max(c[1:]) - c[0] for c in seeds]
        spread = f" ± {100 * statistics.stdev(final):.1f}" if len(final) > 1 else ""
        summary.append(
            [
                name,
                str(len(seeds)),
                pct(statistics.mean(c[0] for c in seeds)),
                pct(statistics.mean(c[-1] for c in seeds)),
                f"{100 * statistics.mean(final):+.1f}{spread}",
                f"{100 * statistics.mean(best):+.1f}",
                " ".join(f"{100 * g:+.0f}" for g in final),
                _per_kilovote(results[name], statistics.mean(final)),
            ]
        )
    print_table(
        f"Gain in held-out pass@1 (points) over {rounds} rounds",
        [
            "variant",
            "seeds",
            "r0 %",
            f"r{rounds} %",
            "gain r0->last (mean ± sd)",
            "gain r0->best",
            "per seed",
            "pts / 1k human votes",
        ],
        summary,
    )


def print_votes(results: dict[str, dict[int, list[dict[str, float]]]], rounds: int) -> None:
    """Per round (means over seeds): people's votes spent so far, pass@1, and the gain
    since r0 per 1,000 of those votes."""
    rows: list[list[str]] = []
    for name, by_seed in results.items():
        runs = list(by_seed.values())
        spent = 0.0
        base = statistics.mean(r[0]["heldout_pass1"] for r in runs)
        for number in range(rounds + 1):
            mean = statistics.mean(r[number]["heldout_pass1"] for r in runs)
            per_k = f"{100 * (mean - base) / (spent / 1000):+.3f}" if spent else "-"
            rows.append([name, f"r{number}", f"{spent:,.0f}", pct(mean), per_k])
            if number < rounds:
                spent += statistics.mean(r[number].get("human_votes", 0.0) for r in runs)
    print_table(
        "Human votes spent before each round and held-out exact pass@1 (means over seeds)",
        ["variant", "round", "cumulative human votes", "pass@1 %", "pts / 1k votes"],
        rows,
    )


def print_target(results: dict[str, dict[int, list[dict[str, float]]]], rounds: int) -> None:
    """Issue 14's target: the round in which a ``line`` variant's mean pass@1 first reaches
    its ``sample`` twin's last-round mean, and the people's votes each spent to get there
    (the seeds both ran, so the means compare like with like)."""
    rows: list[list[str]] = []
    for line, twin in (("competent-line", "competent"), ("mixed-line", "mixed")):
        if line not in results or twin not in results:
            continue
        seeds = sorted(set(results[line]) & set(results[twin]))
        if not seeds:
            continue

        def mean(name: str, number: int, key: str, seeds: list[int] = seeds) -> float:
            return statistics.mean(results[name][s][number].get(key, 0.0) for s in seeds)

        goal = mean(twin, rounds, "heldout_pass1")
        reached = next(
            (n for n in range(rounds + 1) if mean(line, n, "heldout_pass1") >= goal), None
        )
        twin_votes = sum(mean(twin, n, "human_votes") for n in range(rounds))
        line_votes = sum(mean(line, n, "human_votes") for n in range(reached or 0))
        rows.append(
            [
                line,
                " ".join(map(str, seeds)),
                f"{twin} r{rounds}: {pct(goal)}",
                f"{pct(mean(line, rounds, 'heldout_pass1'))}",
                f"r{reached}" if reached is not None else f"not by r{rounds}",
                f"{line_votes:,.0f} vs {twin_votes:,.0f}" if reached is not None else "-",
            ]
        )
    if rows:
        print_table(
            "Target: a line variant reaches its sample twin's last-round pass@1 by round 3",
            ["variant", "seeds", "goal (mean %)", f"line r{rounds} %", "reached", "votes"],
            rows,
        )


def _per_kilovote(by_seed: dict[int, list[dict[str, float]]], gain: float) -> str:
    """Mean gain (points) per 1,000 people's votes a run used; '-' without people."""
    votes = statistics.mean(sum(r.get("human_votes", 0.0) for r in rs) for rs in by_seed.values())
    return f"{100 * gain / (votes / 1000):+.3f}" if votes else "-"


def plot(results: dict[str, dict[int, list[dict[str, float]]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    for index, (name, seeds) in enumerate(curves(results).items()):
        colour = f"C{index}"
        for curve in seeds:
            axes.plot([100 * v for v in curve], color=colour, alpha=0.25, linewidth=1)
        mean = [100 * statistics.mean(col) for col in zip(*seeds, strict=True)]
        axes.plot(mean, color=colour, marker="o", linewidth=2, label=f"{name} ({len(seeds)})")
    axes.set_xlabel("training round (0 = base model)")
    axes.set_ylabel("held-out exact pass@1 (%)")
    axes.set_title("cRLHF on the testbed: crowd rewards vs shuffled control")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--base", type=Path, help="pretrained base model (default: train one)")
    parser.add_argument("--out", type=Path, default=Path("training-loop-out"))
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    for noisy in ("httpx", "transformers", "crlhf.training", "crlhf.generation"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    torch.set_num_threads(args.threads)
    if args.quick:
        args.variants, args.seeds, args.rounds = ["competent", "control"], [0], 2
    args.out.mkdir(parents=True, exist_ok=True)
    base = args.base or args.out / "base"
    if args.base is None and not (base / "config.json").exists():
        build_base(base, quick=args.quick)
    results: dict[str, dict[int, list[dict[str, float]]]] = {}
    for name in args.variants:
        for seed in args.seeds:
            results.setdefault(name, {})[seed] = run_variant(
                base,
                args.out,
                name,
                seed,
                rounds=args.rounds,
                quick=args.quick,
                threads=args.threads,
            )
    (args.out / "records.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print_tables(results, args.rounds)
    print_votes(results, args.rounds)
    print_target(results, args.rounds)
    plot(results, args.out / "training_loop.png")
    sys.stdout.write(f"\nplot: {args.out / 'training_loop.png'}\n")


if __name__ == "__main__":
    main()
