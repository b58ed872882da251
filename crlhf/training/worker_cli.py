"""``crlhf worker``: the training worker's command line (the loop is :mod:`.worker`).

The PPO settings are layered exactly as for ``crlhf train-round``
(:func:`crlhf.training.round_options.ppo_config`): config file < the round's params <
``--set`` < ``--seed``/``--min-votes``.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crlhf.arg_types import parse_ks
from crlhf.client_config import ENV_ADMIN_TOKEN, ENV_TOKEN, ClientConfig
from crlhf.errors import InvalidInput
from crlhf.evaluation.suites import SUITES
from crlhf.generation.prompts import PROMPT_STYLES
from crlhf.training.config import PPOConfig
from crlhf.training.round_options import add_ppo_options, ppo_config

if TYPE_CHECKING:  # torch: imported when the worker runs, so --help needs no extra
    from crlhf.training.worker import WorkerOptions

logger = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="server URL (default: $CRLHF_SERVER or config file)")
    parser.add_argument("--token", help=f"admin token (default: ${ENV_ADMIN_TOKEN} or config)")
    parser.add_argument(
        "--base-model", required=True, help="local model directory (or hub cache name)"
    )
    parser.add_argument("--out-dir", type=Path, required=True, help="folder of adapter versions")
    parser.add_argument("--worker-id", help="name shown on claimed rounds (default: host:pid)")
    parser.add_argument(
        "--lease",
        type=float,
        default=60.0,
        help="seconds without a heartbeat before the server fails the round (default 60; "
        "heartbeats go every lease/4)",
    )
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between claims")
    parser.add_argument("--once", action="store_true", help="run at most one round, then exit")
    parser.add_argument(
        "--exit-when-idle", action="store_true", help="exit 0 when no round is waiting"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    launch = parser.add_argument_group(
        "data-parallel training: each round's PPO in a child 'accelerate launch' (the rest "
        "of the worker stays one process)"
    )
    launch.add_argument(
        "--accelerate-config",
        type=Path,
        metavar="FILE",
        help="accelerate config, e.g. docs/accelerate/multi_gpu.yaml",
    )
    launch.add_argument(
        "--num-processes",
        type=int,
        metavar="N",
        help="training processes (one per GPU); overrides the config file's num_processes",
    )

    ppo = parser.add_argument_group(
        "PPO, as for train-round (a round's params override --config; --seed also seeds "
        "the sampling)"
    )
    add_ppo_options(ppo)

    sampling = parser.add_argument_group("sampling with the new adapter")
    sampling.add_argument(
        "--generate-suite", choices=SUITES, help="sample the next round's data for this suite"
    )
    sampling.add_argument(
        "--generate-problems",
        type=Path,
        metavar="FILE",
        help="sample the next round's data for your own problems (JSONL) instead",
    )
    sampling.add_argument("--generate-n", type=int, default=10, help="samples per problem")
    sampling.add_argument("--generate-limit", type=int, help="only the first N problems")
    sampling.add_argument("--temperature", type=float, default=0.8)
    sampling.add_argument("--max-new-tokens", type=int, default=128)
    sampling.add_argument("--batch-size", type=int, default=16, help="rows per generate() call")
    sampling.add_argument(
        "--prompt-style",
        choices=PROMPT_STYLES,
        default="auto",
        help="completion, chat, or auto (chat when the base model has a chat template)",
    )

    bench = parser.add_argument_group("benchmarks of the new adapter (sandboxed)")
    bench.add_argument(
        "--bench", action="append", choices=SUITES, default=[], help="suite (repeatable)"
    )
    bench.add_argument(
        "--bench-problems",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="your own problems (JSONL) to benchmark as well (repeatable)",
    )
    bench.add_argument("--bench-n", type=int, default=10, help="samples per problem")
    bench.add_argument("--bench-k", type=parse_ks, default=(1,), help="comma-separated k values")
    bench.add_argument("--bench-limit", type=int, help="only the first N problems")
    bench.add_argument("--bench-workers", type=int, help="sandbox runners (default: 2 x CPUs)")
    bench.add_argument(
        "--runs-dir", type=Path, help="benchmark runs directory (default: OUT_DIR/runs)"
    )


def options_from(args: argparse.Namespace) -> WorkerOptions:
    from crlhf.training.child_round import Launch
    from crlhf.training.distributed import launched_world_size
    from crlhf.training.worker import Benchmarks, NextSamples, Sampling, WorkerOptions

    if launched_world_size() > 1:
        raise InvalidInput(
            "crlhf worker runs as one process (under accelerate launch every process would "
            "claim rounds); give it --num-processes or --accelerate-config to train each "
            "round data-parallel in a child launch"
        )
    for name in ("lease", "poll"):
        if not getattr(args, name) > 0:
            raise InvalidInput("must be positive", field=name)
    if not 1.0 <= args.lease <= 3600.0:
        raise InvalidInput("must lie in [1, 3600] seconds", field="lease")
    for name in ("generate_n", "bench_n"):
        if getattr(args, name) < 1:
            raise InvalidInput("must be at least 1", field=name)
    if (args.bench or args.bench_problems) and max(args.bench_k) > args.bench_n:
        raise InvalidInput(
            f"pass@{max(args.bench_k)} needs --bench-n {max(args.bench_k)} or more", field="bench_k"
        )
    next_samples = (
        NextSamples(
            args.generate_suite or "own",
            n=args.generate_n,
            limit=args.generate_limit,
            problems_file=args.generate_problems,
        )
        if args.generate_suite or args.generate_problems
        else None
    )
    benchmarks = (
        Benchmarks(
            suites=tuple(args.bench),
            problem_files=tuple(args.bench_problems),
            runs_dir=args.runs_dir or args.out_dir / "runs",
            n=args.bench_n,
            ks=args.bench_k,
            limit=args.bench_limit,
            workers=args.bench_workers,
        )
        if args.bench or args.bench_problems
        else None
    )
    launch = (
        Launch(config_file=args.accelerate_config, num_processes=args.num_processes)
        if args.accelerate_config is not None or args.num_processes is not None
        else None
    )
    return WorkerOptions(
        worker_id=args.worker_id or f"{socket.gethostname()}:{os.getpid()}",
        base_model=args.base_model,
        out_dir=args.out_dir,
        lease_s=args.lease,
        poll_s=args.poll,
        once=args.once,
        exit_when_idle=args.exit_when_idle,
        estimator=args.estimator,
        sampling=Sampling(
            args.temperature, args.max_new_tokens, args.batch_size, args.prompt_style
        ),
        next_samples=next_samples,
        benchmarks=benchmarks,
        progress=not args.no_progress,
        launch=launch,
    )


def run(args: argparse.Namespace) -> int:
    from crlhf.training.worker import Worker, WorkerStopped

    if not args.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    options = options_from(args)
    client_config = ClientConfig.load(
        args.server, args.token, token_env=(ENV_ADMIN_TOKEN, ENV_TOKEN)
    )
    ppo_config(args, {})  # a bad --config or --set fails now, not at the first round

    def make_config(params: Mapping[str, Any]) -> PPOConfig:
        return ppo_config(args, params)

    try:
        return Worker(client_config, options, make_config).run()
    except WorkerStopped as exc:
        sys.stderr.write(f"crlhf worker: {exc}\n")
        return 128 + exc.signum
