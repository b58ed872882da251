"""A benchmark problem: the prompt a model completes and the tests its completion must pass."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from crlhf.schemas import DEFAULT_LANGUAGE, ProblemIn


@dataclass(frozen=True)
class BenchProblem:
    """One problem of a suite, in the completion format every suite shares.

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
    language: str = DEFAULT_LANGUAGE
    source: ProblemIn | None = None
    """The problem as a team wrote it (``--problems FILE``, ``--suite server``): pushed to
    the server as it is, so generating never rewrites a problem's title or description."""

    @property
    def not_run(self) -> str | None:
        """Why the problem is left out of execution and pass@k (None: it is run)."""
        if self.language != DEFAULT_LANGUAGE:
            return f"{self.language}: only Python is executed"
        if not self.tests.strip():
            return "no tests"
        return None

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
        if self.source is not None:
            return self.source
        return ProblemIn(
            id=self.task_id,
            title=self.task_id,
            description=self.description or self.prompt,
            entry_point=self.entry_point,
            tests=self.tests,
            reference_solution=self.prompt + self.reference,
            language=self.language,
        )


def model_prompt(problem: ProblemIn) -> str:
    """What the model is given: the problem's ``prompt``, else its description (for Python
    as a docstring, so that prompt + completion is a program, as MBPP's prompt is)."""
    if problem.prompt is not None:
        return problem.prompt
    if problem.language == DEFAULT_LANGUAGE:
        return f'"""\n{problem.description.strip()}\n"""\n'
    return f"{problem.description.strip()}\n"


def from_problem(problem: ProblemIn) -> BenchProblem:
    """A team's problem as a benchmark problem (its reference made a completion)."""
    prompt = model_prompt(problem)
    reference = problem.reference_solution or ""
    if reference.startswith(prompt):
        reference = reference[len(prompt) :]
    return BenchProblem(
        task_id=problem.id,
        prompt=prompt,
        tests=problem.tests or "",
        reference=reference,
        entry_point=problem.entry_point,
        description=problem.description,
        language=problem.language,
        source=problem,
    )
