"""Peak memory and speed of one PPO step, per model size, base dtype and checkpointing.

    .venv/bin/python benchmarks/training_memory.py            # 10M, 100M, 500M (~15-30 min)
    .venv/bin/python benchmarks/training_memory.py --quick    # 10M only, short rows (~1 min)
    .venv/bin/python benchmarks/training_memory.py --sizes 10M 100M --threads 2

For each size, a random-init Llama-architecture model (the layout of CodeLlama, DeepSeek-
Coder, Qwen2.5-Coder and StarCoder2) gets a fresh LoRA adapter (peft's defaults, r = 8)
and a value head, and runs one :class:`~crlhf.training.ppo.PPOTrainer` step with the
default loss (clipped PPO + value loss + the exact KL to the adapter-off reference) on a
synthetic batch, in float32 and in bfloat16, with and without gradient checkpointing.
Each configuration runs in its own process, so its peak RSS is its own:

- ``weights RSS``: resident memory once model, adapter and optimizer are built, less
  what the interpreter held after importing torch and transformers;
- ``step peak``: the peak resident memory during the step alone (the kernel's high-water
  mark, reset through /proc/self/clear_refs just before it), less the same interpreter
  share, i.e. weights plus activations, logits and gradients at their worst;
- ``tokens/s``: the step's own figure (tokens pushed through the network, forward passes
  included), as in a round's manifest;

with ratios against float32 without checkpointing of the same size, measured in the same
run. The per-token activation cost measured here (bytes per token per layer per hidden
unit, and bytes per token per vocabulary entry for the logits) feeds the printed estimate
of what fits an 80 GB GPU for 1.3B, 7B and 15B models: an extrapolation from CPU
measurements, not a GPU measurement.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))


@dataclass(frozen=True)
class Size:
    """A Llama-architecture config (vocab 16,384 unless named)."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int = 16_384


SIZES = {
    "10M": Size(hidden=256, layers=4, heads=4, intermediate=688),
    "100M": Size(hidden=768, layers=10, heads=12, intermediate=2048),
    "500M": Size(hidden=1280, layers=24, heads=20, intermediate=3456),
}
ROWS = {"10M": (4, 64, 192), "100M": (2, 64, 128), "500M": (1, 32, 64)}
"""Size -> (rows, query tokens, response tokens) of the step's batch: shorter for the
larger models so that the whole table runs in minutes on two shared cores."""

TARGETS = {
    # name: (parameters, hidden, layers, vocab); the published configs' shapes
    "DeepSeek-Coder 1.3B": (1.35e9, 2048, 24, 32_256),
    "CodeLlama 7B": (6.7e9, 4096, 32, 32_016),
    "StarCoder2 15B": (16.0e9, 6144, 40, 49_152),
}


@dataclass(frozen=True)
class Spec:
    size: str
    dtype: str
    checkpointing: bool
    rows: int
    query: int
    response: int
    threads: int


def vm_kib(field: str) -> int:
    """A ``/proc/self/status`` memory field (VmRSS, VmHWM) in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def run_one(spec: Spec) -> dict[str, float]:
    """One configuration, in this (child) process."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    from crlhf.training.batch import build_batch
    from crlhf.training.config import PPOConfig
    from crlhf.training.policy import new_policy
    from crlhf.training.ppo import PPOTrainer
    from crlhf.training.rollout import Rollout

    torch.set_num_threads(spec.threads)
    interpreter_kib = vm_kib("VmRSS")  # python, torch, transformers: not the model's
    size = SIZES[spec.size]
    config = LlamaConfig(
        vocab_size=size.vocab,
        hidden_size=size.hidden,
        num_hidden_layers=size.layers,
        num_attention_heads=size.heads,
        num_key_value_heads=size.heads,
        intermediate_size=size.intermediate,
        max_position_embeddings=4096,
    )
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, spec.dtype))
    parameters = sum(p.numel() for p in base.parameters())
    ppo = PPOConfig(batch_size=spec.rows, mini_batch_size=spec.rows, ppo_epochs=1)
    policy = new_policy(base, ppo)
    if spec.checkpointing:
        policy.enable_gradient_checkpointing()
    trainer = PPOTrainer(policy, ppo)
    generator = torch.Generator().manual_seed(0)
    rollouts = [
        Rollout(
            sample_id=str(i),
            query_ids=tuple(
                torch.randint(1, size.vocab, (spec.query,), generator=generator).tolist()
            ),
            response_ids=tuple(
                torch.randint(1, size.vocab, (spec.response,), generator=generator).tolist()
            ),
            logprobs=(-1.0,) * spec.response,
            temperature=0.8,
            score=float(i % 2),
        )
        for i in range(spec.rows)
    ]
    batch = build_batch(rollouts, pad_id=0, eos_id=0)
    weights_kib = vm_kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to now
    metrics = trainer.step(batch)
    return {
        "parameters": parameters,
        "weights_gib": (weights_kib - interpreter_kib) / 2**20,
        "peak_gib": (vm_kib("VmHWM") - interpreter_kib) / 2**20,
        "tokens_per_second": metrics["tokens_per_second"],
        "seconds": metrics["seconds"],
        "tokens": spec.rows * (spec.query + spec.response),
    }


def measure(spec: Spec) -> dict[str, float]:
    """:func:`run_one` in a child process (its own peak RSS)."""
    done = subprocess.run(
        [sys.executable, __file__, "--one", json.dumps(asdict(spec))],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{spec} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def logit_bytes(tokens: int, vocab: int, itemsize: int) -> float:
    """Logits at their worst: the base's (B, T, V) in its dtype, and float32 copies of the
    response part for the policy (tempered logits, log-softmax, probabilities kept for
    the backward) and the reference: about four. An assumption, not a measurement."""
    return float(tokens * vocab * (4 * 4 + itemsize))


def activation_costs(results: list[tuple[Spec, dict[str, float]]]) -> dict[tuple[str, bool], float]:
    """Bytes of step peak above the weights and the logits (:func:`logit_bytes`) per
    (token x layer x hidden unit), per base dtype and checkpointing."""
    costs: dict[tuple[str, bool], float] = {}
    for spec, result in results:
        size = SIZES[spec.size]
        tokens = spec.rows * (spec.query + spec.response)
        itemsize = 4 if spec.dtype == "float32" else 2
        extra = (result["peak_gib"] - result["weights_gib"]) * 2**30
        extra -= logit_bytes(tokens, size.vocab, itemsize)
        costs[(spec.dtype, spec.checkpointing)] = extra / (tokens * size.layers * size.hidden)
    return costs


def estimate(costs: dict[tuple[str, bool], float], tokens: int) -> list[str]:
    """Markdown rows: bf16 weights + LoRA/optimizer + per-token activations and logits of a
    minibatch of ``tokens`` tokens, for each target model, with and without checkpointing."""
    rows = []
    for name, (parameters, hidden, layers, vocab) in TARGETS.items():
        weights = parameters * 2  # bf16
        lora = 2 * layers * 2 * hidden * 8 * 4 * 4  # q,v: A and B, r=8, fp32 + grad + 2 Adam
        logits = logit_bytes(tokens, vocab, 2)
        cells = []
        for checkpointing in (False, True):
            per_token = costs.get(("bfloat16", checkpointing), float("nan"))
            activations = per_token * tokens * layers * hidden
            total = (weights + lora + logits + activations) / 2**30
            cells.append(f"{total:.0f} GiB")
        rows.append(
            f"| {name} | {weights / 2**30:.0f} GiB | {logits / 2**30:.1f} GiB | "
            f"{cells[0]} | {cells[1]} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10M only, short rows")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--threads", type=int, default=1, help="torch threads per child")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(Spec(**json.loads(args.one)))))
        return
    sizes = ["10M"] if args.quick else args.sizes
    started = time.perf_counter()
    results: list[tuple[Spec, dict[str, float]]] = []
    print(
        "| size | params | rows x (query + response) | dtype | checkpointing | weights RSS | "
        "step peak | peak ratio | tokens/s | speed ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in sizes:
        rows, query, response = (2, 16, 32) if args.quick else ROWS[size]
        baseline: dict[str, float] | None = None
        for dtype in ("float32", "bfloat16"):
            for checkpointing in (False, True):
                spec = Spec(size, dtype, checkpointing, rows, query, response, args.threads)
                result = measure(spec)
                results.append((spec, result))
                baseline = baseline or result
                print(
                    f"| {size} | {result['parameters'] / 1e6:.0f}M | {rows} x ({query} + "
                    f"{response}) | {dtype} | {'on' if checkpointing else 'off'} | "
                    f"{result['weights_gib']:.2f} GiB | {result['peak_gib']:.2f} GiB | "
                    f"{result['peak_gib'] / baseline['peak_gib']:.2f} | "
                    f"{result['tokens_per_second']:.0f} | "
                    f"{result['tokens_per_second'] / baseline['tokens_per_second']:.2f} |",
                    flush=True,
                )
    largest = [(s, r) for s, r in results if s.size == sizes[-1]]
    costs = activation_costs(largest)
    print(f"\nactivation bytes per token x layer x hidden unit above the weights ({sizes[-1]}):")
    for (dtype, checkpointing), cost in costs.items():
        print(f"- {dtype}, checkpointing {'on' if checkpointing else 'off'}: {cost:.1f}")
    tokens = 8 * 512
    print(
        "\nESTIMATE (extrapolated from the CPU figures above, not measured on a GPU): one "
        "PPO minibatch of 8 x 512 tokens, bf16 base, LoRA r=8 on q/v:"
    )
    print("| model | bf16 weights | logits | peak, no checkpointing | peak, checkpointing |")
    print("|---|---|---|---|---|")
    for row in estimate(costs, tokens):
        print(row)
    print(f"\n{time.perf_counter() - started:.0f} s, {args.threads} thread(s) per child")


if __name__ == "__main__":
    main()
