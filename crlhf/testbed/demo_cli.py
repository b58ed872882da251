"""``crlhf demo``: the whole cRLHF loop on the testbed, end to end (see crlhf/testbed/demo.py)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from crlhf.testbed.demo_config import CROWDS, DemoConfig


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("crlhf-demo"),
        help="where the base model, database, adapters and plot go (default ./crlhf-demo)",
    )
    parser.add_argument("--rounds", type=int, help="training rounds (default 5; 2 with --quick)")
    parser.add_argument(
        "--crowd",
        choices=CROWDS,
        default="competent",
        help="competent: 10 annotators right 90%% of the time; mixed: 5 of them and 5 spammers",
    )
    parser.add_argument(
        "--base-model", type=Path, help="use this base model instead of pretraining one"
    )
    parser.add_argument(
        "--quick", action="store_true", help="tiny model, 2 rounds, a few problems (a smoke test)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reset",
        action="store_true",
        help="delete an earlier run's database, adapters and outputs in --workdir first",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    from crlhf.testbed.demo import run_demo

    if not args.verbose:
        # The demo narrates on stdout; library INFO logs (one per HTTP request) would bury it.
        logging.getLogger().setLevel(logging.WARNING)
    # Set before torch and transformers are imported (tqdm and huggingface_hub read these
    # once, at import), so they reach the library code the demo calls and its children.
    # transformers' own bars (loading and writing weights, sub-second here) are noise.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if args.no_progress:
        os.environ["TQDM_DISABLE"] = "1"
    changes = {"crowd": args.crowd, "seed": args.seed}
    if args.rounds is not None:
        changes["rounds"] = args.rounds
    config = DemoConfig.quick(**changes) if args.quick else replace(DemoConfig(), **changes)

    def say(text: str) -> None:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()

    run_demo(
        config,
        args.workdir,
        base_model=args.base_model,
        reset=args.reset,
        progress=not args.no_progress,
        say=say,
    )
    return 0
