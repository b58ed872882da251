"""How far training's log-probs drift from the stored sampling ones, per base dtype.

    .venv/bin/python benchmarks/precision_drift.py            # full run (~2-4 min)
    .venv/bin/python benchmarks/precision_drift.py --quick    # smoke run (seconds)

The drift check (``PPOConfig.max_logprob_drift``, docs/training.md) compares the per-token
log-probs that ``crlhf.generation`` stored while sampling (an incremental forward with a
KV cache, prompts left-padded together) with the ones the round's training forward
recomputes (one full forward over query and response). In float32 they agree to ~1e-6;
in bfloat16 and float16 every matmul rounds, and the two paths round differently. This
script samples with ``crlhf.generation`` in each dtype and measures the drift of the same
dtype's training policy, on

- ``testbed``: the testbed's GPT-2 pretrained from scratch (:mod:`crlhf.testbed.pretrain`),
  whose next-token distributions are as peaked as a trained model's; and
- tiny random models of three families (near-uniform distributions: a lower bound).

For scale it also prints two mismatches the check exists to catch: samples drawn at
temperature 0.7 but recorded as 0.8, and float32 samples trained in bfloat16. The table
gives mean |stored − recomputed| per response token (what the check compares with its
limit) and the 99th percentile per token.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from crlhf.evaluation.problems import BenchProblem
from crlhf.generation.generate import GenerationSettings, Generator, load_model
from crlhf.testbed.pretrain import PretrainConfig, pretrain
from crlhf.testbed.problems import make_corpus, split_instances
from crlhf.training.batch import build_batch
from crlhf.training.config import PPOConfig
from crlhf.training.policy import load_base, new_policy
from crlhf.training.rollout import Rollout
from tests.tiny_model import build_tiny_family, build_tiny_model

CPU = torch.device("cpu")
DTYPES = ("float32", "bfloat16", "float16")


def sample(
    base: Path, problems: list[BenchProblem], dtype: str, n: int, temperature: float
) -> list[Rollout]:
    model, tokenizer = load_model(str(base), None, CPU, dtype)
    settings = GenerationSettings(temperature=temperature, max_new_tokens=48, batch_size=8)
    rollouts = []
    for _, completions in Generator(model, tokenizer, settings, progress=False)(problems, n):
        for completion in completions:
            meta = completion.meta
            if not meta.response_token_ids:
                continue
            rollouts.append(
                Rollout(
                    sample_id=str(len(rollouts)),
                    query_ids=tuple(meta.prompt_token_ids or ()),
                    response_ids=tuple(meta.response_token_ids),
                    logprobs=tuple(meta.response_logprobs or ()),
                    temperature=0.8,  # what the round assumes; see the mismatch row
                    score=0.5,
                )
            )
    return rollouts


@torch.no_grad()
def drift(base: Path, dtype: str, rollouts: list[Rollout]) -> tuple[float, float]:
    """(mean, 99th percentile) of |stored − recomputed| per response token."""
    model, tokenizer = load_base(base, CPU, dtype)
    policy = new_policy(model, PPOConfig())
    gaps = []
    for start in range(0, len(rollouts), 8):
        batch = build_batch(
            rollouts[start : start + 8],
            pad_id=tokenizer.pad_token_id,
            eos_id=tokenizer.eos_token_id,
        )
        logprobs, _, _ = policy(batch)
        gap = (logprobs - batch.sample_logprobs).abs()
        gaps.append(gap[batch.response_mask.bool()])
    every = torch.cat(gaps).double()
    return float(every.mean()), float(torch.quantile(every, 0.99))


def testbed_base(workdir: Path, quick: bool) -> tuple[Path, list[BenchProblem]]:
    train, heldout = split_instances()
    corpus = make_corpus(train[: 12 if quick else 96], copies=4 if quick else 12, bug_rate=0.3)
    config = PretrainConfig(
        n_layer=1 if quick else 4, n_embd=32 if quick else 128, epochs=1 if quick else 3
    )
    stats = pretrain(corpus, workdir / "testbed", config)
    print(
        f"testbed base: {config.n_layer} layers x {config.n_embd}, loss "
        f"{stats['first_loss']:.2f} -> {stats['final_loss']:.2f} in {stats['seconds']:.0f} s"
    )
    problems = [
        BenchProblem(task_id=i.task_id, prompt=i.prompt, tests="", reference="")
        for i in heldout[: 4 if quick else 16]
    ]
    return workdir / "testbed", problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small model, few samples")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        models: dict[str, tuple[Path, list[BenchProblem]]] = {
            "testbed": testbed_base(workdir, args.quick)
        }
        tokenizer_dir = build_tiny_model(workdir / "tokenizer")
        prompts = ["def add(a, b):\n", "# count the words\ndef count(text):\n"]
        tiny_problems = [
            BenchProblem(task_id=f"p{i}", prompt=p, tests="", reference="")
            for i, p in enumerate(prompts)
        ]
        for family in ("llama",) if args.quick else ("llama", "starcoder2", "gpt_bigcode"):
            directory = build_tiny_family(workdir / family, family, tokenizer_dir)
            models[f"tiny {family}"] = (directory, tiny_problems)
        n = 2 if args.quick else 8
        rows: list[tuple[str, str, str, float, float, int]] = []

        def measure(
            name: str, base: Path, sampled: str, trained: str, rollouts: list[Rollout]
        ) -> None:
            tokens = sum(len(r.response_ids) for r in rollouts)
            rows.append((name, sampled, trained, *drift(base, trained, rollouts), tokens))

        for name, (base, problems) in models.items():
            for dtype in DTYPES:
                measure(name, base, dtype, dtype, sample(base, problems, dtype, n, 0.8))
            if name == "testbed":  # what the check is for, at the same scale
                cooler = sample(base, problems, "float32", n, 0.7)
                measure(name, base, "float32 at T=0.7", "float32", cooler)
                measure(
                    name, base, "float32", "bfloat16", sample(base, problems, "float32", n, 0.8)
                )
    print()
    print("| model | sampled in | trained in | mean drift (nats/token) | p99 per token | tokens |")
    print("|---|---|---|---|---|---|")
    for name, sampled, trained, mean, p99, tokens in rows:
        print(f"| {name} | {sampled} | {trained} | {mean:.2e} | {p99:.2e} | {tokens} |")
    print(f"\n{time.perf_counter() - started:.0f} s, {args.threads} thread(s)")


if __name__ == "__main__":
    main()
