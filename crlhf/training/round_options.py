"""The round's command-line options and what they become, for every entry point.

``crlhf train-round`` (one process, or every rank under ``accelerate launch``) and
``crlhf worker`` take the same PPO options and layer them the same way; this module is
that one place, so the argparse modules stay argument lists and the rules cannot drift.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crlhf.arg_types import Scalar, parse_key_value
from crlhf.client_config import ENV_ADMIN_TOKEN, ENV_TOKEN, ClientConfig
from crlhf.errors import InvalidFile
from crlhf.generation.precision import DTYPE_NAMES
from crlhf.schemas import ExportRow
from crlhf.training.config import PPOConfig, make_config

if TYPE_CHECKING:  # torch: imported when a round runs, so --help needs no extra
    from crlhf.training.distributed import DataParallel
    from crlhf.training.round import RoundResult, StepCallback

logger = logging.getLogger(__name__)


def add_ppo_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """The options :func:`ppo_config` reads; shared by ``crlhf train-round`` and ``worker``."""
    parser.add_argument("--config", type=Path, help="JSON file of PPO settings")
    parser.add_argument(
        "--set",
        type=parse_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a PPO setting, e.g. learning_rate=1e-4 (repeatable; see docs/training.md)",
    )
    parser.add_argument("--seed", type=int, help="seed (default 0)")
    parser.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        help="precision of the base model (default float32; auto: the checkpoint's); "
        "sample in the same one",
    )
    parser.add_argument(
        "--gradient-checkpointing",
        action="store_true",
        default=None,
        help="recompute activations in the backward pass: less memory, slower",
    )
    parser.add_argument("--min-votes", type=int, help="train only on samples with N+ votes")
    parser.add_argument("--estimator", help="estimator of the server's refit before export")


def ppo_config(args: argparse.Namespace, round_params: Mapping[str, Any]) -> PPOConfig:
    """Config file < round params from the server < ``--set`` < dedicated flags
    (``--seed``, ``--min-votes``, ``--dtype``, ``--gradient-checkpointing``)."""
    values: dict[str, Any] = {}
    if args.config is not None:
        try:
            values.update(json.loads(args.config.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, TypeError, ValueError) as exc:
            raise InvalidFile(f"{args.config}: not a JSON object of PPO settings: {exc}") from exc
    known = set(PPOConfig.model_fields)
    ignored = sorted(set(round_params) - known)
    if ignored:
        logger.info("round params not for the PPO trainer, ignored: %s", ", ".join(ignored))
    values.update({k: v for k, v in round_params.items() if k in known})
    values.update(dict(args.set))
    for flag in ("seed", "min_votes", "dtype", "gradient_checkpointing"):
        if getattr(args, flag) is not None:
            values[flag] = getattr(args, flag)
    return make_config(values)


def server_config(args: argparse.Namespace) -> ClientConfig:
    """The server and admin token of ``--server``/``--token``, else env or config file."""
    return ClientConfig.load(args.server, args.token, token_env=(ENV_ADMIN_TOKEN, ENV_TOKEN))


def emit(event: str, **fields: object) -> None:
    """One JSON line of progress on stdout (``--progress-json``), flushed at once: the
    reader is ``crlhf worker``, which forwards it to the server's heartbeat."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


def _on_step(args: argparse.Namespace) -> StepCallback | None:
    if not args.progress_json:
        return None

    def report(done: int, total: int) -> None:
        emit("step", done=done, total=total)

    return report


def train(
    args: argparse.Namespace,
    rows: list[ExportRow],
    config: PPOConfig,
    round_id: int | None,
    *,
    version: str | None = None,
    parent: Path | None = None,
    parallel: DataParallel | None = None,
) -> RoundResult:
    """One round on ``rows`` with the model, folders and progress options of ``args``;
    ``parent`` (the server's current adapter) else ``--parent`` is continued from."""
    from crlhf.training.adapters import next_version
    from crlhf.training.round import run_round

    return run_round(
        rows,
        base_model=args.base_model,
        out_root=args.out_dir,
        version=version or args.version or next_version(args.out_dir),
        config=config,
        parent=parent or args.parent,
        round_id=round_id,
        progress=not args.no_progress,
        on_step=_on_step(args) if parallel is None or parallel.rank == 0 else None,
        parallel=parallel,
    )


def settings(args: argparse.Namespace) -> Callable[[Mapping[str, Any]], PPOConfig]:
    """:func:`ppo_config` with ``args`` bound: round params in, PPO settings out."""

    def layered(round_params: Mapping[str, Any]) -> PPOConfig:
        return ppo_config(args, round_params)

    return layered


def shown_params(args: argparse.Namespace) -> dict[str, Scalar]:
    """The ``--set`` values a round created by this command records on the server (round
    params are scalars there; a list setting such as LoRA target modules stays local)."""
    return {key: value for key, value in args.set if not isinstance(value, list)}
