"""``crlhf train-round``: one PPO round from an export file or from the server.

Offline: ``--data export.jsonl`` trains on a file written by ``crlhf admin export``;
``--register`` then records it on the server as a succeeded round with its manifest.
Online: ``--from-server`` creates a training round on the server, or ``--round-id N``
takes a requested one; the command then moves it to ``running``, trains by the worker's
rule (:func:`~crlhf.training.server_round.policy_data`: the current adapter is the parent,
only its samples with ``--min-votes`` votes are used), and ends it as ``succeeded`` with
the new adapter version and the metrics, or ``failed`` with the reason. Either way the new
version is saved under ``--out-dir`` (see :mod:`crlhf.training.adapters`).

Under ``accelerate launch`` with several processes the same command trains data-parallel
(:mod:`crlhf.training.launched`); ``--progress-json`` writes the round's progress as JSON
lines on stdout, which is how ``crlhf worker`` follows a launched round.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from crlhf.client import CrlhfClient
from crlhf.client_config import ENV_ADMIN_TOKEN
from crlhf.errors import InvalidInput
from crlhf.jsonl import read_jsonl
from crlhf.schemas import ExportRow
from crlhf.training.round_options import (
    add_ppo_options,
    emit,
    ppo_config,
    server_config,
    settings,
    shown_params,
    train,
)
from crlhf.training.server_round import (
    open_round,
    policy_data,
    register_round,
    report_failure,
    report_success,
)

if TYPE_CHECKING:  # torch: imported when a round runs, so --help needs no extra
    from crlhf.training.round import RoundResult

logger = logging.getLogger(__name__)


async def _online(args: argparse.Namespace) -> RoundResult:
    """Register the round with the server around the training; a failure marks it failed."""

    async with CrlhfClient.from_config(server_config(args)) as client:
        training_round, config = await open_round(
            client, args.round_id, shown_params(args), "crlhf train-round", settings(args)
        )
        try:
            data = await policy_data(
                client, args.out_dir, min_votes=config.min_votes, estimator=args.estimator
            )
            result = train(args, data.rows, config, training_round.id, parent=data.parent)
        except BaseException as exc:
            await report_failure(client, training_round.id, exc)
            raise
        await report_success(client, training_round.id, result, f"saved to {result.directory}")
        return result


async def _register(args: argparse.Namespace, result: RoundResult) -> int:
    async with CrlhfClient.from_config(server_config(args)) as client:
        recorded = await register_round(client, result, f"crlhf train-round --data {args.data}")
    return recorded.id


def configure(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="export JSONL of (x, y, s) triples")
    source.add_argument(
        "--from-server",
        action="store_true",
        help="create a round on the server and train on its export",
    )
    source.add_argument("--round-id", type=int, help="run this requested round of the server")
    parser.add_argument(
        "--base-model", required=True, help="local model directory (or hub cache name)"
    )
    parser.add_argument("--out-dir", type=Path, required=True, help="folder of adapter versions")
    parser.add_argument("--version", help="name of the new version (default: next vNNNN)")
    parser.add_argument(
        "--parent",
        type=Path,
        help="with --data: adapter version to continue from (from the server: the current one)",
    )
    parser.add_argument(
        "--register",
        action="store_true",
        help="with --data: record the round on the server as succeeded, with its manifest",
    )
    add_ppo_options(parser)
    parser.add_argument("--server", help="server URL (default: $CRLHF_SERVER or config file)")
    parser.add_argument("--token", help=f"admin token (default: ${ENV_ADMIN_TOKEN} or config)")
    parser.add_argument(
        "--for-round",
        type=int,
        metavar="ID",
        help="with --data: record server round ID in the manifest (crlhf worker uses it)",
    )
    parser.add_argument("--json", action="store_true", help="print the manifest as JSON")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--progress-json",
        action="store_true",
        help="write progress, the result or the error as JSON lines on stdout (rank 0)",
    )


def run(args: argparse.Namespace) -> int:
    from crlhf.training.distributed import from_launcher, portable

    if not args.verbose:
        logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.data is None and args.parent is not None:
        raise InvalidInput(
            "--parent is for --data; a server round continues from the current adapter "
            "(crlhf admin adapters set VERSION to choose it)",
            field="parent",
        )
    if args.register and (args.data is None or args.for_round is not None):
        raise InvalidInput(
            "--register records a --data round (without --for-round)", field="register"
        )
    if args.register:
        server_config(args)  # a missing server or token fails now, not after the training
    parallel = from_launcher()  # None unless accelerate launch started several processes
    try:
        if parallel is not None:
            from crlhf.training.launched import train_launched

            result = train_launched(args, parallel)
        elif args.data is not None:
            config = ppo_config(args, {})
            rows = read_jsonl(args.data, ExportRow)
            result = train(args, rows, config, args.for_round)
        else:
            result = asyncio.run(_online(args))
    except Exception as exc:
        if args.progress_json:
            # Every rank: the launcher stops the others as soon as one exits, so the
            # first rank to fail may be the only one that gets to say why.
            code, message, field = portable(exc)
            rank = 0 if parallel is None else parallel.rank
            emit("error", rank=rank, code=code, message=message[:2000], field=field)
        raise
    if parallel is not None and parallel.rank > 0:
        return 0  # rank 0 reports the round
    if args.register:
        round_id = asyncio.run(_register(args, result))
        logger.info("registered %s as round %d", result.version, round_id)
    manifest = result.manifest
    if args.progress_json:
        emit("done", version=result.version, directory=str(result.directory))
        return 0
    if args.json:
        sys.stdout.write(manifest.model_dump_json(indent=2) + "\n")
        return 0
    metrics = manifest.metrics
    sys.stdout.write(
        f"{result.version}: {manifest.data['samples']} samples, "
        f"score {metrics['score_mean']:.3f}, KL(ref) {metrics['kl_ref']:.4f}, "
        f"{metrics['tokens_per_second']:.0f} tokens/s -> {result.directory}\n"
    )
    return 0
