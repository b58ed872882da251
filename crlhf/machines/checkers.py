"""The checker interface: how a program becomes a machine annotator.

A checker reads one :class:`~crlhf.schemas.MachineTask` (the sample's code and lines, the
problem's description, tests and entry point) and returns a :class:`Verdict`: a label for
some of the judged lines and nothing for the rest (abstentions). It never sees gold, the
honeypot flag or anyone's votes: the server does not send them. Its reliability is not
its own claim; the engine learns it like a person's (docs/quality.md).

To add a checker (an LLM judge over an OpenAI-compatible endpoint, a learned line reward
model): implement :class:`Checker` (a ``name``, a ``version`` and ``check``), register a
factory in :data:`CHECKERS`, and create its annotator with ``crlhf admin
create-annotator NAME --machine <name>``. ``check`` may raise or run long: the runner
(:mod:`crlhf.machines.runner`) turns both into an abstention and one log line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from crlhf.schemas import Label, MachineTask


@dataclass(frozen=True)
class Verdict:
    """A checker's judgement of one sample: labels on the lines it has an opinion on."""

    labels: Mapping[int, Label] = field(default_factory=dict)
    """Judged line number -> label; a judged line absent here is an abstention."""
    note: str | None = None
    """One line on why it abstained (no tests, a timeout...), sent with the submission."""


class Checker(Protocol):
    """A machine annotator's judge (see the module docstring)."""

    name: str
    version: str

    def check(self, task: MachineTask) -> Verdict:
        """Labels for some judged lines of ``task``; abstain by leaving a line out."""
        ...


def _tests() -> Checker:
    from crlhf.machines.tests_checker import TestsChecker

    return TestsChecker()


def _static() -> Checker:
    from crlhf.machines.static_checker import StaticChecker

    return StaticChecker()


CHECKERS: dict[str, Callable[[], Checker]] = {"tests": _tests, "static": _static}
"""Built-in checkers by name (the name an annotator is created with)."""

BUILT_IN: dict[str, str] = {"tests": "3", "static": "2"}
"""Each built-in checker's version: bump it when its rule changes, so a new annotator
(with a fresh reliability) can be created for the new rule."""
