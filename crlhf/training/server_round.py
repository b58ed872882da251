"""A training round's life on the server, as every trainer reports it.

``crlhf train-round --from-server``, its ranks under ``accelerate launch`` and the tests
move a round through the same states with the same messages: taken or created, then
``running``, then ``succeeded`` with the adapter version and metrics, or ``failed`` with
the reason. (``crlhf worker`` claims rounds with a lease instead; see
:mod:`crlhf.training.worker`.)

Both the worker and ``train-round --from-server`` take their data by one rule,
:func:`policy_data`: the current adapter is the parent, and only the triples it sampled
are trained on. ``train-round --data FILE --register`` records a round trained offline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crlhf.arg_types import Scalar
from crlhf.client import CrlhfClient
from crlhf.errors import AdapterNotFound, CrlhfError, EmptyDataset
from crlhf.schemas import (
    CurrentAdapter,
    ExportRow,
    RoundRegistration,
    RoundStatus,
    RoundTransition,
    TrainingRound,
    TrainingRoundIn,
)
from crlhf.training.config import PPOConfig

if TYPE_CHECKING:  # torch
    from crlhf.training.round import RoundResult

logger = logging.getLogger(__name__)


Metrics = dict[str, float | int | str | bool | None]


@dataclass(frozen=True)
class PolicyData:
    """What a server-driven round trains: the current adapter's samples, from it."""

    current: CurrentAdapter
    parent: Path | None
    """The current adapter's version directory (None: the base model)."""
    rows: list[ExportRow]


def rows_of_policy(rows: Sequence[ExportRow], version: str | None) -> list[ExportRow]:
    """The triples sampled by adapter ``version`` (None: the base model).

    Raises :class:`EmptyDataset` when there is none, naming the policy.
    """
    kept = [row for row in rows if row.meta.adapter_version == version]
    policy = f"adapter {version}" if version else "the base model"
    if not kept:
        raise EmptyDataset(
            f"none of the {len(rows)} exported triple(s) with enough votes was sampled by "
            f"{policy}, the current adapter; its samples need votes first"
        )
    if len(kept) < len(rows):
        logger.info(
            "training on the %d of %d triples sampled by %s (the others' log-probs belong "
            "to another policy)",
            len(kept),
            len(rows),
            policy,
        )
    return kept


def parent_directory(out_dir: Path, current: CurrentAdapter) -> Path | None:
    """The current adapter's directory under ``out_dir`` (None: the base model)."""
    if current.version is None:
        return None
    directory = out_dir / current.version
    if not directory.is_dir():
        raise AdapterNotFound(
            f"the current adapter {current.version} (round {current.round_id}) is not in "
            f"{out_dir}; train with the --out-dir that holds it"
        )
    return directory


async def policy_data(
    client: CrlhfClient, out_dir: Path, *, min_votes: int, estimator: str | None
) -> PolicyData:
    """The current adapter, its directory under ``out_dir`` and the export's triples it
    sampled: the stored sampling log-probs are those of the policy that drew them, and
    PPO's ratio starts from that policy."""
    current = await client.current_adapter()
    parent = parent_directory(out_dir, current)
    exported = await client.export(min_votes=min_votes, estimator=estimator)
    return PolicyData(current, parent, rows_of_policy(exported, current.version))


def round_metrics(result: RoundResult) -> Metrics:
    """What the server's round records of a result: the manifest's metrics, the samples
    trained on and the hand-written ones skipped (no token ids)."""
    data = result.manifest.data
    return {
        **result.manifest.metrics,
        "samples": data["samples"],
        "skipped_no_token_ids": data.get("skipped_no_token_ids", 0),
        "parent_version": result.manifest.parent_version,
    }


async def open_round(
    client: CrlhfClient,
    round_id: int | None,
    params: Mapping[str, Scalar],
    note: str,
    settings: Callable[[Mapping[str, Any]], PPOConfig],
) -> tuple[TrainingRound, PPOConfig]:
    """The requested round ``round_id``, or a new one recording ``params``, with its PPO
    settings, moved to ``running``.

    The settings are made from the round's params before the move, so params the trainer
    cannot use leave the round ``requested`` rather than stuck ``running``.
    """
    if round_id is not None:
        training_round = await client.get_round(round_id)
    else:
        request = TrainingRoundIn(params=dict(params), note=note)
        training_round = await client.create_round(request)
    config = settings(training_round.params)
    await client.transition_round(training_round.id, RoundTransition(status=RoundStatus.RUNNING))
    return training_round, config


async def report_failure(client: CrlhfClient, round_id: int, exc: BaseException) -> None:
    """Mark the round ``failed`` with ``exc`` as the reason (logged if that fails too)."""
    reason = f"{type(exc).__name__}: {exc}"[:10_000]
    try:
        await client.transition_round(
            round_id, RoundTransition(status=RoundStatus.FAILED, message=reason)
        )
    except CrlhfError as report_error:
        logger.error("could not mark round %d failed: %s", round_id, report_error)


async def report_success(
    client: CrlhfClient, round_id: int, result: RoundResult, message: str
) -> None:
    await client.transition_round(
        round_id,
        RoundTransition(
            status=RoundStatus.SUCCEEDED,
            adapter_version=result.version,
            metrics=round_metrics(result),
            message=message,
        ),
    )


async def register_round(client: CrlhfClient, result: RoundResult, note: str) -> TrainingRound:
    """Record a round trained offline (``train-round --data --register``) as succeeded,
    with its manifest's version, metrics and data summary, so the server knows the version
    (``crlhf admin adapters list``) and it becomes current like any other."""
    manifest = result.manifest
    params: dict[str, Scalar] = {
        key: value
        for key, value in manifest.config.model_dump(mode="json").items()
        if isinstance(value, float | int | str | bool) or value is None
    }
    data: Metrics = {f"data/{key}": value for key, value in manifest.data.items()}
    registration = RoundRegistration(
        adapter_version=result.version,
        params=params,
        metrics={**round_metrics(result), **data},
        note=note,
        message=f"registered by crlhf train-round: {result.directory}",
    )
    return await client.register_round(registration)
