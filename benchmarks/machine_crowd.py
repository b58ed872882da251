"""Human votes per judged line needed with and without machine annotators, and whether a
broken checker is down-weighted.

    .venv/bin/python benchmarks/machine_crowd.py            # 300 samples, 3 seeds
    .venv/bin/python benchmarks/machine_crowd.py --quick    # smoke run

Samples: the testbed set of ``benchmarks/_machines.py`` (real lines with known truth) and
the built-in checkers' real votes on them (``tests``, ``static``). People: a pool of 50
drawn from the engine's default population (:func:`crlhf.engine.simulate.simulate_crowd`:
competent, sloppy, spammers, adversarial), each judging every line of a sample from their
sensitivity and specificity, and 5 honeypots each (testbed bodies with one test-detected
bug, gold attached). ``lazy``: 20% of them mark nothing (every vote +1). Machines see no
honeypot (the server's default, ``machine_honeypots`` off); ``machines on honeypots``
gives them the honeypots with gold too, to show what that calibration does. The broken
checkers (random votes; always "correct") are measured at a fixed overlap of 3, so the
comparison is the engine's weighting alone (routed, a checker voting at random also
draws extra people through its disagreements).

Aggregation is the server's: the default estimator of :class:`EngineConfig` over every
vote with gold, rewards by :func:`crlhf.engine.reward.sample_rewards`. Policies:

* ``humans, overlap k``: k people per sample (the server's fixed cap).
* ``humans + machines, routed, cap k``: the first 30% of samples get k people (before
  the first refit, machines hold the prior and settle nothing); a refit then calibrates
  the machines, and each later sample gets its human target by the server's rule
  (:func:`crlhf_server.task_routing.human_target`, cap k) from its machine-only
  posterior (eq. 7, :func:`crlhf.engine.incremental.sample_consensus`); a final refit
  scores everything.

Scored on non-honeypot lines: line accuracy (posterior > 1/2 vs truth), reward MAE
(s = c/k against the true share of correct lines), human votes per judged line. The
first policy of each family meeting MAE <= 0.05 and accuracy >= 95% is marked.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from _machines import Case, built_in_checkers, checker_votes, testbed_cases
from crlhf_server.task_routing import RoutingPolicy, human_target

from crlhf.engine.config import EngineConfig
from crlhf.engine.estimators import make_estimator
from crlhf.engine.incremental import AnnotatorState, SampleVote, sample_consensus
from crlhf.engine.machine_calibration import fit_with_machines
from crlhf.engine.reward import sample_rewards
from crlhf.engine.simulate import CrowdConfig, simulate_crowd
from crlhf.engine.votes import VoteSet
from crlhf.sandbox import Executor
from crlhf.schemas import split_code
from crlhf.tables import render_table
from crlhf.testbed.problems import all_instances

N_PEOPLE = 50
HONEYPOTS_EACH = 5
LAZY_SHARE = 0.2
TARGET_MAE = 0.05
TARGET_ACCURACY = 0.95
CALIBRATION_SHARE = 0.3
"""Share of samples (the first ones) served before the first refit calibrates machines."""


def honeypot_cases(n: int, seed: int = 1) -> list[Case]:
    """Testbed bodies with exactly one bug the tests catch (the shape of a mutant honeypot)."""
    from _machines import _task

    rng = random.Random(seed)
    instances = all_instances()
    cases: list[Case] = []
    while len(cases) < n:
        instance = rng.choice(instances)
        slot = rng.randrange(len(instance.template.slots))
        bugs = instance.detectable_bugs(slot)
        if not bugs:
            continue
        choices = [0] * len(instance.template.slots)
        choices[slot] = rng.choice(bugs)
        body = instance.body(choices)
        judged = [line.number for line in split_code(body) if line.judged]
        truth = dict(zip(judged, instance.line_truth(body), strict=True))
        task = _task(f"hp-{len(cases)}", body, instance.prompt, instance.tests(), instance.function)
        cases.append(Case(task, truth))
    return cases


@dataclass
class People:
    sens: np.ndarray
    spec: np.ndarray


def people(seed: int, lazy: bool) -> People:
    crowd = simulate_crowd(CrowdConfig(n_samples=1, n_annotators=N_PEOPLE, seed=seed))
    sens, spec = crowd.sensitivity.copy(), crowd.specificity.copy()
    if lazy:
        rng = np.random.default_rng(seed + 1000)
        chosen = rng.choice(N_PEOPLE, size=round(LAZY_SHARE * N_PEOPLE), replace=False)
        sens[chosen], spec[chosen] = 1.0, 0.0
    return People(sens, spec)


@dataclass
class Votes:
    """Votes under construction over samples then honeypots (line ids are global)."""

    line: list[int] = field(default_factory=list)
    annotator: list[int] = field(default_factory=list)
    vote: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    cases: list[Case]
    """Samples first, then honeypots."""
    n_samples: int
    line_of: list[dict[int, int]]
    line_sample: np.ndarray
    truth: np.ndarray
    gold: np.ndarray


def layout(samples: Sequence[Case], honeypots: Sequence[Case]) -> Layout:
    cases = [*samples, *honeypots]
    line_of: list[dict[int, int]] = []
    line_sample: list[int] = []
    truth: list[int] = []
    gold: list[int] = []
    for index, case in enumerate(cases):
        mapping = {}
        for number, correct in case.truth.items():
            mapping[number] = len(line_sample)
            line_sample.append(index)
            truth.append(1 if correct else -1)
            gold.append(truth[-1] if index >= len(samples) else 0)
        line_of.append(mapping)
    return Layout(
        cases,
        len(samples),
        line_of,
        np.asarray(line_sample),
        np.asarray(truth),
        np.asarray(gold),
    )


def person_votes(
    out: Votes, lay: Layout, who: int, case_index: int, crowd: People, rng: np.random.Generator
) -> None:
    for line in lay.line_of[case_index].values():
        correct = lay.truth[line] == 1
        p_plus = crowd.sens[who] if correct else 1.0 - crowd.spec[who]
        out.line.append(line)
        out.annotator.append(who)
        out.vote.append(1 if rng.random() < p_plus else -1)


def machine_votes(
    out: Votes, lay: Layout, machine: int, case_index: int, votes: dict[int, int]
) -> None:
    for number, label in votes.items():
        if number in lay.line_of[case_index]:
            out.line.append(lay.line_of[case_index][number])
            out.annotator.append(machine)
            out.vote.append(label)


@dataclass(frozen=True)
class Fitted:
    posterior: np.ndarray
    votes: VoteSet
    engine: EngineConfig
    states: list[AnnotatorState]


def fit(lay: Layout, votes: Votes, n_machines: int) -> Fitted:
    """The server's refit: people alone, then machines calibrated and added by eq. 7."""
    engine = EngineConfig()
    vote_set = VoteSet.build(
        votes.line,
        votes.annotator,
        votes.vote,
        n_lines=len(lay.truth),
        n_annotators=N_PEOPLE + n_machines,
        gold=lay.gold,
    )
    estimator = make_estimator(engine.estimator, **engine.options_for(engine.estimator))
    is_machine = np.arange(N_PEOPLE + n_machines) >= N_PEOPLE
    fitted = fit_with_machines(estimator, vote_set, is_machine, lay.line_sample, engine)
    if fitted.class_prior is not None:
        engine = engine.model_copy(update={"prior": fitted.class_prior})
    return Fitted(fitted.posterior, vote_set, engine, fitted.states)


def score(lay: Layout, fitted: Fitted) -> tuple[float, float]:
    posterior = fitted.posterior
    sample_lines = lay.line_sample < lay.n_samples
    accuracy = float(((posterior > 0.5) == (lay.truth == 1))[sample_lines].mean())
    rewards = sample_rewards(
        posterior, lay.line_sample, fitted.votes, fitted.engine, n_samples=len(lay.cases)
    )
    true = np.array([np.mean(list(c.truth.values())) for c in lay.cases[: lay.n_samples]])
    mae = float(np.nanmean(np.abs(rewards.reward[: lay.n_samples] - true)))
    return accuracy, mae


@dataclass(frozen=True)
class Scenario:
    lay: Layout
    crowd: People
    machine_sets: list[list[dict[int, int]]]
    """Per machine, its votes on every case (samples then honeypots)."""
    machines_on_honeypots: bool = False


def _base_votes(s: Scenario, rng: np.random.Generator) -> Votes:
    votes = Votes()
    n_h = len(s.lay.cases) - s.lay.n_samples
    for who in range(N_PEOPLE):
        for pick in rng.integers(0, n_h, size=HONEYPOTS_EACH):
            person_votes(votes, s.lay, who, s.lay.n_samples + int(pick), s.crowd, rng)
    last = len(s.lay.cases) if s.machines_on_honeypots else s.lay.n_samples
    for m, machine in enumerate(s.machine_sets):
        for index in range(last):
            machine_votes(votes, s.lay, N_PEOPLE + m, index, machine[index])
    return votes


def run_fixed(s: Scenario, k: int, seed: int) -> tuple[float, float, float]:
    rng = np.random.default_rng(seed)
    votes = _base_votes(s, rng)
    human = 0
    for index in range(s.lay.n_samples):
        for who in rng.choice(N_PEOPLE, size=k, replace=False):
            person_votes(votes, s.lay, int(who), index, s.crowd, rng)
            human += len(s.lay.line_of[index])
    accuracy, mae = score(s.lay, fit(s.lay, votes, len(s.machine_sets)))
    return accuracy, mae, human / int((s.lay.line_sample < s.lay.n_samples).sum())


def run_routed(s: Scenario, cap: int, seed: int) -> tuple[float, float, float]:
    """The server's life: before the first refit the machines' states are the prior and
    settle nothing, so the first ``CALIBRATION_SHARE`` of samples get ``cap`` people; a
    refit then calibrates the machines, and every later sample gets its human target."""
    rng = np.random.default_rng(seed)
    votes = _base_votes(s, rng)
    n = s.lay.n_samples
    warm = round(CALIBRATION_SHARE * n)
    chosen = [rng.choice(N_PEOPLE, size=N_PEOPLE, replace=False) for _ in range(n)]
    human = 0
    for index in range(warm):
        for who in chosen[index][:cap]:
            person_votes(votes, s.lay, int(who), index, s.crowd, rng)
        human += cap * len(s.lay.line_of[index])
    first = fit(s.lay, votes, len(s.machine_sets))
    states, engine = dict(enumerate(first.states)), first.engine
    policy = RoutingPolicy(
        warmup_honeypots=0,
        honeypot_rate=0.0,
        max_annotators_per_sample=cap,
        machine_confident_humans=1,
        machine_disagreement_humans=1,
        target_confidence=0.95,
    )
    for index in range(warm, n):
        judged = sorted(s.lay.line_of[index])
        machine = [
            SampleVote(annotator=N_PEOPLE + m, line=line, vote=v)
            for m, votes_m in enumerate(s.machine_sets)
            for line, v in votes_m[index].items()
            if line in s.lay.line_of[index]
        ]
        target: int | None = None
        if machine:
            consensus = sample_consensus(engine, judged, machine, states)
            by_line: dict[int, set[int]] = {}
            for v in machine:
                by_line.setdefault(v.line, set()).add(v.vote)
            disagree = any(len(x) > 1 for x in by_line.values())
            target = human_target(consensus.posteriors.values(), disagree, policy)
        want = max(cap if target is None else target, 1)
        for who in chosen[index][:want]:
            person_votes(votes, s.lay, int(who), index, s.crowd, rng)
        human += want * len(judged)
    accuracy, mae = score(s.lay, fit(s.lay, votes, len(s.machine_sets)))
    return accuracy, mae, human / int((s.lay.line_sample < n).sum())


def _mean(results: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    a = np.asarray(results)
    return float(a[:, 0].mean()), float(a[:, 1].mean()), float(a[:, 2].mean())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 samples, 1 seed")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    n, seeds = (60, 1) if args.quick else (args.samples, args.seeds)
    executor = Executor(workers=4)
    samples = testbed_cases(n)
    honeypots = honeypot_cases(40)
    lay = layout(samples, honeypots)
    real: list[list[dict[int, int]]] = []
    for name, checker in built_in_checkers(executor).items():
        on_samples = checker_votes(name, checker, samples, f"testbed-{len(samples)}")
        on_honeypots = checker_votes(name, checker, honeypots, f"testbed-hp-{len(honeypots)}")
        real.append(on_samples + on_honeypots)
    noise = random.Random(7)
    random_machine = [{n: noise.choice((1, -1)) for n in c.truth} for c in lay.cases]
    always_correct = [dict.fromkeys(c.truth, 1) for c in lay.cases]

    for lazy in (False, True):
        crowd_name = "20% lazy" if lazy else "default crowd"
        rows = []
        for family, machines, routed in (
            ("humans only", [], False),
            ("humans + machines, routed", real, True),
        ):
            met = False
            for k in range(1, 8):
                results = []
                for seed in range(seeds):
                    s = Scenario(lay, people(seed, lazy), machines)
                    results.append(run_routed(s, k, seed) if routed else run_fixed(s, k, seed))
                accuracy, mae, per_line = _mean(results)
                ok = accuracy >= TARGET_ACCURACY and mae <= TARGET_MAE
                mark = "<- first to meet" if ok and not met else ""
                met = met or ok
                rows.append([family, k, f"{per_line:.2f}", f"{accuracy:.1%}", f"{mae:.4f}", mark])
        print(f"{crowd_name}: {n} samples, {seeds} seeds")
        headers = ["policy", "cap k", "human votes / line", "line accuracy", "reward MAE", ""]
        print(render_table(headers, rows))
        print()

    rows = []
    for lazy in (False, True):
        for label, extra in (
            ("none", []),
            ("random votes", [random_machine]),
            ("always correct", [always_correct]),
        ):
            results = [
                run_fixed(Scenario(lay, people(seed, lazy), [*real, *extra]), 3, seed)
                for seed in range(seeds)
            ]
            accuracy, mae, _ = _mean(results)
            rows.append(["20% lazy" if lazy else "default", label, f"{accuracy:.2%}", f"{mae:.4f}"])
    print("broken checkers beside tests + static: the engine's weighting alone (overlap 3)")
    print(render_table(["crowd", "broken checker", "line accuracy", "reward MAE"], rows))
    print()
    rows = []
    for lazy in (False, True):
        for on_hp in (False, True):
            results = [
                run_routed(Scenario(lay, people(seed, lazy), real, on_hp), 4, seed)
                for seed in range(seeds)
            ]
            accuracy, mae, per_line = _mean(results)
            rows.append(
                [
                    "20% lazy" if lazy else "default",
                    "yes" if on_hp else "no",
                    f"{per_line:.2f}",
                    f"{accuracy:.2%}",
                    f"{mae:.4f}",
                ]
            )
    print("machines calibrated with honeypot gold too (routed, cap 4)")
    headers = ["crowd", "machines on honeypots", "human votes / line", "line accuracy"]
    print(render_table([*headers, "reward MAE"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
