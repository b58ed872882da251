"""The testbed's base model: a tiny GPT-2 and BPE tokenizer trained from scratch on CPU.

Trained on :func:`~crlhf.testbed.problems.make_corpus` documents (correct and subtly
buggy bodies), so the base policy writes buggy lines about as often as the corpus does:
the room that crowd feedback is meant to close. Nothing is downloaded.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crlhf.testbed.problems import Document

logger = logging.getLogger(__name__)

EOS = "<|endoftext|>"


@dataclass(frozen=True)
class PretrainConfig:
    vocab_size: int = 384
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 3e-3
    seed: int = 0


def train_tokenizer(texts: Sequence[str], vocab_size: int) -> Any:
    """A byte-level BPE tokenizer (EOS doubles as padding) trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    fast: Any = PreTrainedTokenizerFast
    return fast(tokenizer_object=tokenizer, eos_token=EOS, pad_token=EOS)


def pretrain(
    documents: Sequence[Document],
    directory: Path,
    config: PretrainConfig,
    *,
    progress: bool = False,
) -> dict[str, float]:
    """Train tokenizer and model on ``documents``, save both to ``directory``; return stats.

    ``progress`` shows a bar over the optimizer steps (minutes for ``crlhf demo``'s base).
    """
    import torch  # here, not at the top: PretrainConfig is read by commands that never train
    from tqdm import tqdm
    from transformers import GPT2Config, GPT2LMHeadModel

    texts = [d.text for d in documents]
    tokenizer = train_tokenizer(texts, config.vocab_size)
    eos_id = int(tokenizer.convert_tokens_to_ids(EOS))
    # Prompt and body are encoded apart, as at sampling time (the prompt is encoded alone
    # and the model continues it): encoding the joined text would merge ":\n" with the
    # body's indentation into tokens the model never sees at a prompt's end.
    encoded = [
        [*tokenizer.encode(d.instance.prompt), *tokenizer.encode(d.body), eos_id] for d in documents
    ]
    torch.manual_seed(config.seed)
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=max(len(e) for e in encoded) + 128,
            n_layer=config.n_layer,
            n_embd=config.n_embd,
            n_head=config.n_head,
            bos_token_id=eos_id,
            eos_token_id=eos_id,
        )
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    steps_total = config.epochs * -(-len(encoded) // config.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 1.0 - s / steps_total)
    rng = random.Random(config.seed)
    model.train()
    started, tokens = time.perf_counter(), 0
    losses: list[float] = []
    bar = tqdm(total=steps_total, desc="pretrain", unit="step", disable=not progress)
    for _ in range(config.epochs):
        order = list(range(len(encoded)))
        rng.shuffle(order)
        for start in range(0, len(order), config.batch_size):
            rows = [encoded[i] for i in order[start : start + config.batch_size]]
            width = max(len(r) for r in rows)
            ids = torch.tensor([r + [eos_id] * (width - len(r)) for r in rows])
            mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
            labels = ids.masked_fill(mask == 0, -100)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
            tokens += int(mask.sum())
            bar.update()
            bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
    bar.close()
    seconds = time.perf_counter() - started
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    stats = {
        "first_loss": losses[0],
        "final_loss": losses[-1],
        "seconds": seconds,
        "tokens_per_second": tokens / seconds,
    }
    logger.info("pretrained %s: %s", directory, stats)
    return stats
