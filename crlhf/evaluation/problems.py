"""A benchmark problem: the prompt a model completes and the tests its completion must pass."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from crlhf.schemas import ProblemIn


@dataclass(frozen=True)
class BenchProblem:
    """One problem of a suite, in the completion format both suites share.

    The executed program is ``prompt + completion + "\\n" + tests``: the model continues
    the prompt, so a completion alone is not a program.
    """

    task_id: str
    prompt: str
    tests: str
    """Test code run after the completion; ends by calling the tests where needed."""
    reference: str
    """A completion known to pass (HumanEval's canonical solution, MBPP's reference)."""
    entry_point: str | None = None
    description: str = ""

    def program(self, completion: str, *, standalone: bool = False) -> str:
        """The program the sandbox runs.

        ``standalone``: the completion is whole code extracted from a chat reply (it
        defines the entry point itself). The prompt then goes first only as a header, so
        that its imports and helper functions exist; the completion's definitions replace
        the prompt's stubs. A prompt that does not parse alone contributes its imports.
        """
        if not standalone:
            return f"{self.prompt}{completion}\n{self.tests}\n"
        return f"{self.header()}\n{completion}\n{self.tests}\n"

    def header(self) -> str:
        """What of the prompt runs before extracted code (see :meth:`program`)."""
        try:
            ast.parse(self.prompt)
        except SyntaxError:
            imports = [
                line for line in self.prompt.splitlines() if line.startswith(("import ", "from "))
            ]
            return "\n".join(imports) + "\n"
        return self.prompt

    def to_problem_in(self) -> ProblemIn:
        """The problem as the annotation server imports it (tests stay server-side)."""
        return ProblemIn(
            id=self.task_id,
            title=self.task_id,
            description=self.description or self.prompt,
            entry_point=self.entry_point,
            tests=self.tests,
            reference_solution=self.prompt + self.reference,
        )
