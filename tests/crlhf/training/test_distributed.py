"""Data-parallel PPO's pieces without a launcher: sharding, gathering, the loss split
over ranks, errors that cross processes, and the single process left alone.

The real thing (two processes under ``accelerate launch``) is test_distributed_e2e.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from crlhf.errors import EmptyDataset, TrainingFailed
from crlhf.training.config import PPOConfig
from crlhf.training.distributed import (
    SingleProcess,
    from_launcher,
    portable,
    rebuild,
    scatter_rows,
    shard_rows,
)
from crlhf.training.ppo import masked_whiten, ppo_losses

CONFIG = PPOConfig(cliprange=0.2, cliprange_value=0.2, vf_coef=0.1)


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8])
def test_shards_split_the_rows_in_order_and_evenly(world_size: int, size: int) -> None:
    rows = torch.randperm(size, generator=torch.Generator().manual_seed(size))
    shards = [shard_rows(rows, rank, world_size) for rank in range(world_size)]
    assert torch.equal(torch.cat(shards), rows)  # every row once, in minibatch order
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    if size < world_size:
        assert sizes.count(0) == world_size - size  # those ranks sit this one out


def test_gathered_shards_are_the_whole_batch_and_whiten_globally() -> None:
    generator = torch.Generator().manual_seed(0)
    advantages = torch.randn(5, 6, generator=generator)
    mask = (torch.arange(6)[None, :] < torch.tensor([6, 2, 4, 1, 5])[:, None]).float()
    rows = torch.arange(5)
    parts = [shard_rows(rows, rank, 2) for rank in range(2)]
    gathered = sum(scatter_rows(advantages[p], p, 5) for p in parts)
    assert isinstance(gathered, torch.Tensor)
    assert torch.equal(gathered, advantages)  # x + 0 == x: exactly, not approximately
    whole = masked_whiten(gathered, mask)
    assert torch.equal(whole, masked_whiten(advantages, mask))
    # Whitening each rank's rows on their own would give other advantages.
    per_rank = sum(scatter_rows(masked_whiten(advantages[p], mask[p]), p, 5) for p in parts)
    assert isinstance(per_rank, torch.Tensor)
    assert not torch.allclose(per_rank, whole, atol=1e-3)


def _minibatch(seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([7, 1, 3, 6, 2])  # ranks get very different token counts

    def draw(scale: float = 1.0) -> torch.Tensor:
        return torch.randn(5, 7, generator=generator) * scale

    return {
        "logprobs": (draw(0.1) - 1.0).requires_grad_(),
        "values": draw().requires_grad_(),
        "old_logprobs": draw(0.1) - 1.0,
        "old_values": draw(),
        "advantages": draw(),
        "returns": draw(),
        "mask": (torch.arange(7)[None, :] < lengths[:, None]).float(),
    }


def _losses(t: dict[str, torch.Tensor], rows: torch.Tensor, count: torch.Tensor | None):
    return ppo_losses(
        t["logprobs"][rows],
        t["values"][rows],
        old_logprobs=t["old_logprobs"][rows],
        old_values=t["old_values"][rows],
        advantages=t["advantages"][rows],
        returns=t["returns"][rows],
        mask=t["mask"][rows],
        config=CONFIG,
        count=count,
    )


@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_losses_over_the_global_token_count_sum_to_the_minibatch(world_size: int) -> None:
    """What makes N processes train the single-process adapter: each rank's token sum
    over the minibatch's total token count, with gradients summed over the ranks."""
    whole = _minibatch(0)
    rows = torch.arange(5)
    loss, stats = _losses(whole, rows, None)
    loss.backward()
    expected = (whole["logprobs"].grad, whole["values"].grad)

    split = _minibatch(0)
    count = split["mask"].sum()
    total = torch.zeros(())
    summed = dict.fromkeys(stats, 0.0)
    for rank in range(world_size):
        part_loss, part_stats = _losses(split, shard_rows(rows, rank, world_size), count)
        total = total + part_loss
        for key, value in part_stats.items():
            summed[key] += value
    total.backward()
    assert float(total.detach()) == pytest.approx(float(loss.detach()), rel=1e-6)
    assert summed == pytest.approx(stats, rel=1e-6, abs=1e-9)
    assert torch.allclose(split["logprobs"].grad, expected[0], rtol=1e-6, atol=1e-8)
    assert torch.allclose(split["values"].grad, expected[1], rtol=1e-6, atol=1e-8)

    # DDP's way, the mean of per-rank means, weighs a 1-token row like a 7-token one.
    ddp = _minibatch(0)
    means = [_losses(ddp, shard_rows(rows, r, world_size), None)[0] for r in range(world_size)]
    ddp_loss = float(sum(m.detach() for m in means) / world_size)
    assert ddp_loss != pytest.approx(float(loss.detach()), rel=1e-3)


def test_errors_cross_processes_with_their_type() -> None:
    empty = rebuild(*portable(EmptyDataset("no sample to train on", field="min_votes")))
    assert type(empty) is EmptyDataset
    assert str(empty) == "min_votes: no sample to train on"
    crash = rebuild(*portable(RuntimeError("CUDA out of memory")))
    assert type(crash) is TrainingFailed
    assert str(crash) == "RuntimeError: CUDA out of memory"


@pytest.mark.slow
def test_one_process_starts_nothing_distributed(
    monkeypatch: pytest.MonkeyPatch, preference_rows, tiny_model_dir: Path, tmp_path: Path
) -> None:
    from crlhf.training.round import run_round

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert from_launcher() is None
    monkeypatch.setenv("WORLD_SIZE", "1")  # accelerate launch --num_processes 1
    assert from_launcher() is None
    single = SingleProcess()
    rows = torch.tensor([3, 1, 2])
    assert single.shard(rows) is rows
    assert single.sum_floats([1.5, 2.0]) == [1.5, 2.0]

    config = PPOConfig(batch_size=4, mini_batch_size=2, ppo_epochs=1, threads=1)
    result = run_round(
        preference_rows, base_model=tiny_model_dir, out_root=tmp_path, version="v1", config=config
    )
    assert result.manifest.data["world_size"] == 1
    assert not torch.distributed.is_initialized()
    state = sys.modules.get("accelerate.state")
    assert state is None or state.PartialState._shared_state == {}  # never set up
