"""``crlhf generate``: sample completions for a suite's problems, write or push them.

torch and transformers are imported only when the command runs, so ``--help`` is quick.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from crlhf.client_config import ENV_ADMIN_TOKEN, ENV_TOKEN, ClientConfig
from crlhf.errors import InvalidInput
from crlhf.evaluation import mbpp
from crlhf.evaluation.suites import SUITES, load_problems
from crlhf.generation.precision import DEFAULT_DTYPE, DTYPE_NAMES
from crlhf.generation.prompts import PROMPT_STYLES

if TYPE_CHECKING:
    from crlhf.generation.generate import Generator

logger = logging.getLogger(__name__)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """Options shared with ``crlhf bench``: which policy, and how it samples."""
    model = parser.add_argument_group("model")
    model.add_argument("--model", help="local path or hub name of a causal LM")
    model.add_argument(
        "--adapter",
        help="LoRA adapter on top of --model: a peft directory or an adapter version directory",
    )
    model.add_argument("--adapter-version", help="adapter version recorded in sample metadata")
    model.add_argument("--round", type=int, help="training round the policy belongs to")
    model.add_argument(
        "--temperature", type=float, default=0.8, help="0: greedy decoding (with --n 1)"
    )
    model.add_argument(
        "--prompt-style",
        choices=PROMPT_STYLES,
        default="auto",
        help="completion: continue the prompt (base models); chat: the checkpoint's chat "
        "template, code extracted from the reply; auto (default): chat when the tokenizer "
        "has a template",
    )
    model.add_argument("--max-new-tokens", type=int, default=128)
    model.add_argument("--batch-size", type=int, default=16, help="rows per generate() call")
    model.add_argument("--seed", type=int, default=0)
    model.add_argument("--device", help="torch device (default: cuda when present, else cpu)")
    model.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default=DEFAULT_DTYPE,
        help="precision of the base model (auto: the checkpoint's); train in the same one",
    )
    model.add_argument(
        "--stop", action="append", help="stop sequence (repeatable; default: the paper's set)"
    )
    parser.add_argument(
        "--suite",
        choices=SUITES,
        default="humaneval",
        help="built-in suite, or 'server': the server's own problems (admin token)",
    )
    parser.add_argument(
        "--problems",
        type=Path,
        metavar="FILE",
        help="your own problems (JSONL, docs/clients.md) instead of --suite",
    )
    parser.add_argument(
        "--mbpp-path", type=Path, help=f"mbpp.jsonl for --suite mbpp (default: ${mbpp.ENV_PATH})"
    )
    parser.add_argument("--limit", type=int, help="only the first N problems")


def build_generator(args: argparse.Namespace) -> Generator:
    """Load the model and wrap it in a generator (imports torch)."""
    from crlhf.generation.checkpoints import resolve_model
    from crlhf.generation.generate import (
        DEFAULT_STOPS,
        GenerationSettings,
        Generator,
        load_model,
        pick_device,
    )

    if not args.model:
        raise InvalidInput("--model is required", field="model")
    settings = GenerationSettings(
        temperature=args.temperature,
        max_new_tokens=args.max_new_tokens,
        batch_size=args.batch_size,
        seed=args.seed,
        stop=tuple(args.stop) if args.stop else DEFAULT_STOPS,
        prompt_style=args.prompt_style,
    )
    device = pick_device(args.device)
    logger.info(
        "loading %s%s on %s in %s",
        args.model,
        f" + {args.adapter}" if args.adapter else "",
        device,
        args.dtype,
    )
    model, tokenizer = load_model(resolve_model(args.model), args.adapter, device, args.dtype)
    return Generator(
        model,
        tokenizer,
        settings,
        model_name=args.model,
        adapter_version=args.adapter_version or args.adapter,
        round_number=args.round,
    )


def configure(parser: argparse.ArgumentParser) -> None:
    add_model_options(parser)
    parser.add_argument(
        "--n", type=int, help="samples per problem (default: 10; 1 with --temperature 0)"
    )
    parser.add_argument("--out", type=Path, help="write SampleIn JSONL here")
    parser.add_argument("--push", action="store_true", help="import into the server (admin)")
    parser.add_argument("--server", help="server URL (default: $CRLHF_SERVER or config file)")
    parser.add_argument("--token", help=f"admin token (default: ${ENV_ADMIN_TOKEN}, ${ENV_TOKEN})")


def run(args: argparse.Namespace) -> int:
    from crlhf.generation.samples import collect, push, write_jsonl

    if not args.out and not args.push:
        raise InvalidInput("say where the samples go: --out FILE and/or --push", field="out")
    if args.n is None:
        args.n = 1 if args.temperature == 0 else 10
    if args.n < 1:
        raise InvalidInput("must be at least 1", field="n")
    config = (
        ClientConfig.load(args.server, args.token, token_env=(ENV_ADMIN_TOKEN, ENV_TOKEN))
        if args.push or (args.suite == "server" and args.problems is None)
        else None
    )
    problems = load_problems(
        args.suite, problems_file=args.problems, mbpp_path=args.mbpp_path, server=config
    )[: args.limit]
    generator = build_generator(args)
    tag = f"r{args.round if args.round is not None else 0}-s{args.seed}"
    collected = collect(generator(problems, args.n), tag)
    done, samples = collected.problems, collected.samples
    sys.stdout.write(collected.describe() + "\n")
    if args.out:
        write_jsonl(samples, args.out)
        sys.stdout.write(f"wrote {len(samples)} samples for {len(done)} problems to {args.out}\n")
    if config is not None and args.push:
        created, unchanged = asyncio.run(push(config, done, samples))
        sys.stdout.write(f"pushed to {config.server}: {created} new, {unchanged} already there\n")
    return 0
