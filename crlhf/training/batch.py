"""PPO batches: stored (query, response) token ids as padded tensors.

A row is ``[pad … pad, q_1 … q_m, r_1 … r_n, pad … pad]``: queries are **left**-padded to a
common length Q so every response starts at column Q, and responses are **right**-padded
to a common length R. Position ids count only real tokens (so a left-padded row sees the
same positions as the unpadded one), and the response mask is 1 up to and including the
first EOS and 0 after it: tokens after the end of a program carry no action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch

from crlhf.training.rollout import Rollout


@dataclass(frozen=True)
class PPOBatch:
    """Padded tensors of B rollouts; every tensor has the batch dimension first."""

    input_ids: torch.Tensor
    """(B, Q + R) long: left-padded queries followed by right-padded responses."""
    attention_mask: torch.Tensor
    """(B, Q + R) long: 1 on real tokens."""
    position_ids: torch.Tensor
    """(B, Q + R) long: 0 at each row's first real token."""
    response_mask: torch.Tensor
    """(B, R) float: 1 on response tokens up to and including the first EOS."""
    sample_logprobs: torch.Tensor
    """(B, R) float: log-probs recorded at sampling time (0 on padding)."""
    temperature: torch.Tensor
    """(B,) float: each sample's sampling temperature."""
    scores: torch.Tensor
    """(B,) float: the crowd's reward s of each sample."""
    query_length: int
    """Q: column of the first response token."""
    line_rewards: torch.Tensor | None = None
    """(B, R) float, ``reward_mode=line`` only: r_i of each judged line at its last token
    (:mod:`crlhf.training.line_credit`); a row sums to its score."""
    line_weights: torch.Tensor | None = None
    """(B, R) float, with ``line_rewards``: 1/k at each judged line's last token (a row
    sums to 1), where the score's baseline is subtracted."""

    @property
    def size(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def response_ids(self) -> torch.Tensor:
        return self.input_ids[:, self.query_length :]

    def to(self, device: torch.device) -> PPOBatch:
        moved = {
            f.name: getattr(self, f.name).to(device)
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **moved)

    def select(self, rows: torch.Tensor) -> PPOBatch:
        """The rows ``rows`` (a long tensor of indices) as a batch of their own."""
        picked = {
            f.name: getattr(self, f.name)[rows.to(getattr(self, f.name).device)]
            for f in fields(self)
            if isinstance(getattr(self, f.name), torch.Tensor)
        }
        return replace(self, **picked)


def mask_after_eos(responses: torch.Tensor, lengths: torch.Tensor, eos_id: int) -> torch.Tensor:
    """1 on the first ``lengths[b]`` tokens of row b up to and including its first EOS."""
    columns = torch.arange(responses.shape[1], device=responses.device)
    within = columns[None, :] < lengths[:, None]
    is_eos = (responses == eos_id) & within
    # Count the EOS tokens strictly before each column: the mask ends after the first one.
    eos_before = torch.cumsum(is_eos.long(), dim=1) - is_eos.long()
    return (within & (eos_before == 0)).float()


def build_batch(rollouts: Sequence[Rollout], *, pad_id: int, eos_id: int) -> PPOBatch:
    """Pad ``rollouts`` into one :class:`PPOBatch` (queries left, responses right)."""
    if not rollouts:
        raise ValueError("a PPO batch needs at least one rollout")
    query_length = max(len(r.query_ids) for r in rollouts)
    response_length = max(len(r.response_ids) for r in rollouts)
    rows = len(rollouts)
    input_ids = torch.full((rows, query_length + response_length), pad_id, dtype=torch.long)
    attention = torch.zeros_like(input_ids)
    logprobs = torch.zeros((rows, response_length), dtype=torch.float32)
    for b, rollout in enumerate(rollouts):
        q, n = len(rollout.query_ids), len(rollout.response_ids)
        input_ids[b, query_length - q : query_length] = torch.tensor(rollout.query_ids)
        input_ids[b, query_length : query_length + n] = torch.tensor(rollout.response_ids)
        attention[b, query_length - q : query_length + n] = 1
        logprobs[b, :n] = torch.tensor(rollout.logprobs, dtype=torch.float32)
    lengths = torch.tensor([len(r.response_ids) for r in rollouts])
    line_rewards = line_weights = None
    if any(r.line_credit is not None for r in rollouts):
        line_rewards, line_weights = _line_tensors(rollouts, response_length)
    return PPOBatch(
        input_ids=input_ids,
        attention_mask=attention,
        position_ids=(torch.cumsum(attention, dim=1) - 1).clamp(min=0),
        response_mask=mask_after_eos(input_ids[:, query_length:], lengths, eos_id),
        sample_logprobs=logprobs,
        temperature=torch.tensor([r.temperature for r in rollouts], dtype=torch.float32),
        scores=torch.tensor([r.score for r in rollouts], dtype=torch.float32),
        query_length=query_length,
        line_rewards=line_rewards,
        line_weights=line_weights,
    )


def _line_tensors(
    rollouts: Sequence[Rollout], response_length: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Line rewards and 1/k weights at each judged line's last token (two lines ending in
    one token add up there)."""
    rewards = torch.zeros((len(rollouts), response_length), dtype=torch.float32)
    weights = torch.zeros_like(rewards)
    for b, rollout in enumerate(rollouts):
        credit = rollout.line_credit
        if credit is None:
            raise ValueError(f"sample {rollout.sample_id!r} has no line credit in a line batch")
        tokens = torch.tensor(credit.tokens, dtype=torch.long)
        share = torch.full((len(credit.tokens),), 1.0 / len(credit.tokens))
        rewards[b].index_add_(0, tokens, torch.tensor(credit.rewards, dtype=torch.float32))
        weights[b].index_add_(0, tokens, share)
    return rewards, weights
