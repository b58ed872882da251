"""The honeypot probes of issue 19, played against the server: each must learn nothing
above chance. Each probe is also played against the old behaviour (honeypots first, no
skip limit, no variant separation, no display cap, the policy after every honeypot) where
that is still a setting, to show that the probe itself works."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from crlhf_server import db, hooks
from crlhf_server.app import create_app, engine_config, open_store
from crlhf_server.deps import Context
from crlhf_server.seed import first_start
from crlhf_server.settings import Settings
from crlhf_server.task_routing import close_variants
from fastapi.testclient import TestClient

from tests.server.conftest import ADMIN_TOKEN, Api, bearer, submission_for

LINES = [
    "def f{i}(x):",
    "    a = x + {i}",
    "    b = a * 2",
    "    c = b - 1",
    "    d = c // 3",
    "    return d",
]
MUTATIONS = {2: ("+", "-"), 3: ("*", "+"), 4: ("-", "+"), 5: ("//", "*")}


def _reference(i: int) -> list[str]:
    return [line.format(i=i) for line in LINES]


def _mutant(i: int, line: int) -> tuple[str, dict[str, int]]:
    """A one-line mutant of problem i's reference (as ``make-honeypots`` makes them)."""
    code = _reference(i)
    old, new = MUTATIONS[line]
    code[line - 1] = code[line - 1].replace(old, new, 1)
    gold = {str(n): (-1 if n == line else 1) for n in range(1, len(code) + 1)}
    return "\n".join(code) + "\n", gold


def _ordinary(i: int, k: int) -> str:
    """Ordinary samples of problem i: the reference (k = 0) and codes far from it."""
    if k == 0:
        return "\n".join(_reference(i)) + "\n"
    return f"def f{i}(x):\n    return (x + {i}) * 2 // {k + 1}  # try {k}\n"


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Any]:
    clients: list[TestClient] = []

    def make(problems: int, mutants: int, ordinary: int, **overrides: Any) -> Api:
        name = f"probe-{len(clients)}.db"
        settings = Settings(db=tmp_path / name, policy_min_interval_s=0.0, **overrides)
        store = open_store(settings)
        engine = engine_config(settings)
        first_start(store, engine, seed=False, admin_token=ADMIN_TOKEN)
        context = Context(settings=settings, store=store, engine=engine, rng=random.Random(19))
        client = TestClient(create_app(settings, context))
        client.__enter__()
        clients.append(client)
        api = Api(client=client, context=context, admin=bearer(ADMIN_TOKEN))
        ids = [f"p{i}" for i in range(problems)]
        api.client.post(
            "/v1/admin/problems",
            json=[{"id": p, "title": p, "description": f"problem {p}"} for p in ids],
            headers=api.admin,
        ).raise_for_status()
        samples: list[dict[str, Any]] = []
        for i in range(problems):
            for k in range(ordinary):
                samples.append({"id": f"n-{i}-{k}", "problem_id": f"p{i}", "code": _ordinary(i, k)})
            for line in list(MUTATIONS)[:mutants]:
                code, gold = _mutant(i, line)
                samples.append(
                    {"id": f"h-{i}-{line}", "problem_id": f"p{i}", "code": code, "gold": gold}
                )
        api.client.post("/v1/admin/samples", json=samples, headers=api.admin).raise_for_status()
        return api

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _is_honeypot(sample_id: str) -> bool:
    return sample_id.startswith("h-")


# ----------------------------------------------------------------------- skip walker


def _walk(api: Api, who: dict[str, str], tasks: int) -> tuple[list[str], int]:
    """Loop next + skip; where a skip is refused, judge the task (all correct) and go on.
    Returns the served ids in order and the number of refused skips."""
    served: list[str] = []
    refused = 0
    while len(served) < tasks:
        got = api.tasks(who)
        if not got:
            break
        [task] = got
        if not served or served[-1] != task["sample_id"]:
            served.append(task["sample_id"])
        answer = api.client.post(f"/v1/tasks/{task['sample_id']}/skip", headers=who)
        if answer.status_code == 409:
            assert answer.json()["code"] == "skip_refused"
            refused += 1
            api.client.post("/v1/submissions", json=submission_for(task), headers=who)
    return served, refused


def test_the_skip_walker_learns_the_class_of_nothing(build: Any) -> None:
    q, window = 4, 16
    api = build(24, 2, 6, warmup_honeypots=q, warmup_window=window, honeypot_rate=0.1)
    walks = [_walk(api, api.annotator(f"w{n}"), window + 6) for n in range(40)]
    by_position: Counter[int] = Counter()
    first_honeypots: set[str] = set()
    for served, refused in walks:
        assert refused > 0  # the walker had to judge: skipping is limited in the window
        classes = [_is_honeypot(s) for s in served]
        assert sum(classes) < 3 * q  # nowhere near the 48 honeypots of the pool
        by_position.update(i for i, h in enumerate(classes[:window]) if h)
        first_honeypots |= {next(s for s in served if _is_honeypot(s))}
    # The honeypots sit anywhere in the window: the first half holds no more than the second.
    first, second = (
        sum(by_position[i] for i in range(window // 2)),
        sum(by_position[i] for i in range(window // 2, window)),
    )
    total = first + second
    assert abs(first - second) < 3 * (total**0.5)
    # The old attack: "the first q served are the honeypots". Precision is the window's rate.
    guessed = sum(by_position[i] for i in range(q)) / (q * len(walks))
    assert guessed < 1.5 * total / (window * len(walks))
    # No shared list: the walkers' first honeypots are spread over the pool.
    assert len(first_honeypots) >= 12


def test_the_skip_walker_did_enumerate_the_honeypots_before(build: Any) -> None:
    """The old routing (W = q, skips unlimited): a walker is served the honeypots first."""
    q = 4
    api = build(
        6, 2, 3, warmup_honeypots=q, warmup_window=q, warmup_max_skips=1000,
        honeypot_variant_lines=0,
    )  # fmt: skip
    served, refused = _walk(api, api.annotator("walker"), 14)
    assert refused == 0
    assert [_is_honeypot(s) for s in served] == [True] * 12 + [False] * 2


# --------------------------------------------------------------- consensus reader


def _crowd_reads(api: Api, people: int) -> list[tuple[str, int]]:
    """Every annotator judges all they are served (all correct), then reads the consensus
    of each: (sample id, n_votes shown) per line read."""
    crowd = [api.annotator(f"r{n}") for n in range(people)]
    judged: list[tuple[dict[str, str], str]] = []
    for who in crowd:
        while tasks := api.tasks(who, count=20):
            for task in tasks:
                api.client.post("/v1/submissions", json=submission_for(task), headers=who)
                judged.append((who, task["sample_id"]))
    reads = []
    for who, sample_id in judged:
        for line in api.client.get(f"/v1/samples/{sample_id}/consensus", headers=who).json():
            reads.append((sample_id, line["n_votes"]))
    return reads


def test_the_consensus_reader_learns_nothing(build: Any) -> None:
    """36 annotators; ordinary samples capped at 5, honeypots at 10. Every cohort of 5 is
    full, so the only thing that could tell a honeypot is how the consensus is shown."""
    cap = 5
    api = build(
        6, 2, 1, warmup_honeypots=1, warmup_window=2, honeypot_rate=0.2,
        max_annotators_per_sample=cap, honeypot_max_annotators=2 * cap,
    )  # fmt: skip
    reads = _crowd_reads(api, 36)
    shown = {h: Counter(n for s, n in reads if _is_honeypot(s) is h) for h in (True, False)}
    assert sum(shown[True].values()) and sum(shown[False].values())
    assert max(n for _, n in reads) <= cap  # the reader: n_votes above the cap
    # Any rule on n_votes is as good as guessing the majority class.
    base = max(sum(c.values()) for c in shown.values()) / len(reads)
    best = sum(max(shown[True][n], shown[False][n]) for n in range(cap + 1)) / len(reads)
    assert best <= base + 1e-9
    # The admin view still counts every vote of a honeypot.
    admin = api.client.get("/v1/admin/samples/h-0-2/consensus", headers=api.admin).json()
    assert admin[0]["n_votes"] == 2 * cap


# ----------------------------------------------------------------- latency reader


def test_the_latency_reader_learns_nothing(build: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy's work per submission, by class: how often it runs and how many SQL
    statements each submission executes (not wall time: no timed assertions)."""
    statements = [0]
    runs: list[int] = []
    real_connect, real_evaluate = db.connect, hooks.quality.evaluate

    def counting_connect(path: Path, **kwargs: Any) -> sqlite3.Connection:
        conn = real_connect(path, **kwargs)
        conn.set_trace_callback(lambda _: statements.__setitem__(0, statements[0] + 1))
        return conn

    def counting_evaluate(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(db, "connect", counting_connect)
    monkeypatch.setattr(hooks.quality, "evaluate", counting_evaluate)
    every = 4
    api = build(
        10, 1, 3, warmup_honeypots=3, warmup_window=8, honeypot_rate=0.3,
        policy_check_every=every, pause_min_gold_lines=10**6,  # runs, never pauses
    )  # fmt: skip
    # (policy ran, judged lines) -> statements executed, per class: a vote is one insert,
    # so submissions are compared at equal length.
    work: dict[bool, dict[tuple[int, int], set[int]]] = {True: {}, False: {}}
    # Two pages of tasks each, so the references (as long as the honeypots) are reached
    # after the short ordinary codes the router serves first.
    for who in (api.annotator("a"), api.annotator("b")):
        tasks = api.tasks(who, count=20)
        for n in range(1, 40):
            if not tasks:
                tasks = api.tasks(who, count=20)
            if not tasks:
                break
            task = tasks.pop(0)
            body = submission_for(task)
            before, ran = statements[0], len(runs)
            assert api.client.post("/v1/submissions", json=body, headers=who).status_code == 201
            ran_now = len(runs) - ran
            assert ran_now == (n % every == 0)  # the schedule knows the count, not the class
            key = (ran_now, len(body["labels"]))
            work[_is_honeypot(task["sample_id"])].setdefault(key, set()).add(statements[0] - before)
    shared = set(work[True]) & set(work[False])
    assert {ran for ran, _ in shared} == {0, 1}  # both kinds of submission were compared
    for key in shared:
        assert work[True][key] == work[False][key], (key, work)


# -------------------------------------------------------------------- diff reader


def _diff_guesses(api: Api, people: int) -> tuple[int, int]:
    """Each annotator diffs every served honeypot against every other code of its problem
    they were served; a single differing line (or two, one per mutant) is the guess.
    Returns (honeypots with a guess, right guesses)."""
    conn = api.context.store.read()
    guessed = right = 0
    for n in range(people):
        who = api.annotator(f"d{n}")
        served = [t["sample_id"] for t in api.tasks(who, count=20)]
        codes = {
            s: str(conn.execute("SELECT code FROM samples WHERE id = ?", (s,)).fetchone()[0])
            for s in served
        }
        for sample_id in filter(_is_honeypot, served):
            problem = sample_id.split("-")[1]
            others = [s for s in served if s != sample_id and s.split("-")[1] == problem]
            mine = codes[sample_id].splitlines()
            for other in others:
                if not close_variants(codes[sample_id], codes[other], 2):
                    continue
                differ = [
                    i + 1
                    for i, (a, b) in enumerate(zip(mine, codes[other].splitlines(), strict=True))
                    if a != b
                ]
                guessed += 1
                right += int(sample_id.split("-")[2]) in differ[:1]
                break
    return guessed, right


def test_the_diff_reader_learns_nothing(build: Any) -> None:
    api = build(8, 3, 2, warmup_honeypots=4, warmup_window=10, honeypot_variant_lines=2)
    guessed, right = _diff_guesses(api, 12)
    assert guessed == right == 0  # no annotator holds two close variants with a honeypot


def test_the_diff_reader_found_the_line_before(build: Any) -> None:
    api = build(8, 3, 2, warmup_honeypots=4, warmup_window=10, honeypot_variant_lines=0)
    guessed, right = _diff_guesses(api, 12)
    assert guessed > 10 and right / guessed > 0.4  # far above 1/6 (one line of six)


def test_close_variants() -> None:
    reference = "\n".join(_reference(1)) + "\n"
    one, _ = _mutant(1, 3)
    assert close_variants(reference, one, 2) and close_variants(one, _mutant(1, 4)[0], 2)
    assert not close_variants(reference, _ordinary(1, 1), 2)
    assert not close_variants(reference, reference + "x = 1\n", 2)
