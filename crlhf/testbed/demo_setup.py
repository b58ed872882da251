"""The demo's set-up: base model, server contents, round 0 and the worker process.

Each function is one step of :func:`crlhf.testbed.demo.run_demo`; :class:`Demo` carries
the run's state (URLs, tokens, child processes, the simulated crowd) between them.
"""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from crlhf.client import CrlhfClient
from crlhf.evaluation.problems import BenchProblem
from crlhf.testbed.annotators import SimulatedAnnotator, create_crowd, honeypot_samples
from crlhf.testbed.demo_config import HELDOUT_SUITE, TRAIN_SUITE, DemoConfig
from crlhf.testbed.demo_report import RoundRecord
from crlhf.testbed.problems import Instance, all_instances, make_corpus
from crlhf.testbed.processes import CrlhfProcess

SERVER_START_TIMEOUT_S = 120.0
RUN_FILES = (
    "crlhf.db",
    "crlhf.db-wal",
    "crlhf.db-shm",
    "admin_token",
    "ppo.json",
    "server.log",
    "worker.log",
    "demo.json",
    "crowd_votes.jsonl",
    "demo_pass1.png",
)
RUN_DIRS = ("adapters", "bench")

Say = Callable[[str], None]


@dataclass
class Demo:
    """One run's state: the workdir, the children, the crowd and the records so far."""

    config: DemoConfig
    workdir: Path
    say: Say
    progress: bool
    records: list[RoundRecord] = field(default_factory=list)
    crowd: list[SimulatedAnnotator] = field(default_factory=list)
    server: CrlhfProcess | None = None
    worker: CrlhfProcess | None = None
    url: str = ""
    token: str = ""

    @property
    def adapters(self) -> Path:
        return self.workdir / "adapters"

    def client(self) -> CrlhfClient:
        return CrlhfClient(self.url, self.token)

    def stop(self) -> None:
        """Worker first (it may be writing to the server), then the server."""
        for child in (self.worker, self.server):
            if child is not None:
                child.stop()


def clear_run(workdir: Path) -> None:
    """Remove a previous run's database, adapters and outputs; the base model stays."""
    for name in RUN_FILES:
        (workdir / name).unlink(missing_ok=True)
    for name in RUN_DIRS:
        shutil.rmtree(workdir / name, ignore_errors=True)


def suite_problems(name: str, limit: int | None) -> list[BenchProblem]:
    """The first ``limit`` problems of a testbed suite: the worker reads the same ones."""
    from crlhf.evaluation.suites import load_suite

    return load_suite(name)[:limit]


def instances_of(problems: Sequence[BenchProblem]) -> list[Instance]:
    by_id = {i.task_id: i for i in all_instances()}
    return [by_id[p.task_id] for p in problems]


def set_threads(config: DemoConfig) -> None:
    """torch threads of this process (the worker gets the same through its settings)."""
    if config.threads:
        import torch

        torch.set_num_threads(config.threads)


def prepare_base(config: DemoConfig, workdir: Path, *, progress: bool, say: Say) -> Path:
    """Pretrain the base into ``workdir/base``, unless one with these settings is there."""
    from crlhf.testbed.pretrain import pretrain

    base = workdir / "base"
    train = instances_of(suite_problems(TRAIN_SUITE, config.pretrain_problems))
    settings = {
        "pretrain": asdict(config.pretrain),
        "problems": len(train),
        "copies": config.corpus_copies,
        "bug_rate": config.corpus_bug_rate,
        "slot_bug_rate": config.corpus_slot_bug_rate,
        "seed": config.seed,
    }
    recorded = base / "demo_base.json"
    if recorded.is_file() and json.loads(recorded.read_text(encoding="utf-8")) == settings:
        say(f"base model: reusing {base}")
        return base
    corpus = make_corpus(
        train,
        copies=config.corpus_copies,
        bug_rate=config.corpus_bug_rate,
        slot_bug_rate=config.corpus_slot_bug_rate,
        seed=config.seed,
    )
    say(
        f"base model: pretraining a {config.pretrain.n_layer}-layer x {config.pretrain.n_embd} "
        f"GPT-2 on {len(corpus)} bodies of {len(train)} problems"
    )
    stats = pretrain(corpus, base, config.pretrain, progress=progress)
    recorded.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    say(
        f"  loss {stats['first_loss']:.2f} -> {stats['final_loss']:.2f} in {stats['seconds']:.0f} s"
    )
    return base


async def setup_server(demo: Demo, train: Sequence[BenchProblem]) -> None:
    """Problems, honeypots and annotators, as an admin would create them."""
    config = demo.config
    instances = instances_of(train)
    rng = random.Random(config.seed)
    documents = make_corpus(
        [rng.choice(instances) for _ in range(config.honeypots)],
        copies=1,
        bug_rate=0.5,
        slot_bug_rate=config.corpus_slot_bug_rate,
        seed=config.seed + 1,
    )
    async with demo.client() as admin:
        await admin.import_problems([p.to_problem_in() for p in train])
        await admin.import_samples(honeypot_samples(documents))
        demo.crowd = await create_crowd(admin, config.crowd_spec(), seed=config.seed)
    names = ", ".join(f"{a.name}" for a in demo.crowd)
    demo.say(
        f"server: {len(train)} problems, {len(documents)} honeypots, "
        f"{len(demo.crowd)} annotators ({names})"
    )


def start_worker(demo: Demo, base: Path) -> CrlhfProcess:
    config = demo.config
    ppo = {**config.ppo, **({"threads": config.threads} if config.threads else {})}
    ppo_path = demo.workdir / "ppo.json"
    ppo_path.write_text(json.dumps(ppo, indent=2) + "\n", encoding="utf-8")
    arguments = [
        "worker",
        "--server", demo.url,
        "--base-model", str(base),
        "--out-dir", str(demo.adapters),
        "--worker-id", "crlhf-demo",
        "--poll", "1",
        "--config", str(ppo_path),
        "--min-votes", str(config.min_votes),
        "--seed", str(config.seed),
        "--generate-suite", TRAIN_SUITE,
        "--generate-n", str(config.train_samples),
        "--generate-limit", str(config.train_problems),
        "--temperature", str(config.temperature),
        "--max-new-tokens", str(config.max_new_tokens),
        "--batch-size", "32",
        "--bench", HELDOUT_SUITE,
        "--bench-n", str(config.heldout_samples),
        "--bench-k", "1",
        "--bench-limit", str(config.heldout_problems),
        "--no-progress",
    ]  # fmt: skip
    env = {"CRLHF_ADMIN_TOKEN": demo.token}
    if config.threads:
        env["OMP_NUM_THREADS"] = str(config.threads)
    worker = CrlhfProcess("worker", arguments, demo.workdir / "worker.log", env)
    worker.start()
    return worker


def round_zero(
    demo: Demo, base: Path, train: Sequence[BenchProblem], heldout: Sequence[BenchProblem]
) -> RoundRecord:
    """The base model's training samples (pushed) and its held-out benchmark (posted as
    the baseline, round None), with the library functions ``crlhf generate --push`` and
    ``crlhf bench --server`` run."""
    from crlhf.client_config import ClientConfig
    from crlhf.evaluation.bench import BenchConfig, run_bench
    from crlhf.evaluation.post import post_result, result_from_summary
    from crlhf.evaluation.runstore import RunStore
    from crlhf.generation.generate import GenerationSettings, Generator, load_model, pick_device
    from crlhf.generation.samples import collect, push
    from crlhf.sandbox import Executor, Limits

    config = demo.config
    started = time.perf_counter()
    model, tokenizer = load_model(str(base), None, pick_device())
    client_config = ClientConfig(demo.url, demo.token)

    def generator(seed: int) -> Generator:
        settings = GenerationSettings(
            temperature=config.temperature,
            max_new_tokens=config.max_new_tokens,
            batch_size=32,
            seed=seed,
        )
        return Generator(model, tokenizer, settings, model_name=str(base), progress=demo.progress)

    seed = config.seed
    collected = collect(generator(seed)(train, config.train_samples), f"r0-s{seed}")
    done, samples = collected.problems, collected.samples
    created, _ = asyncio.run(push(client_config, done, samples))
    demo.say(f"round 0: the base model wrote {created} samples to annotate")
    bench = BenchConfig(
        suite=HELDOUT_SUITE,
        n=config.heldout_samples,
        ks=(1,),
        model=str(base),
        temperature=config.temperature,
        max_new_tokens=config.max_new_tokens,
        seed=seed + 10_000,
        limit=config.heldout_problems,
    )
    summary = run_bench(
        heldout,
        generator(seed + 10_000),
        Executor(Limits()),
        RunStore(demo.workdir / "bench", "baseline"),
        bench,
    )
    asyncio.run(post_result(client_config, result_from_summary(summary, bench, None)))
    pass1 = float(summary["pass_at_k"]["1"])
    demo.say(f"round 0: base model held-out pass@1 {100 * pass1:.1f}% (posted as the baseline)")
    return RoundRecord(0, None, None, pass1, seconds=time.perf_counter() - started)
