"""A training round's life on the server, as every trainer reports it.

``crlhf train-round --from-server``, its ranks under ``accelerate launch`` and the tests
move a round through the same states with the same messages: taken or created, then
``running``, then ``succeeded`` with the adapter version and metrics, or ``failed`` with
the reason. (``crlhf worker`` claims rounds with a lease instead; see
:mod:`crlhf.training.worker`.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from crlhf.arg_types import Scalar
from crlhf.client import CrlhfClient
from crlhf.errors import CrlhfError
from crlhf.schemas import RoundStatus, RoundTransition, TrainingRound, TrainingRoundIn
from crlhf.training.config import PPOConfig

if TYPE_CHECKING:  # torch
    from crlhf.training.round import RoundResult

logger = logging.getLogger(__name__)


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
            metrics=result.manifest.metrics,
            message=message,
        ),
    )
