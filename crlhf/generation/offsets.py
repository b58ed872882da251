"""Which response tokens produced which characters of the reply, and so which code line.

The rule: the reply is ``decode(response tokens)`` (end-of-sequence excluded), and token
``j`` owns the characters ``reply[end_{j-1}:end_j]`` where ``end_j`` is the length of
``decode(tokens[:j+1])`` with any trailing U+FFFD removed. A character whose UTF-8 bytes
are split over several byte-level BPE tokens thus belongs to the token that completes it;
a token that only starts such a character owns no characters. The ends are recorded at
generation time (``GenerationMeta.response_char_ends``), so nothing here needs a tokenizer.

A code line ``(start, end)`` (:mod:`crlhf.generation.extract`) maps to the tokens whose
characters overlap it; a token that straddles a line break (``")\\n"``) belongs to both
lines. Per-line rewards (a vote per line) map back to tokens this way
(:mod:`crlhf.training.line_credit`, ``reward_mode=line``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

REPLACEMENT = "\ufffd"


def reply_decoder(tokenizer: Any) -> Callable[[list[int]], str]:
    """The reply's text from response token ids, as generation decodes it: only the
    end-of-sequence token is left out, special tokens stay (see ``truncate``)."""
    eos = tokenizer.eos_token_id

    def decode(ids: list[int]) -> str:
        return str(tokenizer.decode([i for i in ids if i != eos]))

    return decode


def char_ends(decode: Callable[[list[int]], str], token_ids: Sequence[int]) -> list[int]:
    """``end_j`` of every token under the rule above (non-decreasing)."""
    ends: list[int] = []
    last = 0
    for j in range(len(token_ids)):
        text = decode(list(token_ids[: j + 1])).rstrip(REPLACEMENT)
        last = max(last, len(text))
        ends.append(last)
    return ends


def line_tokens(span: tuple[int, int], ends: Sequence[int]) -> range:
    """Indices of the tokens whose characters overlap ``reply[span[0]:span[1]]``.

    An empty line (start == end) gets the token that holds its position, if any.
    """
    start, end = span
    first = last = None
    previous = 0
    for j, stop in enumerate(ends):
        begin, previous = previous, stop
        if begin == stop:
            continue
        overlaps = begin < end and stop > start if end > start else begin <= start < stop
        if overlaps:
            first = j if first is None else first
            last = j
        elif first is not None:
            break
    return range(0) if first is None or last is None else range(first, last + 1)


def code_line_tokens(spans: Sequence[tuple[int, int]], ends: Sequence[int]) -> list[range]:
    """The response tokens of every extracted code line, in code-line order."""
    return [line_tokens(span, ends) for span in spans]
