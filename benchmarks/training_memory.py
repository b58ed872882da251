"""Peak memory and speed of one PPO step, per model size, base dtype and checkpointing.

    .venv/bin/python benchmarks/training_memory.py            # 10M, 100M, 500M (2 min when idle)
    .venv/bin/python benchmarks/training_memory.py --quick    # 10M only, short rows (~1 min)
    .venv/bin/python benchmarks/training_memory.py --sizes 10M 100M --threads 2
    .venv/bin/python benchmarks/training_memory.py --records runs.json   # resumable

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
run. Two unit costs measured here (bytes per logit entry, from the smallest size, and
bytes per token x layer x hidden unit, from the largest) feed the printed estimate of what
fits an 80 GB GPU for 1.3B, 7B and 15B models: an extrapolation from CPU measurements,
not a GPU measurement.
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
ROWS = {"10M": (4, 64, 192), "100M": (2, 32, 96), "500M": (1, 32, 64)}
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


def logits_entries(spec: Spec) -> int:
    """(B, R + 1, V): the logits the policy makes (the response columns only)."""
    return spec.rows * (spec.response + 1) * SIZES[spec.size].vocab


def extra_bytes(result: dict[str, float]) -> float:
    """Step peak above the weights."""
    return (result["peak_gib"] - result["weights_gib"]) * 2**30


def unit_costs(
    results: list[tuple[Spec, dict[str, float]]],
) -> dict[tuple[str, bool], tuple[float, float]]:
    """Per (dtype, checkpointing): bytes per logit entry, from the smallest size (where
    the vocabulary dwarfs layers x hidden, so nearly all of the step's extra memory is
    logits and their float32 copies), and bytes per token x layer x hidden unit, from the
    largest size once its logits are taken off at that rate."""
    costs = {}
    for dtype in ("float32", "bfloat16"):
        for checkpointing in (False, True):
            runs = [
                (s, r) for s, r in results if (s.dtype, s.checkpointing) == (dtype, checkpointing)
            ]
            small, small_result = runs[0]
            large, large_result = runs[-1]
            per_logit = extra_bytes(small_result) / logits_entries(small)
            size = SIZES[large.size]
            layers = extra_bytes(large_result) - per_logit * logits_entries(large)
            tokens = large.rows * (large.query + large.response)
            costs[(dtype, checkpointing)] = (
                per_logit,
                layers / (tokens * size.layers * size.hidden),
            )
    return costs


def estimate(
    costs: dict[tuple[str, bool], tuple[float, float]], rows: int, query: int, response: int
) -> list[str]:
    """Markdown rows: bf16 weights + LoRA with its Adam state + logits + layer activations
    of one minibatch, for each target model, without and with checkpointing."""
    lines = []
    for name, (parameters, hidden, layers, vocab) in TARGETS.items():
        weights = parameters * 2  # bf16
        lora = layers * 2 * (2 * hidden * 8) * 4 * 4  # q, v: A and B at r = 8; fp32 w, grad, m, v
        cells = []
        logits = 0.0
        for checkpointing in (False, True):
            per_logit, per_unit = costs[("bfloat16", checkpointing)]
            logits = per_logit * rows * (response + 1) * vocab
            activations = per_unit * rows * (query + response) * layers * hidden
            cells.append(f"{(weights + lora + logits + activations) / 2**30:.0f} GiB")
        lines.append(
            f"| {name} | {weights / 2**30:.0f} GiB | {logits / 2**30:.1f} GiB | "
            f"{cells[0]} | {cells[1]} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10M only, short rows")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--threads", type=int, default=1, help="torch threads per child")
    parser.add_argument(
        "--records", type=Path, help="JSON file of measured configurations: read, and extended"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(Spec(**json.loads(args.one)))))
        return
    sizes = ["10M"] if args.quick else args.sizes
    started = time.perf_counter()
    records = _read_records(args.records)
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
                key = json.dumps(asdict(spec), sort_keys=True)
                if key not in records:
                    records[key] = measure(spec)
                    _write_records(args.records, records)
                result = records[key]
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
    costs = unit_costs(results)
    print(
        f"\nbytes per logit entry ({sizes[0]}) and per token x layer x hidden unit ({sizes[-1]}):"
    )
    for (dtype, checkpointing), (per_logit, per_unit) in costs.items():
        state = "on" if checkpointing else "off"
        print(f"- {dtype}, checkpointing {state}: {per_logit:.1f} and {per_unit:.1f}")
    rows, query, response = 8, 256, 256
    print(
        f"\nESTIMATE (extrapolated from the CPU figures above, not measured on a GPU): one PPO "
        f"minibatch of {rows} x ({query} + {response}) tokens, bf16 base, LoRA r=8 on q/v:"
    )
    print("| model | bf16 weights | logits | peak, no checkpointing | peak, checkpointing |")
    print("|---|---|---|---|---|")
    for line in estimate(costs, rows, query, response):
        print(line)
    print(f"\n{time.perf_counter() - started:.0f} s, {args.threads} thread(s) per child")


def _read_records(path: Path | None) -> dict[str, dict[str, float]]:
    if path is None or not path.is_file():
        return {}
    loaded: dict[str, dict[str, float]] = json.loads(path.read_text())
    return loaded


def _write_records(path: Path | None, records: dict[str, dict[str, float]]) -> None:
    if path is not None:
        path.write_text(json.dumps(records, indent=1) + "\n")


if __name__ == "__main__":
    main()
