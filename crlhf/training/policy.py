"""The policy: a causal LM with a LoRA adapter, plus a linear value head.

One network serves three roles. With the adapter on it is the policy π_θ; with the
adapter off (``disable_adapter()``) it is the frozen reference π_ref of the KL penalty, so
no second copy of the model is held in memory; a linear layer on the last hidden state
(after the final layer norm) is the value head V(s_t). Only the LoRA matrices and the
value head are trainable.

Dropout is switched off for good: PPO's first inner step compares the policy with the
log-probs it just computed, and any dropout makes that ratio differ from 1 (a nonzero
approximate KL before a single update).
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from crlhf.errors import InvalidInput
from crlhf.generation.precision import DEFAULT_DTYPE, base_dtype
from crlhf.training.batch import PPOBatch
from crlhf.training.config import PPOConfig
from crlhf.training.targets import choose_targets

logger = logging.getLogger(__name__)


def _zero_dropout_fields(holder: object) -> None:
    for name, value in list(vars(holder).items()):
        if ("dropout" in name or "pdrop" in name) and isinstance(value, float):
            setattr(holder, name, 0.0)


def _disable_dropout(module: nn.Module) -> None:
    """Zero every dropout probability: modules, config fields read at call time, and the
    float attributes attention modules copy from the config at init (``attn_dropout``,
    ``attention_dropout``: applied whenever the module is in training mode)."""
    for sub in module.modules():
        if isinstance(sub, nn.Dropout):
            sub.p = 0.0
        _zero_dropout_fields(sub)
    config = getattr(module, "config", None)
    if config is not None:
        _zero_dropout_fields(config)


class PolicyWithValue(nn.Module):
    """A peft-wrapped causal LM (π_θ and, adapter off, π_ref) with a value head.

    Log-probs are those of the sampling distribution, softmax(logits / T) with each
    sample's temperature T: the samples were drawn from it, so it is the π of the ratio
    π_θ / π_old and of the KL penalty.
    """

    def __init__(self, model: Any, value_head: nn.Linear) -> None:
        super().__init__()
        self.model = model
        self.value_head = value_head
        _disable_dropout(self.model)
        self.eval()  # and dropout stays off while training: see the module docstring
        forward = inspect.signature(self.model.get_base_model().forward).parameters
        self._keeps_logits = "logits_to_keep" in forward  # transformers >= 4.50

    @property
    def device(self) -> torch.device:
        return self.value_head.weight.device

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def adapted_modules(self) -> list[str]:
        """Last name parts of the modules that carry LoRA matrices (for the manifest)."""
        modules = self.model.named_modules()
        return sorted({name.rsplit(".", 1)[-1] for name, m in modules if hasattr(m, "lora_A")})

    @property
    def base_dtype(self) -> torch.dtype:
        """The dtype of the frozen base weights (the adapter and value head are float32)."""
        frozen = (p.dtype for p in self.model.parameters() if not p.requires_grad)
        return next(frozen, self.value_head.weight.dtype)

    def enable_gradient_checkpointing(self) -> None:
        """Recompute decoder layers in the backward pass instead of storing activations.

        transformers checkpoints a layer only while it is in training mode, so the base
        goes to train mode; that changes nothing else because every dropout is zero
        (see the module docstring). Non-reentrant checkpointing needs no input that
        requires a gradient, which a frozen embedding would not give.
        """
        base = self.model.get_base_model()
        kwargs = {"use_reentrant": False}
        try:
            if hasattr(base, "activation_checkpointing_enable"):  # transformers >= 5
                base.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
            else:
                base.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        except ValueError as exc:  # an architecture without checkpointing support
            raise InvalidInput(str(exc), field="gradient_checkpointing") from exc
        _disable_dropout(self.model)
        self.model.train()

    def _run(self, batch: PPOBatch, *, hidden: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Response-position logits (as the model made them: not scaled, its dtype) and
        (optionally) last hidden states.

        Logits at column t predict token t + 1, so the R response tokens are predicted
        by columns Q − 1 … Q + R − 2.
        """
        responses = batch.response_ids.shape[1]
        keep = {"logits_to_keep": responses + 1} if self._keeps_logits else {}
        out = self.model(
            input_ids=batch.input_ids,
            attention_mask=batch.attention_mask,
            position_ids=batch.position_ids,
            output_hidden_states=hidden,
            use_cache=False,
            **keep,
        )
        start = batch.query_length - 1
        stop = start + responses
        # With logits_to_keep the head ran on the last R + 1 columns only (Q − 1 … Q + R − 1):
        # the query's logits, (B, Q, V), are never made; for a 150k vocabulary they are
        # the largest tensor of the step.
        window = out.logits[:, :responses] if keep else out.logits[:, start:stop]
        states = out.hidden_states[-1][:, start:stop] if hidden else None
        return window, states

    def forward(self, batch: PPOBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(log π_θ(y_t | x, y_<t), V(x, y_<t), entropy of π_θ), each (B, R)."""
        logprobs, values, entropy, _ = self._forward(batch, reference_kl=False)
        return logprobs, values, entropy

    def forward_with_kl(
        self, batch: PPOBatch
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`forward` plus KL(π_θ ‖ π_ref) at every response position, exact over the
        vocabulary and differentiable in θ (the reference pass runs without gradient).

        Why: a penalty on sampled tokens only sees probability mass move once a moved-to
        token is sampled; this one pushes back on every token at every position at once.
        """
        logprobs, values, entropy, kl = self._forward(batch, reference_kl=True)
        assert kl is not None
        return logprobs, values, entropy, kl

    def _forward(
        self, batch: PPOBatch, *, reference_kl: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        logits, states = self._run(batch, hidden=True)
        assert states is not None
        ref_logits = None
        if reference_kl:
            with torch.no_grad(), self.model.disable_adapter():
                ref_logits, _ = self._run(batch, hidden=False)
        stats = response_statistics(logits, batch.temperature, batch.response_ids, ref_logits)
        values = self.value_head(states.to(self.value_head.weight.dtype)).squeeze(-1)
        return stats.logprobs, values, stats.entropy, stats.kl

    @torch.no_grad()
    def kl_to_reference(self, batch: PPOBatch) -> torch.Tensor:
        """KL(π ‖ π_ref) at every response position, exactly, over the whole vocabulary:
        Σ_v π(v) (log π(v) − log π_ref(v)), each (B, R).

        Why: the sampled-token estimators are unbiased but heavy-tailed. Once the policy
        has learned to avoid a token that π_ref favours, sampling it anyway gives k3 ≈
        π_ref/π (e.g. 16 nats for π = 0.05 against π_ref = 0.99); a few such tokens
        dominate the whitened advantages and wreck the value head (seen on the testbed:
        per-sample KL 0.14 → 18 in one round, then held-out pass@1 69% → 46%).
        """
        logits, _ = self._run(batch, hidden=False)
        with self.model.disable_adapter():
            ref_logits, _ = self._run(batch, hidden=False)
        stats = response_statistics(logits, batch.temperature, batch.response_ids, ref_logits)
        assert stats.kl is not None
        return stats.kl.clamp(min=0.0)

    @torch.no_grad()
    def reference_logprobs(self, batch: PPOBatch) -> torch.Tensor:
        """log π_ref(y_t | x, y_<t): the same network with the adapter disabled."""
        with self.model.disable_adapter():
            logits, _ = self._run(batch, hidden=False)
        return response_statistics(logits, batch.temperature, batch.response_ids).logprobs


CHUNK_ENTRIES = 1 << 20
"""Logit entries (rows x positions x vocabulary) per chunk of :func:`response_statistics`,
4 MB in float32 whatever the vocabulary. Measured on CPU for (8, 128, 49152) logits, the
statistics' forward and backward peak at 17.2 bytes per logit entry with this size, 19.8
with 16 MB chunks (glibc keeps freed blocks of that size mapped) and 36.4 unchunked."""


class ResponseStatistics(NamedTuple):
    """Per response position, each (B, R): log π(token), the entropy of π and, given the
    reference's logits, KL(π ‖ π_ref) = Σ_v π(v) (log π(v) − log π_ref(v)), exact."""

    logprobs: torch.Tensor
    entropy: torch.Tensor
    kl: torch.Tensor | None


def response_statistics(
    logits: torch.Tensor,
    temperature: torch.Tensor,
    tokens: torch.Tensor,
    ref_logits: torch.Tensor | None = None,
) -> ResponseStatistics:
    """The statistics of π = softmax(logits / T) (T per row) that PPO needs, chunk by chunk.

    Why chunks: the log-softmax, its exponential and the KL terms are each as large as the
    logits, (B, R, V) in float32, and kept for the backward pass they cost several times
    the logits themselves, the largest item of a step with a 49k-150k vocabulary (see
    :data:`CHUNK_ENTRIES` for measured costs). Each chunk of positions runs under
    activation checkpointing, so only the logits and the (B, R) results are kept and a
    chunk's intermediates are recomputed in the backward pass. The numbers are those of
    the unchunked computation: every position's softmax is over its own vocabulary row.
    """
    rows, positions, vocabulary = logits.shape
    per_chunk = max(1, CHUNK_ENTRIES // max(1, rows * vocabulary))
    checkpointed = torch.is_grad_enabled() and logits.requires_grad
    parts = []
    for start in range(0, max(positions, 1), per_chunk):
        window = slice(start, start + per_chunk)
        args = (
            logits[:, window],
            temperature,
            tokens[:, window],
            None if ref_logits is None else ref_logits[:, window],
        )
        if checkpointed:
            parts.append(
                checkpoint(_chunk_statistics, *args, use_reentrant=False, preserve_rng_state=False)
            )
        else:
            parts.append(_chunk_statistics(*args))
    stacked = torch.cat(parts, dim=-1)
    kl = stacked[2] if ref_logits is not None else None
    return ResponseStatistics(stacked[0], stacked[1], kl)


def _chunk_statistics(
    logits: torch.Tensor,
    temperature: torch.Tensor,
    tokens: torch.Tensor,
    ref_logits: torch.Tensor | None,
) -> torch.Tensor:
    """(log π(token), entropy, KL or zeros) of one chunk, stacked: (3, B, r)."""
    scale = temperature[:, None, None]
    logp = torch.log_softmax(logits.float() / scale, dim=-1)
    p = logp.exp()
    logprobs = logp.gather(-1, tokens[..., None]).squeeze(-1)
    entropy = -(p * logp).sum(-1)
    if ref_logits is None:
        kl = torch.zeros_like(entropy)
    else:
        ref_logp = torch.log_softmax(ref_logits.float() / scale, dim=-1)
        kl = (p * (logp - ref_logp)).sum(-1)
    return torch.stack([logprobs, entropy, kl])


def load_base(
    base_model: str | Path, device: torch.device, dtype: str = DEFAULT_DTYPE
) -> tuple[Any, Any]:
    """The base causal LM in ``dtype`` and its tokenizer from a local path or hub cache.

    The dtype is resolved and checked against ``device`` before a weight is read."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = base_dtype(dtype, base_model, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(base_model))
        model: Any = AutoModelForCausalLM.from_pretrained(str(base_model), dtype=torch_dtype)
    except OSError as exc:
        raise InvalidInput(
            f"cannot load base model {str(base_model)!r}: {exc}", field="base_model"
        ) from exc
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model.to(device), tokenizer


def vocab_size(base_model: str | Path) -> int:
    """The model's vocabulary size from its config alone (no weights loaded)."""
    from transformers import AutoConfig

    try:
        return int(AutoConfig.from_pretrained(str(base_model)).vocab_size)
    except OSError as exc:
        raise InvalidInput(
            f"cannot load base model {str(base_model)!r}: {exc}", field="base_model"
        ) from exc


def new_value_head(hidden_size: int, seed: int) -> nn.Linear:
    """A linear value head, small random weights and zero bias (seeded)."""
    head = nn.Linear(hidden_size, 1)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head.weight.normal_(0.0, 1.0 / (hidden_size + 1), generator=generator)
        head.bias.zero_()
    return head


def new_policy(base: Any, config: PPOConfig) -> PolicyWithValue:
    """Wrap ``base`` with a fresh LoRA adapter (B = 0: starts equal to the base) and head.

    The adapter's modules are :func:`~crlhf.training.targets.choose_targets`'s; its
    matrices are float32 whatever the base's dtype (peft upcasts them), and so is the
    value head."""
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(config.seed)  # LoRA's A matrices are drawn from the global generator
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        # GPT-2's Conv1D stores weights transposed; peft needs to be told (else it warns).
        fan_in_fan_out=any(type(m).__name__ == "Conv1D" for m in base.modules()),
        target_modules=choose_targets(base, config.lora_target_modules),
        task_type="CAUSAL_LM",
    )
    try:
        model = get_peft_model(base, lora, autocast_adapter_dtype=True)
    except ValueError as exc:
        raise InvalidInput(f"cannot add a LoRA adapter: {exc}", field="lora") from exc
    head = new_value_head(base.config.hidden_size, config.seed).to(base.device)
    return PolicyWithValue(model, head)
