"""The in-process loop runs rounds end to end on a tiny from-scratch model."""

from __future__ import annotations

import pytest

from crlhf.testbed.crowd import CrowdSpec
from crlhf.testbed.loop import LoopConfig, exact_pass, run_loop
from crlhf.testbed.pretrain import PretrainConfig, pretrain
from crlhf.testbed.problems import TEMPLATES, Instance, make_corpus, split_instances
from crlhf.training.adapters import read_manifest
from crlhf.training.config import PPOConfig

pytestmark = pytest.mark.slow


def test_exact_pass_needs_every_line_and_nothing_more() -> None:
    instance = Instance(TEMPLATES[4], 2, "xs")  # scale: four slots
    assert exact_pass(instance, instance.body())
    assert exact_pass(instance, instance.body([0, 0, 1, 0]))  # {k} * x is right too
    assert not exact_pass(instance, instance.body([0, 1, 0, 0]))  # xs[1:]
    assert not exact_pass(instance, "\n".join(instance.body().splitlines()[:3]))
    assert not exact_pass(instance, instance.body() + "    return out\n")


@pytest.mark.parametrize(
    ("crowd", "machines", "reward_mode"),
    [
        (CrowdSpec.competent(4), False, "sample"),
        (None, False, "sample"),
        (None, True, "sample"),
        (CrowdSpec.competent(4), False, "line"),
    ],
    ids=["crowd", "oracle", "machines-only", "crowd-line"],
)
def test_two_rounds_write_two_versions_and_records(tmp_path, crowd, machines, reward_mode) -> None:
    import torch

    torch.set_num_threads(1)
    train, heldout = split_instances()
    corpus = make_corpus(train[:12], copies=6, bug_rate=0.5, seed=0)
    pretrain(corpus, tmp_path / "base", PretrainConfig(n_layer=1, n_embd=32, n_head=2, epochs=1))
    honeypots = [d.instance.line_truth(d.body) for d in corpus[:10]]
    config = LoopConfig(
        rounds=2,
        train_samples_per_problem=2,
        eval_samples_per_problem=1,
        max_new_tokens=24,
        crowd=crowd,
        machines=machines,
        ppo=PPOConfig(
            batch_size=8,
            mini_batch_size=4,
            ppo_epochs=1,
            threads=1,
            learning_rate=1e-3,
            reward_mode=reward_mode,
        ),
    )
    records = run_loop(
        tmp_path / "base",
        tmp_path / "adapters",
        train=train[:6],
        heldout=heldout[:3],
        honeypots=honeypots,
        config=config,
    )
    assert [r["round"] for r in records] == [0.0, 1.0, 2.0]
    assert all(0.0 <= r["heldout_pass1"] <= 1.0 for r in records)
    assert 0.0 <= records[0]["reward_mean"] <= 1.0
    assert (records[0]["human_votes"] > 0) == (crowd is not None)
    second = read_manifest(tmp_path / "adapters" / "v0002")
    assert second.parent_version == "v0001" and second.round_id == 1
    if reward_mode == "line":  # every judged line's reward found its token
        assert int(second.data["line_rewards"] or 0) > int(second.data["samples"] or 0)
        assert second.data["line_rewards_unplaced"] == 0
    else:
        assert "line_rewards" not in second.data
