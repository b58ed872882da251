"""The settings of one PPO training round: one typed, frozen object.

Every knob of the round lives here so that the whole round is reproducible from this
object (saved as JSON beside each adapter version) plus the data set and the seed. The
defaults follow TRL's classic ``PPOConfig`` where its choices fit stored, human-scored
samples, and depart from it where they do not (``lam``, ``kl_estimator``); see
docs/training.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from crlhf.errors import InvalidInput
from crlhf.generation.precision import DEFAULT_DTYPE, DTypeName


class PPOConfig(BaseModel):
    """Policy, optimisation and PPO settings of a training round."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    # ----------------------------------------------------------------- the policy
    lora_r: int = Field(default=8, ge=1)
    """Rank of the LoRA update matrices."""

    lora_alpha: int = Field(default=16, ge=1)
    """LoRA scale numerator: the update is (alpha / r) · B A."""

    lora_target_modules: tuple[str, ...] | None = None
    """Module names that get adapters (a name matches a module whose dotted path ends in
    it), or ``("all-linear",)`` for every linear projection of the attention and MLP
    blocks. None: peft's defaults for the architecture (``c_attn`` for GPT-2,
    ``q_proj``/``v_proj`` for Llama-style models), and all-linear for architectures peft
    has none for (StarCoder2, Phi-3). A name that matches no module is refused before
    the weights load; the manifest records the modules actually adapted."""

    dtype: DTypeName = DEFAULT_DTYPE
    """Precision of the base model's weights and activations: float32, bfloat16, float16
    or auto (the checkpoint's). LoRA matrices and the value head stay float32 and losses
    and log-probs are computed in float32 (the mixed recipe). Sample in the same dtype
    (``crlhf generate --dtype``) so the stored log-probs match; see docs/training.md for
    the drift each dtype shows. float16 trains without loss scaling: prefer bfloat16."""

    gradient_checkpointing: bool = False
    """Recompute each decoder layer's activations in the backward pass instead of keeping
    them: less memory for long responses, about one more forward pass of time."""

    # --------------------------------------------------------------- optimisation
    learning_rate: float = Field(default=1.41e-5, gt=0.0)
    """AdamW step size (TRL's classic default); the tiny test model uses a larger one."""

    batch_size: int = Field(default=64, ge=1)
    """Samples per PPO step: a round of N samples runs ceil(N / batch_size) steps."""

    mini_batch_size: int = Field(default=8, ge=1)
    """Samples per gradient update inside a step; when not given, 8 or ``batch_size`` if
    that is smaller (so ``batch_size=4`` alone is a valid round)."""

    ppo_epochs: int = Field(default=4, ge=1)
    """Passes over each step's batch (each pass in a fresh random minibatch order)."""

    max_grad_norm: float | None = Field(default=1.0, gt=0.0)
    """Clip the global gradient norm of the trainable parameters; None: no clipping."""

    # ------------------------------------------------------------------------ PPO
    gamma: float = Field(default=1.0, ge=0.0, le=1.0)
    """γ, the discount of GAE. 1: the crowd's score is about the whole program."""

    lam: float = Field(default=1.0, ge=0.0, le=1.0)
    """λ of GAE. 1 (not TRL's 0.95): with one reward at the end of the response and an
    untrained value head, λ = 0.95 shrinks the signal reaching token t by 0.95^(T−t), so
    early tokens of a 128-token response learn almost nothing."""

    value_warmup_steps: int = Field(default=0, ge=0)
    """Value-head-only gradient updates on each step's batch before the PPO epochs: the
    other cure for λ < 1 (a value head that already predicts the return carries the
    end reward back to early tokens through δ_t)."""

    cliprange: float = Field(default=0.2, gt=0.0)
    """ε of the clipped surrogate: the ratio π/π_old is clipped to [1 − ε, 1 + ε]."""

    cliprange_value: float = Field(default=0.2, gt=0.0)
    """ε_v of the clipped value loss: V is clipped to V_old ± ε_v."""

    vf_coef: float = Field(default=0.1, ge=0.0)
    """Weight of the value loss in the total loss."""

    kl_coef: float = Field(default=0.2, ge=0.0)
    """β: the per-token reward is −β · KL_t(π ‖ π_ref) (fixed; no adaptive controller)."""

    kl_estimator: Literal["k1", "k3", "full"] = "k3"
    """Per-token KL. k1 = log π − log π_ref is unbiased but goes negative per token (and
    on reused batches in the mean), which turns the penalty into a bonus; k3 = (r − 1) −
    log r with r = π_ref/π is also unbiased and never negative, but heavy-tailed where π
    has learnt to avoid a token π_ref favours; ``full`` sums over the vocabulary at every
    position (exact, never negative, no tail; one more forward pass and a (B, R, V)
    tensor per step)."""

    kl_loss_coef: float = Field(default=0.2, ge=0.0)
    """β_loss: weight of the exact KL(π_θ ‖ π_ref), summed over the vocabulary and averaged
    over response positions, added to the loss of every update (0: off). Unlike the reward's
    KL term, which sees only sampled tokens, its gradient keeps probability mass from
    drifting to tokens nobody sampled; without it, testbed rounds broke held-out programs
    (pass@1 69% → 47% in one round with the per-sample KL to the base going 0.3 → 74 nats;
    with it 75%, KL ≤ 0.5; docs/training.md). Costs one no-grad reference pass per update."""

    whiten_advantages: bool = True
    """Normalise advantages to zero mean and unit variance over a step's response tokens."""

    score_scale: float = Field(default=1.0, gt=0.0)
    """The crowd score s ∈ [0, 1] enters the reward as score_scale · (s − score_baseline)."""

    score_baseline: float = Field(default=0.0, ge=0.0, le=1.0)
    """Subtracted from s before scaling (``line`` mode: b/k per line). Whitening removes
    its mean effect on the advantages, but not through the value head's targets: on the
    testbed b = 0.85 (about the mean reward) sped learning up in both reward modes
    (docs/training.md, session 5)."""

    reward_mode: Literal["sample", "line"] = "sample"
    """Where the crowd's score enters: ``sample``, s at the last response token (the
    papers'); ``line``, each judged line's share r_i = (s + q_i − q̄)/k at the line's last
    token (q: the lines' posteriors, from the export), so GAE credits the lines the crowd
    judged right and not the wrong ones. Both sum to s per sample; see docs/training.md."""

    default_temperature: float = Field(default=0.8, gt=0.0)
    """Sampling temperature of samples whose metadata does not record one (the papers
    sample at 0.8). Log-probs are computed from logits / temperature so the old and new
    policies are the distributions the samples were drawn from."""

    # ------------------------------------------------------------ data and runtime
    min_votes: int = Field(default=1, ge=0)
    """Samples with fewer votes behind their reward are left out of the round."""

    seed: int = 0
    """Seeds LoRA initialisation, the value head and minibatch order."""

    threads: int | None = Field(default=None, ge=1)
    """torch CPU threads; None: every core this process may run on, shared among the
    ranks of one host (guessing "free" cores from the load average picked 1 of 2 right
    after another command and halved a round's speed; set it on a shared machine)."""

    device: str | None = None
    """torch device; None: CUDA when present, else the CPU."""

    max_logprob_drift: float | None = Field(default=None, gt=0.0)
    """If set, a round fails when the mean |stored − recomputed| sampling log-prob per
    token exceeds it: the token ids or the temperature do not belong to this policy."""

    @model_validator(mode="before")
    @classmethod
    def _default_mini_batch(cls, data: object) -> object:
        if isinstance(data, dict) and "mini_batch_size" not in data and "batch_size" in data:
            batch = data["batch_size"]
            if isinstance(batch, int) and batch >= 1:
                return {**data, "mini_batch_size": min(8, batch)}
        return data

    @model_validator(mode="after")
    def _check(self) -> PPOConfig:
        if self.mini_batch_size > self.batch_size:
            raise ValueError(
                f"mini_batch_size ({self.mini_batch_size}) exceeds batch_size ({self.batch_size})"
            )
        return self


def make_config(values: Mapping[str, object]) -> PPOConfig:
    """A :class:`PPOConfig` from loose settings (a JSON file, ``--set``, round params).

    Raises :class:`InvalidInput` naming the first bad field instead of pydantic's error.
    """
    try:
        return PPOConfig.model_validate(dict(values))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"bad PPO setting: {first['msg']}", field=where) from exc
