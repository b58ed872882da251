"""``crlhf train-round`` on every rank of ``accelerate launch``: one round, N processes.

Every rank runs this; they differ only in who talks to the outside world:

- ``--data FILE``: every rank reads the file and layers the settings itself (they must
  agree, so a rank that cannot read it fails them all); rank 0 names the new version.
- ``--from-server`` / ``--round-id``: only rank 0 talks to the server. It creates or
  takes the round, moves it to ``running``, reads the export, and broadcasts the triples,
  the settings and the version name to the others; a failure there (a bad token, no
  triple with enough votes) reaches every rank, and each exits 1 with one line.

Then every rank trains its share (:func:`~crlhf.training.round.run_round` with the
process group) and rank 0 alone writes the version and reports the round ``succeeded``,
or ``failed`` with the reason when training fails on any rank.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from crlhf.client import CrlhfClient
from crlhf.errors import TrainingFailed
from crlhf.jsonl import read_jsonl
from crlhf.schemas import ExportRow
from crlhf.training.adapters import next_version
from crlhf.training.config import PPOConfig
from crlhf.training.distributed import DataParallel, shut_down
from crlhf.training.round import RoundResult
from crlhf.training.round_options import ppo_config, server_config, settings, shown_params, train
from crlhf.training.server_round import (
    open_round,
    policy_data,
    report_failure,
    report_success,
)
from crlhf.training.signals import raise_on_signals

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Assignment:
    """What rank 0 hands every rank before training: the same round for all."""

    rows: list[ExportRow]
    config: PPOConfig
    version: str
    round_id: int
    parent: Path | None


def train_launched(args: argparse.Namespace, parallel: DataParallel) -> RoundResult:
    """Run the round of ``args`` on this rank; the same result on every rank."""
    logger.info("rank %d of %d", parallel.rank, parallel.world_size)
    try:
        if args.data is not None:
            return _offline(args, parallel)
        return _online(args, parallel)
    finally:
        shut_down()


def _offline(args: argparse.Namespace, parallel: DataParallel) -> RoundResult:
    def load() -> tuple[PPOConfig, list[ExportRow]]:
        return ppo_config(args, {}), read_jsonl(args.data, ExportRow)

    config, rows = parallel.agree(load)
    version = parallel.on_main(lambda: str(args.version or next_version(args.out_dir)))
    return train(args, rows, config, args.for_round, version=version, parallel=parallel)


async def _begin(args: argparse.Namespace) -> Assignment:
    """Rank 0: the round moved to ``running``, its settings and its triples."""
    async with CrlhfClient.from_config(server_config(args)) as client:
        note = "crlhf train-round (accelerate launch)"
        training_round, config = await open_round(
            client, args.round_id, shown_params(args), note, settings(args)
        )
        try:
            data = await policy_data(
                client, args.out_dir, min_votes=config.min_votes, estimator=args.estimator
            )
            version = args.version or next_version(args.out_dir)
        except BaseException as exc:
            await report_failure(client, training_round.id, exc)
            raise
        return Assignment(data.rows, config, version, training_round.id, data.parent)


async def _end(
    args: argparse.Namespace, round_id: int, outcome: RoundResult | BaseException
) -> None:
    """Rank 0: the round ``succeeded`` with the version and metrics, or ``failed``."""
    async with CrlhfClient.from_config(server_config(args)) as client:
        if isinstance(outcome, BaseException):
            await report_failure(client, round_id, outcome)
            return
        message = f"saved to {outcome.directory} by {_ranks(outcome)} processes"
        await report_success(client, round_id, outcome, message)


def _ranks(result: RoundResult) -> object:
    return result.manifest.data.get("world_size", 1)


def _rank_0_stopped(signum: int) -> TrainingFailed:
    return TrainingFailed(f"rank 0 stopped by {signal.Signals(signum).name}")


def _online(args: argparse.Namespace, parallel: DataParallel) -> RoundResult:
    assignment = parallel.on_main(lambda: asyncio.run(_begin(args)))
    round_id = assignment.round_id
    # Rank 0 reports the round, so a SIGTERM (the launcher stopping the ranks) or SIGINT
    # becomes an error there. It cannot interrupt a rank blocked in a collective
    # operation; then the round stays running (docs/training.md).
    with raise_on_signals(_rank_0_stopped) if parallel.rank == 0 else nullcontext():
        try:
            result = train(
                args,
                assignment.rows,
                assignment.config,
                round_id,
                version=assignment.version,
                parent=assignment.parent,
                parallel=parallel,
            )
        except BaseException as exc:
            if parallel.rank == 0:
                asyncio.run(_end(args, round_id, exc))
            raise
    parallel.on_main(lambda: asyncio.run(_end(args, round_id, result)))
    return result
