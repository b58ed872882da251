"""Votes per judged line the server's routing needs for reward MAE <= 0.05 and line
accuracy >= 95%, against round-robin fixed overlap, replayed through the real server.

    .venv/bin/python benchmarks/routing.py            # 300 samples, both crowds, 3 seeds
    .venv/bin/python benchmarks/routing.py --quick    # smoke run (20 samples, 12 people)

Every policy runs an in-process server (``create_app`` on a temp SQLite, FastAPI's
TestClient) holding the testbed samples of ``benchmarks/_machines.py`` (real code, known
line truth) and 40 honeypots with gold. 50 simulated people (the engine's default
population, :func:`crlhf.engine.simulate.simulate_crowd`; ``20% lazy``: a fifth of them
mark nothing) take turns asking ``GET /v1/tasks/next`` for one task and answering it with
``POST /v1/submissions``, each line right with their sensitivity or specificity. The
server serves honeypots as it does in production (5 in each person's first 20 tasks, then
10%) and its quality policy pauses people as it would. Every ``--step`` votes per sample
an admin refit (``POST /v1/admin/refit``, the default estimator) rescores the catalogue;
a policy's number is the human votes per judged line (non-honeypot) at the first refit
meeting both targets (every sample must have a reward). Honeypot votes are reported
apart.

Policies:

* ``fixed overlap``: round-robin fixed overlap (every sample ranks the same, so they are
  served in import order). The cap rises 1, 2, ... 7 and people work each level out, so
  after level k every sample has exactly k people; the first k meeting both targets is
  the baseline (one run gives every k).
* ``routed, <rule>``: the server's routing with the cap at 7, ranking samples by
  ``<rule>`` (the value stored as ``samples.uncertainty``, patched per run): ``summed
  entropy`` (the rule before this benchmark), ``mean entropy`` (per judged line), ``max
  entropy`` (the least certain line), ``sd of s`` (the posterior standard deviation of
  the reward, √Σp(1−p)/k, the server's rule now). People stop at the first
  refit meeting the targets, as the fixed baseline stops at its first k.
* ``+ settled``: the server's defaults (cap 5) plus the settled stop: a sample served to
  2 people whose expected line accuracy (mean max(P, 1 − P)) is at least 0.97 is served
  to nobody more (``settled_min_annotators``, ``settled_accuracy``). People work until
  nothing is left: the ``end`` columns need no look at the truth.
* ``+ machines (h)``: the built-in checkers (``tests``, ``static``) first vote on every
  sample through ``/v1/machines/submissions``; refits learn their reliabilities from
  agreement with people (no honeypots for machines, the server's default) and set each
  sample's human target (``human_target``): h people (1, or 0) where their votes alone
  make every line confident, one more than the cap where they disagree.

``votes / line`` counts human votes on non-honeypot samples per non-honeypot judged line;
the ratio is against the fixed baseline of the same seed and crowd.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import random
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _machines import Case, built_in_checkers, checker_votes, testbed_cases
from crlhf_server import task_routing
from crlhf_server.app import create_app, engine_config, open_store
from crlhf_server.deps import Context
from crlhf_server.seed import first_start
from crlhf_server.settings import Settings
from fastapi.testclient import TestClient
from machine_crowd import TARGET_ACCURACY, TARGET_MAE, People, honeypot_cases
from machine_crowd import people as fifty_people

from crlhf.sandbox import Executor
from crlhf.tables import render_table

ADMIN = "routing-bench-admin-token-0123456789"
MAX_CAP = 7
SETTLE_AFTER = 2
SETTLED_CAP = 5
"""The server's default ``max_annotators_per_sample``: with the settled stop people work
until nothing is left, so the cap is what a deployment would run."""


def binary_entropy(p: float) -> float:
    """H(p) in nats; 0 at p = 0 or 1."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log(p) + (1.0 - p) * math.log1p(-p))


def summed_entropy(posteriors: Iterable[float]) -> float:
    """Σ_l H(P(line l correct)): how much the crowd still does not know about a sample
    (the server's rule before the sd of s)."""
    return sum(binary_entropy(p) for p in posteriors)


def mean_entropy(posteriors: Iterable[float]) -> float:
    """Mean binary entropy per judged line (0 for no lines)."""
    values = list(posteriors)
    return summed_entropy(values) / len(values) if values else 0.0


def max_entropy(posteriors: Iterable[float]) -> float:
    """The least certain line's entropy."""
    return max(map(binary_entropy, posteriors), default=0.0)


def round_robin(posteriors: Iterable[float]) -> float:
    """Every sample ranks the same, so the server serves them in import order: the fixed
    overlap baseline, whatever the server's own rule."""
    return 0.0


RULES: dict[str, Callable[[Iterable[float]], float]] = {
    "summed entropy": summed_entropy,
    "mean entropy": mean_entropy,
    "max entropy": max_entropy,
    "sd of s": task_routing.reward_sd,
}


@contextlib.contextmanager
def ranking(rule: Callable[[Iterable[float]], float]) -> Iterator[None]:
    """Make the server store ``rule`` as each sample's uncertainty for the block."""
    kept = task_routing.sample_uncertainty
    task_routing.sample_uncertainty = rule  # type: ignore[assignment]
    try:
        yield
    finally:
        task_routing.sample_uncertainty = kept  # type: ignore[assignment]


def people(seed: int, lazy: bool, n: int) -> People:
    """The first ``n`` of machine_crowd's 50 people (its lazy ones among them)."""
    crowd = fifty_people(seed, lazy)
    return People(crowd.sens[:n], crowd.spec[:n])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Checkpoint:
    votes_per_line: float
    honeypot_votes_per_line: float
    accuracy: float
    mae: float
    all_rewarded: bool

    @property
    def met(self) -> bool:
        return self.all_rewarded and self.accuracy >= TARGET_ACCURACY and self.mae <= TARGET_MAE


@dataclass
class Replay:
    """One server with the catalogue, the people and (optionally) the machines' votes."""

    client: TestClient
    truth: dict[str, dict[int, bool]]
    honeypots: set[str]
    crowd: People
    tokens: list[dict[str, str]]
    rng: np.random.Generator
    n_lines: int
    active: list[int] = field(default_factory=list)
    human_votes: int = 0
    honeypot_votes: int = 0

    @property
    def settings(self) -> Settings:
        settings: Settings = self.client.app.state.context.settings  # type: ignore[attr-defined]
        return settings

    def work(self, budget: int | None = None) -> int:
        """People take turns asking for one task and judging it, until a round of turns
        serves no ordinary sample (people then get only honeypots, which a real crowd
        would not sit through) or ``budget`` ordinary submissions were made; returns how
        many were made."""
        made = 0
        while budget is None or made < budget:
            served = False
            order = list(self.active)
            self.rng.shuffle(order)
            for who in order:
                if budget is not None and made >= budget:
                    break
                answer = self.client.get("/v1/tasks/next?count=1", headers=self.tokens[who])
                if answer.status_code == 403:  # paused by the quality policy
                    self.active.remove(who)
                    continue
                answer.raise_for_status()
                tasks = answer.json()
                if not tasks:
                    continue
                ordinary = self.judge(who, tasks[0])
                served = served or bool(ordinary)
                made += ordinary
            if not served:
                break
        return made

    def judge(self, who: int, task: dict[str, Any]) -> int:
        truth = self.truth[task["sample_id"]]
        labels = []
        for line in task["lines"]:
            if not line["judged"]:
                continue
            correct = truth[line["number"]]
            p_plus = self.crowd.sens[who] if correct else 1.0 - self.crowd.spec[who]
            labels.append(
                {"line": line["number"], "label": 1 if self.rng.random() < p_plus else -1}
            )
        body = {
            "submission_id": str(uuid.uuid4()),
            "sample_id": task["sample_id"],
            "labels": labels,
        }
        self.client.post("/v1/submissions", json=body, headers=self.tokens[who]).raise_for_status()
        if task["sample_id"] in self.honeypots:
            self.honeypot_votes += len(labels)
            return 0
        self.human_votes += len(labels)
        return 1

    def checkpoint(self) -> Checkpoint:
        self.client.post("/v1/admin/refit", json={}, headers=bearer(ADMIN)).raise_for_status()
        conn = self.client.app.state.context.store.read()  # type: ignore[attr-defined]
        hits = lines = 0
        errors: list[float] = []
        rewarded = True
        for sample_id, posteriors, reward in conn.execute(
            "SELECT id, posteriors, reward FROM samples WHERE is_honeypot = 0"
        ):
            truth = self.truth[sample_id]
            stored = {int(k): float(v) for k, v in json.loads(posteriors).items()}
            for number, correct in truth.items():
                hits += (stored.get(number, 0.5) > 0.5) == correct
                lines += 1
            if reward is None:
                rewarded = False
            else:
                errors.append(abs(float(reward) - sum(truth.values()) / len(truth)))
        return Checkpoint(
            self.human_votes / self.n_lines,
            self.honeypot_votes / self.n_lines,
            hits / lines,
            float(np.mean(errors)) if errors else 1.0,
            rewarded,
        )


@contextlib.contextmanager
def start(
    tmp: Path,
    samples: Sequence[Case],
    honeypots: Sequence[Case],
    crowd: People,
    machine_sets: Sequence[list[dict[int, int]]],
    seed: int,
    **overrides: Any,
) -> Iterator[Replay]:
    """A server for one replay, shut down (store closed, webhook threads stopped) when
    the block ends: a full run starts dozens of them."""
    settings = Settings(
        db=tmp / f"{uuid.uuid4().hex}.db",
        admin_token=ADMIN,
        seed=False,
        policy_min_interval_s=0.0,
        **overrides,
    )
    store, engine = open_store(settings), engine_config(settings)
    first_start(store, engine, seed=False, admin_token=ADMIN)
    context = Context(settings=settings, store=store, engine=engine, rng=random.Random(seed))
    with TestClient(create_app(settings, context)) as client:
        yield _load(client, samples, honeypots, crowd, machine_sets, seed)


def _load(
    client: TestClient,
    samples: Sequence[Case],
    honeypots: Sequence[Case],
    crowd: People,
    machine_sets: Sequence[list[dict[int, int]]],
    seed: int,
) -> Replay:
    """The catalogue, the people's tokens and the machines' votes, through the API."""
    admin = bearer(ADMIN)
    cases = [*samples, *honeypots]
    problems = [
        {
            "id": c.task.sample_id,
            "title": c.task.sample_id,
            "description": c.task.problem.description,
        }
        for c in cases
    ]
    client.post("/v1/admin/problems", json=problems, headers=admin).raise_for_status()
    rows = []
    for i, c in enumerate(cases):
        row: dict[str, Any] = {
            "id": c.task.sample_id,
            "problem_id": c.task.sample_id,
            "code": c.task.code,
        }
        if i >= len(samples):
            row["gold"] = {str(n): 1 if ok else -1 for n, ok in c.truth.items()}
        rows.append(row)
    client.post("/v1/admin/samples", json=rows, headers=admin).raise_for_status()
    tokens = []
    for who in range(len(crowd.sens)):
        made = client.post("/v1/admin/annotators", json={"name": f"person-{who}"}, headers=admin)
        made.raise_for_status()
        tokens.append(bearer(made.json()["token"]))
    for m, votes in enumerate(machine_sets):
        made = client.post(
            "/v1/admin/annotators",
            json={"name": f"machine-{m}", "kind": "machine", "checker": f"checker-{m}"},
            headers=admin,
        )
        made.raise_for_status()
        token = bearer(made.json()["token"])
        for case, labels in zip(samples, votes, strict=True):
            client.get("/v1/machines/tasks/next?count=1", headers=token).raise_for_status()
            body = {
                "submission_id": str(uuid.uuid4()),
                "sample_id": case.task.sample_id,
                "labels": [{"line": n, "label": v} for n, v in labels.items()],
            }
            client.post("/v1/machines/submissions", json=body, headers=token).raise_for_status()
    return Replay(
        client=client,
        truth={c.task.sample_id: c.truth for c in cases},
        honeypots={c.task.sample_id for c in honeypots},
        crowd=crowd,
        tokens=tokens,
        rng=np.random.default_rng(seed),
        n_lines=sum(len(c.truth) for c in samples),
        active=list(range(len(crowd.sens))),
    )


@dataclass(frozen=True)
class Outcome:
    policy: str
    first: Checkpoint | None
    """The first checkpoint meeting both targets (None: never)."""
    last: Checkpoint
    extra: str = ""


def run_fixed(replay: Replay) -> Outcome:
    first = last = None
    level = 0
    for k in range(1, MAX_CAP + 1):
        replay.settings.max_annotators_per_sample = k
        replay.work()
        last = replay.checkpoint()
        if last.met and first is None:
            first, level = last, k
            break
    assert last is not None
    return Outcome("fixed overlap", first, last, f"k = {level}" if first else "not met")


def run_routed(replay: Replay, step: float, n_samples: int, *, settled: bool) -> Outcome:
    replay.settings.max_annotators_per_sample = SETTLED_CAP if settled else MAX_CAP
    if settled:
        replay.settings.settled_min_annotators = SETTLE_AFTER
    first: Checkpoint | None = None
    budget = max(1, round(step * n_samples))
    while True:
        made = replay.work(budget)
        last = replay.checkpoint()
        if last.met and first is None:
            first = last
            if not settled:
                break
        if made < budget:
            break
    return Outcome("routed", first, last)


def machine_sets(samples: Sequence[Case], key: str) -> list[list[dict[int, int]]]:
    executor = Executor(workers=4)
    return [
        checker_votes(name, checker, samples, key)
        for name, checker in built_in_checkers(executor).items()
    ]


@dataclass(frozen=True)
class World:
    """What every replay shares: the catalogue, the machines' votes, the refit spacing."""

    tmp: Path
    samples: Sequence[Case]
    honeypots: Sequence[Case]
    machines: list[list[dict[int, int]]]
    step: float

    def replay(
        self, crowd: People, seed: int, *, machines: bool = False, **overrides: Any
    ) -> contextlib.AbstractContextManager[Replay]:
        sets = self.machines if machines else []
        return start(self.tmp, self.samples, self.honeypots, crowd, sets, seed, **overrides)

    def routed(self, replay: Replay, *, settled: bool) -> Outcome:
        return run_routed(replay, self.step, len(self.samples), settled=settled)


@dataclass(frozen=True)
class Result:
    """One policy's run on one seed."""

    policy: str
    label: str
    seed: int
    out: Outcome
    baseline: float | None
    """Fixed overlap's votes per line on the same seed (None for fixed overlap itself)."""


def seed_results(
    world: World, crowd: People, seed: int, rules: Sequence[str], chosen: Sequence[str]
) -> list[Result]:
    """Fixed overlap, each ranking rule, then the ``chosen`` rules with the settled stop
    and with the machines (their confident samples to 1 person, then to none)."""
    with ranking(round_robin), world.replay(crowd, seed) as replay:
        fixed = run_fixed(replay)
    results = [_done(Result("fixed overlap", f"fixed overlap ({fixed.extra})", seed, fixed, None))]
    base = fixed.first.votes_per_line if fixed.first else None
    for name in rules:
        with ranking(RULES[name]), world.replay(crowd, seed) as replay:
            out = world.routed(replay, settled=False)
            results.append(_done(Result(f"routed, {name}", f"routed, {name}", seed, out, base)))
    for name in chosen:
        with ranking(RULES[name]):
            with world.replay(crowd, seed) as replay:
                out = world.routed(replay, settled=True)
            label = f"routed, {name} + settled"
            results.append(_done(Result(label, label, seed, out, base)))
            for confident in (1, 0):
                with world.replay(
                    crowd, seed, machines=True, machine_confident_humans=confident
                ) as replay:
                    out = world.routed(replay, settled=True)
                label = f"routed, {name} + settled + machines ({confident})"
                results.append(_done(Result(label, label, seed, out, base)))
    return results


def _done(result: Result) -> Result:
    """Print a finished run at once (stderr, for progress); the tables come at the end."""
    print("  ".join(_cells(result)), file=sys.stderr, flush=True)
    return result


def _cells(r: Result) -> list[str]:
    at, last = r.out.first, r.out.last
    ratio = "" if r.baseline is None or at is None else f"{at.votes_per_line / r.baseline:.2f}"
    return [
        str(r.seed),
        r.label,
        f"{at.votes_per_line:.2f}" if at else "not met",
        ratio,
        f"{last.votes_per_line:.2f}",
        f"{last.accuracy:.1%}",
        f"{last.mae:.4f}",
        f"{last.honeypot_votes_per_line:.2f}",
    ]


def summary(results: Sequence[Result]) -> list[list[str]]:
    """Per policy, means over seeds: votes per line at target (over the seeds that met
    it), the ratio to fixed overlap, and the end of run."""
    by_policy: dict[str, list[Result]] = {}
    for r in results:
        by_policy.setdefault(r.policy, []).append(r)
    rows = []
    for policy, runs in by_policy.items():
        met = [r for r in runs if r.out.first is not None]
        at = [r.out.first.votes_per_line for r in met if r.out.first is not None]
        ratios = [v / r.baseline for v, r in zip(at, met, strict=True) if r.baseline]
        rows.append(
            [
                policy,
                f"{len(met)}/{len(runs)}",
                f"{np.mean(at):.2f}" if at else "",
                f"{np.mean(ratios):.2f}" if ratios else "",
                f"{np.mean([r.out.last.votes_per_line for r in runs]):.2f}",
                f"{np.mean([r.out.last.accuracy for r in runs]):.1%}",
                f"{np.mean([r.out.last.mae for r in runs]):.4f}",
            ]
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 20 samples, 12 people, one rule, one crowd"
    )
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--crowd", choices=["both", "default", "lazy"], default="both")
    parser.add_argument(
        "--rules", nargs="*", choices=list(RULES), default=None, help="ranking rules to compare"
    )
    parser.add_argument(
        "--chosen",
        nargs="*",
        choices=list(RULES),
        default=["sd of s"],
        help="rankings also run with the settled stop and with machines",
    )
    parser.add_argument("--step", type=float, default=0.25, help="votes per sample between refits")
    args = parser.parse_args(argv)
    n = 20 if args.quick else args.samples
    n_people = 12 if args.quick else 50
    seeds = 1 if args.quick else args.seeds
    samples = testbed_cases(n)
    honeypots = honeypot_cases(40)
    machines = machine_sets(samples, f"testbed-{n}")
    rules = args.rules if args.rules is not None else (["sd of s"] if args.quick else list(RULES))
    crowds = {"both": [False, True], "default": [False], "lazy": [True]}[args.crowd]
    if args.quick:
        crowds = [False]
    with tempfile.TemporaryDirectory() as tmp:
        world = World(Path(tmp), samples, honeypots, machines, args.step)
        for lazy in crowds:
            results = [
                result
                for seed in range(args.first_seed, args.first_seed + seeds)
                for result in seed_results(
                    world, people(seed, lazy, n_people), seed, rules, args.chosen
                )
            ]
            name = "20% lazy" if lazy else "default crowd"
            print(
                f"{name}: {n} samples, {n_people} people, refit every {args.step} votes per sample"
            )
            headers = [
                "seed",
                "policy",
                "votes / line at target",
                "routed / fixed",
                "end: votes / line",
                "line accuracy",
                "reward MAE",
                "honeypot votes / line",
            ]
            print(render_table(headers, [_cells(r) for r in results]))
            print()
            print(f"{name}: means over {seeds} seed(s)")
            headers = [
                "policy",
                "met",
                "votes / line at target",
                "routed / fixed",
                "end: votes / line",
                "line accuracy",
                "reward MAE",
            ]
            print(render_table(headers, summary(results)))
            print()
    return 0


if __name__ == "__main__":
    random.seed(0)
    sys.exit(main())
