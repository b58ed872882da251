"""Sampling from a tiny local GPT-2: batching, stop sequences, recorded tokens and log-probs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from crlhf.errors import InvalidInput
from crlhf.evaluation import humaneval
from crlhf.generation.generate import GenerationSettings, Generator, load_model, pick_device
from crlhf.generation.stopping import first_stop, truncate

pytestmark = pytest.mark.slow

STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#")


@pytest.fixture(scope="module")
def loaded(tiny_model_dir: Path):
    return load_model(str(tiny_model_dir), None, torch.device("cpu"))


def test_truncate_cuts_text_at_the_stop_and_keeps_the_tokens_that_made_it(loaded) -> None:
    _, tokenizer = loaded
    ids = tokenizer("    return x\n\ndef helper():\n    pass")["input_ids"]
    text, kept = truncate(tokenizer, ids, STOPS, tokenizer.eos_token_id)
    assert text == "    return x\n"
    decoded = tokenizer.decode(ids[:kept])
    assert decoded.startswith(text) and first_stop(decoded, STOPS) >= 0
    assert first_stop(tokenizer.decode(ids[: kept - 1]), STOPS) == -1  # nothing sampled past it
    eos = tokenizer.eos_token_id
    assert truncate(tokenizer, [*ids[:3], eos, eos, eos], STOPS, eos) == (
        tokenizer.decode(ids[:3]),
        4,
    )
    assert truncate(tokenizer, ids[:3], STOPS, eos) == (tokenizer.decode(ids[:3]), 3)


def test_samples_per_problem_with_tokens_and_log_probs_of_the_sampling_distribution(
    loaded,
) -> None:
    model, tokenizer = loaded
    settings = GenerationSettings(temperature=0.8, max_new_tokens=12, batch_size=4, seed=3)
    generator = Generator(
        model, tokenizer, settings, model_name="tiny", round_number=2, progress=False
    )
    problems = humaneval.load()[:3]
    out = list(generator(problems, 3))
    assert [p.task_id for p, _ in out] == [p.task_id for p in problems]
    for problem, completions in out:
        assert len(completions) == 3
        prompt_ids = tokenizer(problem.prompt)["input_ids"]
        for completion in completions:
            meta = completion.meta
            assert (meta.model, meta.round, meta.temperature) == ("tiny", 2, 0.8)
            assert meta.prompt_token_ids == prompt_ids  # padding removed
            assert meta.response_token_ids is not None and meta.response_logprobs is not None
            assert 1 <= len(meta.response_token_ids) == len(meta.response_logprobs) <= 12
            assert first_stop(completion.text, STOPS) == -1
            # The recorded log-probs are log softmax(logits / T) of the sampled tokens,
            # recomputed here without padding: what PPO's old log-probs must be.
            ids = torch.tensor([prompt_ids + meta.response_token_ids])
            with torch.no_grad():
                logits = model(ids).logits[0, len(prompt_ids) - 1 : -1] / 0.8
            expected = logits.log_softmax(-1).gather(-1, ids[0, len(prompt_ids) :, None])[:, 0]
            assert meta.response_logprobs == pytest.approx(expected.tolist(), abs=2e-4)


def test_same_seed_same_samples(loaded) -> None:
    model, tokenizer = loaded
    settings = GenerationSettings(max_new_tokens=8, batch_size=2, seed=11)
    problems = humaneval.load()[:2]

    def texts() -> list[list[int]]:
        generator = Generator(model, tokenizer, settings, progress=False)
        return [c.meta.response_token_ids or [] for _, cs in generator(problems, 2) for c in cs]

    assert texts() == texts()


def test_device_is_cuda_only_when_present() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device().type == expected
    assert pick_device("cpu").type == "cpu"


def test_greedy_decoding_is_deterministic_and_gives_one_answer_per_problem(loaded) -> None:
    model, tokenizer = loaded
    problems = humaneval.load()[:2]

    def greedy(seed: int) -> list[list[int]]:
        settings = GenerationSettings(temperature=0.0, max_new_tokens=8, batch_size=2, seed=seed)
        generator = Generator(model, tokenizer, settings, progress=False)
        out = [c for _, cs in generator(problems, 1) for c in cs]
        assert all(c.meta.temperature == 0.0 for c in out)
        assert all(c.meta.dtype == "torch.float32" for c in out)
        return [c.meta.response_token_ids or [] for c in out]

    assert greedy(1) == greedy(2)  # the seed does not matter: no sampling
    generator = Generator(model, tokenizer, GenerationSettings(temperature=0.0), progress=False)
    with pytest.raises(InvalidInput, match="one answer per problem"):
        list(generator(problems, 2))
    with pytest.raises(InvalidInput):
        GenerationSettings(temperature=-0.1)


def test_chat_style_needs_a_chat_template_and_auto_falls_back_to_completion(loaded) -> None:
    model, tokenizer = loaded
    with pytest.raises(InvalidInput, match="chat template and this checkpoint has none"):
        Generator(model, tokenizer, GenerationSettings(prompt_style="chat"), progress=False)
    auto = Generator(model, tokenizer, GenerationSettings(prompt_style="auto"), progress=False)
    assert auto.style == "completion"
