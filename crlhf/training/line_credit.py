"""Dense rewards (``reward_mode=line``): one reward per judged line, at its last token.

In ``sample`` mode PPO sees the crowd's s = c/k once, at the last response token: the
policy learns *that* a sample was partly wrong, not *where*. In ``line`` mode every judged
line i of a sample with k judged lines and posteriors q_1 … q_k gets

    r_i = s / k + (q_i − q̄) / k,        q̄ = (1/k) Σ_j q_j

at the last token of the line, and nothing else changes (the KL penalty, GAE, whitening).
Why this form:

* **Same total as ``sample`` mode.** Σ_i r_i = s exactly, so a sample's undiscounted
  return from its first token is the same in both modes, and ``score_scale``,
  ``score_baseline`` (subtracted as b/k per line, so b once per sample) and ``kl_coef``
  keep their meaning. It is (q_i − τ)/k shifted by the constant that makes the sum s:
  τ cancels, so the export need not carry the server's τ.
* **Where the votes point.** With confident posteriors (q ∈ {0, 1}) r_i is exactly 1/k on
  a line judged correct and 0 on one judged wrong; an unsure line (q near ½) earns in
  between, so a line the crowd barely agreed on moves the policy less.
* **GAE does the rest.** With γ = λ = 1 the advantage of a token is the sum of the line
  rewards from its line onward minus the value: tokens of a wrong line no longer share
  the credit of the correct lines before them.

The token of a line is exact: the response's token ids were stored at generation time, and
:mod:`crlhf.generation.offsets` maps each code line to the tokens that produced its
characters (chat replies through the stored ``code_spans`` and ``response_char_ends``;
completions, whose code is the decoded reply, by decoding the ids the same way). Blank
lines are never judged and get nothing. A judged line whose characters no response token
produced (the code was edited after generation) puts its reward on the last token, so the
sum still holds; the round counts such lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crlhf.errors import InvalidReward
from crlhf.generation.offsets import char_ends, line_tokens
from crlhf.schemas import ExportRow, judged_line_numbers

Decode = Callable[[list[int]], str]

LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class LineCredit:
    """Where a sample's line rewards go, before the round's scale and baseline."""

    tokens: tuple[int, ...]
    """Response token index of each judged line's last token."""
    rewards: tuple[float, ...]
    """r_i of each judged line (sums to s)."""
    unplaced: int = 0
    """Judged lines no response token produced (their reward is on the last token)."""


def line_rewards(score: float, posteriors: Sequence[float]) -> list[float]:
    """r_i = s/k + (q_i − q̄)/k for the k judged lines; Σ r_i = s."""
    k = len(posteriors)
    if k == 0:
        return []
    mean = sum(posteriors) / k
    return [(score + q - mean) / k for q in posteriors]


def _posteriors(row: ExportRow, judged: Sequence[int]) -> list[float]:
    found = {p.line: p.posterior for p in row.line_posteriors or []}
    missing = [n for n in judged if n not in found]
    if missing:
        raise InvalidReward(
            f"sample {row.sample_id!r}: reward_mode=line needs the posterior of every judged "
            f"line; lines {missing[:5]} have none (export from a server of schema 3 or newer)",
            field="line_posteriors",
        )
    values = [float(found[n]) for n in judged]
    if any(not 0.0 <= q <= 1.0 for q in values):
        raise InvalidReward(
            f"sample {row.sample_id!r}: line posteriors must lie in [0, 1]",
            field="line_posteriors",
        )
    return values


def _spans_and_ends(row: ExportRow, decode: Decode) -> tuple[list[tuple[int, int]], list[int]]:
    """Per code line its (start, end) in the reply, and per response token its end there."""
    meta = row.meta
    ids = list(meta.response_token_ids or [])
    if meta.code_spans is not None and meta.response_char_ends is not None:
        return list(meta.code_spans), list(meta.response_char_ends)
    # A completion is its own code: the decoded reply (cut at a stop sequence, so the code
    # is a prefix of it), its lines numbered as split_code numbers them.
    return code_line_spans(row.code), char_ends(decode, ids)


def code_line_spans(code: str) -> list[tuple[int, int]]:
    """(start, end) of every line of ``code``, breaks excluded, with ``\\r\\n``, ``\\r``
    and ``\\n`` all breaking a line as in :func:`crlhf.schemas.split_code`."""
    spans, start = [], 0
    for match in LINE_BREAK.finditer(code):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(code)))
    return spans


def line_credit(row: ExportRow, decode: Decode) -> LineCredit:
    """The last token and reward of every judged line of ``row`` (a checked rollout's row)."""
    judged = judged_line_numbers(row.code)
    rewards = line_rewards(row.reward, _posteriors(row, judged))
    spans, ends = _spans_and_ends(row, decode)
    last = len(row.meta.response_token_ids or []) - 1
    tokens: list[int] = []
    unplaced = 0
    for number in judged:
        placed = line_tokens(spans[number - 1], ends) if number <= len(spans) else range(0)
        if len(placed) == 0 or placed[-1] > last:
            unplaced += 1
            tokens.append(last)
        else:
            tokens.append(placed[-1])
    return LineCredit(tuple(tokens), tuple(rewards), unplaced)
