"""One PPO step on stored, crowd-scored samples: TRL's classic ``step(queries, responses,
scores)``, small enough to read.

For a batch of B responses y (tokens y_1 … y_T after query x) with crowd scores s:

1. **Old policy, reference, values** (no gradient): log π_old(y_t), log π_ref(y_t), V_old(t).
   π_old is the current policy itself; with dropout off, ratio = 1 at the first update.
2. **Rewards** per token, with the KL penalty against the reference and the score on the
   last response token::

       r_t = −β · KL_t + [t = T] · c · (s − b)                     (reward_mode=sample)
       r_t = −β · KL_t + Σ_i [t = T_i] · c · (r_i − b/k)            (reward_mode=line)
       KL_t = log π_old(y_t) − log π_ref(y_t)                      (k1)
       KL_t = (ρ_t − 1) − log ρ_t,   ρ_t = π_ref(y_t) / π_old(y_t)   (k3, ≥ 0)
       KL_t = Σ_v π_old(v) (log π_old(v) − log π_ref(v))           (full, exact, ≥ 0)

   where T_i is the last token of judged line i and r_i its share of s
   (:mod:`crlhf.training.line_credit`).

3. **GAE** (γ, λ), with V_{T+1} = 0::

       δ_t = r_t + γ V_old(t+1) − V_old(t)
       A_t = Σ_{l ≥ 0} (γλ)^l δ_{t+l},     R_t = A_t + V_old(t)

   then A is whitened over the batch's response tokens.
4. **Several epochs of minibatches**, each minimising::

       ρ_t(θ) = exp(log π_θ(y_t) − log π_old(y_t))
       L_pg = E_t max(−A_t ρ_t, −A_t clip(ρ_t, 1 − ε, 1 + ε))
       V_clip = clip(V_θ(t), V_old(t) − ε_v, V_old(t) + ε_v)
       L_vf = ½ E_t max((V_θ(t) − R_t)², (V_clip − R_t)²)
       L_kl = E_t Σ_v π_θ(v) (log π_θ(v) − log π_ref(v))          (exact, every token v)
       L = L_pg + c_vf · L_vf + β_loss · L_kl

   where E_t is the mean over unmasked response tokens of the minibatch. L_kl is the
   trust region the reward's KL term cannot be: that term reaches a token only through the
   sampled ones, so probability mass can drift to tokens nobody sampled (on the testbed a
   round moved P(":" | "count = 0") from ~0 to most of the mass, breaking every program,
   while the sampled-token KL looked small until it exploded); the exact term's gradient
   pushes back on every token at every position at once.

Under ``accelerate launch`` each rank computes its slice of every batch and minibatch
(:mod:`crlhf.training.distributed`): the means above divide by the token count over all
ranks and the gradients are summed, so N processes reproduce the single-process step.
"""

from __future__ import annotations

import logging
import math
import time

import torch

from crlhf.errors import TrainingFailed
from crlhf.training.batch import PPOBatch
from crlhf.training.config import PPOConfig
from crlhf.training.distributed import DataParallel, SingleProcess
from crlhf.training.policy import PolicyWithValue

logger = logging.getLogger(__name__)

WHITEN_EPS = 1e-8


def masked_mean(
    values: torch.Tensor, mask: torch.Tensor, count: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean over the unmasked entries; ``count`` (the minibatch's token count over all
    ranks) replaces ``mask.sum()`` when this rank holds only part of the minibatch."""
    total = mask.sum() if count is None else count
    return (values * mask).sum() / total.clamp(min=1.0)


def masked_whiten(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(x − mean) / std over the unmasked entries (unbiased variance); masked ones stay 0."""
    mean = masked_mean(values, mask)
    count = mask.sum()
    variance = (((values - mean) * mask) ** 2).sum() / (count - 1).clamp(min=1.0)
    return (values - mean) * torch.rsqrt(variance + WHITEN_EPS) * mask


def kl_per_token(
    logprobs: torch.Tensor, ref_logprobs: torch.Tensor, estimator: str
) -> torch.Tensor:
    """KL_t(π ‖ π_ref) estimated from the sampled token: k1 (log ratio) or k3 (never < 0)."""
    log_ratio = logprobs - ref_logprobs
    if estimator == "k1":
        return log_ratio
    # k3 = (ρ − 1) − log ρ with ρ = π_ref / π = exp(−log_ratio); expm1 keeps precision near 0.
    return torch.expm1(-log_ratio) + log_ratio


def token_rewards(
    scores: torch.Tensor,
    kl: torch.Tensor,
    mask: torch.Tensor,
    config: PPOConfig,
    lines: tuple[torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """r_t, (B, R): −β · KL_t everywhere, plus the score on the last token; or, with
    ``lines`` (the batch's line rewards and 1/k weights, ``reward_mode=line``),
    c · (r_i − b/k) on the last token of each judged line i, which sums to c · (s − b)."""
    rewards = -config.kl_coef * kl * mask
    if lines is not None:
        line_rewards, line_weights = lines
        rewards += config.score_scale * (line_rewards - config.score_baseline * line_weights)
        return rewards * mask
    last = (mask.sum(dim=1).long() - 1).clamp(min=0)
    score = config.score_scale * (scores - config.score_baseline)
    rewards[torch.arange(rewards.shape[0]), last] += score
    return rewards * mask


def gae(
    rewards: torch.Tensor, values: torch.Tensor, mask: torch.Tensor, gamma: float, lam: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """(advantages A_t, returns R_t = A_t + V_t) by the backward GAE recursion.

    Masked positions (after the last token) contribute V = 0 and r = 0, so the last real
    token bootstraps from nothing.
    """
    values = values * mask
    advantages = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(rewards.shape[1])):
        next_value = values[:, t + 1] if t + 1 < rewards.shape[1] else torch.zeros_like(running)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        running = (delta + gamma * lam * running) * mask[:, t]
        advantages[:, t] = running
    return advantages, (advantages + values) * mask


def ppo_losses(
    logprobs: torch.Tensor,
    values: torch.Tensor,
    *,
    old_logprobs: torch.Tensor,
    old_values: torch.Tensor,
    advantages: torch.Tensor,
    returns: torch.Tensor,
    mask: torch.Tensor,
    config: PPOConfig,
    count: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The clipped surrogate plus the clipped value loss, and their statistics.

    With ``count`` (see :func:`masked_mean`) the loss and statistics are this rank's
    share: their sums over the ranks are the minibatch's values."""
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    pg_unclipped = -advantages * ratio
    pg_clipped = -advantages * torch.clamp(ratio, 1.0 - config.cliprange, 1.0 + config.cliprange)
    pg_loss = masked_mean(torch.maximum(pg_unclipped, pg_clipped), mask, count)
    values_clipped = torch.clamp(
        values, old_values - config.cliprange_value, old_values + config.cliprange_value
    )
    vf_loss = 0.5 * masked_mean(
        torch.maximum((values - returns) ** 2, (values_clipped - returns) ** 2), mask, count
    )
    loss = pg_loss + config.vf_coef * vf_loss
    with torch.no_grad():
        stats = {
            "policy_loss": float(pg_loss),
            "value_loss": float(vf_loss),
            # ½ E[(log ρ)²], TRL's approx KL between the updated and the old policy.
            "approx_kl": float(0.5 * masked_mean(log_ratio**2, mask, count)),
            "clip_frac": float(masked_mean((pg_clipped > pg_unclipped).float(), mask, count)),
            "value_clip_frac": float(
                masked_mean(
                    ((values - returns) ** 2 < (values_clipped - returns) ** 2).float(),
                    mask,
                    count,
                )
            ),
        }
    return loss, stats


STEP_STATISTICS = (
    "policy_loss",
    "value_loss",
    "approx_kl",
    "clip_frac",
    "value_clip_frac",
    "entropy",
    "kl_loss",
)
"""What every minibatch update reports (summed over the ranks, in this order)."""


def own_part(
    batch: PPOBatch, rows: torch.Tensor, parallel: DataParallel
) -> tuple[PPOBatch, torch.Tensor]:
    """This rank's part of ``rows`` and the batch of those rows (``batch`` itself when
    that is all of it, as in one process)."""
    own = parallel.shard(rows)
    if len(own) == batch.size and torch.equal(own, torch.arange(batch.size)):
        return batch, own
    return batch.select(own), own


class PPOTrainer:
    """Runs PPO steps on one policy; the optimizer lives as long as the trainer (a round).

    ``parallel`` shares each step among the processes of ``accelerate launch``; the
    default, :class:`~crlhf.training.distributed.SingleProcess`, changes nothing.
    """

    def __init__(
        self, policy: PolicyWithValue, config: PPOConfig, parallel: DataParallel | None = None
    ) -> None:
        self.policy = policy
        self.config = config
        self.parallel: DataParallel = parallel or SingleProcess()
        self.parallel.broadcast_parameters(policy.trainable_parameters())
        self.optimizer = torch.optim.AdamW(policy.trainable_parameters(), lr=config.learning_rate)
        self.generator = torch.Generator().manual_seed(config.seed)

    def _update(self, loss: torch.Tensor | None) -> None:
        """One optimizer step; ``loss`` is None on a rank without rows in the minibatch."""
        self.optimizer.zero_grad(set_to_none=True)
        if loss is not None:
            loss.backward()  # type: ignore[no-untyped-call]
        self.parallel.sync_gradients(self.policy.trainable_parameters())
        if self.config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(
                self.policy.trainable_parameters(), self.config.max_grad_norm
            )
        self.optimizer.step()

    @torch.no_grad()
    def _old_policy(self, batch: PPOBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """log π_old, V_old and KL_t for the whole batch, each rank computing its rows."""
        part, own = own_part(batch, torch.arange(batch.size), self.parallel)
        mask = part.response_mask
        if part.size == 0:
            old_logprobs, old_values, kl = (torch.zeros_like(mask) for _ in range(3))
        else:
            old_logprobs, old_values, _ = self.policy(part)
            if self.config.kl_estimator == "full":
                kl = self.policy.kl_to_reference(part) * mask
            else:
                ref_logprobs = self.policy.reference_logprobs(part)
                kl = kl_per_token(old_logprobs, ref_logprobs, self.config.kl_estimator) * mask
        gather = self.parallel.gather
        return (
            gather(old_logprobs, own, batch.size),
            gather(old_values, own, batch.size),
            gather(kl, own, batch.size),
        )

    def _warm_up_values(self, batch: PPOBatch, returns: torch.Tensor) -> float:
        """Value-loss-only updates on the whole batch; returns the last loss."""
        part, own = own_part(batch, torch.arange(batch.size), self.parallel)
        count = batch.response_mask.sum()
        loss_value = float("nan")
        for _ in range(self.config.value_warmup_steps):
            loss = None
            if part.size:
                _, values, _ = self.policy(part)
                target = returns[own.to(returns.device)]
                loss = 0.5 * masked_mean((values - target) ** 2, part.response_mask, count)
            (loss_value,) = self.parallel.sum_floats(
                [float(loss.detach()) if loss is not None else 0.0]
            )
            self._update(loss)
        return loss_value

    def _minibatch(
        self,
        batch: PPOBatch,
        rows: torch.Tensor,
        old: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    ) -> dict[str, float]:
        """One update on the minibatch ``rows`` of ``batch``: this rank's part of it."""
        old_logprobs, old_values, advantages, returns = old
        mask = batch.response_mask
        count = mask[rows.to(mask.device)].sum()  # the whole minibatch's tokens
        mini, own = own_part(batch, rows, self.parallel)
        loss = None
        stats = dict.fromkeys(STEP_STATISTICS, 0.0)
        if mini.size:
            kl_to_ref = None
            if self.config.kl_loss_coef > 0:
                logprobs, values, entropy, kl_to_ref = self.policy.forward_with_kl(mini)
            else:
                logprobs, values, entropy = self.policy(mini)
            own = own.to(mask.device)
            loss, stats = ppo_losses(
                logprobs,
                values,
                old_logprobs=old_logprobs[own],
                old_values=old_values[own],
                advantages=advantages[own],
                returns=returns[own],
                mask=mini.response_mask,
                config=self.config,
                count=count,
            )
            stats["entropy"] = float(masked_mean(entropy.detach(), mini.response_mask, count))
            stats["kl_loss"] = 0.0
            if kl_to_ref is not None:
                kl_loss = masked_mean(kl_to_ref, mini.response_mask, count)
                loss = loss + self.config.kl_loss_coef * kl_loss
                stats["kl_loss"] = float(kl_loss.detach())
        local_loss = float(loss.detach()) if loss is not None else 0.0
        total, *summed = self.parallel.sum_floats(
            [local_loss, *(stats[k] for k in STEP_STATISTICS)]
        )
        stats = dict(zip(STEP_STATISTICS, summed, strict=True))
        if not math.isfinite(total):
            raise TrainingFailed(f"PPO loss is not finite ({stats}); lower the learning rate")
        self._update(loss)
        return stats

    def step(self, batch: PPOBatch) -> dict[str, float]:
        """One PPO step on ``batch`` (already on the policy's device); returns its metrics.

        Every rank passes the whole batch; each computes its rows (see :func:`own_part`).
        """
        config = self.config
        started = time.perf_counter()
        mask = batch.response_mask
        old_logprobs, old_values, kl = self._old_policy(batch)
        with torch.no_grad():
            lines = None
            if batch.line_rewards is not None and batch.line_weights is not None:
                lines = (batch.line_rewards, batch.line_weights)
            rewards = token_rewards(batch.scores, kl, mask, config, lines)
            advantages, returns = gae(rewards, old_values, mask, config.gamma, config.lam)
            if config.whiten_advantages:
                # Over the whole batch: every rank holds all of it, so these are the
                # global mean and variance.
                advantages = masked_whiten(advantages, mask)
        metrics: dict[str, float] = {
            "score_mean": float(batch.scores.mean()),
            "kl_ref": float((kl * mask).sum(dim=1).mean()),
            "kl_penalty_mean": float(-config.kl_coef * (kl * mask).sum(dim=1).mean()),
            "response_tokens": float(mask.sum()),
        }
        if config.value_warmup_steps:
            metrics["value_warmup_loss"] = self._warm_up_values(batch, returns)

        history: list[dict[str, float]] = []
        old = (old_logprobs, old_values, advantages, returns)
        for _ in range(config.ppo_epochs):
            order = torch.randperm(batch.size, generator=self.generator)
            for start in range(0, batch.size, config.mini_batch_size):
                rows = order[start : start + config.mini_batch_size]
                history.append(self._minibatch(batch, rows, old))
        for key in history[0]:
            metrics[key] = sum(h[key] for h in history) / len(history)
        metrics["approx_kl_first"] = history[0]["approx_kl"]
        metrics["approx_kl_last"] = history[-1]["approx_kl"]
        metrics["updates"] = float(len(history))
        elapsed = time.perf_counter() - started
        metrics["seconds"] = elapsed
        # Tokens pushed through the network (by all ranks): queries and responses,
        # forward passes included.
        metrics["tokens_per_second"] = (
            float(batch.attention_mask.sum())
            * (
                2
                + config.ppo_epochs * (2 if config.kl_loss_coef > 0 else 1)
                + config.value_warmup_steps
            )
            / max(elapsed, 1e-9)
        )
        logger.debug("PPO step: %s", metrics)
        return metrics
