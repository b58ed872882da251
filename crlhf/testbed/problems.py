"""A synthetic family of coding problems with per-line truth.

Each :class:`Template` is a short function body split into **slots**, one line each. A
slot has one or more correct forms (equivalent ways to write the line) and buggy forms (a
subtle change: an off-by-one start, ``>=`` for ``>``, a wrong initial value). An
:class:`Instance` fixes the template's constant ``k`` and list name, which gives a prompt
(a comment stating the task, then the ``def`` line), unit tests and a reference body.

Why this shape: a sample's lines can be judged exactly (a line is right when it is a
correct form of its slot), a program whose lines are all right passes its tests, and each
kept buggy form is checked to fail them, so line truth, the crowd's votes and pass@1 all
agree. Held-out instances are (template, k, name) combinations never trained on.

The expected test outputs come from running the reference bodies written here, in
process: they are this module's own code, never a model's (model code runs only in the
sandbox, :mod:`crlhf.sandbox`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crlhf.errors import InvalidInput
from crlhf.evaluation.problems import BenchProblem
from crlhf.schemas import split_code

INDENT = "    "


@dataclass(frozen=True)
class Slot:
    """One line of a body: its correct forms (the first is canonical) and buggy forms.

    Forms are format strings over ``{k}`` (the constant) and ``{xs}`` (the list's name),
    written without the function's own indentation level (which is added).
    """

    correct: tuple[str, ...]
    bugs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    key: str
    description: str
    """One sentence over ``{k}`` and ``{xs}``: the problem x a model reads."""
    slots: tuple[Slot, ...]
    inputs: str = "ints"
    """``ints``: lists of small integers (with the constant often present)."""


TEMPLATES: tuple[Template, ...] = (
    Template(
        "sum_above",
        "Return the sum of the numbers in {xs} that are greater than {k}.",
        (
            Slot(("total = 0",), ("total = 1", "total = {k}")),
            Slot(("for x in {xs}:",), ("for x in {xs}[1:]:",)),
            Slot(("    if x > {k}:",), ("    if x >= {k}:", "    if x < {k}:")),
            Slot(("        total += x", "        total = total + x"), ("        total += 1",)),
            Slot(("return total",), ("return x", "return total + 1")),
        ),
    ),
    Template(
        "count_equal",
        "Return how many numbers in {xs} are equal to {k}.",
        (
            Slot(("count = 0",), ("count = 1",)),
            Slot(("for x in {xs}:",), ("for x in {xs}[1:]:",)),
            Slot(("    if x == {k}:",), ("    if x != {k}:", "    if x >= {k}:")),
            Slot(("        count += 1", "        count = count + 1"), ("        count += x",)),
            Slot(("return count",), ("return count - 1",)),
        ),
    ),
    Template(
        "count_below",
        "Return how many numbers in {xs} are less than {k}.",
        (
            Slot(("count = 0",), ("count = 1",)),
            Slot(("for x in {xs}:",), ("for x in {xs}[1:]:",)),
            Slot(("    if x < {k}:",), ("    if x <= {k}:", "    if x > {k}:")),
            Slot(("        count += 1", "        count = count + 1"), ("        count += x",)),
            Slot(("return count",), ("return count + 1",)),
        ),
    ),
    Template(
        "max_plus",
        "Return the largest number in {xs} plus {k}.",
        (
            Slot(("best = {xs}[0]",), ("best = 0",)),
            Slot(("for x in {xs}:",), ("for x in {xs}[1:-1]:",)),
            Slot(("    if x > best:",), ("    if x < best:",)),
            Slot(("        best = x",), ("        best = x + {k}",)),
            Slot(("return best + {k}",), ("return best", "return best - {k}")),
        ),
    ),
    Template(
        "scale",
        "Return a list of every number in {xs} multiplied by {k}.",
        (
            Slot(("out = []",)),
            Slot(("for x in {xs}:",), ("for x in {xs}[1:]:",)),
            Slot(
                ("    out.append(x * {k})", "    out.append({k} * x)"),
                ("    out.append(x + {k})", "    out.append({k})"),
            ),
            Slot(("return out",), ("return {xs}",)),
        ),
    ),
    Template(
        "find_index",
        "Return the index of the first number in {xs} equal to {k}, or -1 if there is none.",
        (
            Slot(("for i in range(len({xs})):",), ("for i in range(1, len({xs})):",)),
            Slot(("    if {xs}[i] == {k}:",), ("    if {xs}[i] != {k}:",)),
            Slot(("        return i",), ("        return i + 1",)),
            Slot(("return -1",), ("return 0", "return len({xs})")),
        ),
    ),
)

LIST_NAMES = ("xs", "nums", "values", "items")
CONSTANTS = tuple(range(10))
TEST_CASES = 10


@dataclass(frozen=True)
class Instance:
    """A template with its constant and list name fixed: one problem."""

    template: Template
    k: int
    xs: str

    @property
    def task_id(self) -> str:
        return f"testbed/{self.template.key}/{self.xs}/{self.k}"

    @property
    def function(self) -> str:
        return f"{self.template.key}_{self.k}"

    def _fill(self, form: str) -> str:
        return INDENT + form.format(k=self.k, xs=self.xs)

    @property
    def prompt(self) -> str:
        """What the model continues: the task as a comment, then the ``def`` line."""
        text = self.template.description.format(k=self.k, xs=self.xs)
        return f"# {text}\ndef {self.function}({self.xs}):\n"

    def correct_lines(self, slot: int) -> frozenset[str]:
        return frozenset(self._fill(f) for f in self.template.slots[slot].correct)

    def body(self, choices: Sequence[int] | None = None) -> str:
        """The body with form ``choices[i]`` in slot i: indices past the correct forms
        pick bugs (default: every slot canonical)."""
        lines = []
        for i, slot in enumerate(self.template.slots):
            choice = choices[i] if choices is not None else 0
            forms = slot.correct + slot.bugs
            lines.append(self._fill(forms[choice]))
        return "\n".join(lines) + "\n"

    def run(self, body: str, args: list[int]) -> Any:
        """Call this instance's function, written with ``body``, on ``args`` (own code only)."""
        namespace: dict[str, Any] = {}
        exec(self.prompt + body, namespace)  # this module's own templates, never model output
        return namespace[self.function](list(args))

    def test_inputs(self) -> list[list[int]]:
        """Seeded, non-empty lists of small integers, with k (and repeats) often present."""
        rng = random.Random(f"{self.task_id}/tests")
        # Fixed cases first: k alone, k among others, all negative, the largest last.
        cases = [[self.k], [self.k + 1, self.k, -2], [-5, -3, -9], [self.k - 3, self.k + 4]]
        while len(cases) < TEST_CASES:
            size = rng.randint(1, 6)
            cases.append([rng.choice([self.k, rng.randint(-9, 12)]) for _ in range(size)])
        return cases

    def tests(self) -> str:
        reference = self.body()
        lines = [
            f"assert {self.function}({args!r}) == {self.run(reference, args)!r}"
            for args in self.test_inputs()
        ]
        return "\n".join(lines) + "\n"

    def passes(self, body: str) -> bool:
        """Whether ``body`` (one of this module's own forms) passes the tests."""
        try:
            return all(
                self.run(body, args) == self.run(self.body(), args) for args in self.test_inputs()
            )
        except Exception:  # a buggy form may index past the list: that is failing
            return False

    def detectable_bugs(self, slot: int) -> tuple[int, ...]:
        """Form indices of the slot's bugs that the tests catch (the others are not bugs
        for this k: ``count += x`` equals ``count += 1`` when k = 1)."""
        n_correct = len(self.template.slots[slot].correct)
        found = []
        for b in range(len(self.template.slots[slot].bugs)):
            choices = [0] * len(self.template.slots)
            choices[slot] = n_correct + b
            if not self.passes(self.body(choices)):
                found.append(n_correct + b)
        return tuple(found)

    def to_bench(self) -> BenchProblem:
        return BenchProblem(
            task_id=self.task_id,
            prompt=self.prompt,
            tests=self.tests(),
            reference=self.body(),
            entry_point=self.function,
            description=self.prompt,
        )

    def line_truth(self, completion: str) -> list[bool]:
        """True per judged line of ``completion``: it is a correct form of its slot.

        Lines past the template's last slot are wrong (the body should have ended).
        """
        judged = [line.text.rstrip() for line in split_code(completion) if line.judged]
        slots = len(self.template.slots)
        return [i < slots and text in self.correct_lines(i) for i, text in enumerate(judged)]


def all_instances() -> list[Instance]:
    return [Instance(t, k, xs) for t in TEMPLATES for k in CONSTANTS for xs in LIST_NAMES]


def split_instances(
    heldout_share: float = 0.2, seed: int = 0
) -> tuple[list[Instance], list[Instance]]:
    """(train, held-out) instances, a seeded random split."""
    instances = all_instances()
    random.Random(seed).shuffle(instances)
    cut = round(len(instances) * heldout_share)
    return instances[cut:], instances[:cut]


@dataclass(frozen=True)
class Document:
    """One training text of the base model: an instance's prompt and a body."""

    instance: Instance
    body: str
    buggy_slots: tuple[int, ...]
    """The slots holding a bug (empty for a correct body)."""

    @property
    def text(self) -> str:
        return self.instance.prompt + self.body


def make_corpus(
    instances: Sequence[Instance],
    *,
    copies: int,
    bug_rate: float,
    slot_bug_rate: float = 0.0,
    seed: int = 0,
) -> list[Document]:
    """``copies`` bodies per instance, with detectable bugs planted two ways.

    With probability ``bug_rate`` a body gets one bug in a random slot; independently,
    every slot gets a bug with probability ``slot_bug_rate``. Correct forms are drawn
    uniformly, so the model also learns that equivalent lines exist.

    Why two knobs: sampling at temperature < 1 sharpens each line toward its most
    frequent form, so one bug per body (spread over five slots) leaves the correct form
    the clear favourite of every slot; a base trained on ``bug_rate = 0.5`` wrote fully
    correct held-out bodies 79% of the time at T = 0.8. Per-slot bugs lower every slot's
    margin, which compounds over the body's lines. (Two planted bugs can cancel, such as
    ``count = 1`` with ``return count - 1``: both lines are still wrong by their slot,
    as a reviewer would say, though the body passes.)
    """
    for name, rate in (("bug_rate", bug_rate), ("slot_bug_rate", slot_bug_rate)):
        if not 0.0 <= rate <= 1.0:
            raise InvalidInput("must lie in [0, 1]", field=name)
    rng = random.Random(seed)
    documents = []
    for instance in instances:
        slots = instance.template.slots
        bug_choices = {s: instance.detectable_bugs(s) for s in range(len(slots))}
        can_fail = [s for s, bugs in bug_choices.items() if bugs]
        for _ in range(copies):
            choices = [rng.randrange(len(slot.correct)) for slot in slots]
            buggy = {s for s in can_fail if rng.random() < slot_bug_rate}
            if can_fail and rng.random() < bug_rate:
                buggy.add(rng.choice(can_fail))
            for slot in buggy:
                choices[slot] = rng.choice(bug_choices[slot])
            documents.append(Document(instance, instance.body(choices), tuple(sorted(buggy))))
    return documents
