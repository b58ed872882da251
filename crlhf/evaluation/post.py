"""Posting a finished benchmark run to the server, so admins see pass@k per round.

``crlhf bench --server URL`` calls this after the run: the summary becomes a
:class:`~crlhf.schemas.BenchmarkResultIn` tagged with the training round (``--round``;
none means the baseline) and is sent with an admin token. The run is on disk first, so a
failed post loses nothing: run the same command again (it resumes, executes nothing new)
and it posts again; the server replaces the result of the same run id.
"""

from __future__ import annotations

import logging
from typing import Any

from crlhf.client import CrlhfClient
from crlhf.client_config import ClientConfig
from crlhf.errors import InvalidInput
from crlhf.evaluation.bench import BenchConfig
from crlhf.schemas import BenchmarkResult, BenchmarkResultIn

logger = logging.getLogger(__name__)


def result_from_summary(
    summary: dict[str, Any], config: BenchConfig, adapter_version: str | None
) -> BenchmarkResultIn:
    """The server's record of one run summary (see :func:`crlhf.evaluation.bench.summarise`)."""
    pass_at_k = {int(k): float(v) for k, v in summary["pass_at_k"].items()}
    if not pass_at_k:
        raise InvalidInput(
            f"no k value is at most n={config.n}, so there is no pass@k to post", field="k"
        )
    return BenchmarkResultIn(
        suite=config.suite,
        model=config.model,
        adapter_version=adapter_version,
        round=config.round,
        run_id=str(summary["run_id"]),
        n=config.n,
        temperature=config.temperature,
        pass_at_k=pass_at_k,
        n_problems=int(summary["n_problems"]),
    )


async def post_result(config: ClientConfig, result: BenchmarkResultIn) -> BenchmarkResult:
    async with CrlhfClient.from_config(config) as client:
        stored = await client.post_benchmark(result)
    logger.info("posted run %s to %s as result %d", result.run_id, config.server, stored.id)
    return stored
