"""The settings of ``crlhf demo``, in one place so that they are easy to change.

The defaults come from the testbed probes (docs/training.md, "Testbed"): a 4-layer x 128
GPT-2 pretrained on per-line buggy bodies (about 50% held-out pass@1), PPO at lr 1e-4
with KL coefficient 0.2, 2 samples on each of 96 training problems per round, held-out
pass@1 on 48 problems x 4 samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from crlhf.errors import InvalidInput
from crlhf.testbed.crowd import CrowdSpec
from crlhf.testbed.pretrain import PretrainConfig

TRAIN_SUITE = "testbed-train"
HELDOUT_SUITE = "testbed-heldout"
CROWDS = ("competent", "mixed")


@dataclass(frozen=True)
class DemoConfig:
    """Every setting of the demo; the defaults are sized to finish in under 15 minutes on
    a shared 2-core CPU (see docs/training.md, "The demo")."""

    rounds: int = 5
    crowd: str = "competent"
    """``competent``: 10 annotators right 90% of the time; ``mixed``: 5 of them and 5
    spammers voting at random (:class:`~crlhf.testbed.crowd.CrowdSpec` presets)."""
    seed: int = 0
    # ---------------------------------------------------------------- base model
    pretrain: PretrainConfig = field(
        default_factory=lambda: PretrainConfig(n_layer=4, n_embd=128, n_head=4, epochs=8)
    )
    pretrain_problems: int | None = None
    """Training instances in the corpus (None: all 192)."""
    corpus_copies: int = 20
    corpus_bug_rate: float = 0.0
    corpus_slot_bug_rate: float = 0.2
    """Per-line bugs: a base at about 50% held-out pass@1 (docs/training.md, probes)."""
    # --------------------------------------------------------------------- crowd
    annotators: int = 10
    reliability: float = 0.9
    overlap: int = 3
    """Annotators per sample: the server's ``max_annotators_per_sample``."""
    honeypots: int = 30
    # ------------------------------------------------------------------ sampling
    train_problems: int = 96
    train_samples: int = 2
    heldout_problems: int = 48
    heldout_samples: int = 4
    temperature: float = 0.8
    max_new_tokens: int = 64
    # ----------------------------------------------------------------------- PPO
    ppo: dict[str, float | int] = field(
        default_factory=lambda: {
            "learning_rate": 1e-4,
            "kl_coef": 0.2,
            "batch_size": 64,
            "mini_batch_size": 16,
            "ppo_epochs": 4,
        }
    )
    min_votes: int = 1
    threads: int | None = None
    """torch threads of the demo and the worker (None: torch's and the trainer's default)."""

    def __post_init__(self) -> None:
        if self.crowd not in CROWDS:
            raise InvalidInput(f"choose from {', '.join(CROWDS)}", field="crowd")
        if self.rounds < 1:
            raise InvalidInput("must be at least 1", field="rounds")

    @classmethod
    def quick(cls, **changes: Any) -> DemoConfig:
        """A tiny model, 2 rounds, a handful of problems: the end-to-end test's size."""
        quick = cls(
            rounds=2,
            # About 10 s of pretraining: enough for the base to write testbed-shaped code
            # (about half of its lines right), so the crowd judges real lines.
            pretrain=PretrainConfig(n_layer=2, n_embd=64, n_head=2, epochs=8, batch_size=16),
            pretrain_problems=8,
            corpus_copies=40,
            annotators=4,
            overlap=2,
            honeypots=6,
            train_problems=6,
            train_samples=2,
            heldout_problems=3,
            heldout_samples=2,
            max_new_tokens=24,
            ppo={"learning_rate": 1e-3, "batch_size": 8, "mini_batch_size": 4, "ppo_epochs": 1},
            threads=1,
        )
        return replace(quick, **changes)

    def crowd_spec(self) -> CrowdSpec:
        if self.crowd == "competent":
            spec = CrowdSpec.competent(self.annotators, self.reliability, seed=self.seed)
        else:
            half = self.annotators // 2
            spec = CrowdSpec.with_spammers(
                self.annotators - half, half, self.reliability, seed=self.seed
            )
        return replace(spec, overlap=self.overlap)
