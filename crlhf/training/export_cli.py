"""``crlhf export-model``: an adapter version as a merged checkpoint or a peft adapter.

torch, transformers and peft are imported only when an export runs (--merge).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crlhf.errors import AdapterNotFound


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version", required=True, help="adapter version (vNNNN under --adapters, or its folder)"
    )
    parser.add_argument(
        "--adapters",
        type=Path,
        default=Path("adapters"),
        help="folder of adapter versions (train-round/worker --out-dir; default: adapters)",
    )
    parser.add_argument("--out", type=Path, required=True, help="new folder to write")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="fold the adapter into the base weights (a plain transformers checkpoint)",
    )
    parser.add_argument(
        "--base-model",
        help="base model to load (default: the one the version was trained on; must match)",
    )


def version_directory(adapters: Path, version: str) -> Path:
    """``adapters/version``, or ``version`` itself when it is a version folder."""
    for candidate in (adapters / version, Path(version)):
        if candidate.is_dir():
            return candidate
    raise AdapterNotFound(
        f"no adapter version {version!r} in {adapters} (see crlhf admin adapters list)",
        field="version",
    )


def run(args: argparse.Namespace) -> int:
    from crlhf.training.export_model import ExportRequest, export_model

    request = ExportRequest(
        version_dir=version_directory(args.adapters, args.version),
        out=args.out,
        merge=args.merge,
        base_model=args.base_model,
    )
    out = export_model(request)
    form = "merged checkpoint" if args.merge else "adapter"
    sys.stdout.write(f"exported {args.version} as a {form} to {out}\n")
    return 0
