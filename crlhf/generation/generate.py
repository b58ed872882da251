"""Sampling completions from a causal LM (plus an optional LoRA adapter) for problems.

The paper's defaults: temperature 0.8, at most 128 new tokens, pure sampling (no top-k or
top-p, so the recorded log-probs are those of the distribution actually sampled).
Temperature 0 is greedy decoding (pass@1 as code models report it); its log-probs are
those of the untempered distribution, and a training round refuses such samples.

The prompt style (:mod:`crlhf.generation.prompts`) decides what the model sees; in chat
style the reply runs until end-of-sequence or the first fenced block closes, the code is
extracted from it (:mod:`crlhf.generation.extract`) and the raw reply, the extracted
lines' character spans and each token's character end are recorded beside it. Rows of
(problem, sample) are batched across problems with left padding, and a problem is handed
back as soon as all of its samples are done, so a killed run loses at most one batch.

Per sample :class:`~crlhf.schemas.GenerationMeta` records the prompt and response token
ids and the log-prob of every response token under the temperature-scaled distribution;
PPO needs exactly these, and decoding then re-encoding would not reproduce them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from tqdm import tqdm

from crlhf.errors import InvalidInput
from crlhf.evaluation.bench import Completion
from crlhf.evaluation.problems import BenchProblem
from crlhf.generation.extract import completion_spans, extract_code
from crlhf.generation.offsets import char_ends, reply_decoder
from crlhf.generation.precision import DEFAULT_DTYPE, base_dtype
from crlhf.generation.prompts import (
    DEFAULT_INSTRUCTION,
    PromptStyle,
    build_prompt,
    resolve_style,
)
from crlhf.generation.stopping import StopOnSequences, fence_closed, truncate
from crlhf.schemas import GenerationMeta

logger = logging.getLogger(__name__)

DEFAULT_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#")


@dataclass(frozen=True)
class GenerationSettings:
    temperature: float = 0.8
    max_new_tokens: int = 128
    batch_size: int = 16
    seed: int = 0
    stop: tuple[str, ...] = DEFAULT_STOPS
    """Stop sequences of completion-style prompts (chat replies end at their fence)."""
    prompt_style: str = "auto"
    instruction: str = DEFAULT_INSTRUCTION

    def __post_init__(self) -> None:
        if not self.temperature >= 0:
            raise InvalidInput("must be 0 (greedy) or positive (sampling)", field="temperature")
        if self.max_new_tokens < 1:
            raise InvalidInput("must be at least 1", field="max_new_tokens")
        if self.batch_size < 1:
            raise InvalidInput("must be at least 1", field="batch_size")


def pick_device(requested: str | None = None) -> torch.device:
    """The requested device, else CUDA when present, else the CPU."""
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_model(
    model: str, adapter: str | None, device: torch.device, dtype: str = DEFAULT_DTYPE
) -> tuple[Any, Any]:
    """A causal LM from a local path or hub name, with a LoRA adapter dir on top if given.

    ``dtype`` (:mod:`crlhf.generation.precision`) is the base's precision, checked against
    the device before any weight is read; it must be the one the round trains in, so the
    stored log-probs are the ones training recomputes. An adapter's LoRA weights stay
    float32 (peft's default upcast), as in training.

    Returns (model, tokenizer), typed Any: transformers' own annotations are partial."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch_dtype = base_dtype(dtype, model, device)
    try:
        tokenizer = AutoTokenizer.from_pretrained(model)
        lm: Any = AutoModelForCausalLM.from_pretrained(model, dtype=torch_dtype)
    except OSError as exc:
        raise InvalidInput(f"cannot load model {model!r}: {exc}", field="model") from exc
    if adapter:
        from peft import PeftModel

        from crlhf.adapter_dirs import peft_directory

        lm = PeftModel.from_pretrained(lm, str(peft_directory(adapter)))
    tokenizer.padding_side = "left"  # decoder-only: new tokens must follow the prompt
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    lm.to(device)
    lm.eval()
    return lm, tokenizer


class Generator:
    """Samples ``n`` completions per problem; usable as a benchmark completer."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        settings: GenerationSettings | None = None,
        *,
        model_name: str | None = None,
        adapter_version: str | None = None,
        round_number: int | None = None,
        progress: bool = True,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings or GenerationSettings()
        self.model_name = model_name
        self.adapter_version = adapter_version
        self.round_number = round_number
        self.progress = progress
        self.style: PromptStyle = resolve_style(self.settings.prompt_style, tokenizer)

    @property
    def greedy(self) -> bool:
        return self.settings.temperature == 0

    @property
    def device(self) -> torch.device:
        device: torch.device = next(self.model.parameters()).device
        return device

    def __call__(
        self, problems: Sequence[BenchProblem], n: int
    ) -> Iterator[tuple[BenchProblem, list[Completion]]]:
        if self.greedy and n > 1:
            raise InvalidInput(
                f"greedy decoding (temperature 0) gives one answer per problem, not {n}", field="n"
            )
        rows = [(p, i) for p in range(len(problems)) for i in range(n)]
        pending: dict[int, list[Completion | None]] = {}
        next_problem = 0
        size = self.settings.batch_size
        with tqdm(total=len(rows), desc="sample", unit="sample", disable=not self.progress) as bar:
            for start in range(0, len(rows), size):
                batch = rows[start : start + size]
                seed = self.settings.seed + start // size
                prompts = [
                    build_prompt(problems[p], self.style, self.tokenizer, self.settings.instruction)
                    for p, _ in batch
                ]
                for (p, i), completion in zip(batch, self._sample(prompts, seed), strict=True):
                    pending.setdefault(p, [None] * n)[i] = completion
                bar.update(len(batch))
                while next_problem in pending and None not in pending[next_problem]:
                    done = [c for c in pending.pop(next_problem) if c is not None]
                    yield problems[next_problem], done
                    next_problem += 1

    @torch.no_grad()
    def _sample(self, prompts: list[str], seed: int) -> list[Completion]:
        from transformers import GenerationConfig, StoppingCriteriaList

        settings = self.settings
        chat = self.style == "chat"
        encoded = self.tokenizer(
            prompts,
            return_tensors="pt",
            padding=True,
            add_special_tokens=not chat,  # a chat template already holds the special tokens
        ).to(self.device)
        prompt_length = encoded["input_ids"].shape[1]
        sampling: dict[str, Any] = (
            {"do_sample": False}
            if self.greedy
            else {"do_sample": True, "temperature": settings.temperature, "top_k": 0, "top_p": 1.0}
        )
        config = GenerationConfig(  # type: ignore[no-untyped-call]
            **sampling,
            max_new_tokens=settings.max_new_tokens,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
            output_scores=True,
            return_dict_in_generate=True,
        )
        cut = fence_closed if chat else settings.stop
        stopper = StopOnSequences(self.tokenizer, cut, prompt_length)
        torch.manual_seed(seed)
        out = self.model.generate(
            **encoded,
            generation_config=config,
            stopping_criteria=StoppingCriteriaList([stopper]),
        )
        new_tokens = out.sequences[:, prompt_length:]
        # scores are the processed logits (here: divided by the temperature; greedy: as
        # they are), one (batch, vocab) tensor per step; their log-softmax is the sampling
        # distribution. Step by step, so that no (batch, steps, vocab) tensor is ever
        # materialised.
        chosen = torch.stack(
            [
                step.float().log_softmax(dim=-1).gather(-1, new_tokens[:, t, None])[:, 0]
                for t, step in enumerate(out.scores)
            ],
            dim=1,
        )
        dtype = str(next(self.model.parameters()).dtype)
        decode = reply_decoder(self.tokenizer)
        completions = []
        for row in range(len(prompts)):
            mask = encoded["attention_mask"][row].bool()
            prompt_ids = encoded["input_ids"][row][mask].tolist()
            reply, kept = truncate(
                self.tokenizer, new_tokens[row].tolist(), cut, self.tokenizer.eos_token_id
            )
            response = new_tokens[row][:kept].tolist()
            found = extract_code(reply) if chat else completion_spans(reply)
            meta = GenerationMeta(
                model=self.model_name,
                adapter_version=self.adapter_version,
                round=self.round_number,
                temperature=settings.temperature,
                seed=seed,
                prompt_token_ids=prompt_ids,
                response_token_ids=response,
                response_logprobs=[round(v, 6) for v in chosen[row][:kept].tolist()],
                dtype=dtype,
                prompt_style=self.style,
                reply=reply if chat else None,
                extraction=found.method,
                code_spans=list(found.spans) if chat else None,
                response_char_ends=char_ends(decode, response) if chat else None,
            )
            completions.append(Completion(found.code, meta))
        return completions
