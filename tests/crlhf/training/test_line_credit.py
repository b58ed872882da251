"""reward_mode=line: which token of a hand-made sample gets which line reward, and PPO's
per-token rewards from them."""

from __future__ import annotations

import pytest
import torch

from crlhf.errors import InvalidReward
from crlhf.generation.extract import extract_code
from crlhf.generation.offsets import char_ends, reply_decoder
from crlhf.schemas import ExportPosterior, ExportRow, GenerationMeta
from crlhf.training.batch import build_batch
from crlhf.training.config import PPOConfig
from crlhf.training.line_credit import line_credit, line_rewards
from crlhf.training.ppo import token_rewards
from crlhf.training.rollout import Rollout, with_line_credit

EOS = 99
# A toy vocabulary: token id i decodes to PIECES[i]; EOS decodes to nothing (left out).
PIECES = ["def", " f", "():\n", "    x", " = 1\n", "\n", "    return", " x"]
CODE = "".join(PIECES)  # lines: 1 "def f():", 2 "    x = 1", 3 blank, 4 "    return x"


def decode(ids: list[int]) -> str:
    return "".join(PIECES[i] for i in ids if i != EOS)


def row(code: str, posteriors: dict[int, float] | None, reward: float, **meta: object) -> ExportRow:
    response = [*range(len(PIECES)), EOS]
    return ExportRow(
        sample_id="s1",
        problem_id="p1",
        problem_title="f",
        prompt="Write f.",
        code=code,
        reward=reward,
        correct_lines=2,
        judged_lines=3,
        n_votes=9,
        n_annotators=3,
        meta=GenerationMeta(
            temperature=0.8,
            prompt_token_ids=[1, 2],
            response_token_ids=response,
            response_logprobs=[-1.0] * len(response),
            **meta,  # type: ignore[arg-type]
        ),
        line_posteriors=None
        if posteriors is None
        else [ExportPosterior(line=n, posterior=q) for n, q in posteriors.items()],
    )


POSTERIORS = {1: 0.9, 2: 0.1, 4: 1.0}  # c = 2 of k = 3 judged lines: s = 2/3


def test_line_rewards_are_equal_shares_moved_by_the_posterior_and_sum_to_s() -> None:
    rewards = line_rewards(2 / 3, [0.9, 0.1, 1.0])
    # r_i = (s + q_i − q̄)/k with q̄ = 2/3: (0.9, 0.1, 1.0)/3.
    assert rewards == pytest.approx([0.3, 0.1 / 3, 1 / 3])
    assert sum(rewards) == pytest.approx(2 / 3)
    # Confident posteriors: exactly 1/k per line judged correct, 0 per line judged wrong.
    assert line_rewards(0.5, [1.0, 0.0, 1.0, 0.0]) == pytest.approx([0.25, 0.0, 0.25, 0.0])


def test_completion_lines_reward_their_last_token_and_blank_lines_get_nothing() -> None:
    credit = line_credit(row(CODE, POSTERIORS, 2 / 3), decode)
    # Line 1 ends in "():\n" (token 2, which straddles the break), line 2 in " = 1\n"
    # (token 4), blank line 3 ("\n", token 5) is not judged, line 4 ends in " x" (token 7).
    assert credit.tokens == (2, 4, 7)
    assert credit.rewards == pytest.approx((0.3, 0.1 / 3, 1 / 3))
    assert credit.unplaced == 0


def test_chat_reply_lines_map_through_the_stored_offsets() -> None:
    prose = ["Here", " it is:\n", "```python\n"]
    fence = ["\n```", "\nDone."]
    pieces = prose + PIECES + fence
    reply = "".join(pieces)
    found = extract_code(reply)
    assert found.code == CODE

    def chat_decode(ids: list[int]) -> str:
        return "".join(pieces[i] for i in ids)

    ends = char_ends(chat_decode, list(range(len(pieces))))
    chat = row(
        CODE, POSTERIORS, 2 / 3, reply=reply, code_spans=list(found.spans), response_char_ends=ends
    )
    chat = chat.model_copy(
        update={"meta": chat.meta.model_copy(update={"response_token_ids": list(range(12))})}
    )
    # No decoding at all: the stored offsets say which token ends each line (3 prose tokens
    # first, so 2, 4, 7 become 5, 7, 10).
    credit = line_credit(chat, lambda ids: pytest.fail("chat samples need no decoding"))
    assert credit.tokens == (5, 7, 10)


def test_a_line_no_token_produced_is_credited_at_the_last_token() -> None:
    edited = CODE + "\nprint(x)"  # added after generation: no token holds it
    credit = line_credit(row(edited, {**POSTERIORS, 5: 0.0}, 0.5), decode)
    assert credit.tokens == (2, 4, 7, 8) and credit.unplaced == 1


def test_missing_posteriors_are_refused_naming_the_lines() -> None:
    with pytest.raises(InvalidReward, match=r"lines \[4\]"):
        line_credit(row(CODE, {1: 0.9, 2: 0.1}, 2 / 3), decode)
    with pytest.raises(InvalidReward, match="schema 3"):
        line_credit(row(CODE, None, 2 / 3), decode)


def test_token_rewards_place_each_line_reward_with_its_baseline_share() -> None:
    sample = row(CODE, POSTERIORS, 2 / 3)
    meta = sample.meta
    rollout = Rollout(
        sample_id="s1",
        query_ids=tuple(meta.prompt_token_ids or ()),
        response_ids=tuple(meta.response_token_ids or ()),
        logprobs=tuple(meta.response_logprobs or ()),
        temperature=0.8,
        score=2 / 3,
    )
    (placed,) = with_line_credit([sample], [rollout], decode)
    batch = build_batch([placed], pad_id=0, eos_id=EOS)
    assert batch.line_rewards is not None and batch.line_weights is not None
    config = PPOConfig(kl_coef=0.0, score_scale=2.0, score_baseline=0.3)
    kl = torch.zeros_like(batch.response_mask)
    rewards = token_rewards(
        batch.scores, kl, batch.response_mask, config, (batch.line_rewards, batch.line_weights)
    )
    # c · (r_i − b/k) at tokens 2, 4, 7; nothing on the blank line's token 5 or on EOS (8).
    expected = [0.0] * 9
    for token, share in zip((2, 4, 7), (0.3, 0.1 / 3, 1 / 3), strict=True):
        expected[token] = 2.0 * (share - 0.3 / 3)
    assert rewards[0].tolist() == pytest.approx(expected, abs=1e-6)
    # The same total as sample mode, which puts c · (s − b) on the last token.
    sample_mode = token_rewards(batch.scores, kl, batch.response_mask, config)
    assert sample_mode[0].tolist() == pytest.approx([0.0] * 8 + [2.0 * (2 / 3 - 0.3)])
    assert float(rewards.sum()) == pytest.approx(float(sample_mode.sum()))


def test_carriage_returns_break_lines_as_the_server_numbers_them() -> None:
    pieces = ["a = 1\r", "b = 2\r\n", "c = 3"]

    def cr_decode(ids: list[int]) -> str:
        return "".join(pieces[i] for i in ids if i != EOS)

    sample = row("".join(pieces), {1: 1.0, 2: 1.0, 3: 0.0}, 2 / 3)
    sample = sample.model_copy(
        update={"meta": sample.meta.model_copy(update={"response_token_ids": [0, 1, 2, EOS]})}
    )
    credit = line_credit(sample, cr_decode)
    assert credit.tokens == (0, 1, 2) and credit.unplaced == 0


@pytest.mark.slow
def test_each_line_ends_at_the_token_that_completes_it_with_a_real_tokenizer(tokenizer) -> None:
    """Byte-level BPE merges newlines and indents into tokens: the credited token is the
    first whose decoded prefix holds the whole line."""
    code = "def add(a, b):\n\n    total = a + b  # sum\n    return total\n"
    ids = [*tokenizer.encode(code), tokenizer.eos_token_id]
    sample = row(code, {1: 1.0, 3: 0.0, 4: 1.0}, 2 / 3)
    sample = sample.model_copy(
        update={"meta": sample.meta.model_copy(update={"response_token_ids": ids})}
    )
    decode = reply_decoder(tokenizer)
    assert decode(ids) == code
    credit = line_credit(sample, decode)
    assert credit.unplaced == 0
    ends = [len("def add(a, b):"), code.index("  # sum") + len("  # sum"), len(code) - 1]
    for token, end in zip(credit.tokens, ends, strict=True):
        assert len(decode(ids[: token + 1])) >= end > len(decode(ids[:token]))
