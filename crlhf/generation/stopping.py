"""Stop sequences: end each sampled row at the first one, in tokens and in text.

Only the generated text is searched: a prompt ending in a newline followed by a
completion starting with ``def`` is not a stop (MBPP completions start that way).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from transformers import StoppingCriteria

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase


Cut = Callable[[str], int]
"""Where generated text ends (the text is cut there), or -1 while it goes on."""


def first_stop(text: str, stops: Sequence[str]) -> int:
    """Index of the earliest stop sequence in ``text``, or -1."""
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(found) if found else -1


def fence_closed(text: str) -> int:
    """Chat replies: done (nothing cut) once the first fenced block has closed, else -1."""
    first = text.find("```")
    return len(text) if first >= 0 and text.find("```", first + 3) >= 0 else -1


def as_cut(stops: Sequence[str] | Cut) -> Cut:
    if callable(stops):
        return stops
    sequences = tuple(stops)
    return lambda text: first_stop(text, sequences)


class StopOnSequences(StoppingCriteria):
    """Marks a row finished once its generated text holds a stop sequence."""

    def __init__(
        self, tokenizer: PreTrainedTokenizerBase, stops: Sequence[str] | Cut, prompt_length: int
    ) -> None:
        self.tokenizer = tokenizer
        self.cut = as_cut(stops)
        self.prompt_length = prompt_length

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length :])
        done = [self.cut(text) >= 0 for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


def truncate(
    tokenizer: PreTrainedTokenizerBase,
    token_ids: Sequence[int],
    stops: Sequence[str] | Cut,
    eos_token_id: int | None,
) -> tuple[str, int]:
    """The completion text and how many generated tokens produced it.

    The text ends just before the first stop sequence or end-of-sequence token. The
    token count includes the token in which the stop sequence starts (it was sampled;
    PPO scores the actions taken) or the end-of-sequence token, and excludes the
    padding that follows a finished row.
    """
    cut_at = as_cut(stops)
    for j, token in enumerate(token_ids):
        if token == eos_token_id:
            return str(tokenizer.decode(list(token_ids[:j]))), j + 1
        text = str(tokenizer.decode(list(token_ids[: j + 1])))
        cut = cut_at(text)
        if cut >= 0:
            return text[:cut], j + 1
    return str(tokenizer.decode(list(token_ids))), len(token_ids)
