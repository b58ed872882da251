"""What the sandbox reports: one verdict per sample and the isolation that was in force."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    """A test assertion failed or the program raised an ordinary exception."""
    TIMED_OUT = "timed_out"
    """Wall-clock or CPU-time limit reached."""
    CRASHED = "crashed"
    """The process died without a verdict (signal, memory limit, exit) or ended itself."""
    BLOCKED = "blocked"
    """The sample tried something the sandbox forbids (network, processes, foreign files)."""


@dataclass(frozen=True)
class SampleResult:
    index: int
    outcome: Outcome
    message: str = ""
    """The first failing assertion, the exception, the forbidden action or the limit hit."""
    output: str = ""
    """Printed output, capped."""
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    @classmethod
    def from_runner(cls, row: dict[str, Any]) -> SampleResult:
        return cls(
            index=int(row["index"]),
            outcome=Outcome(row["outcome"]),
            message=str(row.get("message", "")),
            output=str(row.get("output", "")),
            duration_s=float(row.get("duration_s", 0.0)),
        )


@dataclass(frozen=True)
class Isolation:
    """The isolation a runner reported after setting itself up (trusted code)."""

    network: str
    """"netns", "userns+netns", "off", or "none (why)"."""
    uid: int
    gid: int
    dropped_privileges: bool
    no_new_privs: bool
    subreaper: bool
    audit_hook: bool
    python: str
    rlimits: dict[str, int] = field(default_factory=dict)
    read_roots: list[str] = field(default_factory=list)
    preloaded: list[str] = field(default_factory=list)
    """Standard-library modules imported once in the runner, before the forks."""
    tmp: str = "none"
    """``tmpfs /tmp,/var/tmp,/dev/shm`` (a private mount namespace with its own tmpfs on
    each), or ``none (why)``: then a sample under a private uid can write the shared ones,
    and the runner removes what that uid left there after the run."""

    @classmethod
    def from_runner(cls, row: dict[str, Any]) -> Isolation:
        return cls(
            network=str(row["network"]),
            uid=int(row["uid"]),
            gid=int(row["gid"]),
            dropped_privileges=bool(row["dropped_privileges"]),
            no_new_privs=bool(row["no_new_privs"]),
            subreaper=bool(row["subreaper"]),
            audit_hook=bool(row["audit_hook"]),
            python=str(row["python"]),
            rlimits={str(k): int(v) for k, v in row["rlimits"].items()},
            read_roots=[str(p) for p in row["read_roots"]],
            preloaded=[str(m) for m in row.get("preloaded", [])],
            tmp=str(row.get("tmp", "none")),
        )

    @property
    def network_isolated(self) -> bool:
        return self.network.endswith("netns")

    @property
    def tmp_isolated(self) -> bool:
        return self.tmp.startswith("tmpfs")
