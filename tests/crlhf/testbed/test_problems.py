"""The synthetic problem family: line truth, tests and bugs agree."""

from __future__ import annotations

import pytest

from crlhf.errors import InvalidInput
from crlhf.testbed.problems import (
    TEMPLATES,
    Instance,
    all_instances,
    make_corpus,
    split_instances,
)


def test_every_reference_passes_and_every_kept_bug_fails() -> None:
    for instance in all_instances():
        assert instance.passes(instance.body()), instance.task_id
        for slot in range(len(instance.template.slots)):
            for choice in instance.detectable_bugs(slot):
                choices = [0] * len(instance.template.slots)
                choices[slot] = choice
                assert not instance.passes(instance.body(choices))


def test_equivalent_forms_pass() -> None:
    instance = Instance(TEMPLATES[0], 3, "xs")  # sum_above: slot 3 has two correct forms
    assert instance.passes(instance.body([0, 0, 0, 1, 0]))
    assert instance.line_truth(instance.body([0, 0, 0, 1, 0])) == [True] * 5


def test_a_bug_that_is_not_one_for_this_constant_is_not_kept() -> None:
    # count += x equals count += 1 when only ones are counted.
    one = Instance(next(t for t in TEMPLATES if t.key == "count_equal"), 1, "xs")
    two = Instance(one.template, 2, "xs")
    assert one.detectable_bugs(3) == ()
    assert two.detectable_bugs(3) == (2,)


def test_line_truth_marks_the_buggy_line_and_extra_lines() -> None:
    instance = Instance(TEMPLATES[0], 3, "nums")
    buggy = instance.body([0, 0, 2, 0, 0])  # "if x >= 3:"
    assert instance.line_truth(buggy) == [True, True, False, True, True]
    assert instance.line_truth(instance.body() + "\n    return 0\n") == [True] * 5 + [False]
    # Wrong indentation is a wrong line; blank lines are not judged.
    assert instance.line_truth("total = 0\n\n    for x in nums:\n") == [False, True]


def test_program_runs_the_tests_in_the_bench_format() -> None:
    instance = Instance(TEMPLATES[3], 4, "values")
    problem = instance.to_bench()
    namespace: dict[str, object] = {}
    exec(problem.program(problem.reference), namespace)  # our own reference: trusted
    with pytest.raises(AssertionError):
        exec(problem.program(instance.body([1, 0, 0, 0, 0])), {})  # best = 0
    assert problem.prompt.startswith("# Return the largest number in values plus 4.\n")


def test_split_is_seeded_and_disjoint() -> None:
    train, heldout = split_instances(0.2, seed=1)
    assert len(heldout) == round(0.2 * len(all_instances()))
    assert not {i.task_id for i in train} & {i.task_id for i in heldout}
    assert [i.task_id for i in split_instances(0.2, seed=1)[1]] == [i.task_id for i in heldout]


def test_corpus_bug_rates() -> None:
    train, _ = split_instances()
    documents = make_corpus(train[:40], copies=50, bug_rate=0.3, seed=0)
    share = sum(bool(d.buggy_slots) for d in documents) / len(documents)
    assert share == pytest.approx(0.3, abs=0.03)
    assert all(len(d.buggy_slots) <= 1 for d in documents)
    per_slot = make_corpus(train[:40], copies=50, bug_rate=0.0, slot_bug_rate=0.2, seed=0)
    slots = sum(len(d.instance.template.slots) for d in per_slot)
    assert sum(len(d.buggy_slots) for d in per_slot) / slots == pytest.approx(0.2, abs=0.03)
    for document in documents[:200] + per_slot[:200]:
        truth = document.instance.line_truth(document.body)
        assert [i for i, ok in enumerate(truth) if not ok] == list(document.buggy_slots)
        assert document.instance.passes(document.body) == (not document.buggy_slots)
    with pytest.raises(InvalidInput):
        make_corpus(train, copies=1, bug_rate=1.5)
    with pytest.raises(InvalidInput):
        make_corpus(train, copies=1, bug_rate=0.1, slot_bug_rate=-0.1)
